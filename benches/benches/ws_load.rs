//! The money-transfer workload over real WebSockets, and the fan-out of one update.
//!
//! Starts a real `spacetime start` process on 127.0.0.1 (a free port, a temporary data
//! directory), publishes the bench module (`tests/modules/bench`), seeds the accounts
//! over HTTP, then drives it from this process with a lean client written on
//! tokio-tungstenite and `spacetime-protocol` (not the SDK):
//!
//! - **transfer**: N connections each keep K `transfer(from, to, 1)` calls in flight,
//!   accounts drawn from a Zipf(alpha) distribution over the accounts (alpha 0 is
//!   uniform); a call is done when its `ReducerResult` arrives. Reports transactions
//!   per second and p50/p99 latency from `CallReducer` send to `ReducerResult` receipt.
//! - **fan-out**: M connections subscribe to `SELECT * FROM ticker`; one `tick` call
//!   per round; reports the time from the call's send until every subscriber has its
//!   `TransactionUpdate` (p50 and max over rounds).
//!
//! Each storage mode gets its own server: `durable` (the default: a commit log, and
//! every message withheld until durable) and `in-memory` (`--in-memory`); mode
//! `replicated` is a cluster on this machine (three etcd members on 127.0.0.1/2/3, two
//! `--cluster` nodes), the clients connected to the leader, every message withheld
//! until the commit is durable locally and in etcd. While it runs, a thread samples
//! the etcd store every `WS_LOAD_ETCD_SAMPLE` seconds [5] (database file size and
//! bytes in use, keys of the database) and prints the series at the end, to show the
//! replicated log trimmed and compacted under a long load (`WS_LOAD_SECONDS=180`).
//!
//! Run: `cargo build --release -p spacetime-cli && cargo bench -p spacetime-benches --bench ws_load`
//! (closed loop as the targets define it: `WS_LOAD_CONNECTIONS=1 WS_LOAD_IN_FLIGHT=1`).
//! Settings (environment variables, defaults in brackets):
//! `WS_LOAD_MODES` [durable,in-memory; also replicated], `WS_LOAD_CONNECTIONS` [64],
//! `WS_LOAD_IN_FLIGHT` [40,1], `WS_LOAD_ALPHAS` [0,1.5], `WS_LOAD_SECONDS` [3],
//! `WS_LOAD_WARMUP` [1], `WS_LOAD_ACCOUNTS` [100000], `WS_LOAD_FANOUT` [1000; 0 skips],
//! `WS_LOAD_FANOUT_ROUNDS` [20], `WS_LOAD_CLIENT_THREADS` [1], `WS_LOAD_PROTOCOL` [v3|v2],
//! `SPACETIME_BIN` (the server binary; default: `spacetime` next to this executable),
//! `WS_LOAD_SERVER_LOGS` (a directory: each server's output is written there at the end
//! of its mode, `<mode>-server<i>.log`), `SPACETIME_TEST_ETCD_ARGS` (extra etcd flags).
//! The same settings may be passed as arguments, `connections=64 seconds=5`.
//! Every phase has a deadline, and a watchdog ends the process if the whole run
//! overruns, so it always stops by itself.
//!
//! Results, durable versus replicated (release build of d53d6419's tree, 2 vCPUs; everything
//! on one box: client, leader, standby and the three etcd members; alpha 0, 10 s per run,
//! the load average printed by each run):
//! - closed loop, one connection with one call in flight (1x1), load 2.9-3.4: durable
//!   3,026 / 3,398 tx/s, p50 0.32 / 0.28 ms, p99 0.51 / 0.45 ms; replicated 666 / 660 tx/s,
//!   p50 1.38 / 1.41 ms, p99 3.68 / 4.17 ms (two more replicated runs at load 2.9-4.6: p99
//!   3.54 / 4.20 ms). p99 is durable + 3.2-3.7 ms, short of the + 2 ms target; p50 is
//!   + 1.1 ms, about one etcd append (two members' WAL fsyncs, 99.8 % of them <= 2 ms here).
//! - pipelined 64x40, load 2.4-4.1: durable 147,438 / 137,826 tx/s, replicated 57,202 /
//!   62,451 tx/s (39 % / 45 %, target 50 %: not met); at load 7-9: durable 114,618 /
//!   107,336, replicated 49,430 / 55,009 (43 % / 51 %). The machine is 99 % busy in
//!   replicated runs: the standby's apply and the three etcd members share the two cores.
//! - etcd store (member 1) over 180 s replicated 64x40 (60,899 tx/s, load 4-10): file at
//!   most 42 MiB, 9.8-33.9 MiB in use, 75-424 keys, 165 trims by the leader, each compacting
//!   etcd's history. Before (c. 1b3a4dd8) the store grew without bound (10,490 log keys and
//!   912 MiB in use after 180 s): the standby could not read a log over gRPC's 4 MiB answer
//!   limit, so it never followed and the leader never trimmed.
//! - etcd ceiling (`cargo test -p spacetime-replication --test cluster -- --ignored
//!   --nocapture etcd_ceiling`, debug client, load 2.5-4): an append's p99 stays under 10 ms
//!   up to about 6 MB/s of batches (16 KiB batches, one writer: 5.7 MB/s, p99 6.4 ms; two
//!   writers 7.1 MB/s, p99 11 ms; 64 KiB, one writer: 15.6 MB/s, p99 12 ms); the most it
//!   took was 56 MB/s (256 KiB batches, 8 writers) at p99 114 ms.

