//! The WebSocket endpoint with real clients (tokio-tungstenite + the protocol crate):
//! handshake and subprotocols, initial rows, updates to other clients, the caller's
//! `ReducerResult`, failed reducers, overlapping query sets, unsubscribe, one-off
//! queries, private tables, row-level security and malformed frames.

use crate::modules::{wasm, BASIC, HOST_TEST, PANIC, PERMISSIONS, RLS};
use crate::support::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{
    self, CallFlags, CallReducer, ClientMessage, OneOffQuery, ReducerOutcome, ServerMessage, Subscribe,
    TableUpdateRows, TransactionUpdate, Unsubscribe, UnsubscribeFlags,
};
use spacetime_protocol::{v3, BsatnRowList, QuerySetId};
use spacetime_sats::bsatn::{from_slice, to_vec};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connected client: the socket and what `InitialConnection` said.
struct Ws {
    socket: Socket,
    hello: v2::InitialConnection,
}

/// Opens a WebSocket to `db`, offering `protocols`; the HTTP error text if refused.
async fn open(
    server: &TestServer,
    db: &str,
    token: Option<&str>,
    protocols: &str,
    query: &str,
) -> Result<Socket, String> {
    let url = format!(
        "ws://{}/v1/database/{db}/subscribe?compression=None{query}",
        server.addr
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocols.parse().unwrap());
    if let Some(token) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err(format!("{} {body}", response.status()))
        }
        Err(e) => Err(e.to_string()),
    }
}

impl Ws {
    async fn connect(server: &TestServer, db: &str, token: Option<&str>, protocol: &str) -> Ws {
        Self::connect_with(server, db, token, protocol, "").await
    }

    /// As [`Ws::connect`], with `query` (`&name=value...`) appended to the URL.
    async fn connect_with(server: &TestServer, db: &str, token: Option<&str>, protocol: &str, query: &str) -> Ws {
        let socket = open(server, db, token, protocol, query).await.expect("connects");
        let mut ws = Ws {
            socket,
            hello: v2::InitialConnection {
                identity: Default::default(),
                connection_id: Default::default(),
                token: String::new(),
            },
        };
        match ws.recv().await {
            ServerMessage::InitialConnection(hello) => ws.hello = hello,
            other => panic!("the first message must be InitialConnection, got {other:?}"),
        }
        ws
    }

    async fn send(&mut self, message: ClientMessage) {
        self.socket
            .send(Message::Binary(message.to_bytes().into()))
            .await
            .unwrap();
    }

    /// The next server message, failing after 10 s.
    async fn recv(&mut self) -> ServerMessage {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("a server message within 10 s")
                .expect("the socket is open")
                .expect("a valid frame");
            if let Message::Binary(payload) = frame {
                return ServerMessage::from_bytes(&decompress(&payload).unwrap()).unwrap();
            }
        }
    }

    async fn subscribe(&mut self, id: u32, queries: &[&str]) -> ServerMessage {
        let query_strings = queries.iter().map(|q| q.to_string()).collect();
        self.send(ClientMessage::Subscribe(Subscribe {
            request_id: id,
            query_set_id: QuerySetId::new(id),
            query_strings,
        }))
        .await;
        self.recv().await
    }

    async fn call(&mut self, request_id: u32, reducer: &str, name: &str) -> v2::ReducerResult {
        let args = to_vec(&name.to_string());
        let call = CallReducer {
            request_id,
            flags: CallFlags::Default,
            reducer: reducer.into(),
            args,
        };
        self.send(ClientMessage::CallReducer(call)).await;
        match self.recv().await {
            ServerMessage::ReducerResult(r) => r,
            other => panic!("expected ReducerResult, got {other:?}"),
        }
    }

    /// The close frame's reason, reading past other frames.
    async fn close_reason(&mut self) -> String {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.socket.next())
                .await
                .expect("closes within 10 s");
            match frame {
                Some(Ok(Message::Close(Some(frame)))) => return frame.reason.to_string(),
                Some(Ok(Message::Close(None))) | None => return String::new(),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return format!("error: {e}"),
            }
        }
    }
}

fn names(rows: &BsatnRowList) -> Vec<String> {
    let mut names: Vec<String> = rows.iter().map(|r| from_slice::<String>(&r).unwrap()).collect();
    names.sort();
    names
}

fn applied_names(message: ServerMessage) -> Vec<String> {
    match message {
        ServerMessage::SubscribeApplied(a) => a.rows.tables.iter().flat_map(|t| names(&t.rows)).collect(),
        other => panic!("expected SubscribeApplied, got {other:?}"),
    }
}

