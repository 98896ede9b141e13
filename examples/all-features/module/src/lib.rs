//! A module that uses every feature of the module API: every column type, custom struct
//! and enum types, unique and primary-key columns, auto-increment, btree (single and
//! multi-column) and hash indexes, column defaults, private and renamed tables, one-shot
//! and repeating schedules, lifecycle reducers, and reducers that find, filter, update,
//! delete, clear and return errors.
//!
//! It uses only API that the crates.io `spacetimedb` 2.10.1 crate also has, so the same
//! source builds against either and describes itself identically.

use spacetimedb::rand::Rng;
use spacetimedb::sats::{i256, u256};
use spacetimedb::{
    reducer, table, ConnectionId, Identity, ReducerContext, ScheduleAt, SpacetimeType, Table, TimeDuration, Timestamp,
    Uuid,
};
use std::ops::Bound;
use std::time::Duration;

/// A point in the plane: a custom product type.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// A plain enum: it can be an index key.
#[derive(SpacetimeType, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Blue,
}

/// An enum with unit and newtype variants.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub enum Shape {
    Circle(f32),
    Polygon(Vec<Point>),
    Empty,
}

/// One row holding every column type.
#[table(accessor = every_type, public)]
pub struct EveryType {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub a_u8: u8,
    pub a_u16: u16,
    pub a_u32: u32,
    pub a_u64: u64,
    pub a_u128: u128,
    pub a_u256: u256,
    pub a_i8: i8,
    pub a_i16: i16,
    pub a_i32: i32,
    pub a_i64: i64,
    pub a_i128: i128,
    pub a_i256: i256,
    pub a_f32: f32,
    pub a_f64: f64,
    pub a_bool: bool,
    pub a_string: String,
    pub a_bytes: Vec<u8>,
    pub an_option: Option<String>,
    pub an_identity: Identity,
    pub a_connection_id: ConnectionId,
    pub a_timestamp: Timestamp,
    pub a_time_duration: TimeDuration,
    pub a_uuid: Uuid,
    pub a_point: Point,
    pub a_color: Color,
    pub a_shape: Shape,
}

/// Players, with every kind of index.
#[table(
    accessor = player,
    public,
    index(accessor = by_level_and_score, btree(columns = [level, score])),
    index(accessor = by_color_and_level, hash(columns = [color, level]))
)]
#[derive(Clone, Debug)]
pub struct Player {
    #[primary_key]
    #[auto_inc]
    pub id: u32,
    #[unique]
    pub name: String,
    #[index(btree)]
    pub level: u32,
    pub score: i64,
    #[index(hash)]
    pub color: Color,
    pub owner: Identity,
}

/// A private table with a column default; its canonical name differs from its accessor.
#[table(accessor = audit_log, private, name = "audit_entries")]
pub struct AuditLog {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    pub at: Timestamp,
    pub note: String,
    #[default(0)]
    pub severity: u8,
}

/// One-shot reminders: each row calls `send_reminder` once, at `scheduled_at`.
#[table(accessor = reminder, scheduled(send_reminder))]
pub struct Reminder {
    #[primary_key]
    #[auto_inc]
    pub scheduled_id: u64,
    pub scheduled_at: ScheduleAt,
    pub message: String,
}

/// A repeating timer whose schedule column is not called `scheduled_at`.
#[table(accessor = tick, scheduled(on_tick, at = every))]
pub struct Tick {
    #[primary_key]
    #[auto_inc]
    pub scheduled_id: u64,
    pub every: ScheduleAt,
    pub label: String,
}

/// A counter updated by `on_tick`.
#[table(accessor = tick_count, public)]
pub struct TickCount {
    #[primary_key]
    pub label: String,
    pub count: u64,
}

fn audit(ctx: &ReducerContext, note: String, severity: u8) {
    ctx.db.audit_log().insert(AuditLog {
        id: 0,
        at: ctx.timestamp,
        note,
        severity,
    });
}

#[reducer(init)]
pub fn init(ctx: &ReducerContext) {
    ctx.db.tick().insert(Tick {
        scheduled_id: 0,
        every: ScheduleAt::Interval(Duration::from_secs(60).into()),
        label: "minute".to_string(),
    });
    audit(ctx, "module initialised".to_string(), 0);
}

