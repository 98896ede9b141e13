//! The connection to the etcd cluster: one client, driven by a small runtime of its
//! own, so the commit log's writer thread (which is not async) can block on it.
//!
//! Writes on a leader's commit path (appends, trimming) go to the etcd leader's own
//! endpoint when it is known ([`Cluster::write_client`]): a member that is not the
//! leader forwards a proposal to the leader and answers only once it has applied the
//! entry itself, a hop and a wait more on every acknowledged transaction. Everything
//! else (reads, watches, leases) is spread over every configured endpoint.

use crate::append::MAX_APPEND_BYTES;
use crate::error::{etcd, ReplicationError, Result};
use crate::keys::{parse_number, DbKeys, Head};
use etcd_client::{Client, ConnectOptions, GetOptions, KeyValue, WatchClient};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How many revisions etcd packs at most into one answer of a watch that is catching
/// up (`watchBatchMaxRevs` in etcd's mvcc watchable store).
const ETCD_WATCH_BATCH_MAX_REVS: usize = 1000;

/// What one log key's revision may hold besides its value: the key, the head put
/// in the same `Txn`, and the event framing (generous: they are a few hundred bytes).
const PER_KEY_OVERHEAD_BYTES: usize = 64 << 10;

/// The largest answer the log's watch decodes (gRPC's default is 4 MiB). It cannot be
/// paged: a watch catching up (a standby resuming behind many batches) gets the
/// events of up to [`ETCD_WATCH_BATCH_MAX_REVS`] revisions in one answer, and each
/// may be a log batch of up to [`MAX_APPEND_BYTES`] (the writer splits larger ones),
/// so about 1 GiB. A limit below that could make a watch fail on every resume, and
/// the standby never follow again.
const MAX_WATCH_ANSWER_BYTES: usize = ETCD_WATCH_BATCH_MAX_REVS * (MAX_APPEND_BYTES + PER_KEY_OVERHEAD_BYTES);

/// The default of [`ClusterOptions::read_page_keys`].
const DEFAULT_READ_PAGE_KEYS: usize = 64;

/// How old the knowledge of which member leads etcd may get before a write asks
/// again (in the background: the write itself never waits for the answer). An etcd
/// leader change costs writes at most this long of forwarding through a follower.
const ETCD_LEADER_RECHECK: Duration = Duration::from_secs(1);

/// Settings of a [`Cluster`] connection.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// The key prefix of this cluster's data in etcd. Default `/stdb/v1`.
    pub prefix: String,
    /// How long one request may take before its outcome counts as unknown. Default 2 s.
    pub request_timeout: Duration,
    /// How long connecting may take. Default 5 s.
    pub connect_timeout: Duration,
    /// How many keys one answer of a paged read of the log holds at most (a standby
    /// reading the log back: [`Cluster::committed_log`], [`Cluster::tail`]). Each
    /// log key holds up to [`MAX_APPEND_BYTES`], so an answer stays under about this
    /// many MiB however long the log is. Default 64; at least 1.
    pub read_page_keys: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            prefix: "/stdb/v1".into(),
            request_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
            read_page_keys: DEFAULT_READ_PAGE_KEYS,
        }
    }
}

impl ClusterOptions {
    /// Sets [`Self::prefix`].
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`Self::request_timeout`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`Self::read_page_keys`] (0 counts as 1).
    pub fn read_page_keys(mut self, keys: usize) -> Self {
        self.read_page_keys = keys.max(1);
        self
    }
}

/// Where a paged read of a key range stands ([`Cluster::read_page`]): every page is
/// read at the revision of the first, so together they are one consistent snapshot.
#[derive(Debug, Clone)]
pub(crate) struct RangePages {
    /// The first key the next page starts at; `None` once the range is read.
    next: Option<Vec<u8>>,
    /// The end of the range (exclusive).
    end: Vec<u8>,
    /// The revision every page is read at; 0 until the first page fixed it.
    revision: i64,
}

impl RangePages {
    /// A paged read of `[start, end)`, at the revision of its first page.
    pub(crate) fn new(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        Self {
            next: Some(start.into()),
            end: end.into(),
            revision: 0,
        }
    }

    /// The revision the pages are read at (0 before the first page).
    pub(crate) fn revision(&self) -> i64 {
        self.revision
    }