use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, ReducerOutcome, ServerMessage, Subscribe};
use spacetime_protocol::{v3, QuerySetId};
use spacetime_sats::bsatn::Encode;
use spacetime_testing::cli::Cli;
use spacetime_testing::etcd::EtcdCluster;
use spacetime_testing::modules::{build_module, Bindings, BENCH};
use spacetime_testing::server::TestServer;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the last calls of a run may take to come back before the run fails.
const DRAIN_DEADLINE: Duration = Duration::from_secs(15);
/// How long connecting (and subscribing) one batch of clients may take.
const CONNECT_DEADLINE: Duration = Duration::from_secs(60);
/// How long one fan-out round may take.
const ROUND_DEADLINE: Duration = Duration::from_secs(15);
/// Each account's starting balance: far more than any run can move away.
const BALANCE: i64 = 1_000_000_000_000;

/// The benchmark's settings.
#[derive(Debug, Clone)]
struct Config {
    modes: Vec<Mode>,
    connections: usize,
    in_flight: Vec<usize>,
    alphas: Vec<f64>,
    seconds: f64,
    warmup: f64,
    accounts: u32,
    fanout: usize,
    fanout_rounds: usize,
    client_threads: usize,
    protocol: Framing,
    etcd_sample: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Durable,
    InMemory,
    Replicated,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Durable => "durable",
            Mode::InMemory => "in-memory",
            Mode::Replicated => "replicated",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    V2,
    V3,
}

