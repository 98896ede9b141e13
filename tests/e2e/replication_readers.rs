//! Read replicas end to end (issue 17 item 7, design §8): a real three-member etcd,
//! two cluster nodes that lead or stand by (`n1`, `n2`) and one reader (`n3`,
//! `--cluster-role reader`), all `spacetime start` processes, with the bank module
//! `tests/modules/ledger`. Clients talk to the reader only:
//!
//! - a WebSocket subscriber on the reader sees the deltas of writes made on the
//!   leader, stays connected through a SIGKILL of the leader (receiving each write the
//!   dying leader acknowledged, once), and then sees the writes of the new leader;
//! - a call made through the reader (forwarded to the leader) is visible to a
//!   `consistency=local` SQL read on the reader as soon as the call is answered, over
//!   HTTP and over the WebSocket (where the call's row changes arrive before its
//!   result);
//! - `consistency=linearizable` on the reader sees every write the leader acknowledged
//!   before the read; a bad `consistency` is a 400 naming the allowed values.
//!
//! The lag test measures, under a closed-loop write load on the leader, how long after
//! the leader acknowledged a transfer a subscriber on the reader receives its row (and
//! a subscriber on the leader, for comparison), and prints p50/p99; meanwhile callers
//! through the reader (HTTP and WebSocket) read their own writes on it while it trails
//! that load, and their call latency is printed next to a direct call's; then, with etcd
//! gone, the reader cannot measure its lag, so a read bounded by the node's lag bound is
//! redirected to the leader while a `local` one is still served. Before that, the
//! reader is frozen (SIGSTOP): the leader trims etcd's log past the reader's progress
//! (readers hold no trimming back), and the resumed reader catches up.
//!
//! The presence tests (module `tests/modules/presence`, which keeps who is online and
//! each `client_disconnected` run) check the lifecycle of a reader's WebSocket clients
//! on the leader: a client of the reader is online on the leader as soon as its upgrade
//! is answered, its calls run with its own `ctx.connection_id`, a refusal by
//! `client_connected` refuses the upgrade, and its departure runs `client_disconnected`
//! once; it stays online through a SIGKILL of the leader (the new leader holds it from
//! the replicated log) and goes offline there when it leaves; the clients of a reader
//! that is SIGKILLed go offline once its registration expires; and a WebSocket client
//! of a standby is relayed to the leader (its subscription served, no 307), closed when
//! the leader dies, and ended by the new leader.

use crate::replication_workload::{free_addr, node_args};
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, ServerMessage, Subscribe};
use spacetime_protocol::QuerySetId;
use spacetime_testing::cli::Cli;
use spacetime_testing::etcd::{etcd_available, EtcdCluster};
use spacetime_testing::modules::{build_module, Bindings, ModuleCrate};
use spacetime_testing::server::TestServer;
use spacetime_testing::wait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// `tests/modules/ledger`.
const LEDGER: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "ledger-module",
    upstream_package: "upstream-ledger",
};
/// The database's name.
const DB: &str = "ledger";
/// Accounts seeded.
const ACCOUNTS: u32 = 4;
/// How long a failover, or the reader's start, may take.
const DEADLINE: Duration = Duration::from_secs(30);
/// The reader node's index.
const READER: usize = 2;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Milliseconds at quantile `q` of `sorted`.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// An HTTP client with the owner's token that does not follow redirects (a reader's
/// or standby's redirect is an answer of its own here), for database `db`.
#[derive(Clone)]
struct Api {
    http: reqwest::blocking::Client,
    token: String,
    db: &'static str,
}

impl Api {
    /// `transfer(client, seq, ..)` at `base`: the status and body, or `None` when no
    /// server answered.
    fn transfer(&self, base: &str, client: u32, seq: u32) -> Option<(u16, String)> {
        let (from, to) = (seq % ACCOUNTS, (seq + 1) % ACCOUNTS);
        let response = self
            .http
            .post(format!("{base}/v1/database/{}/call/transfer", self.db))
            .bearer_auth(&self.token)
            .body(format!("[{client}, {seq}, {from}, {to}, 1]"))
            .send()
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().unwrap_or_default()))
    }

    /// SQL at `base` with `consistency` (none if empty): status and body.
    fn sql(&self, base: &str, consistency: &str, query: &str) -> (u16, String) {
        let params = if consistency.is_empty() {
            String::new()
        } else {
            format!("?consistency={consistency}")
        };
        let response = self
            .http
            .post(format!("{base}/v1/database/{}/sql{params}", self.db))
            .bearer_auth(&self.token)
            .body(query.to_owned())
            .send()
            .unwrap_or_else(|e| panic!("SQL at {base}: {e}"));
        let status = response.status().as_u16();
        (status, response.text().unwrap_or_default())
    }

    /// The number of rows of `query` answered with 200, else `None`.
    fn rows(&self, base: &str, consistency: &str, query: &str) -> Option<usize> {
        let (status, body) = self.sql(base, consistency, query);
        if status != 200 {
            return None;
        }
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        Some(json.get(0)?.get("rows")?.as_array()?.len())
    }
}

/// etcd, two standby-capable nodes and a reader, a module published on `n1` (the
/// ledger, seeded, unless [`Fixture::start_with`] says otherwise).
struct Fixture {
    nodes: Vec<TestServer>,
    /// The module's file.
    wasm: std::path::PathBuf,
    urls: Vec<String>,
    api: Api,
    /// A query only the leader (and the reader) answers with 200.
    probe: &'static str,
    _keys: tempfile::TempDir,
    // Last: the servers stop before etcd does.
    etcd: EtcdCluster,
}

impl Fixture {
    /// `None` (with a message) when etcd is not installed.
    fn start() -> Option<Self> {
        let seed = |cli: &Cli| {
            cli.call(DB, "seed", &[&ACCOUNTS.to_string(), "1000000"]).ok();
        };
        Self::start_with(LEDGER, DB, seed, "SELECT * FROM account", ACCOUNTS as usize)
    }

