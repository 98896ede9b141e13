//! A module that touches the whole module-author API a normal module uses: every table and
//! column attribute, every reducer kind, every table and index handle method, the context
//! (sender, auth, time, RNG, UUIDs), the special types' methods and operators, logging and
//! the log stopwatch.
//!
//! It is written against the crates.io `spacetimedb` 2.10.1 API only: the same file also
//! compiles as a `cdylib` against upstream (see `bindings/tests/all/surface.rs` for how it
//! is checked), which is what makes it a test of source compatibility. Names are prefixed
//! `surface_` so they do not collide with the other modules of this test binary.

use spacetimedb::log_stopwatch::LogStopwatch;
use spacetimedb::rand::Rng;
use spacetimedb::sats::{i256, u256};
use spacetimedb::{
    duration, log, reducer, table, AuthCtx, ConnectionId, CtxDbRead, CtxDbWrite, CtxWithRng, CtxWithSender,
    CtxWithSenderAuth, CtxWithTimestamp, Identity, JwtClaims, Local, LocalReadOnly, PointIndexReadOnly, RangedIndex,
    RangedIndexReadOnly, ReducerContext, ReducerResult, ScheduleAt, SpacetimeType, StdbRng, Table, TimeDuration,
    Timestamp, TryInsertError, UniqueColumn, UniqueColumnReadOnly, Uuid,
};
use spacetimedb::{Deserialize, DeserializeOwned, Serialize};
use std::ops::Bound;
use std::time::Duration;

/// Canonical names as in the source, rather than snake_cased.
#[spacetimedb::settings]
const CASE_CONVERSION_POLICY: spacetimedb::CaseConversionPolicy = spacetimedb::CaseConversionPolicy::None;

/// A product type used as a column, naming the crate path explicitly.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
#[sats(crate = spacetimedb::spacetimedb_lib)]
pub struct SurfacePoint {
    pub x: i32,
    pub y: i32,
}

/// A plain enum: usable as an index key.
#[derive(SpacetimeType, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SurfaceTier {
    Free,
    Paid,
}

/// A sum type with newtype and unit variants, renamed in the module definition.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
#[sats(name = "Surface.Payload")]
pub enum SurfacePayload {
    Text(String),
    Point(SurfacePoint),
    Shout { text: String },
    Nothing,
}

/// A type with the BSATN traits but no `SpacetimeType`: not a column, just encoded. (These
/// derives need the crate path in SpacetimeDB too.)
#[derive(Serialize, Deserialize, Clone, Debug)]
#[sats(crate = spacetimedb::spacetimedb_lib)]
pub struct SurfaceBlob {
    pub bytes: Vec<u8>,
    pub tag: Option<u32>,
}

/// Bounds on SpacetimeDB's trait names.
fn assert_bsatn<T: Serialize + DeserializeOwned>(_: &T) {}
fn assert_borrowing_decode<'de, T: Deserialize<'de>>() {}

#[table(accessor = surface_user, public, index(accessor = by_tier_and_age, btree(columns = [tier, age])))]
#[derive(Clone, Debug)]
pub struct SurfaceUser {
    #[primary_key]
    pub identity: Identity,
    #[unique]
    pub name: String,
    #[index(btree)]
    pub age: u8,
    #[index(hash)]
    pub tier: SurfaceTier,
    pub big: u256,
    pub signed_big: i256,
    pub seen: Timestamp,
    pub conn: Option<ConnectionId>,
    pub uid: Uuid,
}

#[table(accessor = surface_message, name = "surface_messages", private)]
#[derive(Clone, Debug)]
pub struct SurfaceMessage {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub sender: Identity,
    pub sent: Timestamp,
    pub payload: SurfacePayload,
    #[default(0)]
    pub likes: u32,
}

#[table(accessor = surface_timer, scheduled(surface_tick))]
pub struct SurfaceTimer {
    #[primary_key]
    #[auto_inc]
    pub scheduled_id: u64,
    pub scheduled_at: ScheduleAt,
    pub note: String,
}

#[table(accessor = surface_alarm, scheduled(surface_ring, at = when))]
pub struct SurfaceAlarm {
    #[primary_key]
    #[auto_inc]
    pub scheduled_id: u64,
    pub when: ScheduleAt,
}

#[table(accessor = surface_event, public, event)]
pub struct SurfaceEvent {
    pub what: String,
}

#[table(accessor = surface_slot, index(accessor = by_tier, direct(column = [tier])))]
pub struct SurfaceSlot {
    #[unique]
    #[index(direct)]
    pub slot: u16,
    #[unique]
    pub tier: SurfaceTier,
}

