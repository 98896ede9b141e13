//! The smoketests' "schedule-cancel" and "upload-module-2": a one-shot schedule that fires
//! once and is removed, a repeating one that keeps firing until its row is deleted, and
//! a one-shot schedule that is cancelled before it fires.

use spacetimedb::{log, reducer, table, ReducerContext, ScheduleAt, Table, TimeDuration};

/// One-shot calls of `fire_once`.
#[table(accessor = one_shot, scheduled(fire_once))]
pub struct OneShot {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
    label: String,
}

/// Repeating calls of `tick`.
#[table(accessor = ticker, scheduled(tick))]
pub struct Ticker {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
}

/// One row per scheduled run.
#[table(accessor = fired, public)]
pub struct Fired {
    #[primary_key]
    #[auto_inc]
    id: u64,
    kind: String,
    label: String,
}

/// Schedules `fire_once` with `label` in `delay_ms` milliseconds.
#[reducer]
pub fn schedule_once(ctx: &ReducerContext, label: String, delay_ms: u64) {
    let at = ctx.timestamp + TimeDuration::from_micros(delay_ms as i64 * 1000);
    ctx.db.one_shot().insert(OneShot {
        scheduled_id: 0,
        scheduled_at: ScheduleAt::Time(at),
        label,
    });
}

/// Cancels every pending one-shot call.
#[reducer]
pub fn cancel_all(ctx: &ReducerContext) {
    for row in ctx.db.one_shot().iter() {
        ctx.db.one_shot().scheduled_id().delete(row.scheduled_id);
    }
}

#[reducer]
pub fn fire_once(ctx: &ReducerContext, row: OneShot) {
    log::info!("fired once: {}", row.label);
    ctx.db.fired().insert(Fired {
        id: 0,
        kind: "once".to_string(),
        label: row.label,
    });
}

/// Calls `tick` every `interval_ms` milliseconds.
#[reducer]
pub fn start_ticking(ctx: &ReducerContext, interval_ms: u64) {
    let every = TimeDuration::from_micros(interval_ms as i64 * 1000);
    ctx.db.ticker().insert(Ticker {
        scheduled_id: 0,
        scheduled_at: ScheduleAt::Interval(every),
    });
}

/// Stops every repeating schedule.
#[reducer]
pub fn stop_ticking(ctx: &ReducerContext) {
    for row in ctx.db.ticker().iter() {
        ctx.db.ticker().scheduled_id().delete(row.scheduled_id);
    }
}

#[reducer]
pub fn tick(ctx: &ReducerContext, _row: Ticker) {
    ctx.db.fired().insert(Fired {
        id: 0,
        kind: "tick".to_string(),
        label: String::new(),
    });
}
