//! Views for the end-to-end tests (`tests/e2e/views.rs`): a per-caller view (each
//! caller's own items), an anonymous view (every expensive item) and a keyed
//! per-caller view (`Option` of the caller's player, primary key `identity`). `player`
//! has a row-level security filter (each client sees only its own row), which the
//! anonymous `leaderboard` view does not go through: a view reads as the module does.

use spacetimedb::{
    client_visibility_filter, reducer, table, view, AnonymousViewContext, Filter, Identity, ReducerContext, Table,
    ViewContext,
};

/// Items, each owned by the identity that added it.
#[table(accessor = item, public)]
pub struct Item {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub owner: Identity,
    pub name: String,
    #[index(btree)]
    pub price: u32,
}

/// One row per player: the caller's name and score.
#[table(accessor = player, public)]
pub struct Player {
    #[primary_key]
    pub identity: Identity,
    pub name: String,
    #[index(btree)]
    pub score: u32,
}

/// `item`'s twin that no view reads: the benchmark's plain-table baseline
/// (`benches/benches/views.rs`).
#[table(accessor = plain_item, public)]
pub struct PlainItem {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub owner: Identity,
    pub name: String,
    #[index(btree)]
    pub price: u32,
}

/// Each client sees only its own player row in SQL and subscriptions.
#[client_visibility_filter]
const OWN_PLAYER: Filter = Filter::Sql("SELECT * FROM player WHERE identity = :sender");

/// Adds an item owned by the caller.
#[reducer]
pub fn add_item(ctx: &ReducerContext, name: String, price: u32) {
    ctx.db.item().insert(Item {
        id: 0,
        owner: ctx.sender(),
        name,
        price,
    });
}

/// Changes the price of item `id`.
#[reducer]
pub fn set_price(ctx: &ReducerContext, id: u64, price: u32) -> Result<(), String> {
    let mut item = ctx.db.item().id().find(id).ok_or_else(|| format!("no item {id}"))?;
    item.price = price;
    ctx.db.item().id().update(item);
    Ok(())
}

/// Adds a plain item owned by the caller.
#[reducer]
pub fn add_plain(ctx: &ReducerContext, name: String, price: u32) {
    ctx.db.plain_item().insert(PlainItem {
        id: 0,
        owner: ctx.sender(),
        name,
        price,
    });
}

/// Changes the price of plain item `id`.
#[reducer]
pub fn set_plain_price(ctx: &ReducerContext, id: u64, price: u32) -> Result<(), String> {
    let mut item = ctx
        .db
        .plain_item()
        .id()
        .find(id)
        .ok_or_else(|| format!("no plain item {id}"))?;
    item.price = price;
    ctx.db.plain_item().id().update(item);
    Ok(())
}

/// Deletes item `id`.
#[reducer]
pub fn remove_item(ctx: &ReducerContext, id: u64) {
    ctx.db.item().id().delete(id);
}

/// Sets the caller's player row.
#[reducer]
pub fn set_player(ctx: &ReducerContext, name: String, score: u32) {
    let player = Player {
        identity: ctx.sender(),
        name,
        score,
    };
    if ctx.db.player().identity().find(ctx.sender()).is_some() {
        ctx.db.player().identity().update(player);
    } else {
        ctx.db.player().insert(player);
    }
}

/// The caller's own items; logs each evaluation.
#[view(accessor = my_items, public)]
fn my_items(ctx: &ViewContext) -> Vec<Item> {
    // Counted by the tests: it reads `item` by `owner`, so only a change to the
    // caller's own items runs it again.
    log::info!("evaluating my_items");
    ctx.db.item().owner().filter(ctx.sender()).collect()
}

/// Every item priced above 100, whoever owns it; logs each evaluation.
#[view(accessor = expensive_items, public)]
fn expensive_items(ctx: &AnonymousViewContext) -> Vec<Item> {
    // Counted by the tests: a view runs again only when a table it read changed.
    log::info!("evaluating expensive_items");
    ctx.db.item().price().filter(101u32..).collect()
}

/// The caller's player, keyed by identity: a change of score is an update.
#[view(accessor = my_player, public, primary_key = identity)]
fn my_player(ctx: &ViewContext) -> Option<Player> {
    ctx.db.player().identity().find(ctx.sender())
}

/// Every player with a score of at least 10: read past `player`'s filter.
#[view(accessor = leaderboard, public)]
fn leaderboard(ctx: &AnonymousViewContext) -> Vec<Player> {
    ctx.db.player().score().filter(10u32..).collect()
}
