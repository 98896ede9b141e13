//! A module whose `init` fails: publishing it must fail and leave no database behind.

use spacetimedb::{reducer, table, ReducerContext, Table};

#[table(accessor = note, public)]
pub struct Note {
    text: String,
}

#[reducer(init)]
pub fn init(ctx: &ReducerContext) -> Result<(), String> {
    ctx.db.note().insert(Note {
        text: "written before failing".to_string(),
    });
    Err("init failed on purpose".to_string())
}