/// Per query set id: (inserted, deleted) names.
fn changes(update: &TransactionUpdate) -> Vec<(u32, Vec<String>, Vec<String>)> {
    update
        .table_updates()
        .flat_map(|(id, t)| {
            t.rows.iter().map(move |rows| match rows {
                TableUpdateRows::PersistentTable(p) => (id.id, names(&p.inserts), names(&p.deletes)),
                TableUpdateRows::EventTable(e) => (id.id, names(&e.events), vec![]),
            })
        })
        .collect()
}

fn s(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn updates_reach_subscribers_and_the_caller_gets_its_own_in_the_reducer_result() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("people"), wasm(BASIC)).await.expect(200);
    owner.call("people", "add", json!(["Alice"])).await.expect(200);

    let mut a = Ws::connect(&server, "people", None, v2::BIN_PROTOCOL).await;
    assert!(a.hello.token.contains('.'), "an anonymous client gets a minted token");
    let mut b = Ws::connect(
        &server,
        "people",
        owner.token.as_deref(),
        &format!("{}, {}", v2::BIN_PROTOCOL, v3::BIN_PROTOCOL),
    )
    .await;
    assert_ne!(a.hello.connection_id, b.hello.connection_id);

    assert_eq!(
        applied_names(a.subscribe(1, &["SELECT * FROM person"]).await),
        s(&["Alice"])
    );
    assert_eq!(
        applied_names(b.subscribe(1, &["SELECT * FROM person"]).await),
        s(&["Alice"])
    );
    assert_eq!(
        applied_names(b.subscribe(2, &["SELECT * FROM person WHERE name = 'Bob'"]).await),
        s(&[])
    );

    // The caller's changes come embedded in its ReducerResult, once per query set.
    let result = b.call(7, "add", "Bob").await;
    assert_eq!(result.request_id, 7);
    let ReducerOutcome::Ok(ok) = result.result else {
        panic!("{:?}", result.result)
    };
    let mut got = changes(&ok.transaction_update);
    got.sort();
    assert_eq!(got, [(1, s(&["Bob"]), s(&[])), (2, s(&["Bob"]), s(&[]))]);
    // Another subscriber gets a plain TransactionUpdate.
    match a.recv().await {
        ServerMessage::TransactionUpdate(u) => assert_eq!(changes(&u), [(1, s(&["Bob"]), s(&[]))]),
        other => panic!("{other:?}"),
    }

    // Unsubscribing returns the dropped rows, and then nothing more arrives for the set.
    a.send(ClientMessage::Unsubscribe(Unsubscribe {
        request_id: 3,
        query_set_id: QuerySetId::new(1),
        flags: UnsubscribeFlags::SendDroppedRows,
    }))
    .await;
    match a.recv().await {
        ServerMessage::UnsubscribeApplied(u) => {
            assert_eq!(
                u.rows
                    .unwrap()
                    .tables
                    .iter()
                    .flat_map(|t| names(&t.rows))
                    .collect::<Vec<_>>(),
                s(&["Alice", "Bob"])
            )
        }
        other => panic!("{other:?}"),
    }
    owner.call("people", "add", json!(["Carol"])).await.expect(200);
    match b.recv().await {
        ServerMessage::TransactionUpdate(u) => assert_eq!(changes(&u), [(1, s(&["Carol"]), s(&[]))]),
        other => panic!("{other:?}"),
    }
    // `a` got nothing for Carol: its next message answers its next request.
    a.send(ClientMessage::OneOffQuery(OneOffQuery {
        request_id: 9,
        query_string: "SELECT * FROM person".into(),
    }))
    .await;
    match a.recv().await {
        ServerMessage::OneOffQueryResult(r) => {
            assert_eq!(r.request_id, 9);
            assert_eq!(names(&r.result.unwrap().tables[0].rows), s(&["Alice", "Bob", "Carol"]));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_failing_reducer_sends_its_error_to_the_caller_and_nothing_to_others() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("fails"), wasm(PANIC)).await.expect(200);
    let mut watcher = Ws::connect(&server, "fails", None, v3::BIN_PROTOCOL).await;
    let mut caller = Ws::connect(&server, "fails", None, v2::BIN_PROTOCOL).await;
    assert_eq!(
        applied_names(watcher.subscribe(1, &["SELECT * FROM item"]).await),
        s(&[])
    );

    let result = caller.call(1, "insert_then_fail", "x").await;
    assert_eq!(result.result, ReducerOutcome::Err(to_vec(&"oopsie :(".to_string())));
    let result = caller.call(2, "insert_then_panic", "y").await;
    let ReducerOutcome::InternalError(message) = result.result else {
        panic!("{:?}", result.result)
    };
    assert!(message.contains("panic"), "{message}");
    let result = caller.call(3, "no_such", "z").await;
    assert!(
        matches!(&result.result, ReducerOutcome::InternalError(m) if m.contains("no such reducer `no_such`")),
        "{result:?}"
    );
    // The caller is subscribed to nothing: its ReducerResult carries no query sets.
    let result = caller.call(4, "insert", "ok").await;
    assert_eq!(
        result.result,
        ReducerOutcome::Ok(v2::ReducerOk {
            ret_value: vec![],
            transaction_update: TransactionUpdate { query_sets: vec![] }
        })
    );

    // The watcher's first update is the successful call's.
    match watcher.recv().await {
        ServerMessage::TransactionUpdate(u) => assert_eq!(changes(&u), [(1, s(&["ok"]), s(&[]))]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn private_tables_are_refused_to_non_owners_with_the_sql_message() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("private"), wasm(PERMISSIONS)).await.expect(200);
    let mut stranger = Ws::connect(&server, "private", None, v2::BIN_PROTOCOL).await;
    match stranger.subscribe(1, &["SELECT * FROM secret"]).await {
        ServerMessage::SubscriptionError(e) => {
            assert_eq!(e.request_id, Some(1));
            assert!(e.error.contains("no such table: `secret`"), "{}", e.error);
        }
        other => panic!("{other:?}"),
    }
    // The id is free again, and public tables work.
    match stranger.subscribe(1, &["SELECT * FROM common_knowledge"]).await {
        ServerMessage::SubscribeApplied(a) => assert_eq!(a.rows.tables[0].rows.len(), 1),
        other => panic!("{other:?}"),
    }
    let mut me = Ws::connect(&server, "private", owner.token.as_deref(), v2::BIN_PROTOCOL).await;
    match me.subscribe(1, &["SELECT * FROM secret"]).await {
        ServerMessage::SubscribeApplied(a) => assert_eq!(a.rows.tables[0].rows.len(), 1),
        other => panic!("{other:?}"),
    }
    // Subscription-only restrictions are explained.
    match me.subscribe(2, &["SELECT answer FROM secret"]).await {
        ServerMessage::SubscriptionError(e) => {
            assert!(e.error.contains("Column projections are not supported"), "{}", e.error)
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn confirmed_and_unconfirmed_clients_both_receive_updates_and_a_bad_confirmed_is_refused() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("durable"), wasm(BASIC)).await.expect(200);
    owner.call("durable", "add", json!(["Alice"])).await.expect(200);

    let refused = open(&server, "durable", None, v2::BIN_PROTOCOL, "&confirmed=yes")
        .await
        .unwrap_err();
    assert!(
        refused.contains("400") && refused.contains("invalid confirmed `yes`"),
        "{refused}"
    );

    let mut confirmed = Ws::connect_with(&server, "durable", None, v2::BIN_PROTOCOL, "&confirmed=true").await;
    let mut unconfirmed = Ws::connect_with(&server, "durable", None, v3::BIN_PROTOCOL, "&confirmed=false").await;
    for ws in [&mut confirmed, &mut unconfirmed] {
        assert_eq!(
            applied_names(ws.subscribe(1, &["SELECT * FROM person"]).await),
            s(&["Alice"])
        );
    }
    // A transaction from HTTP, then one from the confirmed client itself: both arrive,
    // in order, at both clients.
    owner.call("durable", "add", json!(["Bob"])).await.expect(200);
    for ws in [&mut confirmed, &mut unconfirmed] {
        match ws.recv().await {
            ServerMessage::TransactionUpdate(u) => assert_eq!(changes(&u), [(1, s(&["Bob"]), s(&[]))]),
            other => panic!("{other:?}"),
        }
    }
    let result = confirmed.call(2, "add", "Carol").await;
    let ReducerOutcome::Ok(ok) = result.result else {
        panic!("{:?}", result.result)
    };
    assert_eq!(changes(&ok.transaction_update), [(1, s(&["Carol"]), s(&[]))]);
    match unconfirmed.recv().await {
        ServerMessage::TransactionUpdate(u) => assert_eq!(changes(&u), [(1, s(&["Carol"]), s(&[]))]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bad_handshakes_and_malformed_frames_are_refused_with_a_reason() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("frames"), wasm(BASIC)).await.expect(200);

    let refused = open(&server, "frames", None, "v1.json.spacetimedb", "")
        .await
        .unwrap_err();
    assert!(
        refused.contains("400") && refused.contains("no valid protocol selected"),
        "{refused}"
    );
    let refused = open(&server, "frames", None, v2::BIN_PROTOCOL, "&compression=Zstd")
        .await
        .unwrap_err();
    assert!(refused.contains("unknown compression `Zstd`"), "{refused}");
    let refused = open(&server, "nowhere", None, v2::BIN_PROTOCOL, "").await.unwrap_err();
    assert!(refused.contains("404"), "{refused}");

    let mut ws = Ws::connect(&server, "frames", None, v2::BIN_PROTOCOL).await;
    ws.socket.send(Message::Binary(vec![0xff, 1, 2].into())).await.unwrap();
    let reason = ws.close_reason().await;
    assert!(reason.contains("malformed client message"), "{reason}");

    let mut ws = Ws::connect(&server, "frames", None, v3::BIN_PROTOCOL).await;
    ws.socket
        .send(Message::Text("SELECT * FROM person".into()))
        .await
        .unwrap();
    let reason = ws.close_reason().await;
    assert!(reason.contains("text frames"), "{reason}");
}

#[tokio::test]
async fn v3_frames_may_carry_several_messages_and_big_replies_are_compressed() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("batch"), wasm(BASIC)).await.expect(200);
    for i in 0..40 {
        owner
            .call(
                "batch",
                "add",
                json!([format!("person number {i:03} with a long name")]),
            )
            .await
            .expect(200);
    }
    let socket = open(&server, "batch", None, v3::BIN_PROTOCOL, "&compression=Gzip")
        .await
        .unwrap();
    let mut ws = Ws {
        socket,
        hello: v2::InitialConnection {
            identity: Default::default(),
            connection_id: Default::default(),
            token: String::new(),
        },
    };
    assert!(matches!(ws.recv().await, ServerMessage::InitialConnection(_)));
    let messages = [
        ClientMessage::Subscribe(Subscribe {
            request_id: 1,
            query_set_id: QuerySetId::new(1),
            query_strings: vec!["SELECT * FROM person".into()],
        }),
        ClientMessage::OneOffQuery(OneOffQuery {
            request_id: 2,
            query_string: "SELECT * FROM person WHERE name = 'nobody'".into(),
        }),
    ];
    ws.socket
        .send(Message::Binary(v3::encode_frame(&messages).into()))
        .await
        .unwrap();
    let frame = loop {
        match ws.socket.next().await.unwrap().unwrap() {
            Message::Binary(payload) => break payload,
            _ => continue,
        }
    };
    assert_eq!(
        frame[0],
        spacetime_protocol::compression::TAG_GZIP,
        "a reply over 1 KiB is gzipped"
    );
    // The server may answer both requests in this one frame, or the second in a later one.
    let mut replies: std::collections::VecDeque<ServerMessage> =
        v3::decode_frame(&decompress(&frame).unwrap()).unwrap().into();
    let applied = replies.pop_front().expect("a v3 frame holds at least one message");
    assert_eq!(applied_names(applied).len(), 40);
    let second = match replies.pop_front() {
        Some(message) => message,
        None => ws.recv().await,
    };
    match second {
        ServerMessage::OneOffQueryResult(r) => assert_eq!(r.request_id, 2),
        other => panic!("{other:?}"),
    }
    assert!(replies.is_empty(), "nothing else was asked for: {replies:?}");
}

/// A token signed with the server's key (read from its data directory) carrying `claims`.
fn sign_with_server_key(data_dir: &std::path::Path, claims: serde_json::Value) -> String {
    let pem = std::fs::read(data_dir.join("id_ecdsa")).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
        &claims,
        &key,
    )
    .unwrap()
}

