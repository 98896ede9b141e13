//! Views with parameters for the end-to-end tests (`tests/e2e/views.rs`), built against
//! our bindings and against the crates.io `spacetimedb = "=2.14.0"` crate
//! (`tests/fixtures/upstream-2.14/views-params`): `items_by_owner(owner)` (anonymous,
//! one materialisation per owner a query names), `my_items_over(min_price)` (per caller
//! and per argument), and the query-builder views `cheap_items` (a filter) and
//! `dear_items_of_players` (a semijoin), whose rows are the queries they return.

use spacetimedb::{reducer, table, view, AnonymousViewContext, Identity, Query, ReducerContext, Table, ViewContext};

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

/// The items of `owner`, whoever asks.
#[view(accessor = items_by_owner, public)]
fn items_by_owner(ctx: &AnonymousViewContext, owner: Identity) -> Vec<Item> {
    ctx.db.item().owner().filter(owner).collect()
}

/// The caller's items priced at `min_price` or more.
#[view(accessor = my_items_over, public)]
fn my_items_over(ctx: &ViewContext, min_price: u32) -> Vec<Item> {
    ctx.db
        .item()
        .owner()
        .filter(ctx.sender())
        .filter(|i| i.price >= min_price)
        .collect()
}

/// Every item priced under 10: a query the server runs and keeps current.
#[view(accessor = cheap_items, public)]
fn cheap_items(ctx: &AnonymousViewContext) -> impl Query<Item> {
    // Counted by the tests: it runs again only when a row in its index range changes.
    log::info!("evaluating cheap_items");
    ctx.from.item().r#where(|i| i.price.lt(10u32))
}

/// Players, by identity.
#[table(accessor = player, public)]
pub struct Player {
    #[primary_key]
    pub identity: Identity,
    pub name: String,
}

/// Makes the caller a player.
#[reducer]
pub fn join(ctx: &ReducerContext, name: String) {
    ctx.db.player().insert(Player {
        identity: ctx.sender(),
        name,
    });
}

/// The items whose owner is a player, priced at 100 or more: a semijoin.
#[view(accessor = dear_items_of_players, public)]
fn dear_items_of_players(ctx: &AnonymousViewContext) -> impl Query<Item> {
    ctx.from
        .item()
        .left_semijoin(ctx.from.player(), |i, p| i.owner.eq(p.identity))
        .r#where(|i| i.price.gte(100u32))
}