#[reducer(init)]
pub fn surface_init(ctx: &ReducerContext) {
    ctx.db.surface_timer().insert(SurfaceTimer {
        scheduled_id: 0,
        scheduled_at: duration!("1s").into(),
        note: "every second".into(),
    });
    let at = ctx.timestamp + duration!(500ms);
    ctx.db.surface_alarm().insert(SurfaceAlarm {
        scheduled_id: 0,
        when: ScheduleAt::Time(at),
    });
}

#[reducer(client_connected)]
pub fn surface_connect(ctx: &ReducerContext) -> Result<(), String> {
    let auth: &AuthCtx = ctx.sender_auth();
    if !auth.is_internal() && auth.has_jwt() {
        let claims: &JwtClaims = auth.jwt().ok_or("no claims")?;
        log::info!(
            "{} from {} ({:?}, {} bytes), {}",
            claims.subject(),
            claims.issuer(),
            claims.audience(),
            claims.raw_payload().len(),
            claims.identity()
        );
    }
    Ok(())
}

#[reducer(client_disconnected)]
pub fn surface_disconnect(ctx: &ReducerContext) {
    ctx.db.surface_user().identity().delete(ctx.sender());
}

#[reducer]
pub fn surface_tick(ctx: &ReducerContext, timer: SurfaceTimer) {
    let _stopwatch = LogStopwatch::new("surface_tick");
    ctx.db.surface_event().insert(SurfaceEvent { what: timer.note });
}

#[reducer]
pub fn surface_ring(_ctx: &ReducerContext, alarm: SurfaceAlarm) {
    LogStopwatch::new("ring").end();
    log::debug!("alarm {} at {:?}", alarm.scheduled_id, alarm.when);
}

#[reducer(name = "surface_register_user")]
pub fn surface_register(ctx: &ReducerContext, name: String, age: u8, tier: SurfaceTier) -> Result<(), String> {
    let row = SurfaceUser {
        identity: ctx.sender(),
        name,
        age,
        tier,
        big: u256::from(7u8),
        signed_big: i256::from(-7i8),
        seen: ctx.timestamp,
        conn: ctx.connection_id(),
        uid: ctx.new_uuid_v4().map_err(|e| e.to_string())?,
    };
    match ctx.db.surface_user().try_insert(row) {
        Ok(_) => Ok(()),
        Err(TryInsertError::UniqueConstraintViolation(_)) => Err("that name is taken".into()),
        Err(TryInsertError::AutoIncOverflow(never)) => match never {},
    }
}

#[reducer]
pub fn surface_send(ctx: &ReducerContext, text: String) -> Result<(), Box<dyn std::error::Error>> {
    let id = ctx.new_uuid_v7()?;
    let msg = ctx.db.surface_message().try_insert(SurfaceMessage {
        id: 0,
        sender: ctx.sender(),
        sent: ctx.timestamp,
        payload: SurfacePayload::Text(format!("{text} {id}")),
        likes: 0,
    })?;
    log::info!("message {} of {}", msg.id, ctx.db.surface_message().count());
    Ok(())
}

