//! The smoketests' "sql-format": one table per kind of column, filled by `test`, so that
//! `spacetime sql` output can be compared with the exact text upstream prints. Each row
//! type also appears nested in a `tuple` column. `accessor_table` (canonically
//! `canonical_table`) is for names in SQL.

use spacetimedb::{
    reducer, table, ConnectionId, Identity, ReducerContext, SpacetimeType, Table, TimeDuration, Timestamp, Uuid,
};

#[derive(Copy, Clone)]
#[table(accessor = t_ints, public)]
pub struct TInts {
    i8: i8,
    i16: i16,
    i32: i32,
    i64: i64,
    i128: i128,
}

#[table(accessor = t_ints_tuple, public)]
pub struct TIntsTuple {
    tuple: TInts,
}

#[derive(Copy, Clone)]
#[table(accessor = t_uints, public)]
pub struct TUints {
    u8: u8,
    u16: u16,
    u32: u32,
    u64: u64,
    u128: u128,
}

#[table(accessor = t_uints_tuple, public)]
pub struct TUintsTuple {
    tuple: TUints,
}

#[derive(Clone)]
#[table(accessor = t_others, public)]
pub struct TOthers {
    bool: bool,
    f32: f32,
    f64: f64,
    str: String,
    bytes: Vec<u8>,
    identity: Identity,
    connection_id: ConnectionId,
    timestamp: Timestamp,
    duration: TimeDuration,
    uuid: Uuid,
}

#[table(accessor = t_others_tuple, public)]
pub struct TOthersTuple {
    tuple: TOthers,
}

#[derive(SpacetimeType, Clone, Copy)]
pub enum Action {
    Inactive,
    Active,
}

#[derive(Clone)]
#[table(accessor = t_enums, public)]
pub struct TEnums {
    bool_opt: Option<bool>,
    bool_result: Result<bool, String>,
    action: Action,
}

#[table(accessor = t_enums_tuple, public)]
pub struct TEnumsTuple {
    tuple: TEnums,
}

/// A table whose canonical name (`canonical_table`) is not its accessor, with a column whose
/// canonical name (`accessor_value_1`) is not its field's: SQL takes either name.
#[table(accessor = accessor_table, name = "canonical_table", public)]
pub struct AccessorRow {
    #[primary_key]
    id: u32,
    accessor_value1: u32,
}

/// Fills `accessor_table` (the other tables are for `test`).
#[reducer(init)]
pub fn init(ctx: &ReducerContext) {
    ctx.db.accessor_table().insert(AccessorRow {
        id: 1,
        accessor_value1: 7,
    });
}

/// Fills every table with one row.
#[reducer]
pub fn test(ctx: &ReducerContext) {
    let ints = TInts {
        i8: -25,
        i16: -3224,
        i32: -23443,
        i64: -2344353,
        i128: -234434897853,
    };
    ctx.db.t_ints().insert(ints);
    ctx.db.t_ints_tuple().insert(TIntsTuple { tuple: ints });

    let uints = TUints {
        u8: 105,
        u16: 1050,
        u32: 83892,
        u64: 48937498,
        u128: 4378528978889,
    };
    ctx.db.t_uints().insert(uints);
    ctx.db.t_uints_tuple().insert(TUintsTuple { tuple: uints });

    let mut one = [0u8; 32];
    one[0] = 1;
    let others = TOthers {
        bool: true,
        f32: 594806.56,
        f64: -3454353.345389043,
        str: "This is spacetimedb".to_string(),
        bytes: vec![1, 2, 3, 4, 5, 6, 7],
        identity: Identity::from_byte_array(one),
        connection_id: ConnectionId::ZERO,
        timestamp: Timestamp::UNIX_EPOCH,
        duration: TimeDuration::from_micros(0),
        uuid: Uuid::NIL,
    };
    ctx.db.t_others().insert(others.clone());
    ctx.db.t_others_tuple().insert(TOthersTuple { tuple: others });

    let enums = TEnums {
        bool_opt: Some(true),
        bool_result: Ok(false),
        action: Action::Active,
    };
    ctx.db.t_enums().insert(enums.clone());
    ctx.db.t_enums_tuple().insert(TEnumsTuple { tuple: enums });
}
