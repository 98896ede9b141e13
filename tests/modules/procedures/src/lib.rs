//! Procedures for the end-to-end tests: a pure one that returns a value, one that fetches
//! a URL and stores the body with `with_tx`, one that panics inside `with_tx`, and a
//! reducer whose latency is measured while a procedure waits on a slow server, and a
//! scheduled table whose rows call a procedure.

use spacetimedb::{procedure, reducer, table, ProcedureContext, ReducerContext, ScheduleAt, Table};

/// What `fetch_and_store` fetched.
#[table(accessor = fetched, public)]
pub struct Fetched {
    #[primary_key]
    #[auto_inc]
    id: u64,
    body: String,
}

/// Rows written by `bump`.
#[table(accessor = bumped, public)]
pub struct Bumped {
    #[primary_key]
    #[auto_inc]
    id: u64,
    by: u32,
}

/// A reducer to call while a procedure runs.
#[reducer]
pub fn bump(ctx: &ReducerContext, by: u32) {
    ctx.db.bumped().insert(Bumped { id: 0, by });
}

/// Returns the sum: a value through every transport.
#[procedure]
pub fn add(_ctx: &mut ProcedureContext, a: u32, b: u32) -> u32 {
    a + b
}

/// Fetches `url`; stores and returns the body, or returns the error text prefixed with
/// `error: ` (storing nothing).
#[procedure]
pub fn fetch_and_store(ctx: &mut ProcedureContext, url: String) -> String {
    match ctx.http.get(url) {
        Ok(response) => {
            let body = response.into_body().into_string_lossy();
            ctx.with_tx(|tx| {
                tx.db.fetched().insert(Fetched {
                    id: 0,
                    body: body.clone(),
                });
            });
            body
        }
        Err(e) => format!("error: {e}"),
    }
}

/// Inserts a row inside `with_tx`, then panics there: the row must not survive.
#[procedure]
pub fn panic_in_tx(ctx: &mut ProcedureContext) {
    ctx.with_tx(|tx| {
        tx.db.fetched().insert(Fetched {
            id: 0,
            body: "ghost".into(),
        });
        panic!("boom inside with_tx");
    });
}

/// How many rows `fetched` has, read in a transaction.
#[procedure]
pub fn count_fetched(ctx: &mut ProcedureContext) -> u64 {
    ctx.with_tx(|tx| tx.db.fetched().count())
}

/// One-shot jobs, each running `run_job` once.
#[table(accessor = job, scheduled(run_job))]
pub struct Job {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
    n: u32,
}

/// Schedules `run_job` with `n` for now.
#[reducer]
pub fn schedule_job(ctx: &ReducerContext, n: u32) {
    ctx.db.job().insert(Job {
        scheduled_id: 0,
        scheduled_at: ctx.timestamp.into(),
        n,
    });
}

/// A scheduled procedure: records `n` in `bumped` through `with_tx`.
#[procedure]
pub fn run_job(ctx: &mut ProcedureContext, job: Job) {
    ctx.with_tx(|tx| {
        tx.db.bumped().insert(Bumped { id: 0, by: job.n });
    });
}
