//! The module the host's integration tests drive: each reducer exercises one path of
//! the ABI (inserts with auto-inc write-back, unique violations, index point and range
//! scans, updates, deletes, large scans, failures, traps, runaway loops, memory
//! exhaustion, lifecycle reducers and scheduled tables). Reducers that check a result
//! return `Err` with what they saw, so a test can assert on the outcome alone.

use spacetimedb::{log, reducer, table, Identity, ReducerContext, ScheduleAt, Table, TimeDuration};

/// People, with an auto-incremented key, a unique name and an indexed age.
#[table(accessor = person, public)]
pub struct Person {
    #[primary_key]
    #[auto_inc]
    id: u64,
    #[unique]
    name: String,
    #[index(btree)]
    age: u8,
}

/// Written once by `init`.
#[table(accessor = config)]
pub struct Config {
    #[primary_key]
    key: String,
    value: String,
}

/// Identities `client_connected` rejects.
#[table(accessor = banned)]
pub struct Banned {
    #[primary_key]
    identity: Identity,
}

/// Who is connected right now.
#[table(accessor = online)]
pub struct Online {
    #[primary_key]
    identity: Identity,
}

/// Scheduled calls of `remind`.
#[table(accessor = reminder, scheduled(remind))]
pub struct Reminder {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
    text: String,
}

/// One row per run of `remind`.
#[table(accessor = fired)]
pub struct Fired {
    #[primary_key]
    #[auto_inc]
    id: u64,
    text: String,
    by_database: bool,
}

#[reducer(init)]
pub fn init(ctx: &ReducerContext) {
    ctx.db.config().insert(Config {
        key: "initialised".into(),
        value: "yes".into(),
    });
}

#[reducer(client_connected)]
pub fn connect(ctx: &ReducerContext) -> Result<(), String> {
    if ctx.db.banned().identity().find(ctx.sender()).is_some() {
        return Err(format!("{} is banned", ctx.sender()));
    }
    ctx.db.online().insert(Online { identity: ctx.sender() });
    Ok(())
}

#[reducer(client_disconnected)]
pub fn disconnect(ctx: &ReducerContext) {
    ctx.db.online().identity().delete(ctx.sender());
}

/// Bans `identity` from connecting.
#[reducer]
pub fn ban(ctx: &ReducerContext, identity: Identity) {
    ctx.db.banned().insert(Banned { identity });
}

/// Inserts a person and checks the id the auto-inc sequence wrote back.
#[reducer]
pub fn add_person(ctx: &ReducerContext, name: String, age: u8, expected_id: u64) -> Result<(), String> {
    let row = ctx.db.person().insert(Person { id: 0, name, age });
    if row.id != expected_id {
        return Err(format!(
            "auto_inc wrote back id {} but {expected_id} was expected",
            row.id
        ));
    }
    Ok(())
}

/// Inserts a person whose name exists and checks the unique violation surfaces.
#[reducer]
pub fn add_duplicate(ctx: &ReducerContext, name: String) -> Result<(), String> {
    match ctx.db.person().try_insert(Person { id: 0, name, age: 1 }) {
        Err(spacetimedb::TryInsertError::UniqueConstraintViolation(_)) => Ok(()),
        Err(other) => Err(format!("expected a unique violation, got {other}")),
        Ok(row) => Err(format!("expected a unique violation, but inserted id {}", row.id)),
    }
}

/// Checks a person's age through the unique `name` index.
#[reducer]
pub fn expect_age(ctx: &ReducerContext, name: String, age: u8) -> Result<(), String> {
    match ctx.db.person().name().find(&name) {
        Some(p) if p.age == age => Ok(()),
        Some(p) => Err(format!("{name} is {} not {age}", p.age)),
        None => Err(format!("{name} not found")),
    }
}

/// Sets a person's age through the primary key.
#[reducer]
pub fn set_age(ctx: &ReducerContext, name: String, age: u8) -> Result<(), String> {
    let person = ctx
        .db
        .person()
        .name()
        .find(&name)
        .ok_or_else(|| format!("{name} not found"))?;
    ctx.db.person().id().update(Person { age, ..person });
    Ok(())
}

/// Deletes a person by name.
#[reducer]
pub fn remove_person(ctx: &ReducerContext, name: String) -> Result<(), String> {
    if ctx.db.person().name().delete(&name) {
        Ok(())
    } else {
        Err(format!("{name} not found"))
    }
}

/// Checks the row count, a full scan and a btree range scan over `age`.
#[reducer]
pub fn expect_counts(ctx: &ReducerContext, total: u64, min_age: u8, max_age: u8, in_range: u64) -> Result<(), String> {
    let count = ctx.db.person().count();
    let scanned = ctx.db.person().iter().count() as u64;
    let ranged = ctx.db.person().age().filter(min_age..=max_age).count() as u64;
    if (count, scanned, ranged) != (total, total, in_range) {
        return Err(format!(
            "count {count}, scan {scanned}, range {ranged}; expected {total}, {total}, {in_range}"
        ));
    }
    Ok(())
}

/// Deletes everyone whose age lies in `min_age..=max_age` and checks how many went.
#[reducer]
pub fn remove_ages(ctx: &ReducerContext, min_age: u8, max_age: u8, expected: u64) -> Result<(), String> {
    let deleted = ctx.db.person().age().delete(min_age..=max_age);
    if deleted != expected {
        return Err(format!("deleted {deleted}, expected {expected}"));
    }
    Ok(())
}

