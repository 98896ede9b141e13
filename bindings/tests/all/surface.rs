//! The API-surface module (`tests/surface/module.rs`) compiled against these bindings.
//! The same file compiles against the crates.io `spacetimedb` 2.10.1 crate (checked by
//! building it as a `cdylib` for wasm32 with `spacetimedb = "=2.10.1"`), so compiling here
//! shows that a module written for upstream builds unchanged.

#[path = "../surface/module.rs"]
mod module;

use spacetimedb::sys::native::{set_host, Host};
use spacetimedb::{ConnectionId, Identity, ReducerContext, TimeDuration, Timestamp, Uuid};

/// A host that only takes log lines: the logger is process-wide, and another test may have
/// installed it, so the reducers' `log::info!` can reach `console_log`.
struct LogOnlyHost;

impl Host for LogOnlyHost {
    fn console_log(&mut self, _level: u8, _target: Option<&str>, _file: Option<&str>, _line: u32, _message: &str) {}
}

// The reducers that need no other host call run natively on a dummy context.
#[test]
fn time_and_id_reducers_run() {
    set_host(Some(Box::new(LogOnlyHost)));
    let ctx = ReducerContext::__dummy();
    let earlier = Timestamp::from_micros_since_unix_epoch(-1_500_000);
    assert_eq!(
        module::surface_time(&ctx, earlier, TimeDuration::from_micros(2_500)),
        Ok(())
    );
    let id = Identity::from_claims("localhost", "alice");
    let uid = Uuid::from_random_bytes_v4([7; 16]);
    assert_eq!(module::surface_ids(&ctx, id, ConnectionId::from_u128(3), uid), Ok(()));
}

#[test]
fn a_dummy_context_is_internal_and_mints_uuids() {
    let ctx = ReducerContext::__dummy();
    assert!(ctx.sender_auth().is_internal() && ctx.sender_auth().jwt().is_none());
    let (a, b) = (ctx.new_uuid_v7().unwrap(), ctx.new_uuid_v7().unwrap());
    assert!(a < b, "v7 UUIDs of one call sort in creation order: {a} {b}");
    assert_eq!(
        ctx.new_uuid_v4().unwrap().get_version(),
        Some(spacetimedb::sats::uuid::Version::V4)
    );
}
