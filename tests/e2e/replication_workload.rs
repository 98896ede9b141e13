//! The Jepsen-style bank workload of the cluster-mode tests (`replication.rs`, the
//! leader kill loop, and `replication_partition.rs`, the network partitions): the
//! `tests/modules/ledger` module, clients that record every call they make (where it
//! went, when, and what came back), and the checker that holds a leader's state to
//! those records: every acknowledged call applied exactly once, nothing applied that
//! was refused or never sent, balances that match the applied calls, and a constant
//! total.

use spacetime_testing::etcd::etcd_available;
use spacetime_testing::modules::ModuleCrate;
use spacetime_testing::server::TestServer;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `tests/modules/ledger`.
pub const LEDGER: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "ledger-module",
    upstream_package: "upstream-ledger",
};
/// The database's name.
pub const DB: &str = "ledger";
/// Accounts seeded.
pub const ACCOUNTS: u32 = 7;
/// Each account's starting balance.
pub const START: i64 = 1_000_000;

/// The leader lease's TTL in seconds: the shortest allowed, so more failovers fit in a
/// run (the default is 3 s); a failover takes about this long.
pub const LEASE_TTL: &str = "2";

/// Whether etcd is missing, so a cluster test must be skipped (the message says so
/// and how to install it).
pub fn skip_without_etcd() -> bool {
    if etcd_available() {
        return false;
    }
    eprintln!("SKIPPED: `etcd` is not installed (Debian package etcd-server; scripts/install-deps.sh installs it)");
    true
}

/// A loopback address with a port free at the time of asking, for a node to listen on.
pub fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("a bound address").to_string()
}

/// Starts cluster node `id` on a free loopback port: etcd at `endpoints`, the token
/// key pair in `keys` (shared by every node), the flags of [`node_args`] and `extra`.
pub fn start_node(endpoints: &str, keys: &std::path::Path, id: &str, extra: &[&str]) -> TestServer {
    let addr = free_addr();
    let mut args = node_args(endpoints, id, &addr);
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestServer::start_sharing_keys(&addr, keys, &args)
}

/// The `spacetime start` flags of cluster node `id` advertising `addr`, with etcd at
/// `endpoints` and the short lease of these tests.
pub fn node_args(endpoints: &str, id: &str, addr: &str) -> Vec<String> {
    [
        "--cluster",
        endpoints,
        "--node-id",
        id,
        "--advertise-addr",
        addr,
        "--cluster-lease-ttl",
        LEASE_TTL,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Transfer `seq` of `client`: from, to.
fn accounts_of(client: u32, seq: u32) -> (u32, u32) {
    let from = (client + seq) % ACCOUNTS;
    (from, (from + 1) % ACCOUNTS)
}

/// What became of one call, as its client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 200: the result was confirmed, so it must survive any failover.
    Acked,
    /// A standby's redirect to the leader (307), or no connection at all (a killed
    /// node, or a partition that swallowed the connection attempt): not applied.
    Standby,
    /// No answer, or another error: it may or may not have been applied.
    Unknown,
}

/// One call as its client made it.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// Which client, and its sequence number: the entry the call inserts.
    pub key: (u32, u32),
    /// The node (index into the clients' URLs) it was sent to.
    pub node: usize,
    /// When the client started sending it.
    pub sent: Instant,
    /// When the client had its answer (or gave up).
    pub answered: Instant,
    /// What came back.
    pub outcome: Outcome,
    /// The HTTP status the node answered with; `None` if no answer came (a timeout or
    /// a connection error), so the request may still reach the node later.
    pub status: Option<u16>,
}

/// The calls every client made.
#[derive(Default)]
pub struct Records {
    /// The outcome of each call, by `(client, seq)`.
    pub outcomes: HashMap<(u32, u32), Outcome>,
    /// When each acknowledged call was answered, and by which node.
    pub acks: Vec<(Instant, usize)>,
    /// Every call made through [`Records::record`], in the order answered.
    pub calls: Vec<Call>,
}

impl Records {
    /// Records `call`.
    pub fn record(&mut self, call: Call) {
        self.outcomes.insert(call.key, call.outcome);
        if call.outcome == Outcome::Acked {
            self.acks.push((call.answered, call.node));
        }
        self.calls.push(call);
    }