impl Config {
    /// Reads the settings from `key=value` arguments, then `WS_LOAD_<KEY>` variables.
    fn load() -> Result<Self, String> {
        let args: HashMap<String, String> = std::env::args()
            .skip(1)
            .filter_map(|a| {
                a.split_once('=')
                    .map(|(k, v)| (k.trim_start_matches('-').replace('-', "_"), v.to_owned()))
            })
            .collect();
        let get = |key: &str, default: &str| -> String {
            args.get(key)
                .cloned()
                .or_else(|| std::env::var(format!("WS_LOAD_{}", key.to_uppercase())).ok())
                .unwrap_or_else(|| default.to_owned())
        };
        fn list<T: std::str::FromStr>(key: &str, text: &str) -> Result<Vec<T>, String> {
            text.split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .map_err(|_| format!("{key}: `{s}` is not a valid value (a comma-separated list)"))
                })
                .collect()
        }
        fn one<T: std::str::FromStr>(key: &str, text: &str) -> Result<T, String> {
            text.trim()
                .parse()
                .map_err(|_| format!("{key}: `{text}` is not a valid number"))
        }
        let modes = get("modes", "durable,in-memory")
            .split(',')
            .map(|m| match m.trim() {
                "durable" => Ok(Mode::Durable),
                "in-memory" | "memory" => Ok(Mode::InMemory),
                "replicated" => Ok(Mode::Replicated),
                other => Err(format!(
                    "modes: unknown mode `{other}`; use durable, in-memory and/or replicated"
                )),
            })
            .collect::<Result<_, _>>()?;
        let protocol = match get("protocol", "v3").as_str() {
            "v3" => Framing::V3,
            "v2" => Framing::V2,
            other => return Err(format!("protocol: `{other}` is neither v2 nor v3")),
        };
        let config = Self {
            modes,
            connections: one("connections", &get("connections", "64"))?,
            in_flight: list("in_flight", &get("in_flight", "40,1"))?,
            alphas: list("alphas", &get("alphas", "0,1.5"))?,
            seconds: one("seconds", &get("seconds", "3"))?,
            warmup: one("warmup", &get("warmup", "1"))?,
            accounts: one("accounts", &get("accounts", "100000"))?,
            fanout: one("fanout", &get("fanout", "1000"))?,
            fanout_rounds: one("fanout_rounds", &get("fanout_rounds", "20"))?,
            client_threads: one("client_threads", &get("client_threads", "1"))?,
            protocol,
            etcd_sample: one("etcd_sample", &get("etcd_sample", "5"))?,
        };
        if config.accounts < 2 || config.connections == 0 || config.in_flight.contains(&0) || config.client_threads == 0
        {
            return Err("accounts must be at least 2, and connections, in_flight and client_threads at least 1".into());
        }
        if !(config.seconds > 0.0 && config.seconds <= 600.0 && (0.0..=60.0).contains(&config.warmup)) {
            return Err("seconds must be in (0, 600] and warmup in [0, 60]".into());
        }
        if !(0.1..=600.0).contains(&config.etcd_sample) {
            return Err("etcd_sample must be in [0.1, 600] seconds".into());
        }
        if config.alphas.iter().any(|a| !(0.0..=10.0).contains(a)) {
            return Err("alphas must be in [0, 10]".into());
        }
        Ok(config)
    }

    /// An upper bound on the whole run, for the watchdog.
    fn budget(&self) -> Duration {
        let runs = (self.in_flight.len() * self.alphas.len()) as f64;
        let per_run = self.seconds + self.warmup + DRAIN_DEADLINE.as_secs_f64() + CONNECT_DEADLINE.as_secs_f64();
        let fanout = if self.fanout > 0 {
            2.0 * CONNECT_DEADLINE.as_secs_f64() + self.fanout_rounds as f64 * ROUND_DEADLINE.as_secs_f64()
        } else {
            0.0
        };
        let per_mode = 300.0 + runs * per_run + fanout;
        Duration::from_secs_f64(per_mode * self.modes.len() as f64)
    }
}

/// Zipf-distributed ranks `0..n`: rank `k` (from 0) has weight `1 / (k + 1)^alpha`.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: u32, alpha: f64) -> Self {
        let mut cdf = Vec::with_capacity(n as usize);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += f64::from(k).powf(-alpha);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Self { cdf }
    }

    /// The rank for a uniform `u` in `[0, 1)`.
    fn sample(&self, u: f64) -> u32 {
        let k = self.cdf.partition_point(|&c| c <= u);
        k.min(self.cdf.len() - 1) as u32
    }
}

/// xorshift64*: a fast per-connection generator, seeded so runs repeat.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Machine-wide CPU use between two readings of `/proc/stat`.
#[derive(Clone, Copy)]
struct CpuTimes {
    busy: u64,
    total: u64,
}

impl CpuTimes {
    fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        let total: u64 = fields.iter().take(8).sum();
        Some(Self {
            busy: total - idle,
            total,
        })
    }

    /// Busy share of all cores since `earlier`, in percent.
    fn busy_since(self, earlier: Option<Self>) -> Option<f64> {
        let earlier = earlier?;
        let total = self.total.checked_sub(earlier.total)?;
        (total > 0).then(|| 100.0 * (self.busy - earlier.busy) as f64 / total as f64)
    }
}

/// CPU seconds (user + system) used so far by process `pid` (`self` for this one).
fn process_cpu(pid: &str) -> Option<f64> {
    spacetime_benches::proc_stat_cpu(std::path::Path::new(&format!("/proc/{pid}/stat"))).map(|cpu| cpu.as_secs_f64())
}