    /// Publishes `module` as `db`, runs `prepare`, and waits until the reader answers
    /// `probe` with `rows` rows from its own copy, within its lag bound.
    fn start_with(
        module: ModuleCrate,
        db: &'static str,
        prepare: impl FnOnce(&Cli),
        probe: &'static str,
        rows: usize,
    ) -> Option<Self> {
        if !etcd_available() {
            eprintln!(
                "SKIPPED: `etcd` is not installed (Debian package etcd-server; scripts/install-deps.sh installs it)"
            );
            return None;
        }
        let wasm = build_module(module, Bindings::Ours);
        let etcd = EtcdCluster::start();
        let keys = tempfile::tempdir().expect("a key directory");
        let endpoints = etcd.endpoints();
        let nodes: Vec<TestServer> = (1..=3)
            .map(|i| {
                let addr = free_addr();
                let id = format!("n{i}");
                let role = if i == READER + 1 { "reader" } else { "standby" };
                let mut args = node_args(&endpoints, &id, &addr);
                args.extend(["--cluster-role".to_owned(), role.to_owned()]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                TestServer::start_sharing_keys(&addr, keys.path(), &args)
            })
            .collect();
        let urls: Vec<String> = nodes.iter().map(TestServer::url).collect();
        let cli = Cli::new(&nodes[0]);
        // Placed on all three nodes: two that may lead, and the reader.
        let published = cli.publish_output(&wasm, Some(db), &["--replicas", "3"]);
        if !published.success() {
            // A CLI without placement: every node follows every database.
            cli.publish(&wasm, Some(db));
        }
        prepare(&cli);
        let api = Api {
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(20))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            token: cli.token().expect("the CLI logged in to publish"),
            db,
        };
        let fx = Self {
            nodes,
            wasm,
            urls,
            api,
            probe,
            _keys: keys,
            etcd,
        };
        // The reader answers a local read itself once its copy runs.
        wait::poll(
            "the reader to serve the database from its own copy",
            DEADLINE,
            || fx.api.rows(fx.reader(), "local", probe).filter(|n| *n == rows),
            || fx.outputs(),
        );
        // And within its lag bound, which it has measured by then.
        wait::poll(
            "the reader to measure its lag and serve a default read",
            DEADLINE,
            || fx.api.rows(fx.reader(), "", probe),
            || fx.outputs(),
        );
        Some(fx)
    }

    fn reader(&self) -> &str {
        &self.urls[READER]
    }

    fn outputs(&self) -> String {
        (0..3)
            .map(|i| format!("n{}:\n{}\n", i + 1, self.nodes[i].output()))
            .collect()
    }

    /// The index of the node that leads (acknowledges a call itself), among the two
    /// that may.
    fn leader(&self) -> usize {
        wait::poll(
            "a leader",
            DEADLINE,
            || {
                (0..2).find(|&i| {
                    let (status, _) = self.api.sql(&self.urls[i], "", self.probe);
                    status == 200
                })
            },
            || self.outputs(),
        )
    }
}

/// The value of the one database's etcd key ending in `suffix` (`/trim`,
/// `/replica/n3`), as text; `None` if etcd does not answer or holds no such key.
fn db_value(etcd: &EtcdCluster, suffix: &str) -> Option<String> {
    let kvs = etcd.read_prefix("/stdb/v1/db/")?;
    kvs.into_iter()
        .find(|(key, _)| key.ends_with(suffix))
        .map(|(_, value)| String::from_utf8_lossy(&value).into_owned())
}

/// Opens a v2 WebSocket to the ledger at `url` as the holder of `token`.
async fn open(url: &str, token: &str) -> Socket {
    match try_open(url, DB, "", token).await {
        Ok(socket) => socket,
        Err((status, body)) => panic!("a WebSocket to {url}: {status}: {body}"),
    }
}

/// Opens a v2 WebSocket to `db` at `url` as the holder of `token`, with `params`
/// (`&name=value`…) added to the query; an upgrade refused is its status and body.
async fn try_open(url: &str, db: &str, params: &str, token: &str) -> Result<Socket, (u16, String)> {
    let url = format!(
        "{}/v1/database/{db}/subscribe?compression=None{params}",
        url.replace("http://", "ws://")
    );
    let mut request = url.as_str().into_client_request().expect("a valid URL");
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        v2::BIN_PROTOCOL.parse().expect("a header value"),
    );
    headers.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header value"),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            Err((response.status().as_u16(), body.into_owned()))
        }
        Err(e) => panic!("a WebSocket to {url}: {e}"),
    }
}

async fn send(socket: &mut Socket, message: ClientMessage) {
    socket
        .send(Message::Binary(message.to_bytes().into()))
        .await
        .expect("the socket takes a frame");
}

/// The next server message within `limit`; `Err` says why there is none (closed,
/// or nothing came).
async fn next(socket: &mut Socket, limit: Duration) -> Result<ServerMessage, String> {
    loop {
        let frame = tokio::time::timeout(limit, socket.next())
            .await
            .map_err(|_| format!("no message within {limit:?}"))?
            .ok_or("the socket ended")?
            .map_err(|e| format!("the socket failed: {e}"))?;
        match frame {
            Message::Binary(payload) => {
                let bytes = decompress(&payload).map_err(|e| format!("not an envelope: {e}"))?;
                return ServerMessage::from_bytes(&bytes).map_err(|e| format!("not a message: {e}"));
            }
            Message::Close(close) => return Err(format!("closed: {close:?}")),
            _ => {}
        }
    }
}

/// Connects to `url` and subscribes to every entry, past the initial rows.
async fn subscribed(url: &str, token: &str) -> Socket {
    let mut socket = open(url, token).await;
    let first = next(&mut socket, DEADLINE)
        .await
        .expect("the initial connection message");
    assert!(matches!(first, ServerMessage::InitialConnection(_)), "{first:?}");
    let subscribe = ClientMessage::Subscribe(Subscribe {
        request_id: 1,
        query_set_id: QuerySetId::new(1),
        query_strings: vec!["SELECT * FROM entry".into()],
    });
    send(&mut socket, subscribe).await;
    match next(&mut socket, DEADLINE).await {
        Ok(ServerMessage::SubscribeApplied(_)) => socket,
        other => panic!("expected SubscribeApplied, got {other:?}"),
    }
}

