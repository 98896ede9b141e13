//! Module updates, version 2, an automatic update of version 1 that old clients can
//! still read: `person.age` gains an index and `person.name` a unique constraint
//! (checked against the rows), `note` becomes private, the empty `temp` is dropped
//! with its reducers, and `pet` and `add_pet` are new.

use spacetimedb::{reducer, table, ReducerContext, ScheduleAt, Table, TimeDuration};

/// People, by generated id; names are now unique, ages indexed.
#[table(accessor = person, public)]
pub struct Person {
    #[primary_key]
    #[auto_inc]
    id: u64,
    #[unique]
    name: String,
    #[index(btree)]
    age: u32,
}

/// Notes, private from this version on.
#[table(accessor = note)]
pub struct Note {
    #[primary_key]
    id: u64,
    text: String,
}

/// Pets: new in this version.
#[table(accessor = pet, public)]
pub struct Pet {
    name: String,
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

/// Adds a pet: new in this version.
#[reducer]
pub fn add_pet(ctx: &ReducerContext, name: String) {
    ctx.db.pet().insert(Pet { name });
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