/// The pid of the server: this process's child whose command is `spacetime`.
fn server_pid() -> Option<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .find_map(|entry| {
            let pid = entry.file_name().to_str()?.to_owned();
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (name, rest) = stat.split_once(" (")?.1.rsplit_once(')')?;
            let ppid = rest.split_whitespace().nth(1)?;
            (ppid == me && name.starts_with("spacetime")).then_some(pid)
        })
}

/// CPU time used by the server and by this client between two readings.
#[derive(Clone, Copy)]
struct ProcessCpu {
    server: Option<f64>,
    client: Option<f64>,
}

impl ProcessCpu {
    fn now(server: Option<&str>) -> Self {
        Self {
            server: server.and_then(process_cpu),
            client: process_cpu("self"),
        }
    }

    /// Microseconds of server and client CPU per transaction since `earlier`.
    fn per_tx(self, earlier: Self, txs: f64) -> (f64, f64) {
        let per = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if txs > 0.0 => (a - b) * 1e6 / txs,
            _ => f64::NAN,
        };
        (per(self.server, earlier.server), per(self.client, earlier.client))
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// What one connection measured.
#[derive(Default)]
struct ConnStats {
    /// Latencies (µs) of calls answered inside the measured window.
    latencies: Vec<u32>,
    /// Calls whose outcome was not `Ok`.
    failed: u64,
}

/// A connected client and where its URL pointed.
struct Target {
    ws_url: String,
    protocol: Framing,
}

impl Target {
    async fn connect(&self) -> Result<Ws, String> {
        let mut request = self.ws_url.as_str().into_client_request().map_err(|e| e.to_string())?;
        let protocol = match self.protocol {
            Framing::V2 => v2::BIN_PROTOCOL,
            Framing::V3 => v3::BIN_PROTOCOL,
        };
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        // A small read buffer: the codec zero-fills its free part before every read.
        let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.ws_url))?;
        // The first message is InitialConnection; nothing else may precede it.
        match next_messages(&mut ws).await?.first() {
            Some(ServerMessage::InitialConnection(_)) => Ok(ws),
            other => Err(format!("expected InitialConnection first, got {other:?}")),
        }
    }
}

/// The server messages of the next binary frame (skipping pings).
async fn next_messages(ws: &mut Ws) -> Result<Vec<ServerMessage>, String> {
    loop {
        match ws.next().await {
            None => return Err("the server closed the connection".into()),
            Some(Err(e)) => return Err(format!("socket error: {e}")),
            Some(Ok(Message::Binary(payload))) => {
                let body = decompress(&payload).map_err(|e| e.to_string())?;
                return v3::decode_frame(&body).map_err(|e| format!("undecodable server message: {e}"));
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("the server closed the connection: {frame:?}")),
            Some(Ok(_)) => continue,
        }
    }
}

fn call_message(request_id: u32, reducer: &str, args: Vec<u8>) -> Message {
    let message = ClientMessage::CallReducer(CallReducer {
        request_id,
        flags: CallFlags::Default,
        reducer: reducer.into(),
        args,
    });
    Message::Binary(message.to_bytes().into())
}

fn transfer_args(zipf: &Zipf, rng: &mut Rng) -> Vec<u8> {
    let from = zipf.sample(rng.next_f64());
    // Redraw a self-transfer a few times: under heavy skew it is common and does nothing.
    let mut to = zipf.sample(rng.next_f64());
    for _ in 0..8 {
        if to != from {
            break;
        }
        to = zipf.sample(rng.next_f64());
    }
    let mut args = Vec::with_capacity(16);
    from.encode(&mut args);
    to.encode(&mut args);
    1i64.encode(&mut args);
    args
}