/// The `(client, seq)` of each entry a transaction update inserts. An entry row is
/// `id: u64, client: u32, seq: u32, src: u32, dst: u32, amount: i64`, little endian.
fn inserted_entries(update: &v2::TransactionUpdate) -> Vec<(u32, u32)> {
    let word = |row: &[u8], at: usize| u32::from_le_bytes([row[at], row[at + 1], row[at + 2], row[at + 3]]);
    update
        .table_updates()
        .filter(|(_, table)| table.table_name == "entry")
        .flat_map(|(_, table)| table.rows.iter())
        .filter_map(|rows| match rows {
            v2::TableUpdateRows::PersistentTable(rows) => Some(rows.inserts.iter().collect::<Vec<_>>()),
            v2::TableUpdateRows::EventTable(_) => None,
        })
        .flatten()
        .map(|row| (word(&row, 8), word(&row, 12)))
        .collect()
}

/// Waits on `socket` for the transaction update inserting entry `key`.
async fn expect_entry(socket: &mut Socket, key: (u32, u32), limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(socket, left).await {
            Ok(ServerMessage::TransactionUpdate(update)) if inserted_entries(&update).contains(&key) => return,
            Ok(_) => {}
            Err(why) => panic!("waiting for the entry {key:?} on the reader's subscription: {why}"),
        }
    }
}

/// Reads `socket` until the transaction update inserting entry `last`, and returns how
/// many times each entry was inserted up to it.
async fn entries_until(socket: &mut Socket, last: (u32, u32), limit: Duration) -> HashMap<(u32, u32), u32> {
    let deadline = Instant::now() + limit;
    let mut received = HashMap::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next(socket, left).await {
            Ok(ServerMessage::TransactionUpdate(update)) => {
                let entries = inserted_entries(&update);
                for key in &entries {
                    *received.entry(*key).or_insert(0) += 1;
                }
                if entries.contains(&last) {
                    return received;
                }
            }
            Ok(_) => {}
            Err(why) => panic!("waiting for the entry {last:?} on the reader's subscription: {why}"),
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn a_reader_serves_subscribers_through_a_leader_kill_and_callers_read_their_writes() {
    let Some(mut fx) = Fixture::start() else {
        return;
    };
    let rt = runtime();
    let (api, reader) = (fx.api.clone(), fx.reader().to_owned());
    let mut socket = rt.block_on(subscribed(&reader, &api.token));

    // A write on the leader reaches the reader's subscriber.
    let leader = fx.leader();
    let answer = api.transfer(&fx.urls[leader], 1, 0);
    assert_eq!(answer.as_ref().map(|a| a.0), Some(200), "{answer:?}");
    rt.block_on(expect_entry(&mut socket, (1, 0), DEADLINE));

    // Read-your-writes over HTTP: a call through the reader, answered, is in the
    // reader's local copy at once.
    for seq in 0..20 {
        let answer = api.transfer(&reader, 2, seq);
        assert_eq!(
            answer.as_ref().map(|a| a.0),
            Some(200),
            "call {seq} through the reader: {answer:?}"
        );
        let query = format!("SELECT * FROM entry WHERE client = 2 AND seq = {seq}");
        assert_eq!(
            api.rows(&reader, "local", &query),
            Some(1),
            "call {seq} made through the reader is not in its copy right after its answer"
        );
    }

    // Over the WebSocket: the call's row changes, then its result.
    let call = transfer_call(3, 0, 7);
    rt.block_on(async {
        send(&mut socket, call).await;
        let mut saw_entry = false;
        loop {
            match next(&mut socket, DEADLINE).await {
                Ok(ServerMessage::TransactionUpdate(update)) => {
                    saw_entry |= inserted_entries(&update).contains(&(3, 0))
                }
                Ok(ServerMessage::ReducerResult(result)) => {
                    assert_eq!(result.request_id, 7);
                    assert!(
                        matches!(result.result, v2::ReducerOutcome::OkEmpty | v2::ReducerOutcome::Ok(_)),
                        "{result:?}"
                    );
                    assert!(
                        saw_entry,
                        "the result came before the call's row changes:\n{}",
                        fx.outputs()
                    );
                    break;
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(why) => panic!("waiting for the WebSocket call's result: {why}"),
            }
        }
    });
    assert_eq!(
        api.rows(&reader, "local", "SELECT * FROM entry WHERE client = 3 AND seq = 0"),
        Some(1)
    );

    // Linearizable reads on the reader see every write the leader acknowledged before.
    for seq in 0..20 {
        let answer = api.transfer(&fx.urls[leader], 4, seq);
        assert_eq!(answer.as_ref().map(|a| a.0), Some(200), "{answer:?}");
        let query = format!("SELECT * FROM entry WHERE client = 4 AND seq = {seq}");
        assert_eq!(
            api.rows(&reader, "linearizable", &query),
            Some(1),
            "a linearizable read on the reader missed acknowledged call {seq}"
        );
    }
    // A bounded read within a generous bound is served by the reader itself.
    assert_eq!(
        api.rows(&reader, "bounded=60000", "SELECT * FROM entry WHERE client = 4"),
        Some(20)
    );

    // SQL that writes, sent to the reader, runs on the leader; the reader answers once
    // it holds the result.
    let (status, body) = api.sql(&reader, "", "DELETE FROM entry WHERE client = 1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        api.rows(&reader, "local", "SELECT * FROM entry WHERE client = 1"),
        Some(0)
    );
    assert_eq!(
        api.rows(&fx.urls[leader], "", "SELECT * FROM entry WHERE client = 1"),
        Some(0),
        "the DELETE did not run on the leader"
    );

    // A reader never leads, so it creates no database.
    let wasm = std::fs::read(&fx.wasm).expect("the module's file");
    let response = api
        .http
        .post(format!("{reader}/v1/database"))
        .bearer_auth(&api.token)
        .body(wasm)
        .send()
        .expect("the reader answers a publish");
    let status = response.status().as_u16();
    let body = response.text().unwrap_or_default();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("is a reader") && body.contains("standby"), "{body}");

    // A bad consistency value.
    let (status, body) = api.sql(&reader, "strong", "SELECT * FROM entry");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("local") && body.contains("bounded=") && body.contains("linearizable"),
        "{body}"
    );

    // SIGKILL the leader while a client writes on it: the reader's subscriber stays
    // connected, receives every write the old leader acknowledged, once, and then the
    // new leader's writes, which calls through the reader reach.
    let acked: Arc<Mutex<Vec<u32>>> = Arc::default();
    let writer = {
        let (api, url, acked) = (api.clone(), fx.urls[leader].clone(), acked.clone());
        // Until the leader stops answering: it dies under this writer.
        std::thread::spawn(move || {
            for seq in 0.. {
                match api.transfer(&url, DYING_WRITER, seq) {
                    Some((200, _)) => acked.lock().expect("acked").push(seq),
                    _ => return,
                }
            }
        })
    };
    wait::poll(
        "the writer to get acknowledgements from the leader",
        DEADLINE,
        || (acked.lock().ok()?.len() >= 5).then_some(()),
        || fx.outputs(),
    );
    let killed_at = Instant::now();
    fx.nodes[leader].sigkill();
    writer.join().expect("the writer on the dying leader");
    let acked = acked.lock().expect("acked").clone();
    let seq = wait::poll(
        "a call through the reader acknowledged by the new leader",
        DEADLINE,
        || {
            let seq = killed_at.elapsed().as_millis() as u32;
            matches!(api.transfer(&reader, 5, seq), Some((200, _))).then_some(seq)
        },
        || fx.outputs(),
    );
    let failover = killed_at.elapsed();
    assert_eq!(
        api.rows(
            &reader,
            "local",
            &format!("SELECT * FROM entry WHERE client = 5 AND seq = {seq}")
        ),
        Some(1)
    );
    let new_leader = 1 - leader;
    let answer = api.transfer(&fx.urls[new_leader], 6, 0);
    assert_eq!(answer.as_ref().map(|a| a.0), Some(200), "{answer:?}");
    // The subscription's stream is in commit order: once the new leader's last write
    // is in, every earlier one (and any duplicate of one) is too.
    let received = rt.block_on(entries_until(&mut socket, (6, 0), DEADLINE));
    for key in acked.iter().map(|&s| (DYING_WRITER, s)).chain([(5, seq), (6, 0)]) {
        assert_eq!(
            received.get(&key).copied(),
            Some(1),
            "entry {key:?}, acknowledged, reached the reader's subscriber that many times"
        );
    }
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "entries received more than once: {twice:?}");
    eprintln!(
        "readers: the reader's subscriber stayed connected through a leader SIGKILL and received each of the {} \
         writes the dying leader acknowledged once; first call through the reader acknowledged {} ms after the kill",
        acked.len(),
        failover.as_millis()
    );
    drop(socket);
}