#[reducer(client_connected)]
pub fn on_connect(ctx: &ReducerContext) {
    log::info!("client connected: {:?} via {:?}", ctx.sender(), ctx.connection_id());
}

#[reducer(client_disconnected)]
pub fn on_disconnect(ctx: &ReducerContext) {
    log::info!("client disconnected: {:?}", ctx.sender());
}

/// Inserts one row of every column type, derived from `seed` and the call.
#[reducer]
pub fn insert_every_type(ctx: &ReducerContext, seed: u8, text: String) {
    let n = seed as i64;
    let row = ctx.db.every_type().insert(EveryType {
        id: 0,
        a_u8: seed,
        a_u16: seed as u16 * 300,
        a_u32: seed as u32 * 70_000,
        a_u64: u64::MAX - seed as u64,
        a_u128: u128::MAX - seed as u128,
        a_u256: u256::from(seed),
        a_i8: -(seed as i8 & 0x3f),
        a_i16: -300 * (seed as i16 & 0x3f),
        a_i32: -(n as i32) * 70_000,
        a_i64: i64::MIN + n,
        a_i128: i128::MIN + n as i128,
        a_i256: i256::from(-n),
        a_f32: seed as f32 / 4.0,
        a_f64: n as f64 * 1.5,
        a_bool: seed.is_multiple_of(2),
        a_string: text.clone(),
        a_bytes: text.clone().into_bytes(),
        an_option: if text.is_empty() { None } else { Some(text) },
        an_identity: ctx.sender(),
        a_connection_id: ctx.connection_id().unwrap_or(ConnectionId::ZERO),
        a_timestamp: ctx.timestamp,
        a_time_duration: TimeDuration::from_micros(n * 1_000),
        a_uuid: Uuid::from_u128(seed as u128),
        a_point: Point {
            x: n as f64,
            y: -(n as f64),
        },
        a_color: match seed % 3 {
            0 => Color::Red,
            1 => Color::Green,
            _ => Color::Blue,
        },
        a_shape: match seed % 3 {
            0 => Shape::Circle(seed as f32),
            1 => Shape::Polygon(vec![Point { x: 0.0, y: 0.0 }, Point { x: n as f64, y: 1.0 }]),
            _ => Shape::Empty,
        },
    });
    log::info!("inserted every_type row {}", row.id);
}

/// Inserts `row` as given (a fresh `id` is assigned), so a client can send a value of
/// every column type and read it back through a subscription unchanged.
#[reducer]
pub fn insert_every_type_row(ctx: &ReducerContext, row: EveryType) {
    let row = ctx.db.every_type().insert(EveryType { id: 0, ..row });
    log::info!("inserted every_type row {}", row.id);
}

/// Adds a player; fails if the name is taken or empty.
#[reducer]
pub fn add_player(ctx: &ReducerContext, name: String, level: u32, score: i64, color: Color) -> Result<(), String> {
    if name.is_empty() {
        return Err("player names must not be empty".to_string());
    }
    let player = ctx
        .db
        .player()
        .try_insert(Player {
            id: 0,
            name: name.clone(),
            level,
            score,
            color,
            owner: ctx.sender(),
        })
        .map_err(|e| format!("cannot add player {name:?}: {e}"))?;
    log::info!("added player {} with id {}", player.name, player.id);
    Ok(())
}

/// Raises a player's level by one, found by the unique name and updated by primary key.
#[reducer]
pub fn level_up(ctx: &ReducerContext, name: String) -> Result<(), String> {
    let player = ctx
        .db
        .player()
        .name()
        .find(&name)
        .ok_or_else(|| format!("no player named {name:?}"))?;
    let level = player.level + 1;
    ctx.db.player().id().update(Player { level, ..player });
    Ok(())
}

/// Deletes a player by primary key.
#[reducer]
pub fn delete_player(ctx: &ReducerContext, id: u32) -> Result<(), String> {
    if ctx.db.player().id().delete(id) {
        Ok(())
    } else {
        Err(format!("no player with id {id}"))
    }
}

/// Deletes a player by name, through the table's full-row delete.
#[reducer]
pub fn delete_player_row(ctx: &ReducerContext, name: String) -> Result<(), String> {
    let player = ctx
        .db
        .player()
        .name()
        .find(&name)
        .ok_or_else(|| format!("no player named {name:?}"))?;
    if ctx.db.player().delete(player) {
        Ok(())
    } else {
        Err(format!("player {name:?} vanished"))
    }
}