/// One connection of the transfer run: keeps `in_flight` calls outstanding until
/// `stop`, then waits for the last answers.
async fn drive(
    mut ws: Ws,
    in_flight: usize,
    zipf: Arc<Zipf>,
    seed: u64,
    window: (Instant, Instant),
) -> Result<ConnStats, String> {
    let (measure_from, stop) = window;
    let mut rng = Rng(seed | 1);
    let mut stats = ConnStats::default();
    let mut sent: VecDeque<(u32, Instant)> = VecDeque::with_capacity(in_flight);
    let mut next_id = 0u32;
    for _ in 0..in_flight {
        sent.push_back((next_id, Instant::now()));
        ws.feed(call_message(next_id, "transfer", transfer_args(&zipf, &mut rng)))
            .await
            .map_err(|e| e.to_string())?;
        next_id += 1;
    }
    ws.flush().await.map_err(|e| e.to_string())?;
    let drain_until = stop + DRAIN_DEADLINE;
    while !sent.is_empty() {
        let messages = tokio::time::timeout_at(drain_until.into(), next_messages(&mut ws))
            .await
            .map_err(|_| {
                format!(
                    "{} calls still unanswered {DRAIN_DEADLINE:?} after the run ended",
                    sent.len()
                )
            })??;
        let now = Instant::now();
        let mut answered = 0;
        for message in messages {
            let ServerMessage::ReducerResult(result) = message else {
                continue;
            };
            let position = sent.iter().position(|(id, _)| *id == result.request_id);
            let Some((_, at)) = position.and_then(|p| sent.remove(p)) else {
                return Err(format!(
                    "a ReducerResult for request {} that was never sent",
                    result.request_id
                ));
            };
            if !matches!(result.result, ReducerOutcome::Ok(_) | ReducerOutcome::OkEmpty) {
                stats.failed += 1;
            }
            if now >= measure_from && now < stop {
                stats
                    .latencies
                    .push(u32::try_from(now.duration_since(at).as_micros()).unwrap_or(u32::MAX));
            }
            answered += 1;
        }
        if now < stop {
            for _ in 0..answered {
                sent.push_back((next_id, now));
                ws.feed(call_message(next_id, "transfer", transfer_args(&zipf, &mut rng)))
                    .await
                    .map_err(|e| e.to_string())?;
                next_id = next_id.wrapping_add(1);
            }
            ws.flush().await.map_err(|e| e.to_string())?;
        }
    }
    let _ = ws.close(None).await;
    Ok(stats)
}

/// Connects `n` clients, at most 32 handshakes at a time.
async fn connect_many(target: &Arc<Target>, n: usize) -> Result<Vec<Ws>, String> {
    let mut out = Vec::with_capacity(n);
    let deadline = tokio::time::Instant::now() + CONNECT_DEADLINE;
    let mut pending = futures_util::stream::iter((0..n).map(|_| {
        let target = target.clone();
        async move { target.connect().await }
    }))
    .buffer_unordered(32);
    while let Some(ws) = tokio::time::timeout_at(deadline, pending.next())
        .await
        .map_err(|_| format!("connecting {n} clients took over {CONNECT_DEADLINE:?}"))?
    {
        out.push(ws?);
    }
    Ok(out)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// One transfer run; prints its line of the table.
async fn transfer_run(
    config: &Config,
    target: &Arc<Target>,
    mode: Mode,
    in_flight: usize,
    alpha: f64,
) -> Result<(), String> {
    let zipf = Arc::new(Zipf::new(config.accounts, alpha));
    let clients = connect_many(target, config.connections).await?;
    let server = server_pid();
    let cpu_before = CpuTimes::now();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(config.warmup);
    let stop = measure_from + Duration::from_secs_f64(config.seconds);
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            tokio::spawn(drive(
                ws,
                in_flight,
                zipf.clone(),
                0x5eed_0000 + i as u64 * 7919,
                (measure_from, stop),
            ))
        })
        .collect();
    // CPU per transaction is taken over the measured window only.
    tokio::time::sleep_until(measure_from.into()).await;
    let process_before = ProcessCpu::now(server.as_deref());
    tokio::time::sleep_until(stop.into()).await;
    let process_after = ProcessCpu::now(server.as_deref());
    let mut latencies = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let stats = task.await.map_err(|e| format!("a client task failed: {e}"))??;
        latencies.extend(stats.latencies);
        failed += stats.failed;
    }
    let cpu = CpuTimes::now().and_then(|c| c.busy_since(cpu_before));
    latencies.sort_unstable();
    let tps = latencies.len() as f64 / config.seconds;
    let (server_us, client_us) = process_after.per_tx(process_before, latencies.len() as f64);
    println!(
        "{:<10} {:>4}x{:<3} alpha={:<4} {:>9.0} tx/s  p50 {:>7.2} ms  p99 {:>7.2} ms  failed {:<3} \
         cpu/tx server {server_us:>5.1} us client {client_us:>5.1} us  machine busy {:>3.0}%  load {}",
        mode.name(),
        config.connections,
        in_flight,
        alpha,
        tps,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        failed,
        cpu.unwrap_or(f64::NAN),
        load_average(),
    );
    Ok(())
}