/// `ctx.sender_auth().jwt()` in a reducer sees the caller's token payload, over HTTP and
/// over WebSocket (issue 12, JWT claims).
#[tokio::test]
async fn reducers_see_the_callers_jwt_claims_over_http_and_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path());
    let owner = server.new_identity().await;
    owner.publish(Some("claims"), wasm(HOST_TEST)).await.expect(200);

    let mut http = server.client();
    http.token = Some(sign_with_server_key(
        dir.path(),
        json!({ "iss": "localhost", "sub": "over-http", "role": "admin" }),
    ));
    http.call("claims", "record_jwt", json!([])).await.expect(200);

    let ws_token = sign_with_server_key(dir.path(), json!({ "iss": "localhost", "sub": "over-ws", "team": 7 }));
    let mut ws = Ws::connect(&server, "claims", Some(&ws_token), v2::BIN_PROTOCOL).await;
    ws.send(ClientMessage::CallReducer(CallReducer {
        request_id: 1,
        flags: CallFlags::Default,
        reducer: "record_jwt".into(),
        args: Vec::new(),
    }))
    .await;
    match ws.recv().await {
        ServerMessage::ReducerResult(r) => {
            assert!(
                matches!(r.result, ReducerOutcome::Ok(_) | ReducerOutcome::OkEmpty),
                "{r:?}"
            )
        }
        other => panic!("expected ReducerResult, got {other:?}"),
    }

    let res = owner
        .request(
            reqwest::Method::POST,
            "/v1/database/claims/sql",
            Some(crate::support::Body::Text(
                "SELECT subject, issuer, payload FROM jwt_seen".into(),
            )),
        )
        .await
        .expect(200);
    let mut rows = res.json()[0]["rows"].as_array().expect("rows").clone();
    rows.sort_by_key(|row| row[0].as_str().map(str::to_owned));
    assert_eq!(rows.len(), 2, "{rows:?}");
    let payload = |i: usize| -> serde_json::Value { serde_json::from_str(rows[i][2].as_str().unwrap()).unwrap() };
    assert_eq!(rows[0][0], "over-http");
    assert_eq!(rows[0][1], "localhost");
    assert_eq!(payload(0)["role"], "admin");
    assert_eq!(rows[1][0], "over-ws");
    assert_eq!(payload(1)["team"], 7);
}