/// Inserts `count` people with long names, then reads them all back through one scan,
/// which spans many ~32 KiB iterator chunks.
#[reducer]
pub fn add_many(ctx: &ReducerContext, count: u32, name_len: u32) -> Result<(), String> {
    let pad = "x".repeat(name_len as usize);
    for i in 0..count {
        ctx.db.person().insert(Person {
            id: 0,
            name: format!("{i:08}{pad}"),
            age: (i % 100) as u8,
        });
    }
    let seen = ctx
        .db
        .person()
        .iter()
        .filter(|p| p.name.len() == 8 + name_len as usize)
        .count();
    if seen != count as usize {
        return Err(format!("scan returned {seen} of {count} rows"));
    }
    Ok(())
}

/// Deletes every person, returning how many through an `Err` if it was not `expected`.
#[reducer]
pub fn clear_people(ctx: &ReducerContext, expected: u64) -> Result<(), String> {
    let cleared = ctx.db.person().clear();
    if cleared != expected {
        return Err(format!("cleared {cleared}, expected {expected}"));
    }
    Ok(())
}

/// Inserts a person, then fails with `message`: the insert must be rolled back.
#[reducer]
pub fn add_then_fail(ctx: &ReducerContext, name: String, message: String) -> Result<(), String> {
    ctx.db.person().insert(Person { id: 0, name, age: 0 });
    Err(message)
}

/// Inserts a person, then panics with `message`: the insert must be rolled back.
#[reducer]
pub fn add_then_panic(ctx: &ReducerContext, name: String, message: String) {
    ctx.db.person().insert(Person { id: 0, name, age: 0 });
    panic!("{message}");
}

/// Never returns: the host's time budget must stop it.
#[reducer]
pub fn spin(_ctx: &ReducerContext) {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Allocates and touches `mib` MiB: the host's memory limit must stop it.
#[reducer]
pub fn hog(_ctx: &ReducerContext, mib: u32) -> Result<(), String> {
    let mut blocks = Vec::new();
    for _ in 0..mib {
        blocks.push(std::hint::black_box(vec![1u8; 1 << 20]));
    }
    Err(format!("allocated {} MiB without being stopped", blocks.len()))
}

/// Logs at every level and times itself.
#[reducer]
pub fn chatter(_ctx: &ReducerContext) {
    let _timer = spacetimedb::log_stopwatch::LogStopwatch::new("chatter");
    log::error!("error line");
    log::warn!("warn line");
    log::info!("info line");
    log::debug!("debug line");
    log::trace!("trace line");
}

/// Fails unless the caller is `expected`.
#[reducer]
pub fn expect_sender(ctx: &ReducerContext, expected: Identity) -> Result<(), String> {
    if ctx.sender() != expected {
        return Err(format!("sender is {}, expected {expected}", ctx.sender()));
    }
    Ok(())
}

/// Schedules `remind(text)` once, `delay_ms` from now.
#[reducer]
pub fn remind_in(ctx: &ReducerContext, text: String, delay_ms: u64) {
    let at = ctx.timestamp + TimeDuration::from_micros(delay_ms as i64 * 1000);
    ctx.db.reminder().insert(Reminder {
        scheduled_id: 0,
        scheduled_at: at.into(),
        text,
    });
}

/// Schedules `remind(text)` every `interval_ms`.
#[reducer]
pub fn remind_every(ctx: &ReducerContext, text: String, interval_ms: u64) {
    let every = TimeDuration::from_micros(interval_ms as i64 * 1000);
    ctx.db.reminder().insert(Reminder {
        scheduled_id: 0,
        scheduled_at: every.into(),
        text,
    });
}

/// Cancels every reminder with this text.
#[reducer]
pub fn cancel_reminder(ctx: &ReducerContext, text: String) {
    for row in ctx.db.reminder().iter().filter(|r| r.text == text) {
        ctx.db.reminder().scheduled_id().delete(row.scheduled_id);
    }
}

/// The scheduled reducer: records the run, and fails when the text says so.
#[reducer]
pub fn remind(ctx: &ReducerContext, reminder: Reminder) -> Result<(), String> {
    let by_database = ctx.sender() == ctx.database_identity() && ctx.connection_id().is_none();
    ctx.db.fired().insert(Fired {
        id: 0,
        text: reminder.text.clone(),
        by_database,
    });
    if reminder.text == "fail" {
        return Err("reminder asked to fail".into());
    }
    Ok(())
}

/// Fails if the host reports a JWT for the caller (a call with no token), which
/// exercises `get_jwt`.
#[reducer]
pub fn expect_no_jwt(ctx: &ReducerContext) -> Result<(), String> {
    if ctx.sender_auth().has_jwt() {
        return Err("the host reported a JWT".into());
    }
    Ok(())
}

/// What `ctx.sender_auth().jwt()` showed a caller: one row per `record_jwt` call.
#[table(accessor = jwt_seen, public)]
pub struct JwtSeen {
    #[primary_key]
    #[auto_inc]
    id: u64,
    subject: String,
    issuer: String,
    payload: String,
}

/// Records the caller's JWT claims; fails if the host reports none.
#[reducer]
pub fn record_jwt(ctx: &ReducerContext) -> Result<(), String> {
    let jwt = ctx
        .sender_auth()
        .jwt()
        .ok_or("the host reported no JWT for the caller")?;
    ctx.db.jwt_seen().insert(JwtSeen {
        id: 0,
        subject: jwt.subject().to_owned(),
        issuer: jwt.issuer().to_owned(),
        payload: jwt.raw_payload().to_owned(),
    });
    Ok(())
}
