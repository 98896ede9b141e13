//! The second version of `tests/modules/ledger` (an automatic update: one reducer
//! added), for the test that a module update reaches a cluster's standbys.
//!
//! The module of the cluster failover test (Jepsen-style bank workload): accounts,
//! and transfers that each insert one `entry` naming the client and the sequence
//! number of the call that made it. The entry table has no uniqueness on
//! `(client, seq)`, so a transfer applied twice (a replayed or duplicated log record)
//! shows up as two rows instead of being refused.

use spacetimedb::{reducer, table, ReducerContext, Table};

/// A bank account.
#[table(accessor = account, public)]
pub struct Account {
    #[primary_key]
    id: u32,
    balance: i64,
}

/// One applied transfer: which call made it, and what it moved.
#[table(accessor = entry, public)]
pub struct Entry {
    #[primary_key]
    #[auto_inc]
    id: u64,
    client: u32,
    seq: u32,
    src: u32,
    dst: u32,
    amount: i64,
}

/// Creates accounts `0..count`, each holding `balance`.
#[reducer]
pub fn seed(ctx: &ReducerContext, count: u32, balance: i64) {
    for id in 0..count {
        ctx.db.account().insert(Account { id, balance });
    }
}

/// Call `seq` of client `client`: moves `amount` from account `from` to account `to`
/// and records the call.
#[reducer]
pub fn transfer(ctx: &ReducerContext, client: u32, seq: u32, from: u32, to: u32, amount: i64) -> Result<(), String> {
    let accounts = ctx.db.account();
    let mut source = accounts.id().find(from).ok_or_else(|| format!("no account {from}"))?;
    let mut target = accounts.id().find(to).ok_or_else(|| format!("no account {to}"))?;
    if from != to {
        source.balance -= amount;
        target.balance += amount;
        accounts.id().update(source);
        accounts.id().update(target);
    }
    ctx.db.entry().insert(Entry {
        id: 0,
        client,
        seq,
        src: from,
        dst: to,
        amount,
    });
    Ok(())
}

/// Only in this version: fails unless the balances add up to `total`, so a call that
/// succeeds shows this version runs.
#[reducer]
pub fn audit(ctx: &ReducerContext, total: i64) -> Result<(), String> {
    let sum: i64 = ctx.db.account().iter().map(|a| a.balance).sum();
    if sum == total {
        Ok(())
    } else {
        Err(format!("the balances add up to {sum}, not {total}"))
    }
}
