//! One WebSocket connection of a subscribed client, after the upgrade: reads client
//! frames (one v2 message, or several back to back under v3), forwards each message to
//! the database's actor, and writes the actor's queued server messages with the
//! compression envelope: whatever is queued goes out with one flush, merged into one
//! frame under v3 ([`write_queued`]). It pings every 15 s and closes a connection
//! silent for 30 s.
//!
//! A confirmed connection (`confirmed=true`, the default) writes a queued message only
//! once the commit log's durable offset covers the offset the message was tagged with,
//! so a client never sees a transaction a crash could still take back. The wait happens
//! here, in the connection's task; the queue keeps the order.
//!
//! Protocol errors close the socket with a close frame whose reason says what was wrong.
//! When the connection ends for any reason the actor is told, so `client_disconnected`
//! runs exactly once per accepted connection.

mod close_reason;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use spacetime_commitlog::DurableOffset;
use spacetime_engine::subscription::{ClientHandle, Outgoing};
use spacetime_engine::ClientRequest;
use spacetime_engine::Database;
use spacetime_protocol::compression::compress;
use spacetime_protocol::v2::ClientMessage;
use spacetime_protocol::{v3, Compression};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// How often the server pings.
const PING_INTERVAL: Duration = Duration::from_secs(15);
/// How long a connection may stay silent (no data, no pong) before it is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The socket's read buffer. Client messages are small (calls, subscriptions), and the
/// WebSocket codec zero-fills the free part of this buffer before every read, so the
/// library default (128 KiB) cost more per message than the rest of the read path.
pub const READ_BUFFER_SIZE: usize = 4 * 1024;

/// The wire protocol a connection negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `v2.bsatn.spacetimedb`: one message per frame.
    V2,
    /// `v3.bsatn.spacetimedb`: one or more messages per frame.
    V3,
}

/// What a connection needs after the upgrade.
pub struct Connection {
    /// The database it is connected to.
    pub database: Arc<Database>,
    /// The client, as registered with the actor.
    pub client: ClientHandle,
    /// The client's queue of server messages.
    pub outgoing: mpsc::Receiver<Outgoing>,
    /// For a confirmed connection to a database with a log, its durable offset: each
    /// message waits for its tagged offset. `None`: messages are written at once.
    pub durable: Option<DurableOffset>,
    /// How client frames are framed.
    pub framing: Framing,
    /// How server messages over 1 KiB are compressed.
    pub compression: Compression,
}

/// Why the loop ended, and the close frame to send if any.
enum End {
    /// The client closed or the socket failed; nothing more to send.
    Gone,
    /// Close with this code and reason.
    Close(u16, String),
}

/// Serves the connection until either side ends it, then tells the actor.
pub async fn serve(mut socket: WebSocket, mut conn: Connection) {
    let end = run(&mut socket, &mut conn).await;
    if let End::Close(code, reason) = end {
        let reason = close_reason::truncate(reason);
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    let _ = conn.database.client(ClientRequest::Disconnect {
        identity: conn.client.identity,
        connection_id: conn.client.connection_id,
    });
}

async fn run(socket: &mut WebSocket, conn: &mut Connection) -> End {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let message = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return End::Gone,
                    Some(Ok(message)) => message,
                };
                last_heard = Instant::now();
                let payload = match message {
                    Message::Binary(payload) => payload,
                    Message::Text(_) => {
                        return End::Close(
                            close_code::UNSUPPORTED,
                            "text frames are not part of the v2/v3 protocols; send BSATN client messages as binary frames".into(),
                        )
                    }
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => return End::Gone,
                };
                let messages = match decode(&payload, conn.framing) {
                    Ok(messages) => messages,
                    Err(reason) => return End::Close(close_code::POLICY, reason),
                };
                for message in messages {
                    let command = ClientRequest::Message { connection_id: conn.client.connection_id, message };
                    if conn.database.client(command).is_err() {
                        return End::Close(close_code::AWAY, close_reason::database_gone(&conn.database));
                    }
                }
            }
            outgoing = conn.outgoing.recv() => {
                let Some(first) = outgoing else {
                    let reason = conn.client.dropped.get().cloned();
                    return match reason {
                        Some(reason) => End::Close(close_code::POLICY, reason),
                        None => End::Close(close_code::AWAY, close_reason::database_gone(&conn.database)),
                    };
                };
                if let Err(end) = write_queued(socket, conn, first).await {
                    return end;
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > IDLE_TIMEOUT {
                    return End::Close(close_code::AWAY, format!("no data or pong for {} s", IDLE_TIMEOUT.as_secs()));
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return End::Gone;
                }
            }
        }
    }
}

/// How many queued messages one write takes at most, so a busy queue still lets the
/// loop read, ping and notice a close.
const MAX_BATCH: usize = 256;
/// How large a merged v3 frame may grow before the batch ends.
const MAX_FRAME: usize = 256 * 1024;

/// Writes `first` and whatever else is already queued (up to [`MAX_BATCH`]) with one
/// flush: under load a connection pays one write syscall for many messages. A v3
/// connection gets them merged into as few frames as [`MAX_FRAME`] allows; a v2
/// connection gets one frame per message, flushed together. A confirmed connection
/// waits once, for the last message's offset: the queue is in offset order, so that
/// covers every earlier message.
async fn write_queued(socket: &mut WebSocket, conn: &mut Connection, first: Outgoing) -> Result<(), End> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match conn.outgoing.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    let offset = batch.iter().filter_map(|m| m.offset).max();
    if let (Some(offset), Some(durable)) = (offset, conn.durable.as_mut()) {
        if let Err(e) = durable.wait_for(offset).await {
            log::error!("database {}: {e}", conn.database.identity);
            return Err(End::Close(
                close_code::ERROR,
                close_reason::database_gone(&conn.database),
            ));
        }
        debug_assert!(
            durable.get().is_some_and(|d| d >= offset),
            "a confirmed message was released early"
        );
    }
    let gone = |_| End::Gone;
    match conn.framing {
        Framing::V2 => {
            for message in &batch {
                socket
                    .feed(Message::Binary(compress(&message.body, conn.compression).into()))
                    .await
                    .map_err(gone)?;
            }
        }
        Framing::V3 => {
            let mut messages = batch.iter().peekable();
            let mut frame = Vec::new();
            while let Some(message) = messages.next() {
                frame.extend_from_slice(&message.body);
                let full = messages
                    .peek()
                    .is_none_or(|next| frame.len() + next.body.len() > MAX_FRAME);
                if full {
                    socket
                        .feed(Message::Binary(compress(&frame, conn.compression).into()))
                        .await
                        .map_err(gone)?;
                    frame.clear();
                }
            }
        }
    }
    socket.flush().await.map_err(gone)
}

/// The client messages of one binary frame.
fn decode(payload: &[u8], framing: Framing) -> Result<Vec<ClientMessage>, String> {
    let result = match framing {
        Framing::V2 => ClientMessage::from_bytes(payload)
            .map(|m| vec![m])
            .map_err(|e| e.to_string()),
        Framing::V3 => v3::decode_frame(payload).map_err(|e| e.to_string()),
    };
    result.map_err(|e| format!("malformed client message: {e}"))
}
