//! The test server: a real `spacetime-server` on `127.0.0.1:0` in its own thread and
//! runtime, with its own data directory, and a small HTTP client for it.

use reqwest::{Method, StatusCode};
use spacetime_server::{Server, ServerConfig};
use std::net::SocketAddr;
use std::path::Path;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A running server; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server with a fresh data directory.
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_in(tmp.path());
        server._tmp = Some(tmp);
        server
    }

    /// A server with a fresh data directory and `tweak` applied to its configuration.
    pub fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut server = Self::start_configured(tmp.path(), tweak);
        server._tmp = Some(tmp);
        server
    }

    /// A server on `data_dir` (which the caller keeps alive).
    pub fn start_in(data_dir: &Path) -> Self {
        Self::start_configured(data_dir, |_| {})
    }

    /// A server on `data_dir` (which the caller keeps alive), `tweak` applied to its
    /// configuration.
    pub fn start_in_with(data_dir: &Path, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::start_configured(data_dir, tweak)
    }

    fn start_configured(data_dir: &Path, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = ServerConfig::new(data_dir);
        config.listen_addr = "127.0.0.1:0".into();
        tweak(&mut config);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let server = match Server::bind(config).await {
                    Ok(server) => server,
                    Err(e) => {
                        addr_tx.send(Err(e.to_string())).expect("test is waiting");
                        return;
                    }
                };
                addr_tx.send(Ok(server.local_addr())).expect("test is waiting");
                server
                    .run_until(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("server runs");
            });
        });
        let addr = addr_rx.recv().expect("server thread reports").expect("server starts");
        Self {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
            _tmp: None,
        }
    }

    /// A client for this server, with no token.
    pub fn client(&self) -> Client {
        Client {
            base: format!("http://{}", self.addr),
            token: None,
            http: reqwest::Client::new(),
        }
    }

    /// A client holding a freshly minted identity.
    pub async fn new_identity(&self) -> Client {
        let mut client = self.client();
        let res = client.request(Method::POST, "/v1/identity", None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        let json = res.json();
        client.token = Some(json["token"].as_str().expect("token").to_owned());
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A client, with or without a token.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub token: Option<String>,
    pub http: reqwest::Client,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the status, showing the body if it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        self
    }
}

impl Client {
    /// The same client without a token.
    pub fn anonymous(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// Sends a request with an optional body.
    pub async fn request(&self, method: Method, path: &str, body: Option<Body>) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        req = match body {
            None => req,
            Some(Body::Json(v)) => req.header("content-type", "application/json").body(v.to_string()),
            Some(Body::Text(t)) => req.header("content-type", "text/plain").body(t),
            Some(Body::Bytes(b)) => req.header("content-type", "application/octet-stream").body(b),
        };
        let res = req.send().await.expect("request reaches the server");
        let (status, headers) = (res.status(), res.headers().clone());
        Reply {
            status,
            headers,
            text: res.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    pub async fn post_json(&self, path: &str, json: serde_json::Value) -> Reply {
        self.request(Method::POST, path, Some(Body::Json(json))).await
    }

    pub async fn put_json(&self, path: &str, json: serde_json::Value) -> Reply {
        self.request(Method::PUT, path, Some(Body::Json(json))).await
    }

    /// Publishes `wasm` under `name` (`PUT`), or without a name (`POST`).
    pub async fn publish(&self, name: Option<&str>, wasm: Vec<u8>) -> Reply {
        match name {
            Some(name) => {
                self.request(Method::PUT, &format!("/v1/database/{name}"), Some(Body::Bytes(wasm)))
                    .await
            }
            None => {
                self.request(Method::POST, "/v1/database", Some(Body::Bytes(wasm)))
                    .await
            }
        }
    }

    /// Calls `reducer` of `db` with JSON `args`.
    pub async fn call(&self, db: &str, reducer: &str, args: serde_json::Value) -> Reply {
        self.post_json(&format!("/v1/database/{db}/call/{reducer}"), args).await
    }

    /// The messages of the last `n` log lines of `db` (the caller must own it).
    pub async fn log_messages(&self, db: &str, n: usize) -> Vec<String> {
        let res = self
            .get(&format!("/v1/database/{db}/logs?num_lines={n}"))
            .await
            .expect(200);
        res.text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("NDJSON line"))
            .map(|v| v["message"].as_str().expect("message").to_owned())
            .collect()
    }

    /// Polls `db`'s logs until one message satisfies `pred`, failing after 10 s.
    pub async fn wait_for_log(&self, db: &str, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let messages = self.log_messages(db, 1000).await;
            if messages.iter().any(|m| pred(m)) {
                return messages;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no such log line within 10 s; logs: {messages:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A request body.
pub enum Body {
    Json(serde_json::Value),
    Text(String),
    Bytes(Vec<u8>),
}
