//! The bank workload the retention and backup tests share: `tests/modules/bench`'s
//! accounts, transfers of 1 between neighbours over a v2 WebSocket (each awaited, so a
//! count of calls is a count of acknowledged transfers), and the balances that a given
//! number of transfers leaves.

use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::compression::decompress;
use spacetime_protocol::v2::{self, CallFlags, CallReducer, ClientMessage, ServerMessage};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::ModuleCrate;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// `tests/modules/bench`.
pub const BENCH: ModuleCrate = ModuleCrate {
    workspace: "tests/modules",
    package: "bench-module",
    upstream_package: "upstream-bench",
};
/// Accounts seeded (`seed 0 N START`).
pub const N: u32 = 7;
/// Each account's starting balance.
pub const START: i64 = 1_000_000;

/// The balances after the first `calls` transfers (transfer `i` moves 1 from account
/// `i % N` to `(i + 1) % N`).
pub fn expected_balances(calls: u32) -> Vec<i64> {
    let mut balances = vec![START; N as usize];
    for i in 0..calls {
        balances[(i % N) as usize] -= 1;
        balances[((i + 1) % N) as usize] += 1;
    }
    balances
}

/// The balances as SQL shows them, by account id.
pub fn balances(cli: &Cli, db: &str) -> Vec<i64> {
    let out = cli.sql(db, "SELECT id, balance FROM account").ok().stdout;
    let mut rows: Vec<(u32, i64)> = out
        .lines()
        .filter_map(|l| {
            let mut cells = l.split('|').map(str::trim);
            Some((cells.next()?.parse().ok()?, cells.next()?.parse().ok()?))
        })
        .collect();
    rows.sort_unstable();
    rows.into_iter().map(|(_, b)| b).collect()
}

/// A v2 WebSocket client making transfers.
pub struct Teller {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Teller {
    /// Connects to database `db` of the server at `url` (`http://…`).
    pub async fn connect(url: &str, db: &str) -> Self {
        let url = format!(
            "{}/v1/database/{db}/subscribe?compression=None",
            url.replace("http://", "ws://")
        );
        let mut request = url.into_client_request().expect("a URL");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", v2::BIN_PROTOCOL.parse().expect("a header"));
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
        Self { socket }
    }

    /// Makes transfer `i` and waits for its successful result.
    ///
    /// # Panics
    /// If the transfer fails or no result comes within 30 s.
    pub async fn transfer(&mut self, i: u32) {
        let mut args = (i % N).to_le_bytes().to_vec();
        args.extend_from_slice(&((i + 1) % N).to_le_bytes());
        args.extend_from_slice(&1i64.to_le_bytes());
        let call = ClientMessage::CallReducer(CallReducer {
            request_id: i,
            flags: CallFlags::Default,
            reducer: "transfer".into(),
            args,
        });
        self.socket
            .send(Message::Binary(call.to_bytes().into()))
            .await
            .expect("send");
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .expect("a reply within 30 s")
                .expect("open")
                .expect("a frame");
            if let Message::Binary(payload) = frame {
                let message =
                    ServerMessage::from_bytes(&decompress(&payload).expect("an envelope")).expect("a message");
                if let ServerMessage::ReducerResult(result) = message {
                    assert!(
                        matches!(result.result, v2::ReducerOutcome::Ok(_) | v2::ReducerOutcome::OkEmpty),
                        "transfer {i} failed"
                    );
                    return;
                }
            }
        }
    }
}
