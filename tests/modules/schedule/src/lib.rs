//! The smoketests' "schedule-cancel" and "upload-module-2": a one-shot schedule that fires
//! once and is removed, a repeating one that keeps firing until its row is deleted, and
//! a one-shot schedule that is cancelled before it fires.

use spacetimedb::{log, reducer, table, ReducerContext, ScheduleAt, Table, TimeDuration};

/// One-shot calls of `fire_once`.
#[table(accessor = once, scheduled(fire_once))]
pub struct Once {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
    text: String,
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
    text: String,
}

/// Schedules `fire_once(text)` in `delay_ms` milliseconds.
#[reducer]
pub fn schedule_once(ctx: &ReducerContext, text: String, delay_ms: u64) {
    let at = ctx.timestamp + TimeDuration::from_micros(delay_ms as i64 * 1000);
    ctx.db.once().insert(Once { scheduled_id: 0, scheduled_at: ScheduleAt::Time(at), text });
}

/// Cancels every pending one-shot call.
#[reducer]
pub fn cancel_all(ctx: &ReducerContext) {
    for row in ctx.db.once().iter() {
        ctx.db.once().scheduled_id().delete(&row.scheduled_id);
    }
}

#[reducer]
pub fn fire_once(ctx: &ReducerContext, row: Once) {
    log::info!("fired once: {}", row.text);
    ctx.db.fired().insert(Fired { id: 0, kind: "once".to_string(), text: row.text });
}

/// Calls `tick` every `interval_ms` milliseconds.
#[reducer]
pub fn start_ticking(ctx: &ReducerContext, interval_ms: u64) {
    let every = TimeDuration::from_micros(interval_ms as i64 * 1000);
    ctx.db.ticker().insert(Ticker { scheduled_id: 0, scheduled_at: ScheduleAt::Interval(every) });
}

/// Stops every repeating schedule.
#[reducer]
pub fn stop_ticking(ctx: &ReducerContext) {
    for row in ctx.db.ticker().iter() {
        ctx.db.ticker().scheduled_id().delete(&row.scheduled_id);
    }
}

#[reducer]
pub fn tick(ctx: &ReducerContext, _row: Ticker) {
    ctx.db.fired().insert(Fired { id: 0, kind: "tick".to_string(), text: String::new() });
}