/// Fan-out: `config.fanout` subscribers of `ticker`, one `tick` per round.
async fn fanout_run(config: &Config, target: &Arc<Target>, mode: Mode) -> Result<(), String> {
    let n = config.fanout;
    let subscribers = connect_many(target, n).await?;
    // Subscribe all, then wait for every SubscribeApplied.
    let (received_tx, mut received_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let (applied_tx, mut applied_rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
    let mut tasks = Vec::new();
    for mut ws in subscribers {
        let (received_tx, applied_tx) = (received_tx.clone(), applied_tx.clone());
        tasks.push(tokio::spawn(async move {
            let subscribe = ClientMessage::Subscribe(Subscribe {
                request_id: 1,
                query_set_id: QuerySetId::new(1),
                query_strings: vec!["SELECT * FROM ticker".into()],
            });
            if let Err(e) = ws.send(Message::Binary(subscribe.to_bytes().into())).await {
                let _ = applied_tx.send(Err(e.to_string()));
                return;
            }
            loop {
                let messages = match next_messages(&mut ws).await {
                    Ok(m) => m,
                    // The run closes the sockets when it is done.
                    Err(_) => return,
                };
                let now = Instant::now();
                for message in messages {
                    match message {
                        ServerMessage::SubscribeApplied(_) => {
                            let _ = applied_tx.send(Ok(()));
                        }
                        ServerMessage::SubscriptionError(e) => {
                            let _ = applied_tx.send(Err(e.error));
                        }
                        ServerMessage::TransactionUpdate(_) => {
                            let _ = received_tx.send(now);
                        }
                        _ => {}
                    }
                }
            }
        }));
    }
    let deadline = tokio::time::Instant::now() + CONNECT_DEADLINE;
    for _ in 0..n {
        match tokio::time::timeout_at(deadline, applied_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => return Err(format!("a subscription failed: {e}")),
            Ok(None) | Err(_) => {
                return Err(format!(
                    "{n} subscriptions were not all applied within {CONNECT_DEADLINE:?}"
                ))
            }
        }
    }
    let mut caller = target.connect().await?;
    let server = server_pid();
    let cpu_before = CpuTimes::now();
    let process_before = ProcessCpu::now(server.as_deref());
    let (mut rounds, mut firsts) = (Vec::new(), Vec::new());
    for round in 0..config.fanout_rounds {
        let mut args = Vec::new();
        (round as u64 + 1).encode(&mut args);
        let sent = Instant::now();
        caller
            .send(call_message(round as u32, "tick", args))
            .await
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::Instant::now() + ROUND_DEADLINE;
        let (mut first, mut last) = (None::<Instant>, sent);
        for got in 0..n {
            match tokio::time::timeout_at(deadline, received_rx.recv()).await {
                Ok(Some(at)) => {
                    first = Some(first.map_or(at, |f| f.min(at)));
                    last = last.max(at);
                }
                _ => {
                    return Err(format!(
                        "round {round}: only {got} of {n} subscribers got the update within {ROUND_DEADLINE:?}"
                    ))
                }
            }
        }
        // The caller's own ReducerResult, so rounds do not overlap.
        loop {
            let messages = tokio::time::timeout_at(deadline, next_messages(&mut caller))
                .await
                .map_err(|_| format!("round {round}: no ReducerResult for tick"))??;
            if messages.iter().any(|m| matches!(m, ServerMessage::ReducerResult(_))) {
                break;
            }
        }
        rounds.push(u32::try_from(last.duration_since(sent).as_micros()).unwrap_or(u32::MAX));
        firsts.push(u32::try_from(first.unwrap_or(sent).duration_since(sent).as_micros()).unwrap_or(u32::MAX));
    }
    let cpu = CpuTimes::now().and_then(|c| c.busy_since(cpu_before));
    // CPU per round, in milliseconds (the per-transaction helper gives microseconds).
    let (server_ms, client_ms) =
        ProcessCpu::now(server.as_deref()).per_tx(process_before, rounds.len() as f64 * 1000.0);
    for task in &tasks {
        task.abort();
    }
    rounds.sort_unstable();
    firsts.sort_unstable();
    println!(
        "{:<10} fan-out to {n} subscribers over {} rounds: p50 {:.2} ms  max {:.2} ms  (first subscriber p50 {:.2} ms)  \
         cpu/round server {server_ms:.1} ms client {client_ms:.1} ms  machine busy {:>3.0}%  load {}",
        mode.name(),
        rounds.len(),
        percentile(&rounds, 0.5),
        percentile(&rounds, 1.0),
        percentile(&firsts, 0.5),
        cpu.unwrap_or(f64::NAN),
        load_average(),
    );
    Ok(())
}

/// The disk's fsync latency now (p50 and p99 of 200 small appends, in ms): a confirmed
/// call waits for one, so it bounds the durable figures.
fn fsync_probe() -> std::io::Result<(f64, f64)> {
    use std::io::Write;
    let dir = tempfile::tempdir()?;
    let mut file = std::fs::File::create(dir.path().join("probe"))?;
    let mut times = Vec::with_capacity(200);
    for _ in 0..200 {
        file.write_all(&[7; 200])?;
        let start = Instant::now();
        file.sync_data()?;
        times.push(u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    times.sort_unstable();
    Ok((percentile(&times, 0.5), percentile(&times, 0.99)))
}

/// What serves one mode: its server processes and, for a cluster, etcd (declared
/// last, so the servers stop first).
struct Deployment {
    servers: Vec<TestServer>,
    _keys: Option<tempfile::TempDir>,
    etcd: Option<EtcdCluster>,
}

/// Starts the servers of `mode`: one, or a cluster of three etcd members and two
/// nodes (the first leads what is published on it).
fn deploy(mode: Mode) -> Deployment {
    let args: &[&str] = match mode {
        Mode::Durable | Mode::Replicated => &[],
        Mode::InMemory => &["--in-memory"],
    };
    if mode != Mode::Replicated {
        return Deployment {
            servers: vec![TestServer::start_with_args(args)],
            _keys: None,
            etcd: None,
        };
    }
    let etcd = EtcdCluster::start();
    let keys = tempfile::tempdir().expect("a key directory");
    let endpoints = etcd.endpoints();
    let servers = (1..=2)
        .map(|i| {
            let addr = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .to_string();
            let id = format!("n{i}");
            let args = ["--cluster", &endpoints, "--node-id", &id, "--advertise-addr", &addr];
            TestServer::start_sharing_keys(&addr, keys.path(), &args)
        })
        .collect();
    Deployment {
        servers,
        _keys: Some(keys),
        etcd: Some(etcd),
    }
}

/// Samples the etcd store every `every` until `stop`: seconds since the start, the
/// first member's database file size and bytes in use, and how many keys the
/// databases have (log batches and the rest).
fn sample_etcd(etcd: &EtcdCluster, every: Duration, stop: &std::sync::atomic::AtomicBool) -> Vec<String> {
    let started = Instant::now();
    let mut samples = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let (size, in_use) = etcd.db_size(0).unwrap_or((0, 0));
        let keys = etcd.count_keys("/stdb/v1/db/");
        samples.push(format!(
            "{:>5.0} s  db {:>7.2} MiB  in use {:>7.2} MiB  keys {keys}",
            started.elapsed().as_secs_f64(),
            size as f64 / 1048576.0,
            in_use as f64 / 1048576.0
        ));
        let next = Instant::now() + every;
        while Instant::now() < next && !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    samples
}

/// Publishes the bench module on `deployment`'s first server and seeds the accounts.
fn prepare(config: &Config, deployment: &Deployment, wasm: &std::path::Path) -> Arc<Target> {
    let server = &deployment.servers[0];
    let cli = Cli::new(server);
    cli.publish(wasm, Some("ws-load"));
    // Seed in chunks, so no single reducer call runs long.
    const CHUNK: u32 = 20_000;
    let mut first = 0;
    while first < config.accounts {
        let count = CHUNK.min(config.accounts - first);
        cli.call(
            "ws-load",
            "seed",
            &[&first.to_string(), &count.to_string(), &BALANCE.to_string()],
        )
        .ok();
        first += count;
    }
    let ws_url = format!(
        "{}/v1/database/ws-load/subscribe?compression=None",
        server.url().replacen("http://", "ws://", 1)
    );
    Arc::new(Target {
        ws_url,
        protocol: config.protocol,
    })
}

/// The server binary is `SPACETIME_BIN`, or `spacetime` beside this executable's
/// profile directory, which `cargo bench` does not build by itself.
fn check_server_binary() -> Result<(), String> {
    if std::env::var_os("SPACETIME_BIN").is_some() {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let profile = exe
        .parent()
        .and_then(|deps| deps.parent())
        .ok_or("this executable has no profile directory")?;
    let bin = profile.join(format!("spacetime{}", std::env::consts::EXE_SUFFIX));
    if bin.is_file() {
        Ok(())
    } else {
        Err(format!(
            "the server binary is missing at {}: build it with `cargo build --release -p spacetime-cli`, or set SPACETIME_BIN",
            bin.display()
        ))
    }
}

fn main() {
    let config = match Config::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ws_load: {e}");
            std::process::exit(2);
        }
    };
    let budget = config.budget();
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        eprintln!("ws_load: the run overran its {budget:?} budget; stopping");
        std::process::exit(3);
    });
    if let Err(e) = check_server_binary() {
        eprintln!("ws_load: {e}");
        std::process::exit(2);
    }
    let wasm = build_module(BENCH, Bindings::Ours);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.client_threads)
        .enable_all()
        .build()
        .expect("the client runtime starts");
    println!(
        "ws_load: {} accounts, {} connections, {:?} framing, {} client thread(s), {} s measured after {} s warm-up",
        config.accounts, config.connections, config.protocol, config.client_threads, config.seconds, config.warmup
    );
    let mut failures = 0;
    for &mode in &config.modes {
        if mode == Mode::Durable {
            match fsync_probe() {
                Ok((p50, p99)) => println!(
                    "durable    disk fsync p50 {p50:.2} ms  p99 {p99:.2} ms  load {}",
                    load_average()
                ),
                Err(e) => eprintln!("ws_load: cannot probe fsync latency: {e}"),
            }
        }
        let deployment = deploy(mode);
        let target = prepare(&config, &deployment, &wasm);
        let sampling_done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let sampler = deployment.etcd.as_ref().map(|etcd| {
                let every = Duration::from_secs_f64(config.etcd_sample);
                let done = &sampling_done;
                scope.spawn(move || sample_etcd(etcd, every, done))
            });
            runtime.block_on(async {
                for &in_flight in &config.in_flight {
                    for &alpha in &config.alphas {
                        if let Err(e) = transfer_run(&config, &target, mode, in_flight, alpha).await {
                            eprintln!("{} {}x{in_flight} alpha={alpha}: {e}", mode.name(), config.connections);
                            failures += 1;
                        }
                    }
                }
                if config.fanout > 0 {
                    if let Err(e) = fanout_run(&config, &target, mode).await {
                        eprintln!("{} fan-out: {e}", mode.name());
                        failures += 1;
                    }
                }
            });
            sampling_done.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(sampler) = sampler {
                println!("replicated etcd store over the run (member 1):");
                for line in sampler.join().unwrap_or_default() {
                    println!("  {line}");
                }
            }
            // Where a replicated call's time goes: each batch waits for two members'
            // WAL fsyncs (on the same disk as the server's own log here).
            if let Some(etcd) = &deployment.etcd {
                let leader = etcd.leader_index().unwrap_or(0);
                for metric in [
                    "etcd_disk_wal_fsync_duration_seconds",
                    "etcd_disk_backend_commit_duration_seconds",
                ] {
                    println!(
                        "etcd leader (member {}) {}",
                        leader + 1,
                        etcd.histogram_summary(leader, metric)
                    );
                }
            }
        });
        if let Some(dir) = std::env::var_os("WS_LOAD_SERVER_LOGS") {
            for (i, server) in deployment.servers.iter().enumerate() {
                let path = std::path::Path::new(&dir).join(format!("{}-server{}.log", mode.name(), i + 1));
                if let Err(e) = std::fs::write(&path, server.output()) {
                    eprintln!("ws_load: cannot write {}: {e}", path.display());
                }
            }
        }
        drop(deployment);
    }
    if failures > 0 {
        std::process::exit(1);
    }
}