/// `transfer(client, seq, …)` as a WebSocket call with `request_id`.
fn transfer_call(client: u32, seq: u32, request_id: u32) -> ClientMessage {
    let (from, to) = (seq % ACCOUNTS, (seq + 1) % ACCOUNTS);
    // The fields in order, as BSATN: client, seq, from, to (u32), amount (i64).
    let args = [client, seq, from, to]
        .iter()
        .flat_map(|n| n.to_le_bytes())
        .chain(1i64.to_le_bytes())
        .collect();
    ClientMessage::CallReducer(CallReducer {
        request_id,
        flags: CallFlags::Default,
        reducer: "transfer".into(),
        args,
    })
}

/// The client id of the first test's writer on the leader it kills.
const DYING_WRITER: u32 = 10;
/// The client id of the lag test's caller through the reader over HTTP.
const HTTP_CALLER: u32 = 7;
/// The client id of the lag test's caller through the reader over a WebSocket.
const WS_CALLER: u32 = 8;

/// Under a closed-loop write load on the leader, how long after the leader's
/// acknowledgement a subscriber on the reader (and one on the leader) receives each
/// transfer's row. Reported, not asserted beyond every row arriving. Meanwhile each
/// call through the reader (HTTP, WebSocket) is in the reader's copy when answered.
#[test]
fn replica_lag_under_load() {
    let Some(mut fx) = Fixture::start() else {
        return;
    };
    const WRITERS: u32 = 3;
    const LOAD: Duration = Duration::from_secs(10);
    let rt = runtime();
    let leader = fx.leader();
    let api = fx.api.clone();
    let (leader_url, reader_url) = (fx.urls[leader].clone(), fx.reader().to_owned());

    // When each entry arrived at each subscriber, by `(client, seq)`.
    type Arrivals = Arc<Mutex<HashMap<(u32, u32), Instant>>>;
    let (on_reader, on_leader): (Arrivals, Arrivals) = Default::default();
    let stop = Arc::new(AtomicBool::new(false));
    let subscriber = |url: String, arrivals: Arrivals| {
        let (token, stop) = (api.token.clone(), stop.clone());
        rt.spawn(async move {
            let mut socket = subscribed(&url, &token).await;
            while !stop.load(Ordering::Relaxed) {
                match next(&mut socket, Duration::from_millis(200)).await {
                    Ok(ServerMessage::TransactionUpdate(update)) => {
                        let now = Instant::now();
                        let mut arrivals = arrivals.lock().expect("arrivals");
                        for key in inserted_entries(&update) {
                            arrivals.insert(key, now);
                        }
                    }
                    Ok(_) => {}
                    Err(why) if why.starts_with("no message") => {}
                    Err(why) => panic!("a subscriber at {url}: {why}"),
                }
            }
        })
    };
    let subscribers = [
        subscriber(reader_url.clone(), on_reader.clone()),
        subscriber(leader_url.clone(), on_leader.clone()),
    ];
    // Both subscriptions are live before the load: writes of client 0 (one per probe,
    // since a write made before a subscription is applied is in its initial rows
    // instead) reach both.
    let mut probe_seq = 0;
    wait::poll(
        "both subscribers to see a write",
        DEADLINE,
        || {
            assert_eq!(api.transfer(&leader_url, 0, probe_seq).map(|a| a.0), Some(200));
            probe_seq += 1;
            let seen = |arrivals: &Arrivals| arrivals.lock().ok().is_some_and(|a| a.keys().any(|(c, _)| *c == 0));
            (seen(&on_reader) && seen(&on_leader)).then_some(())
        },
        || fx.outputs(),
    );

    let acks: Arc<Mutex<HashMap<(u32, u32), Instant>>> = Arc::default();
    // How long each acknowledged call took, made on the leader directly.
    let direct: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let started = Instant::now();
    let writers: Vec<_> = (1..=WRITERS)
        .map(|client| {
            let (api, url, acks, direct) = (api.clone(), leader_url.clone(), acks.clone(), direct.clone());
            std::thread::spawn(move || {
                let mut seq = 0;
                while started.elapsed() < LOAD {
                    let sent = Instant::now();
                    if let Some((200, _)) = api.transfer(&url, client, seq) {
                        let now = Instant::now();
                        acks.lock().expect("acks").insert((client, seq), now);
                        direct.lock().expect("latencies").push(now - sent);
                    }
                    seq += 1;
                }
            })
        })
        .collect();
    // Read-your-writes on the reader while it trails that load: a caller through the
    // reader over HTTP finds each acknowledged call in the reader's copy with a
    // `local` read right after the answer, and one over a WebSocket of the reader gets
    // each call's row before its result.
    let http_caller = {
        let (api, reader_url) = (api.clone(), reader_url.clone());
        std::thread::spawn(move || {
            let (mut latencies, mut unseen, mut failed) = (Vec::new(), Vec::new(), 0);
            let mut seq = 0;
            while started.elapsed() < LOAD {
                let sent = Instant::now();
                match api.transfer(&reader_url, HTTP_CALLER, seq) {
                    Some((200, _)) => {
                        latencies.push(sent.elapsed());
                        let query = format!("SELECT * FROM entry WHERE client = {HTTP_CALLER} AND seq = {seq}");
                        if api.rows(&reader_url, "local", &query) != Some(1) {
                            unseen.push(seq);
                        }
                    }
                    _ => failed += 1,
                }
                seq += 1;
            }
            (latencies, unseen, failed)
        })
    };
    let ws_caller = {
        let (token, reader_url) = (api.token.clone(), reader_url.clone());
        rt.spawn(async move {
            let mut socket = subscribed(&reader_url, &token).await;
            let (mut latencies, mut row_after_result) = (Vec::new(), Vec::new());
            let mut seq = 0;
            while started.elapsed() < LOAD {
                let sent = Instant::now();
                send(&mut socket, transfer_call(WS_CALLER, seq, seq)).await;
                let mut saw_row = false;
                loop {
                    match next(&mut socket, DEADLINE).await {
                        Ok(ServerMessage::TransactionUpdate(update)) => {
                            saw_row |= inserted_entries(&update).contains(&(WS_CALLER, seq))
                        }
                        Ok(ServerMessage::ReducerResult(result)) if result.request_id == seq => {
                            assert!(
                                matches!(result.result, v2::ReducerOutcome::OkEmpty | v2::ReducerOutcome::Ok(_)),
                                "a WebSocket call through the reader: {result:?}"
                            );
                            break;
                        }
                        Ok(_) => {}
                        Err(why) => panic!("waiting for WebSocket call {seq}'s result on the reader: {why}"),
                    }
                }
                latencies.push(sent.elapsed());
                if !saw_row {
                    row_after_result.push(seq);
                }
                seq += 1;
            }
            (latencies, row_after_result)
        })
    };
    for writer in writers {
        writer.join().expect("a writer");
    }
    let (mut http_latencies, unseen, http_failed) = http_caller.join().expect("the HTTP caller");
    let (mut ws_latencies, row_after_result) = rt.block_on(ws_caller).expect("the WebSocket caller");
    let acks = acks.lock().expect("acks").clone();
    let all_arrived = |arrivals: &Arrivals| {
        let arrivals = arrivals.lock().ok()?;
        acks.keys().all(|key| arrivals.contains_key(key)).then_some(())
    };
    wait::poll(
        "every acknowledged write at both subscribers",
        DEADLINE,
        || all_arrived(&on_reader).and_then(|()| all_arrived(&on_leader)),
        || fx.outputs(),
    );
    stop.store(true, Ordering::Relaxed);
    for subscriber in subscribers {
        rt.block_on(subscriber).expect("a subscriber task");
    }
    let lags = |arrivals: &Arrivals| {
        let arrivals = arrivals.lock().expect("arrivals");
        let mut lags: Vec<Duration> = acks
            .iter()
            .map(|(key, acked)| arrivals[key].saturating_duration_since(*acked))
            .collect();
        lags.sort_unstable();
        lags
    };
    let (reader_lags, leader_lags) = (lags(&on_reader), lags(&on_leader));
    // The reader's row after the leader's own subscriber's: the replication lag proper.
    let behind: Vec<Duration> = {
        let (r, l) = (on_reader.lock().expect("arrivals"), on_leader.lock().expect("arrivals"));
        let mut behind: Vec<Duration> = acks.keys().map(|k| r[k].saturating_duration_since(l[k])).collect();
        behind.sort_unstable();
        behind
    };
    assert!(!acks.is_empty(), "the load made no call");
    eprintln!(
        "readers: {} transfers in {:.1} s from {WRITERS} closed-loop writers on the leader; acknowledgement to \
         the row at a subscriber on the reader p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; on the leader p50 {:.1} ms, \
         p99 {:.1} ms; the reader's subscriber after the leader's p50 {:.1} ms, p99 {:.1} ms",
        acks.len(),
        LOAD.as_secs_f64(),
        quantile_ms(&reader_lags, 0.5),
        quantile_ms(&reader_lags, 0.99),
        quantile_ms(&reader_lags, 1.0),
        quantile_ms(&leader_lags, 0.5),
        quantile_ms(&leader_lags, 0.99),
        quantile_ms(&behind, 0.5),
        quantile_ms(&behind, 0.99),
    );
    assert!(
        unseen.is_empty(),
        "calls through the reader missing from its copy right after their answer (seq): {unseen:?}"
    );
    assert!(
        row_after_result.is_empty(),
        "WebSocket calls through the reader whose row came after their result (seq): {row_after_result:?}"
    );
    assert!(
        !http_latencies.is_empty() && !ws_latencies.is_empty(),
        "no call through the reader was acknowledged"
    );
    http_latencies.sort_unstable();
    ws_latencies.sort_unstable();
    let mut direct = direct.lock().expect("latencies").clone();
    direct.sort_unstable();
    eprintln!(
        "readers: read-your-writes on the reader under that load: {} HTTP calls through it ({http_failed} not \
         acknowledged), each in its copy at its answer, p50 {:.1} ms, p99 {:.1} ms; {} WebSocket calls through it, \
         each row before its result, p50 {:.1} ms, p99 {:.1} ms; calls on the leader directly p50 {:.1} ms, p99 {:.1} \
         ms",
        http_latencies.len(),
        quantile_ms(&http_latencies, 0.5),
        quantile_ms(&http_latencies, 0.99),
        ws_latencies.len(),
        quantile_ms(&ws_latencies, 0.5),
        quantile_ms(&ws_latencies, 0.99),
        quantile_ms(&direct, 0.5),
        quantile_ms(&direct, 0.99),
    );

    // A reader that stops holds no etcd log back (design §7): while it is frozen the
    // leader trims past its last reported progress, and when it resumes it catches up
    // (from its watch, or from a peer's copy if it finds the log trimmed past it).
    let reader_progress = || {
        let value = db_value(&fx.etcd, &format!("/replica/n{}", READER + 1))?;
        let Some(persisted) = value.strip_suffix(" reader") else {
            panic!("the reader's progress {value:?} does not say it is a reader");
        };
        persisted.parse::<u64>().ok()
    };
    let frozen = wait::poll("the reader's progress in etcd", DEADLINE, reader_progress, || {
        fx.outputs()
    });
    fx.nodes[READER].signal("STOP");
    let frozen = reader_progress().map_or(frozen, |now| now.max(frozen));
    let mut seq = 0;
    let trimmed = wait::poll(
        "the leader to trim the etcd log past the frozen reader's progress",
        DEADLINE,
        || {
            assert_eq!(api.transfer(&leader_url, 9, seq).map(|a| a.0), Some(200));
            seq += 1;
            let trim = db_value(&fx.etcd, "/trim")?.parse::<u64>().ok()?;
            (trim > frozen).then_some(trim)
        },
        || fx.outputs(),
    );
    fx.nodes[READER].signal("CONT");
    let last = format!("SELECT * FROM entry WHERE client = 9 AND seq = {}", seq - 1);
    wait::poll(
        "the resumed reader to hold the writes made while it was frozen",
        DEADLINE,
        || api.rows(&reader_url, "local", &last).filter(|n| *n == 1),
        || fx.outputs(),
    );
    eprintln!(
        "readers: frozen at tx offset {frozen}, the reader held no trimming back (etcd trimmed to {trimmed} after \
         {seq} more transfers); resumed, it caught up{}",
        if fx.nodes[READER].output().contains("bootstrapped from peer") {
            " by bootstrapping from a peer"
        } else {
            " from etcd"
        }
    );

    // Cut off from etcd, the reader cannot tell how far behind it is: reads bounded by
    // its lag bound go to the leader, while a `local` read is still its own.
    for member in 0..3 {
        fx.etcd.kill(member);
    }
    let body = wait::poll(
        "the reader to send a bounded read to the leader",
        DEADLINE,
        || {
            let (status, body) = api.sql(&reader_url, "", "SELECT * FROM account");
            (status == 307).then_some(body)
        },
        || fx.outputs(),
    );
    assert!(
        body.contains("lags") && body.contains(&leader_url.replace("http://", "")),
        "{body}"
    );
    assert_eq!(
        api.rows(&reader_url, "local", "SELECT * FROM account"),
        Some(ACCOUNTS as usize)
    );
}