    /// How many calls came back with `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.outcomes.values().filter(|o| **o == outcome).count()
    }
}

/// One HTTP client with the owner's token.
#[derive(Clone)]
pub struct Api {
    /// The client; redirects are not followed (a standby's 307 is an answer).
    pub http: reqwest::blocking::Client,
    /// The owner's token.
    pub token: String,
}

impl Api {
    /// An API client with `token` whose requests give up after `timeout`.
    pub fn new(token: String, timeout: Duration) -> Self {
        Self {
            http: reqwest::blocking::Client::builder()
                .timeout(timeout)
                // The workload sees where each call went: a standby's redirect is
                // an answer of its own, not followed.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            token,
        }
    }

    /// Call `seq` of `client` to the node at `base`.
    pub fn call(&self, base: &str, client: u32, seq: u32) -> Outcome {
        self.call_answered(base, client, seq).0
    }

    /// As [`Self::call`], with the answer (status and body, or the error) as text.
    pub fn call_answered(&self, base: &str, client: u32, seq: u32) -> (Outcome, String) {
        let (outcome, _, text) = self.send(base, client, seq);
        (outcome, text)
    }

    /// As [`Self::call`], with the HTTP status the node answered with (`None`: no
    /// answer came, a timeout or a connection error).
    pub fn call_status(&self, base: &str, client: u32, seq: u32) -> (Outcome, Option<u16>) {
        let (outcome, status, _) = self.send(base, client, seq);
        (outcome, status)
    }

    fn send(&self, base: &str, client: u32, seq: u32) -> (Outcome, Option<u16>, String) {
        let (from, to) = accounts_of(client, seq);
        let result = self
            .http
            .post(format!("{base}/v1/database/{DB}/call/transfer"))
            .bearer_auth(&self.token)
            .body(format!("[{client}, {seq}, {from}, {to}, 1]"))
            .send();
        let response = match result {
            Ok(r) => r,
            // No connection: the request never reached a server (a killed node).
            Err(e) if e.is_connect() => return (Outcome::Standby, None, e.to_string()),
            Err(e) => return (Outcome::Unknown, None, e.to_string()),
        };
        let status = response.status();
        let body = response.text().unwrap_or_default();
        let outcome = if status.is_success() {
            Outcome::Acked
        } else if status.as_u16() == 307 && body.contains("is a standby for database") {
            Outcome::Standby
        } else {
            Outcome::Unknown
        };
        (outcome, Some(status.as_u16()), format!("{status}: {body}"))
    }

    /// The rows of `query` on the node at `base`, if it answers (it leads).
    pub fn sql(&self, base: &str, query: &str) -> Option<Vec<Vec<serde_json::Value>>> {
        let r = self
            .http
            .post(format!("{base}/v1/database/{DB}/sql"))
            .bearer_auth(&self.token)
            .body(query.to_owned())
            .send()
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let json: serde_json::Value = serde_json::from_str(&r.text().ok()?).ok()?;
        let rows = json.get(0)?.get("rows")?.as_array()?;
        rows.iter().map(|row| row.as_array().cloned()).collect()
    }

    /// Whether the node at `base` answers for the database as its standby.
    pub fn is_standby(&self, base: &str) -> bool {
        let r = self
            .http
            .post(format!("{base}/v1/database/{DB}/sql"))
            .bearer_auth(&self.token)
            .body("SELECT id FROM account WHERE id = 0")
            .send();
        match r {
            Ok(r) if r.status().as_u16() == 307 => r.text().is_ok_and(|b| b.contains("is a standby for database")),
            _ => false,
        }
    }
}