#[reducer]
pub fn surface_queries(ctx: &ReducerContext, name: String, min_age: u8) -> ReducerResult {
    let users = ctx.db.surface_user();
    let by_name: Option<SurfaceUser> = users.name().find(&name);
    let _ = users.name().find(name.clone());
    let _: usize = users.age().filter(min_age..).count();
    let _: usize = users.age().filter(..=min_age).count();
    let _: usize = users.age().filter(min_age).count();
    let _: usize = users.age().filter((Bound::Excluded(min_age), Bound::Unbounded)).count();
    let _: usize = users.tier().filter(SurfaceTier::Paid).count();
    let _: usize = users.tier().filter(&SurfaceTier::Free).count();
    let _: usize = users.by_tier_and_age().filter(SurfaceTier::Paid).count();
    let _: usize = users.by_tier_and_age().filter((SurfaceTier::Paid, 18u8..65)).count();
    let _: u64 = users.by_tier_and_age().delete((SurfaceTier::Free, min_age));
    let _: u64 = users.age().delete(..min_age);
    let _: u64 = users.tier().delete(SurfaceTier::Free);
    if let Some(mut user) = by_name {
        user.age = user.age.saturating_add(1);
        let updated: SurfaceUser = users.identity().update(user.clone());
        let _ = users.delete(updated);
    }
    let handle: UniqueColumn<surface_user__TableHandle, Identity, _> = users.identity();
    let _ = handle.find(ctx.sender());
    let ranged: RangedIndex<surface_user__TableHandle, (u8,), _> = users.age();
    let _ = ranged.filter(1u8..=3).next();
    let _ = ctx
        .db
        .surface_message()
        .sender()
        .filter(&ctx.sender())
        .map(|m| m.id)
        .max();
    let everything: Vec<SurfaceMessage> = ctx.db.surface_message().iter().collect();
    for message in everything {
        ctx.db.surface_message().id().delete(message.id);
    }
    let _: u64 = ctx.db.surface_event().clear();
    assert_bsatn(&SurfaceBlob {
        bytes: vec![1],
        tag: None,
    });
    let bytes: Vec<u8> = spacetimedb::sats::bsatn::to_vec(&SurfaceBlob {
        bytes: vec![1],
        tag: Some(2),
    })
    .map_err(|e| e.to_string())?;
    let back: SurfaceBlob = spacetimedb::sats::bsatn::from_slice(&bytes).map_err(|e| e.to_string())?;
    log::debug!("{back:?}");
    assert_borrowing_decode::<SurfacePoint>();
    let slots = ctx.db.surface_slot();
    let _: Option<SurfaceSlot> = slots.slot().find(3u16);
    let _: Option<SurfaceSlot> = slots.tier().find(SurfaceTier::Paid);
    let _: bool = slots.slot().delete(4u16);
    Ok(())
}

/// Helpers generic over the database: `Local` is nameable.
fn count_users(db: &Local) -> u64 {
    db.surface_user().count()
}

/// Helpers generic over the context, through the capability traits.
fn count_through_traits<C>(ctx: &C) -> u64
where
    C: CtxDbWrite + CtxWithSender + CtxWithTimestamp + CtxWithSenderAuth + CtxWithRng,
{
    let _ = (
        ctx.sender(),
        ctx.timestamp(),
        ctx.sender_auth().is_internal(),
        ctx.random::<u8>(),
        ctx.rng(),
    );
    let read_only: &LocalReadOnly = ctx.db_read_only();
    let users = read_only.surface_user();
    let by_id: UniqueColumnReadOnly<surface_user__TableHandle, Identity, _> = users.identity();
    let _ = by_id.find(ctx.sender());
    let by_age: RangedIndexReadOnly<surface_user__TableHandle, (u8,), _> = users.age();
    let _ = by_age.filter(3u8..).count();
    let by_tier: PointIndexReadOnly<surface_user__TableHandle, (SurfaceTier,), _> = users.tier();
    let _ = by_tier.filter(SurfaceTier::Paid).count();
    let _ = users.by_tier_and_age().filter((SurfaceTier::Free, 3u8)).count();
    users.count() + ctx.db().surface_message().count()
}

/// Read access alone.
fn count_read_only(ctx: &impl CtxDbRead) -> u64 {
    ctx.db_read_only().surface_user().count()
}

/// The deprecated context trait, which older modules use.
#[allow(deprecated)]
fn count_through_db_context(ctx: &impl spacetimedb::DbContext<DbView = Local>) -> u64 {
    ctx.db().surface_user().count() + ctx.db_read_only().surface_message().count()
}

#[reducer]
pub fn surface_randomness(ctx: &ReducerContext) {
    let mut rng: &StdbRng = ctx.rng();
    let roll: u8 = rng.gen_range(1..=6);
    let _: u32 = ctx.rng().gen();
    let coin: bool = ctx.random();
    let x: f64 = ctx.rng().gen();
    log::trace!(
        "{roll} {coin} {x} {} {} {} {}",
        count_users(&ctx.db),
        count_through_traits(ctx),
        count_through_db_context(ctx),
        count_read_only(ctx)
    );
    #[allow(deprecated)]
    let me = ctx.identity();
    assert_eq!(me, ctx.database_identity());
}

