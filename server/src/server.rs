//! Starting and running a server: open the data directory, load the keys and the
//! registry, bind, announce the address, serve until told to stop.
//!
//! Connections are served by our own accept loop over hyper (not `axum::serve`), for
//! two limits `axum::serve` cannot set: a header-read timeout (a client that does not
//! finish a request's headers in time is disconnected) and caps on concurrent
//! connections in total and per address (`conn_limit`).

pub(crate) mod conn_limit;
mod drain;
mod signals;

use crate::auth::JwtKeys;
use crate::config::ServerConfig;
use crate::control;
use crate::environment;
use crate::error::ServerError;
use crate::program_store::ProgramStore;
use crate::registry::Registry;
use crate::routes;
use crate::state::AppState;
use conn_limit::ConnLimits;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use spacetime_host::{HostConfig, HostRuntime};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// A bound, not yet serving, server.
pub struct Server {
    listener: TcpListener,
    /// The PostgreSQL wire protocol listener, with `pg_port` set.
    pg_listener: Option<TcpListener>,
    local_addr: SocketAddr,
    state: AppState,
}

impl Server {
    /// Opens the data directory (creating it and the key pair if missing), loads the
    /// registry, binds `config.listen_addr`, and restarts every registered database.
    ///
    /// # Errors
    /// Fails if the data directory, the keys or the registry cannot be used, or the
    /// address cannot be bound.
    pub async fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let (private, public) = config.jwt_key_paths();
        let keys = JwtKeys::load_or_create(&private, &public)?;
        let (registry, programs) = if config.in_memory {
            (Registry::in_memory(), ProgramStore::Memory(Default::default()))
        } else {
            (
                Registry::open(&config.registry_path())?,
                ProgramStore::Disk {
                    dir: config.program_dir(),
                },
            )
        };
        let listener = TcpListener::bind(&config.listen_addr)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.listen_addr.clone(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen_addr.clone(),
            source,
        })?;
        let pg_listener = match config.pg_port {
            Some(port) => {
                // On the listen address's host, as upstream.
                let host = config.listen_addr.rsplit_once(':').map_or("0.0.0.0", |(host, _)| host);
                let addr = format!("{host}:{port}");
                let listener = TcpListener::bind(&addr).await.map_err(|source| ServerError::Bind {
                    addr: addr.clone(),
                    source,
                })?;
                log::info!("PostgreSQL wire protocol listening on {addr}");
                Some(listener)
            }
            None => None,
        };
        let host = HostRuntime::new(HostConfig {
            reducer_time_budget: config.reducer_time_budget,
            allow_private_http: config.allow_private_http,
            ..HostConfig::default()
        })
        .map_err(ServerError::Host)?;
        let cluster = config.cluster.clone();
        let state = AppState::new(config, keys, registry, programs, host);
        environment::load_all(&state);
        match cluster {
            // Each database's replica thread decides whether this node leads it or
            // follows it; nothing starts standalone.
            Some(cluster) => {
                let server = state.config().clone();
                let node = tokio::task::spawn_blocking(move || crate::cluster::ClusterNode::connect(&server, &cluster))
                    .await
                    .map_err(|e| crate::cluster::ClusterError::Local(format!("cluster start task failed: {e}")))??;
                let node = std::sync::Arc::new(node);
                state.set_cluster(node.clone());
                node.serve(&state);
            }
            None => control::reload_all(&state).await,
        }
        Ok(Self {
            listener,
            pg_listener,
            local_addr,
            state,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then shuts down gracefully within
    /// [`ServerConfig::shutdown_timeout`] (see [`drain`]).
    ///
    /// # Errors
    /// [`ServerError::ShutdownTimeout`] when the graceful shutdown did not finish in
    /// time. A failed `accept` (out of file descriptors, say) is logged and retried,
    /// since it must not stop the server.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
        let app = routes::router(self.state.clone());
        let config = self.state.config();
        let limits = ConnLimits::new(config.max_connections, config.max_connections_per_ip);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout);
        // WebSockets over HTTP/2 (RFC 8441), as `axum::serve` allows them.
        builder.http2().enable_connect_protocol();
        let graceful = GracefulShutdown::new();
        // Ends with this function: its connections are dropped at shutdown.
        let pg = self.pg_listener.map(|listener| {
            AbortOnDrop(tokio::spawn(crate::pg::serve(
                self.state.clone(),
                listener,
                limits.clone(),
            )))
        });
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        accept_failed(e).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // Past a cap the connection is closed at once (the refusal is logged); the
            // ones already admitted are unaffected.
            let Ok(permit) = limits.admit(peer.ip()) else {
                drop(tcp);
                continue;
            };
            prepare(&tcp);
            let service = TowerToHyperService::new(app.clone());
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .into_owned();
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    log::debug!("connection from {peer} ended with an error: {e}");
                }
                // Held until the connection (an upgraded WebSocket included) is gone.
                drop(permit);
            });
        }
        // Stop accepting: new connections are refused from here on.
        drop(self.listener);
        drop(pg);
        drain::drain(&self.state, graceful).await
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sets up an accepted socket.
fn prepare(tcp: &TcpStream) {
    // Small WebSocket messages must leave at once: with Nagle's algorithm a reply
    // written while an earlier one is unacknowledged waits for the client's delayed
    // ACK (40 ms on Linux).
    if let Err(e) = tcp.set_nodelay(true) {
        log::warn!("cannot set TCP_NODELAY on an accepted connection: {e}");
    }
}

/// Handles a failed `accept`. Running out of file descriptors is not fatal: wait a
/// moment for connections to close, as spinning would only burn a core.
pub(crate) async fn accept_failed(e: std::io::Error) {
    log::error!("cannot accept a connection: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Runs a server with `config` until SIGTERM or SIGINT (Ctrl-C), then shuts down
/// gracefully; a second signal exits the process at once.
///
/// Prints exactly `Starting SpacetimeDB listening on <ip:port>` to stdout once the
/// address is bound, as test harnesses wait for that line.
///
/// # Errors
/// See [`Server::bind`] and [`Server::run_until`].
pub async fn serve(config: ServerConfig) -> Result<(), ServerError> {
    let signals = signals::Signals::install()?;
    let server = Server::bind(config).await?;
    announce(server.local_addr());
    server.run_until(signals.first()).await
}

/// The line harnesses wait for; stdout is this server's interface here.
#[allow(clippy::print_stdout)]
fn announce(addr: SocketAddr) {
    use std::io::Write;
    println!("Starting SpacetimeDB listening on {addr}");
    let _ = std::io::stdout().flush();
}
