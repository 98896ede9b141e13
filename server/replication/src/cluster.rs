//! The connection to the etcd cluster: one client, driven by a small runtime of its
//! own, so the commit log's writer thread (which is not async) can block on it.

use crate::error::{etcd, ReplicationError, Result};
use crate::keys::{parse_number, DbKeys, Head};
use etcd_client::{Client, ConnectOptions, GetOptions};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

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
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            prefix: "/stdb/v1".into(),
            request_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
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
}

struct Inner {
    /// Declared before `runtime`, so the client's channels go before the runtime
    /// that drives them.
    client: Client,
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
                options,
                runtime,
            }),
        })
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
        let mut client = self.client();
        let options = GetOptions::new().with_prefix().with_keys_only();
        let resp = self.run("list the log", client.get(keys.log_prefix(), Some(options)))?;
        Ok(resp.kvs().iter().filter_map(|kv| keys.log_offset(kv.key())).collect())
    }
}