/// `tests/modules/presence`; built against our bindings only (a cluster test has no
/// upstream twin to compare with).
const PRESENCE: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "presence-module",
    upstream_package: "",
};

/// The presence test's fixture: the module published, nothing seeded.
fn presence_fixture() -> Option<Fixture> {
    Fixture::start_with(PRESENCE, "presence", |_| {}, "SELECT * FROM seen", 0)
}

/// The `n`th connection id of a test, in hex as a client sends it.
fn connection(n: u32) -> String {
    format!("{:032x}", 0x5ca1_ab1e_u128 << 64 | u128::from(n))
}

/// Rows of `table` for connection `hex` at `base` (the leader answers its own copy).
fn rows_for(api: &Api, base: &str, table: &str, hex: &str) -> Option<usize> {
    api.rows(base, "", &format!("SELECT * FROM {table} WHERE connection = '{hex}'"))
}

/// Opens a presence WebSocket on connection `hex`, past its `InitialConnection`.
async fn present(url: &str, hex: &str, token: &str) -> Socket {
    let mut socket = match try_open(url, "presence", &format!("&connection_id={hex}"), token).await {
        Ok(socket) => socket,
        Err((status, body)) => panic!("a WebSocket to {url}: {status}: {body}"),
    };
    match next(&mut socket, DEADLINE).await {
        Ok(ServerMessage::InitialConnection(_)) => socket,
        other => panic!("expected InitialConnection from {url}, got {other:?}"),
    }
}

