//! Lifecycle reducers: `init`, `client_connected` (an error rejects), and
//! `client_disconnected`.

use crate::args;
use crate::support::{alice, Db};
use spacetime_sats::{ConnectionId, Identity};

#[test]
fn init_runs_as_the_owner() {
    let mut db = Db::host_test();
    let outcome = db
        .instance
        .call_init(&mut db.ds, alice(), db.now)
        .expect("the module has an init reducer");
    assert!(outcome.result.is_ok(), "{outcome:?}");
    assert_eq!(db.rows("config").len(), 1);
}

#[test]
fn connect_and_disconnect() {
    let mut db = Db::host_test();
    let bob = Identity::from_byte_array([3; 32]);
    let conn = ConnectionId::from_u128(77);
    let outcome = db
        .instance
        .client_connected(&mut db.ds, bob, conn, None, db.now)
        .expect("has client_connected");
    assert!(outcome.result.is_ok(), "{outcome:?}");
    assert_eq!(db.rows("online").len(), 1);
    let outcome = db
        .instance
        .client_disconnected(&mut db.ds, bob, conn, None, db.now)
        .expect("has client_disconnected");
    assert!(outcome.result.is_ok(), "{outcome:?}");
    assert!(db.rows("online").is_empty());
}

#[test]
fn an_error_in_client_connected_rejects_the_connection() {
    let mut db = Db::host_test();
    let mallory = Identity::from_byte_array([13; 32]);
    db.ok("ban", args![mallory]);
    let outcome = db
        .instance
        .client_connected(&mut db.ds, mallory, ConnectionId::from_u128(1), None, db.now)
        .expect("has client_connected");
    let error = outcome.error().expect("rejected").to_string();
    assert!(error.contains("is banned"), "{error}");
    assert!(db.rows("online").is_empty());
}
