//! The benchmark module: one `account` table and the reducers `benches/` times (in
//! process and over WebSockets), an empty call and a bank transfer between two
//! primary-key rows; plus a one-row public `ticker` table that `tick` rewrites, which
//! the fan-out benchmark's subscribers watch.

use spacetimedb::{reducer, table, ReducerContext, Table};

/// A bank account.
#[table(accessor = account)]
pub struct Account {
    #[primary_key]
    id: u32,
    balance: i64,
}

/// One row (id 0) that `tick` rewrites; public, so anonymous clients may subscribe.
#[table(accessor = ticker, public)]
pub struct Ticker {
    #[primary_key]
    id: u32,
    value: u64,
}

/// Does nothing: measures the fixed cost of one reducer call.
#[reducer]
pub fn empty(_ctx: &ReducerContext) {}

/// Creates accounts `first..first + count`, each holding `balance`.
#[reducer]
pub fn seed(ctx: &ReducerContext, first: u32, count: u32, balance: i64) {
    let accounts = ctx.db.account();
    for id in first..first.saturating_add(count) {
        accounts.insert(Account { id, balance });
    }
}

/// Moves `amount` from account `from` to account `to`.
#[reducer]
pub fn transfer(ctx: &ReducerContext, from: u32, to: u32, amount: i64) -> Result<(), String> {
    if from == to {
        return Ok(());
    }
    let accounts = ctx.db.account();
    let mut source = accounts.id().find(from).ok_or_else(|| format!("no account {from}"))?;
    let mut target = accounts.id().find(to).ok_or_else(|| format!("no account {to}"))?;
    if source.balance < amount {
        return Err(format!(
            "account {from} holds {} but the transfer needs {amount}",
            source.balance
        ));
    }
    source.balance -= amount;
    target.balance += amount;
    accounts.id().update(source);
    accounts.id().update(target);
    Ok(())
}

/// Sets the ticker row to `value`: one small update for every subscriber of `ticker`.
#[reducer]
pub fn tick(ctx: &ReducerContext, value: u64) {
    let ticker = ctx.db.ticker();
    if ticker.id().find(0).is_some() {
        ticker.id().update(Ticker { id: 0, value });
    } else {
        ticker.insert(Ticker { id: 0, value });
    }
}