#[reducer]
pub fn surface_time(ctx: &ReducerContext, earlier: Timestamp, span: TimeDuration) -> Result<(), String> {
    let now = ctx.timestamp;
    let _: Option<Duration> = now.duration_since(earlier);
    let _: Option<TimeDuration> = now.time_duration_since(earlier);
    let _: Option<Timestamp> = now.checked_add(span);
    let _: Option<Timestamp> = now.checked_sub(span);
    let _: Option<Timestamp> = now.checked_add_duration(Duration::from_secs(1));
    let _: Option<Timestamp> = now.checked_sub_duration(Duration::from_secs(1));
    let mut t = now + span - span + Duration::from_millis(3) - Duration::from_millis(3);
    t += span;
    t -= span;
    t += Duration::from_secs(1);
    t -= Duration::from_secs(1);
    let _: i64 = t.to_micros_since_unix_epoch();
    let _ = Timestamp::from_micros_since_unix_epoch(0) == Timestamp::UNIX_EPOCH;
    let _: TimeDuration = t.to_time_duration_since_unix_epoch();
    let _ = Timestamp::from_time_duration_since_unix_epoch(span);
    let _: Result<Duration, Duration> = t.to_duration_since_unix_epoch();
    let _ = Timestamp::from_duration_since_unix_epoch(Duration::from_secs(5));
    let _: std::time::SystemTime = t.to_system_time();
    let _ = Timestamp::from_system_time(std::time::SystemTime::UNIX_EPOCH);
    let text = t.to_rfc3339().map_err(|e| e.to_string())?;
    let parsed = Timestamp::parse_from_rfc3339(&text).map_err(|e| e.to_string())?;
    log::info!("{parsed} {t:?}");

    let _: i64 = span.to_micros();
    let _: Result<Duration, Duration> = span.to_duration();
    let _: Duration = span.to_duration_abs();
    let _: Duration = span.to_duration_saturating();
    let _: TimeDuration = span.abs();
    let _: Option<TimeDuration> = span.checked_add(TimeDuration::ZERO);
    let _: Option<TimeDuration> = span.checked_sub(TimeDuration::from_micros(1));
    let _: String = span.to_iso8601();
    let _ = TimeDuration::from_duration(Duration::from_secs(1)) + span - span;
    let mut d = TimeDuration::from(Duration::from_millis(1));
    d += span;
    d -= span;
    let _: Result<Duration, Duration> = Duration::try_from(d);
    log::info!("{d} {d:?}");

    let _: ScheduleAt = Duration::from_secs(1).into();
    let _: ScheduleAt = span.into();
    let _: ScheduleAt = now.into();
    Ok(())
}

#[reducer]
pub fn surface_ids(ctx: &ReducerContext, other: Identity, conn: ConnectionId, uid: Uuid) -> Result<(), String> {
    let hex = other.to_hex();
    let _: &str = &hex;
    let _ = hex.to_string();
    let _: [u8; 8] = other.abbreviate();
    let _ = other.to_abbreviated_hex().to_string();
    let back = Identity::from_hex(hex.as_bytes()).map_err(|e| e.to_string())?;
    let _ = Identity::from_hex(&*hex).map_err(|e| e.to_string())?;
    let _: Identity = back;
    let _: [u8; 32] = other.to_byte_array();
    let _: [u8; 32] = other.to_be_byte_array();
    let _ = Identity::from_byte_array([0; 32]) == Identity::from_be_byte_array([0; 32]);
    let _ = Identity::from_u256(other.to_u256()) == Identity::ZERO;
    let _ = Identity::from_claims("issuer", "subject");
    let _: Identity = other.to_hex().parse().map_err(|_| "bad identity")?;
    log::info!("{other} {other:?} {}", ctx.sender());

    let _: u128 = conn.to_u128();
    let _ = ConnectionId::from_u128(1) == ConnectionId::ZERO;
    let _: [u8; 16] = conn.as_le_byte_array();
    let _: [u8; 16] = conn.as_be_byte_array();
    let _ = ConnectionId::from_le_byte_array([0; 16]) == ConnectionId::from_be_byte_array([0; 16]);
    let _ = ConnectionId::from_be_slice(conn.as_be_byte_array());
    let _ = conn.to_hex().to_string();
    let _: [u8; 8] = conn.abbreviate();
    let _ = conn.to_abbreviated_hex().to_string();
    let _ = ConnectionId::from_hex("00000000000000000000000000000000").map_err(|e| e.to_string())?;
    let _: Option<ConnectionId> = conn.none_if_zero();
    log::info!("{conn} {conn:?}");

    let _: u128 = uid.as_u128();
    let _ = Uuid::from_u128(0) == Uuid::NIL;
    let _ = Uuid::MAX;
    let _ = uid.get_version();
    let _ = Uuid::from_random_bytes_v4([0; 16]);
    let _ = Uuid::parse_str(&uid.to_string()).map_err(|e| e.to_string())?;
    log::info!("{uid} {uid:?}");
    Ok(())
}

