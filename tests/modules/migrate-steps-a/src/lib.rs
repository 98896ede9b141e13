//! Module updates, the steps `migrate-v*` do not cover, version a: `item` is keyed by
//! `id` with a plain enum column; `job` is a scheduled table (its runs counted in
//! `ran`). Version b moves the key, adds a sequence and an enum variant, and drops the
//! schedule.

use spacetimedb::{reducer, table, ReducerContext, ScheduleAt, SpacetimeType, Table, TimeDuration};

/// A plain enum; version b adds a variant at the end.
#[derive(SpacetimeType, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    A,
    B,
}

/// Items, keyed by `id`; `code` is unique.
#[table(accessor = item, public)]
pub struct Item {
    #[primary_key]
    id: u32,
    #[unique]
    code: u32,
    kind: Kind,
    n: u64,
}

/// A repeating job.
#[table(accessor = job, scheduled(run_job))]
pub struct Job {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
}

/// How many times `run_job` ran.
#[table(accessor = ran, public)]
pub struct Ran {
    #[primary_key]
    id: u32,
    count: u64,
}

/// Adds an item.
#[reducer]
pub fn add_item(ctx: &ReducerContext, id: u32, code: u32, kind: Kind, n: u64) {
    ctx.db.item().insert(Item { id, code, kind, n });
}

/// Starts the job: every 50 ms.
#[reducer]
pub fn start_job(ctx: &ReducerContext) {
    ctx.db.job().insert(Job {
        scheduled_id: 0,
        scheduled_at: ScheduleAt::Interval(TimeDuration::from_micros(50_000)),
    });
}

/// Counts a run.
#[reducer]
pub fn run_job(ctx: &ReducerContext, _job: Job) {
    let count = ctx.db.ran().id().find(0).map_or(0, |r| r.count) + 1;
    ctx.db.ran().id().delete(0);
    ctx.db.ran().insert(Ran { id: 0, count });
}