/// The `text` of each `note` row (id, owner, text, shared), sorted.
fn note_texts(rows: &BsatnRowList) -> Vec<String> {
    let mut texts: Vec<String> = rows
        .iter()
        .map(|r| {
            from_slice::<(u64, spacetime_sats::Identity, String, bool)>(&r)
                .unwrap()
                .2
        })
        .collect();
    texts.sort();
    texts
}

#[tokio::test]
async fn one_off_queries_and_subscriptions_show_each_client_only_its_visible_rows() {
    let server = TestServer::start();
    let owner = server.new_identity().await;
    owner.publish(Some("notes"), wasm(RLS)).await.expect(200);
    let (alice, bob) = (server.new_identity().await, server.new_identity().await);
    alice
        .call("notes", "add_note", json!(["alice private", false]))
        .await
        .expect(200);
    bob.call("notes", "add_note", json!(["bob private", false]))
        .await
        .expect(200);
    bob.call("notes", "add_note", json!(["bob shared", true]))
        .await
        .expect(200);

    let mut a = Ws::connect(&server, "notes", alice.token.as_deref(), v2::BIN_PROTOCOL).await;
    let mut o = Ws::connect(&server, "notes", owner.token.as_deref(), v2::BIN_PROTOCOL).await;
    for (ws, expected) in [
        (&mut a, s(&["alice private", "bob shared"])),
        (&mut o, s(&["alice private", "bob private", "bob shared"])),
    ] {
        ws.send(ClientMessage::OneOffQuery(OneOffQuery {
            request_id: 1,
            query_string: "SELECT * FROM note".into(),
        }))
        .await;
        match ws.recv().await {
            ServerMessage::OneOffQueryResult(r) => assert_eq!(note_texts(&r.result.unwrap().tables[0].rows), expected),
            other => panic!("{other:?}"),
        }
    }
    a.send(ClientMessage::Subscribe(Subscribe {
        request_id: 2,
        query_set_id: QuerySetId::new(1),
        query_strings: vec!["SELECT * FROM note".into()],
    }))
    .await;
    match a.recv().await {
        ServerMessage::SubscribeApplied(applied) => {
            let rows: Vec<String> = applied.rows.tables.iter().flat_map(|t| note_texts(&t.rows)).collect();
            assert_eq!(rows, s(&["alice private", "bob shared"]));
        }
        other => panic!("{other:?}"),
    }
    bob.call("notes", "add_note", json!(["bob private 2", false]))
        .await
        .expect(200);
    bob.call("notes", "add_note", json!(["bob shared 2", true]))
        .await
        .expect(200);
    // Nothing for bob's private note: the next update is his shared one.
    match a.recv().await {
        ServerMessage::TransactionUpdate(u) => {
            let inserted: Vec<String> = u
                .table_updates()
                .flat_map(|(_, t)| t.rows.iter())
                .flat_map(|rows| match rows {
                    TableUpdateRows::PersistentTable(p) => note_texts(&p.inserts),
                    TableUpdateRows::EventTable(e) => note_texts(&e.events),
                })
                .collect();
            assert_eq!(inserted, s(&["bob shared 2"]));
        }
        other => panic!("{other:?}"),
    }
}