/// Counts players through every kind of index lookup and logs the counts.
#[reducer]
pub fn count_players(ctx: &ReducerContext, min_level: u32, max_level: u32, color: Color) {
    let players = ctx.db.player();
    let exact = players.level().filter(min_level).count();
    let half_open = players.level().filter(min_level..max_level).count();
    let inclusive = players.level().filter(min_level..=max_level).count();
    let from = players.level().filter(min_level..).count();
    let to = players.level().filter(..max_level).count();
    let to_inclusive = players.level().filter(..=max_level).count();
    let bounds = players
        .level()
        .filter((Bound::Excluded(min_level), Bound::Included(max_level)))
        .count();
    let prefix = players.by_level_and_score().filter(min_level).count();
    let prefix_and_range = players.by_level_and_score().filter((min_level, 0i64..)).count();
    let point = players.by_level_and_score().filter((min_level, 0i64)).count();
    let by_color = players.color().filter(color).count();
    let by_color_and_level = players.by_color_and_level().filter((color, min_level)).count();
    log::info!(
        "players: total {} exact {exact} half_open {half_open} inclusive {inclusive} from {from} to {to} \
         to_inclusive {to_inclusive} bounds {bounds} prefix {prefix} prefix_and_range {prefix_and_range} \
         point {point} by_color {by_color} by_color_and_level {by_color_and_level}",
        players.count()
    );
    for player in players.iter().filter(|p| p.level > max_level) {
        log::debug!("above range: {player:?}");
    }
}

/// Deletes the players below `level` through the btree index; returns an error if none were.
#[reducer]
pub fn delete_players_below(ctx: &ReducerContext, level: u32) -> Result<(), String> {
    match ctx.db.player().level().delete(..level) {
        0 => Err(format!("no players below level {level}")),
        n => {
            log::info!("deleted {n} players below level {level}");
            Ok(())
        }
    }
}

/// Deletes the players of one color through the hash index.
#[reducer]
pub fn delete_players_by_color(ctx: &ReducerContext, color: Color) {
    let n = ctx.db.player().color().delete(color);
    log::info!("deleted {n} {color:?} players");
}

/// Deletes every player and every row of `every_type`.
#[reducer]
pub fn clear_all(ctx: &ReducerContext) {
    let players = ctx.db.player().clear();
    let rows = ctx.db.every_type().clear();
    audit(ctx, format!("cleared {players} players and {rows} rows"), 1);
}

/// Schedules a one-shot reminder `delay_ms` from now.
#[reducer]
pub fn schedule_reminder(ctx: &ReducerContext, message: String, delay_ms: u64) {
    let at = ctx.timestamp + Duration::from_millis(delay_ms);
    ctx.db.reminder().insert(Reminder {
        scheduled_id: 0,
        scheduled_at: ScheduleAt::Time(at),
        message,
    });
}

/// Called by the host for each reminder row.
#[reducer]
pub fn send_reminder(ctx: &ReducerContext, reminder: Reminder) {
    log::info!("reminder {}: {}", reminder.scheduled_id, reminder.message);
    audit(ctx, format!("reminder: {}", reminder.message), 0);
}

/// Called by the host every interval of a tick row.
#[reducer]
pub fn on_tick(ctx: &ReducerContext, tick: Tick) {
    let counts = ctx.db.tick_count();
    match counts.label().find(&tick.label) {
        Some(row) => {
            counts.label().update(TickCount {
                count: row.count + 1,
                ..row
            });
        }
        None => {
            counts.insert(TickCount {
                label: tick.label,
                count: 1,
            });
        }
    }
}

/// Rolls a die with the call's deterministic RNG and records the result.
#[reducer(name = "roll_die")]
pub fn roll(ctx: &ReducerContext) {
    let die: u8 = ctx.rng().gen_range(1..=6);
    let coin: bool = ctx.random();
    audit(
        ctx,
        format!("rolled {die}, coin {coin}, database {}", ctx.database_identity()),
        0,
    );
}

/// Always fails: its error message is what the caller sees.
#[reducer]
pub fn fail(_ctx: &ReducerContext, reason: String) -> Result<(), String> {
    Err(format!("failed on purpose: {reason}"))
}