/// Calls `whoami(tag)` over `socket` and returns its result, skipping updates.
async fn whoami(socket: &mut Socket, tag: u32) -> v2::ReducerOutcome {
    let call = ClientMessage::CallReducer(CallReducer {
        request_id: tag,
        flags: CallFlags::Default,
        reducer: "whoami".into(),
        args: tag.to_le_bytes().to_vec(),
    });
    send(socket, call).await;
    loop {
        match next(socket, DEADLINE).await {
            Ok(ServerMessage::ReducerResult(result)) if result.request_id == tag => return result.result,
            Ok(_) => {}
            Err(why) => panic!("waiting for whoami({tag})'s result: {why}"),
        }
    }
}

/// Closes `socket` as a client leaving does.
async fn leave(mut socket: Socket) {
    let _ = socket.close(None).await;
    while let Ok(Some(Ok(_))) = tokio::time::timeout(DEADLINE, socket.next()).await {}
}

/// A new identity's token and identity (hex), minted by the node at `base`.
fn new_identity(api: &Api, base: &str) -> (String, String) {
    let json: serde_json::Value = api
        .http
        .post(format!("{base}/v1/identity"))
        .send()
        .and_then(|r| r.json())
        .expect("a new identity");
    let field = |name: &str| json[name].as_str().expect("identity and token").to_owned();
    (field("token"), field("identity"))
}