    /// Whether every page was read.
    pub(crate) fn done(&self) -> bool {
        self.next.is_none()
    }
}

/// A client connected to the etcd leader's client URL alone.
#[derive(Clone)]
struct Pinned {
    endpoint: String,
    client: Client,
}

/// Which member leads etcd, as last found, for [`Cluster::write_client`].
#[derive(Default)]
struct WriteRoute {
    /// `None` while unknown, or after a write through it failed.
    pinned: Option<Pinned>,
    /// When the leader was last looked up (`None`: never).
    checked: Option<Instant>,
}

struct Inner {
    /// Declared before `runtime`, so the client's channels go before the runtime
    /// that drives them.
    client: Client,
    /// The endpoints the cluster was configured with: a write is pinned only to one
    /// of these (an advertised URL the operator did not list may not be reachable).
    endpoints: Vec<String>,
    route: Arc<Mutex<WriteRoute>>,
    /// Whether a lookup of the etcd leader is under way.
    looking_up: Arc<AtomicBool>,
    options: ClusterOptions,
    runtime: tokio::runtime::Runtime,
}

/// A connection to an etcd cluster, shared by everything of one node that talks to
/// it (clone it freely). Every method blocks; call them from plain threads, not from
/// inside an async runtime.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// Takes a lock even if a thread panicked while holding it: the route is valid at
/// every step.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An endpoint as compared with a member's advertised client URLs: without the
/// `http://` etcd-client lets a configured endpoint leave out, or a trailing `/`.
fn normalize(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    url.strip_prefix("http://").unwrap_or(url).to_owned()
}

