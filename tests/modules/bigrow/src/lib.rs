//! Big rows on demand, for the tests of per-client limits (issue 12's D3 and D4): a
//! public `blob` table, `insert_big(n, kb)` inserting `n` rows of `kb` KiB each, and
//! `clear` deleting them all, so every call sends subscribers a large update.

use spacetimedb::{reducer, table, ReducerContext, Table};

/// Rows whose size the caller picks.
#[table(accessor = blob, public)]
pub struct Blob {
    #[primary_key]
    #[auto_inc]
    id: u64,
    data: Vec<u8>,
}

/// Inserts `n` rows of `kb` KiB each.
#[reducer]
pub fn insert_big(ctx: &ReducerContext, n: u32, kb: u32) {
    for i in 0..n {
        let fill = (i % 251) as u8;
        ctx.db.blob().insert(Blob {
            id: 0,
            data: vec![fill; kb as usize * 1024],
        });
    }
}

/// Deletes every row.
#[reducer]
pub fn clear(ctx: &ReducerContext) {
    for row in ctx.db.blob().iter() {
        ctx.db.blob().delete(row);
    }
}
