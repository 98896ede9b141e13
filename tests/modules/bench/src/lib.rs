//! The benchmark module: one `account` table and the reducers `benches/` times in
//! process, an empty call and a bank transfer between two primary-key rows.

use spacetimedb::{reducer, table, ReducerContext, Table};

/// A bank account.
#[table(accessor = account)]
pub struct Account {
    #[primary_key]
    id: u32,
    balance: i64,
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
        return Err(format!("account {from} holds {} but the transfer needs {amount}", source.balance));
    }
    source.balance -= amount;
    target.balance += amount;
    accounts.id().update(source);
    accounts.id().update(target);
    Ok(())
}