/// Reducers take up to 32 arguments.
#[allow(clippy::too_many_arguments)]
#[reducer]
pub fn surface_many_args(
    _ctx: &ReducerContext,
    a: u8,
    b: u8,
    c: u8,
    d: u8,
    e: u8,
    f: u8,
    g: u8,
    h: u8,
    i: u8,
    j: u8,
    k: u8,
    l: u8,
    m: u8,
    n: u8,
    o: u8,
    p: u8,
    q: u8,
    r: u8,
    s: u8,
    t: u8,
    u: u8,
    v: u8,
    w: u8,
    x: u8,
    y: u8,
    z: u8,
    aa: u8,
    ab: u8,
    ac: u8,
    ad: u8,
    ae: u8,
    af: String,
) {
    let sum: u32 = [
        a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x, y, z, aa, ab, ac, ad, ae,
    ]
    .iter()
    .map(|&v| u32::from(v))
    .sum();
    log::info!("{af}: {sum}");
}

/// A view's own row type (a projection), with a key for clients.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct SurfaceUserSummary {
    pub name: String,
    pub age: u8,
}

/// A one-row aggregate.
#[derive(SpacetimeType, Clone, Debug, PartialEq)]
pub struct SurfaceCount {
    pub count: u64,
}

/// A per-caller view returning at most one table row, found by primary key.
#[spacetimedb::view(accessor = surface_me, public)]
pub fn surface_me(ctx: &spacetimedb::ViewContext) -> Option<SurfaceUser> {
    ctx.db.surface_user().identity().find(ctx.sender())
}

/// A per-caller view with a primary key (a string literal naming it) and a canonical name.
#[spacetimedb::view(accessor = surface_my_summary, name = "surface_my_summary_v1", public, primary_key = "name")]
pub fn surface_my_summary(ctx: &spacetimedb::ViewContext) -> Vec<SurfaceUserSummary> {
    let anonymous = ctx.as_anonymous();
    let mut out: Vec<SurfaceUserSummary> = ctx
        .db
        .surface_user()
        .identity()
        .find(ctx.sender())
        .map(|u| SurfaceUserSummary {
            name: u.name,
            age: u.age,
        })
        .into_iter()
        .collect();
    out.retain(|_| count_read_only(&anonymous) > 0);
    out
}

/// An anonymous view over a btree range, keyed by an identifier column.
#[spacetimedb::view(public, accessor = surface_adults, primary_key = identity)]
pub fn surface_adults(ctx: &spacetimedb::AnonymousViewContext) -> Vec<SurfaceUser> {
    ctx.db.surface_user().age().filter(18u8..).collect()
}

/// An anonymous one-row aggregate through the read-only traits.
#[spacetimedb::view(accessor = surface_user_count, public)]
pub fn surface_user_count(ctx: &spacetimedb::AnonymousViewContext) -> Option<SurfaceCount> {
    let read_only: &LocalReadOnly = ctx.db_read_only();
    Some(SurfaceCount {
        count: read_only.surface_user().count() + ctx.db.surface_slot().count(),
    })
}

/// A reducer calling a view's function in its own transaction.
#[reducer]
pub fn surface_call_views(ctx: &ReducerContext) -> Result<(), String> {
    let me = surface_me(&ctx.as_read_only());
    let count = surface_user_count(&ctx.as_anonymous_read_only()).map_or(0, |c| c.count);
    if me.is_some() && count == 0 {
        return Err("a caller with a row was not counted".into());
    }
    Ok(())
}

/// The rest of the procedure API: its RNG and UUIDs, and the procedure capability traits.
#[spacetimedb::procedure]
pub fn surface_procedure(ctx: &mut spacetimedb::ProcedureContext) -> String {
    let v4 = ctx.new_uuid_v4().expect("a v4 uuid");
    let v7 = ctx.new_uuid_v7().expect("a v7 uuid");
    let roll: u8 = ctx.random();
    let _ = ctx.rng().gen_range(0..10u8);
    let _client: &spacetimedb::http::HttpClient = spacetimedb::CtxWithHttp::http(ctx);
    let count = count_in_tx(ctx);
    format!("{v4} {v7} {roll} {count}")
}

/// A helper generic over contexts that run their own transactions.
fn count_in_tx(ctx: &mut impl spacetimedb::CtxWithTxManagement) -> u64 {
    ctx.with_tx(|tx| u64::from(roll(tx) / 255) + tx.db.surface_user().count())
}

/// A helper generic over contexts with an RNG, which a procedure's transaction is.
fn roll(ctx: &impl CtxWithRng) -> u8 {
    ctx.random()
}
