//! Module updates, version 1: the base every other `migrate-*` version migrates from.
//! `person` has an auto-incremented key; `note` is public; `temp` is a table version 2
//! removes; `tick` is a scheduled table whose rows keep firing across updates.

use spacetimedb::{reducer, table, ReducerContext, ScheduleAt, Table, TimeDuration};

/// People, by generated id.
#[table(accessor = person, public)]
pub struct Person {
    #[primary_key]
    #[auto_inc]
    id: u64,
    name: String,
    age: u32,
}

/// Notes, public in this version.
#[table(accessor = note, public)]
pub struct Note {
    #[primary_key]
    id: u64,
    text: String,
}

/// A table version 2 drops: the update is refused while it holds rows.
#[table(accessor = temp, public)]
pub struct Temp {
    x: u32,
}

/// A repeating schedule; `ticked` counts its runs.
#[table(accessor = tick, scheduled(on_tick))]
pub struct Tick {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
}

/// How many times `on_tick` ran.
#[table(accessor = ticked, public)]
pub struct Ticked {
    #[primary_key]
    id: u32,
    count: u64,
}

/// Adds a person.
#[reducer]
pub fn add_person(ctx: &ReducerContext, name: String, age: u32) {
    ctx.db.person().insert(Person { id: 0, name, age });
}

/// Adds a note.
#[reducer]
pub fn add_note(ctx: &ReducerContext, id: u64, text: String) {
    ctx.db.note().insert(Note { id, text });
}

/// Adds a row to `temp`.
#[reducer]
pub fn add_temp(ctx: &ReducerContext, x: u32) {
    ctx.db.temp().insert(Temp { x });
}

/// Empties `temp`.
#[reducer]
pub fn clear_temp(ctx: &ReducerContext) {
    for row in ctx.db.temp().iter() {
        ctx.db.temp().delete(row);
    }
}

/// Starts the schedule: every 50 ms.
#[reducer]
pub fn start_ticking(ctx: &ReducerContext) {
    ctx.db.tick().insert(Tick {
        scheduled_id: 0,
        scheduled_at: ScheduleAt::Interval(TimeDuration::from_micros(50_000)),
    });
}

/// Counts a run of the schedule.
#[reducer]
pub fn on_tick(ctx: &ReducerContext, _tick: Tick) {
    let count = ctx.db.ticked().id().find(0).map_or(0, |t| t.count) + 1;
    ctx.db.ticked().id().delete(0);
    ctx.db.ticked().insert(Ticked { id: 0, count });
}
