//! Module updates, the steps `migrate-v*` do not cover, version b (from a): `item`'s
//! key moves from `id` (still unique) to `code`, `n` becomes auto-incremented, `Kind`
//! gains `C` at the end (stored rows read the same), and `job` is no longer scheduled.
//! Going back to a is refused: `Kind` would lose a variant.

use spacetimedb::{reducer, table, ReducerContext, ScheduleAt, SpacetimeType, Table};

/// A plain enum, with a variant added at the end.
#[derive(SpacetimeType, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    A,
    B,
    C,
}

/// Items, now keyed by `code`; `n` is filled by a sequence when 0.
#[table(accessor = item, public)]
pub struct Item {
    #[unique]
    id: u32,
    #[primary_key]
    code: u32,
    kind: Kind,
    #[auto_inc]
    n: u64,
}

/// The job's rows, no longer scheduled.
#[table(accessor = job)]
pub struct Job {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
}

/// How many times `run_job` ran (under version a).
#[table(accessor = ran, public)]
pub struct Ran {
    #[primary_key]
    id: u32,
    count: u64,
}

/// Adds an item; `n` = 0 takes the sequence's next value.
#[reducer]
pub fn add_item(ctx: &ReducerContext, id: u32, code: u32, kind: Kind, n: u64) {
    ctx.db.item().insert(Item { id, code, kind, n });
}
