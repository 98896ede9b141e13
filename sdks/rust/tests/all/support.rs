//! Helpers: rows as the server would send them, and a connected mock client.

use crate::chat::{DbConnection, Message, User};
use spacetime_protocol::v2::*;
use spacetime_protocol::{BsatnRowList, QuerySetId};
use spacetimedb_sdk::mock::MockServer;
use spacetimedb_sdk::{ConnectionId, Identity, Timestamp};
use std::sync::{Arc, Mutex};

pub fn identity(n: u8) -> Identity {
    Identity::from_byte_array([n; 32])
}

pub fn user(n: u8, name: &str, online: bool) -> User {
    User {
        identity: identity(n),
        name: Some(name.to_owned()),
        online,
    }
}

pub fn message(n: u8, text: &str) -> Message {
    Message {
        sender: identity(n),
        sent: Timestamp::from_micros_since_unix_epoch(i64::from(n)),
        text: text.to_owned(),
    }
}

pub fn rows<T: spacetime_sats::bsatn::Encode>(rows: &[T]) -> BsatnRowList {
    BsatnRowList::from_rows(rows.iter().map(spacetime_sats::bsatn::to_vec))
}

pub fn query_rows(users: &[User], messages: &[Message]) -> QueryRows {
    QueryRows {
        tables: vec![
            SingleTableRows {
                table: "user".into(),
                rows: rows(users),
            },
            SingleTableRows {
                table: "message".into(),
                rows: rows(messages),
            },
        ],
    }
}

pub fn applied(qs: u32, users: &[User], messages: &[Message]) -> ServerMessage {
    ServerMessage::SubscribeApplied(SubscribeApplied {
        request_id: 0,
        query_set_id: QuerySetId::new(qs),
        rows: query_rows(users, messages),
    })
}

pub fn user_changes(qs: u32, inserts: &[User], deletes: &[User]) -> QuerySetUpdate {
    QuerySetUpdate {
        query_set_id: QuerySetId::new(qs),
        tables: vec![TableUpdate {
            table_name: "user".into(),
            rows: vec![TableUpdateRows::PersistentTable(PersistentTableRows {
                inserts: rows(inserts),
                deletes: rows(deletes),
            })],
        }],
    }
}

pub fn message_changes(qs: u32, inserts: &[Message], deletes: &[Message]) -> QuerySetUpdate {
    QuerySetUpdate {
        query_set_id: QuerySetId::new(qs),
        tables: vec![TableUpdate {
            table_name: "message".into(),
            rows: vec![TableUpdateRows::PersistentTable(PersistentTableRows {
                inserts: rows(inserts),
                deletes: rows(deletes),
            })],
        }],
    }
}

pub fn transaction(query_sets: Vec<QuerySetUpdate>) -> ServerMessage {
    ServerMessage::TransactionUpdate(TransactionUpdate { query_sets })
}

/// A shared log callbacks append to, to check what ran and in which order.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().expect("log lock").push(entry.into());
    }

    /// Everything logged so far, without clearing it.
    pub fn all(&self) -> Vec<String> {
        self.0.lock().expect("log lock").clone()
    }

    /// Whether an entry contains `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.0.lock().expect("log lock").iter().any(|e| e.contains(needle))
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("log lock"))
    }
}

/// A client connected to a mock server, with row callbacks on both tables writing to a log.
pub fn connected() -> (DbConnection, MockServer, Log) {
    use crate::chat::*;
    use spacetimedb_sdk::{Table, TableWithPrimaryKey};
    let log = Log::default();
    let on_connect_log = log.clone();
    let (conn, server) = DbConnection::builder()
        .on_connect(move |_, id, token| on_connect_log.push(format!("connect {} {token}", id.to_abbreviated_hex())))
        .build_with_mock();
    server.accept(identity(9), ConnectionId::from_u128(7), "token-1");
    let l = log.clone();
    conn.db
        .user()
        .on_insert(move |_, u| l.push(format!("insert user {}", u.name.as_deref().unwrap_or("-"))));
    let l = log.clone();
    conn.db
        .user()
        .on_delete(move |_, u| l.push(format!("delete user {}", u.name.as_deref().unwrap_or("-"))));
    let l = log.clone();
    conn.db.user().on_update(move |_, old, new| {
        l.push(format!(
            "update user {} -> {}",
            old.name.as_deref().unwrap_or("-"),
            new.name.as_deref().unwrap_or("-")
        ))
    });
    let l = log.clone();
    conn.db
        .message()
        .on_insert(move |_, m| l.push(format!("insert message {}", m.text)));
    let l = log.clone();
    conn.db
        .message()
        .on_delete(move |_, m| l.push(format!("delete message {}", m.text)));
    conn.frame_tick().expect("connected");
    assert_eq!(
        log.take(),
        [format!("connect {} token-1", identity(9).to_abbreviated_hex())]
    );
    (conn, server, log)
}

/// Subscribes to both tables and returns the handle and the query set id it was sent with.
pub fn subscribe(conn: &DbConnection, server: &mut MockServer, log: &Log) -> (crate::chat::SubscriptionHandle, u32) {
    use spacetimedb_sdk::DbContext;
    let l = log.clone();
    let handle = conn
        .subscription_builder()
        .on_applied(move |_| l.push("applied"))
        .subscribe(["SELECT * FROM user", "SELECT * FROM message"]);
    conn.frame_tick().expect("tick");
    match server.try_recv() {
        Some(ClientMessage::Subscribe(s)) => {
            assert_eq!(s.query_strings, ["SELECT * FROM user", "SELECT * FROM message"]);
            (handle, s.query_set_id.id)
        }
        other => panic!("expected a Subscribe, got {other:?}"),
    }
}