/// Starts `count` client threads calling the nodes at `urls` until `stop`: each
/// sends its calls one at a time to one node, recording each in `records`, and moves
/// to the next node (after a short backoff) when a call is not acknowledged. Each
/// call is made under a read lock of `quiet`, so [`check`] can hold every call off.
pub fn spawn_clients(
    count: u32,
    api: &Api,
    urls: &[String],
    records: &Arc<Mutex<Records>>,
    stop: &Arc<AtomicBool>,
    quiet: &Arc<RwLock<()>>,
) -> Vec<JoinHandle<()>> {
    (0..count)
        .map(|client| {
            let (api, urls, records, stop) = (api.clone(), urls.to_vec(), records.clone(), stop.clone());
            let quiet = quiet.clone();
            std::thread::spawn(move || {
                let mut node = 0usize;
                let mut seq = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let calling = quiet.read().unwrap_or_else(|e| e.into_inner());
                    let sent = Instant::now();
                    let (outcome, status) = api.call_status(&urls[node], client, seq);
                    records.lock().expect("records").record(Call {
                        key: (client, seq),
                        node,
                        sent,
                        answered: Instant::now(),
                        outcome,
                        status,
                    });
                    drop(calling);
                    seq += 1;
                    if outcome != Outcome::Acked {
                        node = (node + 1) % urls.len();
                        // A client's backoff before trying the other node, as SDKs
                        // back off before reconnecting (not a wait for an event).
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        })
        .collect()
}

/// A running workload: [`spawn_clients`] with its records, stop flag and quiet lock.
pub struct Workload {
    /// Every call the clients made.
    pub records: Arc<Mutex<Records>>,
    /// Held for writing by [`check`] so no call is in flight.
    pub quiet: Arc<RwLock<()>>,
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<()>>,
}

impl Workload {
    /// Starts `count` clients calling the nodes at `urls` (see [`spawn_clients`]).
    pub fn start(count: u32, api: &Api, urls: &[String]) -> Self {
        let records = Arc::new(Mutex::new(Records::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let quiet = Arc::new(RwLock::new(()));
        let clients = spawn_clients(count, api, urls, &records, &stop, &quiet);
        Self {
            records,
            quiet,
            stop,
            clients,
        }
    }

    /// How many calls were acknowledged so far.
    pub fn acks(&self) -> usize {
        self.records.lock().expect("records").acks.len()
    }

    /// [`check`] against the node at `base`.
    pub fn check(&self, api: &Api, base: &str, round: usize) -> BTreeSet<(u32, u32)> {
        check(api, base, &self.records, &self.quiet, round)
    }

    /// Stops the clients and waits for them.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for c in self.clients.drain(..) {
            c.join().expect("a client thread");
        }
    }
}

fn as_u64(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an unsigned number: {v}"))
}

fn as_i64(v: &serde_json::Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Checks the leader's state against the clients' records; returns the calls it
/// holds (each once). Holds `quiet` for writing, so no call is in flight meanwhile
/// (each client makes its calls under a read lock): the two reads see one state, and
/// every call made so far is recorded.
///
/// # Panics
/// If the node at `base` does not answer SQL, or the state breaks a rule.
pub fn check(
    api: &Api,
    base: &str,
    records: &Mutex<Records>,
    quiet: &RwLock<()>,
    round: usize,
) -> BTreeSet<(u32, u32)> {
    try_check(api, base, records, quiet, round)
        .unwrap_or_else(|| panic!("round {round}: the leader at {base} does not answer SQL"))
}

/// As [`check`], but `None` if the node at `base` does not answer SQL (it stopped
/// leading meanwhile), for callers that find the leader again and retry.
///
/// # Panics
/// If the state breaks a rule.
pub fn try_check(
    api: &Api,
    base: &str,
    records: &Mutex<Records>,
    quiet: &RwLock<()>,
    round: usize,
) -> Option<BTreeSet<(u32, u32)>> {
    let _quiet = quiet.write().unwrap_or_else(|e| e.into_inner());
    let outcomes = records.lock().expect("records").outcomes.clone();
    let entries = api.sql(base, "SELECT client, seq, src, dst, amount FROM entry")?;
    let accounts = api.sql(base, "SELECT id, balance FROM account")?;
    let mut seen: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    let mut expected = vec![START; ACCOUNTS as usize];
    for row in &entries {
        let (client, seq) = (as_u64(&row[0]) as u32, as_u64(&row[1]) as u32);
        *seen.entry((client, seq)).or_default() += 1;
        let (from, to, amount) = (as_u64(&row[2]) as usize, as_u64(&row[3]) as usize, as_i64(&row[4]));
        expected[from] -= amount;
        expected[to] += amount;
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "round {round}: calls applied twice: {duplicates:?}"
    );
    let lost: Vec<_> = outcomes
        .iter()
        .filter(|(key, outcome)| **outcome == Outcome::Acked && !seen.contains_key(key))
        .map(|(key, _)| key)
        .collect();
    assert!(lost.is_empty(), "round {round}: acknowledged calls lost: {lost:?}");
    // A call a standby refused must not be applied, nor one never made.
    let phantom: Vec<_> = seen
        .keys()
        .filter(|key| outcomes.get(key).is_none_or(|o| *o == Outcome::Standby))
        .collect();
    assert!(
        phantom.is_empty(),
        "round {round}: calls refused or never made were applied: {phantom:?}"
    );
    let mut balances: Vec<(u64, i64)> = accounts.iter().map(|r| (as_u64(&r[0]), as_i64(&r[1]))).collect();
    balances.sort_unstable();
    let balances: Vec<i64> = balances.into_iter().map(|(_, b)| b).collect();
    assert_eq!(
        balances, expected,
        "round {round}: balances do not match the applied calls"
    );
    assert_eq!(
        balances.iter().sum::<i64>(),
        START * i64::from(ACCOUNTS),
        "round {round}: total"
    );
    Some(seen.into_keys().collect())
}

/// The part of the new leader's log line, after winning an election, that names the
/// election's and the catch-up's milliseconds (`replica.rs`).
pub const ELECTED: &str = ": elected in epoch ";
/// The part of the new leader's log line once it serves the database (promoted in
/// place, or started from its local log).
pub const SERVING: &str = ", serving after ";

/// One failover (SIGKILL of the leader to the first acknowledged call on the new one)
/// in consecutive parts, which add up to the whole.
#[derive(Debug, Clone, Copy)]
pub struct FailoverSplit {
    /// SIGKILL to the standby reading no leader key (the old lease expiring, etcd's
    /// watch event, the standby's look): the failover's start to the election's.
    pub detection: Duration,
    /// Reading no leader key (and the vacancy) to winning the campaign.
    pub election: Duration,
    /// Winning to the local log holding etcd's head.
    pub catch_up: Duration,
    /// Caught up to serving (the hot standby promoted, or a start from the log).
    pub promotion: Duration,
    /// Serving to the first call a client had acknowledged by the new leader (the
    /// clients' retries finding it).
    pub reconnect: Duration,
}

impl FailoverSplit {
    /// The split of a failover of `total` that began with a SIGKILL at `killed`, from
    /// the new leader's `output`: its last [`ELECTED`] line (a timestamp, the election's
    /// and the catch-up's milliseconds) and the [`SERVING`] line after it (a timestamp).
    /// The log's timestamps and `killed` are the same machine's clock. `None` when a
    /// line is missing or does not parse.
    pub fn from_log(output: &str, killed: SystemTime, total: Duration) -> Option<Self> {
        let elected_at = output.rfind(ELECTED)?;
        let elected = line_around(output, elected_at);
        let serving = line_around(output, elected_at + output[elected_at..].find(SERVING)?);
        let election = ms_after(elected, "won the election in ")?;
        let catch_up = ms_after(elected, "to the head in ")?;
        let (elected_time, serving_time) = (line_time(elected)?, line_time(serving)?);
        // The elected line is written once caught up: the election began this long
        // before it.
        let looked = elected_time.checked_sub(election + catch_up)?;
        let detection = looked.duration_since(killed).unwrap_or_default();
        let promotion = serving_time.duration_since(elected_time).unwrap_or_default();
        let serving_after_kill = serving_time.duration_since(killed).unwrap_or_default();
        Some(Self {
            detection,
            election,
            catch_up,
            promotion,
            reconnect: total.saturating_sub(serving_after_kill),
        })
    }
}

/// The whole line of `output` that byte `at` lies on.
fn line_around(output: &str, at: usize) -> &str {
    let start = output[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = output[at..].find('\n').map_or(output.len(), |i| at + i);
    &output[start..end]
}

/// The milliseconds written after `marker` in `line` (`<marker><n> ms`).
fn ms_after(line: &str, marker: &str) -> Option<Duration> {
    let rest = &line[line.find(marker)? + marker.len()..];
    Some(Duration::from_millis(rest[..rest.find(' ')?].parse().ok()?))
}

/// The time at the start of a server log line: the RFC 3339 UTC timestamp the
/// server's log format begins each line with (`2026-12-08T01:27:04.123456Z  INFO …`).
pub fn line_time(line: &str) -> Option<SystemTime> {
    let stamp = line.split_whitespace().next()?.strip_suffix('Z')?;
    let (date, time) = stamp.split_once('T')?;
    let mut ymd = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut hms = hms.splitn(3, ':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    let digits = fraction.len().min(9);
    let nanos = match digits {
        0 => 0,
        _ => fraction[..digits].parse::<u32>().ok()? * 10u32.pow(9 - digits as u32),
    };
    let days = u64::try_from(days_since_epoch(year, month, day)).ok()?;
    Some(UNIX_EPOCH + Duration::new(days * 86_400 + h * 3_600 + m * 60 + s, nanos))
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day` (the
/// well-known era arithmetic: 400-year eras of 146 097 days, years counted from March
/// so the leap day comes last).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// How many `.dropped` files (cut log tails) lie under `dir`.
pub fn count_dropped(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| {
                let path = e.path();
                if path.is_dir() {
                    count_dropped(&path)
                } else {
                    usize::from(path.extension().is_some_and(|x| x == "dropped"))
                }
            })
            .sum()
    })
}

/// Milliseconds at quantile `q` of `sorted` (0 when it is empty).
pub fn quantile(sorted: &[Duration], q: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_millis()
}

/// The log timestamps parse to the instants they name (leap days, eras, fractions),
/// and a failover's split is taken from the last election's lines and adds up to the
/// whole.
#[test]
fn log_line_times_and_a_failover_split() {
    let at = |s: u64, nanos: u32| UNIX_EPOCH + Duration::new(s, nanos);
    assert_eq!(line_time("1970-01-01T00:00:00Z x"), Some(at(0, 0)));
    assert_eq!(
        line_time("2000-03-01T00:00:00.5Z x"),
        Some(at(951_868_800, 500_000_000))
    );
    assert_eq!(
        line_time("2024-02-29T23:59:59.000001Z x"),
        Some(at(1_709_251_199, 1_000))
    );
    assert_eq!(
        line_time("2026-12-08T01:27:04.123456Z  INFO x"),
        Some(at(1_796_693_224, 123_456_000))
    );
    assert_eq!(line_time("  INFO no timestamp"), None);

    let output = "\
2026-12-08T01:27:00.000000Z  INFO r: database d: elected in epoch 3 (won the election in 9 ms); caught up 0 tx(s) to the head in 9 ms
2026-12-08T01:27:00.100000Z  INFO r: database d: node n2 took over as leader in epoch 3, serving after 5 ms (the hot standby promoted in place)
2026-12-08T01:27:04.000000Z  INFO r: database d: following node n1 (epoch 4) as a standby
2026-12-08T01:27:07.060000Z  INFO r: database d: elected in epoch 5 (won the election in 40 ms); caught up 2 tx(s) to the head in 20 ms
2026-12-08T01:27:07.090000Z  INFO r: database d: node n2 took over as leader in epoch 5, serving after 25 ms (the hot standby promoted in place)
";
    let killed = at(1_796_693_225, 0);
    let total = Duration::from_millis(2_200);
    let split = FailoverSplit::from_log(output, killed, total).expect("a split");
    let ms = |d: Duration| d.as_millis();
    assert_eq!(
        [
            split.detection,
            split.election,
            split.catch_up,
            split.promotion,
            split.reconnect
        ]
        .map(ms),
        [2_000, 40, 20, 30, 110]
    );
    let sum = split.detection + split.election + split.catch_up + split.promotion + split.reconnect;
    assert_eq!(sum, total);
    assert!(FailoverSplit::from_log("no election here", killed, total).is_none());
}