/// Polls until the leader at `base` holds `expected` rows of `table` for `hex`.
fn wait_rows(fx: &Fixture, base: &str, table: &str, hex: &str, expected: usize, what: &str) {
    wait::poll(
        what,
        DEADLINE,
        || (rows_for(&fx.api, base, table, hex) == Some(expected)).then_some(()),
        || fx.outputs(),
    );
}

#[test]
fn a_readers_websocket_clients_run_their_lifecycle_on_the_leader_through_a_leader_kill() {
    let Some(mut fx) = presence_fixture() else {
        return;
    };
    let rt = runtime();
    let (api, reader) = (fx.api.clone(), fx.reader().to_owned());
    let leader = fx.leader();
    let leader_url = fx.urls[leader].clone();

    // Online on the leader as soon as the upgrade is answered, and on the reader
    // (which applied the connection's transaction before answering).
    let a = connection(1);
    let mut socket = rt.block_on(present(&reader, &a, &api.token));
    assert_eq!(rows_for(&api, &leader_url, "online", &a), Some(1), "{}", fx.outputs());
    assert_eq!(
        api.rows(
            &reader,
            "local",
            &format!("SELECT * FROM online WHERE connection = '{a}'")
        ),
        Some(1)
    );
    // A call over that WebSocket runs on the leader as the client's connection.
    let outcome = rt.block_on(whoami(&mut socket, 7));
    assert!(
        matches!(outcome, v2::ReducerOutcome::OkEmpty | v2::ReducerOutcome::Ok(_)),
        "{outcome:?}"
    );
    assert_eq!(
        api.rows(
            &leader_url,
            "",
            &format!("SELECT * FROM seen WHERE tag = 7 AND connection = '{a}'")
        ),
        Some(1),
        "whoami did not run with the WebSocket's connection id"
    );

    // client_connected's refusal refuses the upgrade on the reader.
    let (refused_token, refused_identity) = new_identity(&api, &reader);
    let refuse = api
        .http
        .post(format!("{leader_url}/v1/database/presence/call/refuse"))
        .bearer_auth(&api.token)
        .body(format!("[{{\"__identity__\": \"0x{refused_identity}\"}}]"))
        .send()
        .expect("refuse answered");
    assert_eq!(refuse.status().as_u16(), 200, "{:?}", refuse.text());
    let b = connection(2);
    let refused = rt.block_on(try_open(
        &reader,
        "presence",
        &format!("&connection_id={b}"),
        &refused_token,
    ));
    let Err((status, body)) = refused else {
        panic!("a refused client was connected through the reader");
    };
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("may not connect"), "{body}");
    assert_eq!(rows_for(&api, &leader_url, "online", &b), Some(0));
    assert_eq!(rows_for(&api, &leader_url, "departure", &b), Some(0));

    // Leaving runs client_disconnected on the leader.
    rt.block_on(leave(socket));
    wait_rows(
        &fx,
        &leader_url,
        "online",
        &a,
        0,
        "the reader's client to go offline on the leader",
    );
    assert_eq!(rows_for(&api, &leader_url, "departure", &a), Some(1));

    // Through a SIGKILL of the leader: the new leader holds the reader's client as
    // connected (from the replicated log), runs its calls and its departure.
    let c = connection(3);
    let mut socket = rt.block_on(present(&reader, &c, &api.token));
    assert_eq!(rows_for(&api, &leader_url, "online", &c), Some(1));
    let killed_at = Instant::now();
    fx.nodes[leader].sigkill();
    let new_leader = fx.urls[1 - leader].clone();
    wait::poll(
        "the standby to take over",
        DEADLINE,
        || (api.sql(&new_leader, "", fx.probe).0 == 200).then_some(()),
        || fx.outputs(),
    );
    let took_over = killed_at.elapsed();
    assert_eq!(
        rows_for(&api, &new_leader, "online", &c),
        Some(1),
        "the takeover ran client_disconnected for a client the reader still holds"
    );
    let outcome = rt.block_on(whoami(&mut socket, 8));
    assert!(
        matches!(outcome, v2::ReducerOutcome::OkEmpty | v2::ReducerOutcome::Ok(_)),
        "{outcome:?}"
    );
    assert_eq!(
        api.rows(
            &new_leader,
            "",
            &format!("SELECT * FROM seen WHERE tag = 8 AND connection = '{c}'")
        ),
        Some(1)
    );
    rt.block_on(leave(socket));
    wait_rows(
        &fx,
        &new_leader,
        "online",
        &c,
        0,
        "the client to go offline on the new leader",
    );
    assert_eq!(rows_for(&api, &new_leader, "departure", &c), Some(1));
    // Once each, however many nodes could have ended them.
    assert_eq!(rows_for(&api, &new_leader, "departure", &a), Some(1));
    eprintln!(
        "readers: a reader's WebSocket client stayed online through a leader SIGKILL (the new leader served reads \
         {} ms after the kill), its next call ran there on its connection, and it went offline once on leaving",
        took_over.as_millis()
    );
}