impl Cluster {
    /// Connects to the cluster whose members serve clients at `endpoints`
    /// (`http://host:port`); requests go to any member that answers.
    ///
    /// # Errors
    /// [`ReplicationError::Runtime`]; [`ReplicationError::Etcd`] if no endpoint can
    /// be reached; [`ReplicationError::Timeout`].
    pub fn connect(endpoints: &[String], options: ClusterOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("etcd-client")
            .enable_all()
            .build()
            .map_err(ReplicationError::Runtime)?;
        let connect = ConnectOptions::new()
            .with_connect_timeout(options.connect_timeout)
            .with_timeout(options.request_timeout)
            .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2));
        let fut = Client::connect(endpoints, Some(connect));
        let client = match runtime.block_on(async { tokio::time::timeout(options.connect_timeout, fut).await }) {
            Ok(client) => client.map_err(etcd("connect"))?,
            Err(_) => {
                return Err(ReplicationError::Timeout {
                    op: "connect",
                    after: options.connect_timeout,
                })
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                endpoints: endpoints.to_vec(),
                route: Arc::default(),
                looking_up: Arc::default(),
                options,
                runtime,
            }),
        })
    }

    /// The client for writes on a leader's commit path: connected to the etcd
    /// leader's endpoint alone when that is known, else the one spread over every
    /// endpoint. Never waits: when the knowledge is older than
    /// [`ETCD_LEADER_RECHECK`], a lookup starts in the background and a later write
    /// uses its answer.
    pub(crate) fn write_client(&self) -> Client {
        let mut route = lock(&self.inner.route);
        if route.checked.is_none_or(|at| at.elapsed() >= ETCD_LEADER_RECHECK) {
            route.checked = Some(Instant::now());
            self.look_up_leader();
        }
        match &route.pinned {
            Some(pinned) => pinned.client.clone(),
            None => self.client(),
        }
    }

    /// After a write through [`Self::write_client`] failed or timed out: the member
    /// it went to may be down, so writes go to every endpoint again until a lookup
    /// finds the leader anew (at once).
    pub(crate) fn unpin_writes(&self) {
        let mut route = lock(&self.inner.route);
        route.pinned = None;
        route.checked = None;
    }

    /// The endpoint writes are pinned to, if any (for tests and diagnostics).
    pub fn pinned_write_endpoint(&self) -> Option<String> {
        lock(&self.inner.route).pinned.as_ref().map(|p| p.endpoint.clone())
    }

    /// Starts a background lookup of the etcd leader's client URL (unless one is
    /// under way) and pins writes to it when it is one of the configured endpoints.
    fn look_up_leader(&self) {
        if self.inner.looking_up.swap(true, Ordering::AcqRel) {
            return;
        }
        let (mut client, route, looking_up) = (self.client(), self.inner.route.clone(), self.inner.looking_up.clone());
        let endpoints = self.inner.endpoints.clone();
        let options = self.inner.options.clone();
        self.inner.runtime.spawn(async move {
            let lookup = async {
                let leader = client.status().await.ok()?.leader();
                let members = client.member_list().await.ok()?;
                let member = members.members().iter().find(|m| m.id() == leader)?;
                let advertised: Vec<String> = member.client_urls().iter().map(|url| normalize(url)).collect();
                endpoints
                    .iter()
                    .find(|configured| advertised.contains(&normalize(configured)))
                    .cloned()
            };
            let found = tokio::time::timeout(options.request_timeout, lookup)
                .await
                .ok()
                .flatten();
            let current = lock(&route).pinned.as_ref().map(|p| p.endpoint.clone());
            match found {
                Some(endpoint) if current.as_ref() != Some(&endpoint) => {
                    let connect = ConnectOptions::new()
                        .with_connect_timeout(options.connect_timeout)
                        .with_timeout(options.request_timeout)
                        .with_keep_alive(Duration::from_secs(2), Duration::from_secs(2));
                    // Connects lazily: this returns at once, the first write connects.
                    if let Ok(client) = Client::connect([endpoint.as_str()], Some(connect)).await {
                        lock(&route).pinned = Some(Pinned { endpoint, client });
                    }
                }
                Some(_) => {}
                // No leader, or one at an address not configured: spread writes.
                None => lock(&route).pinned = None,
            }
            looking_up.store(false, Ordering::Release);
        });
    }

    /// The keys of database `db` in this cluster.
    pub fn db(&self, db: &str) -> DbKeys {
        DbKeys::new(&self.inner.options.prefix, db)
    }

    /// The connection's settings.
    pub fn options(&self) -> &ClusterOptions {
        &self.inner.options
    }

    /// A handle on the client (cheap: it shares the connection).
    pub(crate) fn client(&self) -> Client {
        self.inner.client.clone()
    }

    /// The largest answer a page of [`Self::read_page`] can be: its keys, each a log
    /// batch of up to [`MAX_APPEND_BYTES`] (gRPC's default limit of 4 MiB would fail
    /// on four full batches).
    fn max_page_bytes(&self) -> usize {
        self.inner
            .options
            .read_page_keys
            .saturating_add(1)
            .saturating_mul(MAX_APPEND_BYTES + PER_KEY_OVERHEAD_BYTES)
    }

    /// Reads the next page of `pages` (at most [`ClusterOptions::read_page_keys`]
    /// keys, in key order); `None` once the range is read. The first page fixes the
    /// revision the later ones are read at.
    ///
    /// # Errors
    /// etcd errors (notably when the revision was compacted meanwhile) and timeouts.
    pub(crate) fn read_page(&self, op: &'static str, pages: &mut RangePages) -> Result<Option<Vec<KeyValue>>> {
        let Some(start) = pages.next.take() else {
            return Ok(None);
        };
        let limit = self.inner.options.read_page_keys.max(1);
        let mut options = GetOptions::new()
            .with_range(pages.end.clone())
            .with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        if pages.revision > 0 {
            options = options.with_revision(pages.revision);
        }
        let mut client = self
            .inner
            .client
            .kv_client()
            .max_decoding_message_size(self.max_page_bytes());
        let mut resp = match self.run(op, client.get(start.clone(), Some(options))) {
            Ok(resp) => resp,
            Err(e) => {
                // Left where it was: the caller may try this page again.
                pages.next = Some(start);
                return Err(e);
            }
        };
        if pages.revision == 0 {
            pages.revision = resp.header().map_or(0, |h| h.revision());
        }
        let kvs = resp.take_kvs();
        if resp.more() {
            if let Some(last) = kvs.last() {
                // The smallest key after the last one read.
                let mut after = last.key().to_vec();
                after.push(0);
                pages.next = Some(after);
            }
        }
        Ok(Some(kvs))
    }

    /// A watch client for the log's watch (see [`MAX_WATCH_ANSWER_BYTES`]: one answer
    /// of a watch catching up can hold many batches).
    pub(crate) fn bulk_watch(&self) -> WatchClient {
        self.inner
            .client
            .watch_client()
            .max_decoding_message_size(MAX_WATCH_ANSWER_BYTES)
    }

    /// Runs `fut` (an etcd request) on the client's runtime, blocking, and gives up
    /// after the request timeout.
    pub(crate) fn run<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T> {
        self.run_for(op, self.inner.options.request_timeout, fut)
    }

    /// As [`Self::run`] with another timeout.
    pub(crate) fn run_for<T>(
        &self,
        op: &'static str,
        after: Duration,
        fut: impl Future<Output = Result<T, etcd_client::Error>>,
    ) -> Result<T> {
        match self
            .inner
            .runtime
            .block_on(async { tokio::time::timeout(after, fut).await })
        {
            Ok(result) => result.map_err(etcd(op)),
            Err(_) => Err(ReplicationError::Timeout { op, after }),
        }
    }

    /// Runs `fut` in the background on the client's runtime.
    pub(crate) fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.runtime.spawn(fut)
    }

    /// Runs any future on the client's runtime, blocking.
    pub(crate) fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.inner.runtime.block_on(fut)
    }

    /// Reads a number key (linearizable); `None` if it does not exist.
    pub(crate) fn get_number(&self, op: &'static str, key: &str) -> Result<Option<u64>> {
        let mut client = self.client();
        let resp = self.run(op, client.get(key, None))?;
        resp.kvs().first().map(|kv| parse_number(key, kv.value())).transpose()
    }

    /// The database's epoch (0 if no leader was ever elected).
    ///
    /// # Errors
    /// etcd errors and timeouts; [`ReplicationError::BadValue`].
    pub fn epoch(&self, keys: &DbKeys) -> Result<u64> {
        Ok(self.get_number("read the epoch", &keys.epoch())?.unwrap_or(0))
    }

    /// The last committed tx offset of the database's replicated log, if any.
    ///
    /// # Errors
    /// As [`Self::epoch`].
    pub fn head(&self, keys: &DbKeys) -> Result<Option<u64>> {
        Ok(self.head_value(keys)?.map(|head| head.offset))
    }

    /// The head of the database's replicated log with the rolling checksum the leader
    /// published there, if any.
    ///
    /// # Errors
    /// As [`Self::epoch`].
    pub fn head_value(&self, keys: &DbKeys) -> Result<Option<Head>> {
        let mut client = self.client();
        let resp = self.run("read the head", client.get(keys.head(), None))?;
        resp.kvs()
            .first()
            .map(|kv| Head::parse(&keys.head(), kv.value()))
            .transpose()
    }

    /// The first tx offset the replicated log still holds (0 if never trimmed).
    ///
    /// # Errors
    /// As [`Self::epoch`].
    pub fn trim_offset(&self, keys: &DbKeys) -> Result<u64> {
        Ok(self.get_number("read the trim offset", &keys.trim())?.unwrap_or(0))
    }

    /// The first tx offsets of the log batches the cluster holds, in order.
    ///
    /// # Errors
    /// As [`Self::epoch`].
    pub fn log_keys(&self, keys: &DbKeys) -> Result<Vec<u64>> {
        Ok(self
            .log_key_revisions(keys)?
            .into_iter()
            .map(|(first, _)| first)
            .collect())
    }

    /// As [`Self::log_keys`], each with the etcd revision that put it (log keys are
    /// put once).
    pub(crate) fn log_key_revisions(&self, keys: &DbKeys) -> Result<Vec<(u64, i64)>> {
        let mut client = self.client();
        let options = GetOptions::new().with_prefix().with_keys_only();
        let resp = self.run("list the log", client.get(keys.log_prefix(), Some(options)))?;
        Ok(resp
            .kvs()
            .iter()
            .filter_map(|kv| Some((keys.log_offset(kv.key())?, kv.mod_revision())))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn endpoints_compare_without_scheme_or_trailing_slash() {
        assert_eq!(normalize("http://127.0.0.1:2379/"), "127.0.0.1:2379");
        assert_eq!(normalize(" 127.0.0.1:2379"), "127.0.0.1:2379");
        // Another scheme is kept: it is not the same endpoint.
        assert_eq!(normalize("https://10.0.0.1:2379"), "https://10.0.0.1:2379");
    }
}