#[test]
fn a_dead_readers_clients_go_offline_and_a_standby_relays_websocket_clients() {
    let Some(mut fx) = presence_fixture() else {
        return;
    };
    let rt = runtime();
    let (api, reader) = (fx.api.clone(), fx.reader().to_owned());
    let leader = fx.leader();
    let (leader_url, standby_url) = (fx.urls[leader].clone(), fx.urls[1 - leader].clone());
    wait::poll(
        "the standby to follow the leader (it redirects SQL)",
        DEADLINE,
        || (api.sql(&standby_url, "", fx.probe).0 == 307).then_some(()),
        || fx.outputs(),
    );

    // A WebSocket client of the standby is relayed to the leader: upgraded (no 307),
    // online there, its subscription served and its calls run.
    let d = connection(4);
    let mut socket = rt.block_on(present(&standby_url, &d, &api.token));
    assert_eq!(rows_for(&api, &leader_url, "online", &d), Some(1), "{}", fx.outputs());
    let subscribe = ClientMessage::Subscribe(Subscribe {
        request_id: 1,
        query_set_id: QuerySetId::new(1),
        query_strings: vec!["SELECT * FROM online".into()],
    });
    rt.block_on(send(&mut socket, subscribe));
    match rt.block_on(next(&mut socket, DEADLINE)) {
        Ok(ServerMessage::SubscribeApplied(_)) => {}
        other => panic!("expected SubscribeApplied through the standby, got {other:?}"),
    }
    let outcome = rt.block_on(whoami(&mut socket, 9));
    assert!(
        matches!(outcome, v2::ReducerOutcome::OkEmpty | v2::ReducerOutcome::Ok(_)),
        "{outcome:?}"
    );
    assert_eq!(
        api.rows(
            &leader_url,
            "",
            &format!("SELECT * FROM seen WHERE tag = 9 AND connection = '{d}'")
        ),
        Some(1)
    );
    rt.block_on(leave(socket));
    wait_rows(&fx, &leader_url, "online", &d, 0, "the relayed client to go offline");

    // The reader dies with two clients: once its registration expires, the leader
    // runs client_disconnected for each, once.
    let (e, f) = (connection(5), connection(6));
    let sockets = [
        rt.block_on(present(&reader, &e, &api.token)),
        rt.block_on(present(&reader, &f, &api.token)),
    ];
    for hex in [&e, &f] {
        assert_eq!(rows_for(&api, &leader_url, "online", hex), Some(1));
    }
    let killed_at = Instant::now();
    fx.nodes[READER].sigkill();
    for hex in [&e, &f] {
        wait_rows(
            &fx,
            &leader_url,
            "online",
            hex,
            0,
            "the dead reader's clients to go offline",
        );
    }
    let offline_after = killed_at.elapsed();
    for hex in [&e, &f] {
        assert_eq!(
            rows_for(&api, &leader_url, "departure", hex),
            Some(1),
            "{}",
            fx.outputs()
        );
    }
    drop(sockets);

    // A relayed client is the leader's own: when the leader dies the relay closes it
    // (rather than serving it from the standby's copy, which the takeover turns into
    // the leader's), the new leader ends it as one of the old leader's clients, and a
    // client reconnecting to the same node reaches the new leader there.
    let g = connection(7);
    let mut relayed = rt.block_on(present(&standby_url, &g, &api.token));
    // A confirmed call: the log is durable (in etcd) up to it, so the connection,
    // logged before it, is too, and the new leader holds it.
    let confirmed = api
        .http
        .post(format!("{leader_url}/v1/database/presence/call/whoami"))
        .bearer_auth(&api.token)
        .body("[11]")
        .send()
        .expect("whoami answered");
    assert_eq!(confirmed.status().as_u16(), 200, "{:?}", confirmed.text());
    let killed_at = Instant::now();
    fx.nodes[leader].sigkill();
    let closed = rt.block_on(async {
        loop {
            match next(&mut relayed, DEADLINE).await {
                Ok(_) => {}
                Err(why) => break why,
            }
        }
    });
    let closed_after = killed_at.elapsed();
    assert!(
        closed.contains("reconnect"),
        "the relayed client was not closed as the leader's side ended: {closed}"
    );
    let h = connection(8);
    let mut socket = wait::poll(
        "a WebSocket to the former standby, now leading",
        DEADLINE,
        || {
            rt.block_on(try_open(
                &standby_url,
                "presence",
                &format!("&connection_id={h}"),
                &api.token,
            ))
            .ok()
        },
        || fx.outputs(),
    );
    match rt.block_on(next(&mut socket, DEADLINE)) {
        Ok(ServerMessage::InitialConnection(_)) => {}
        other => panic!("expected InitialConnection from the new leader, got {other:?}"),
    }
    let outcome = rt.block_on(whoami(&mut socket, 10));
    assert!(
        matches!(outcome, v2::ReducerOutcome::OkEmpty | v2::ReducerOutcome::Ok(_)),
        "{outcome:?}"
    );
    assert_eq!(rows_for(&api, &standby_url, "online", &h), Some(1));
    wait_rows(
        &fx,
        &standby_url,
        "departure",
        &g,
        1,
        "the new leader to end the old leader's relayed client",
    );
    assert_eq!(rows_for(&api, &standby_url, "online", &g), Some(0));
    rt.block_on(leave(socket));
    eprintln!(
        "readers: a SIGKILLed reader's 2 WebSocket clients went offline on the leader {} ms after the kill; a client \
         relayed by the standby was closed {} ms after a SIGKILL of the leader and ended once by the new leader",
        offline_after.as_millis(),
        closed_after.as_millis()
    );
}
