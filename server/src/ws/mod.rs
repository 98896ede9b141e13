//! One WebSocket connection of a subscribed client, after the upgrade: reads client
//! frames (one v2 message, or several back to back under v3), forwards each message to
//! the database's actor, and writes the actor's queued server messages with the
//! compression envelope: whatever is queued goes out with one flush, merged into one
//! frame under v3 ([`write_batch`]). It pings every 15 s and closes a connection
//! that answered no ping for 30 s: a client's own frames do not keep it alive, since a
//! client that writes but never reads answers no ping.
//!
//! A client that does not read is closed, not buffered for: the engine drops it once
//! its pending bytes (queued, or taken off the queue and not yet flushed) pass the
//! budget (1008 "too slow: …"), and a write that makes no progress for
//! [`SEND_STALL_TIMEOUT`] closes the connection too. Either way the close frame gets
//! [`CLOSE_GRACE`] to go out before the socket is dropped.
//!
//! A confirmed connection (`confirmed=true`, the default) writes a queued message only
//! once the commit log's durable offset covers the offset the message was tagged with,
//! so a client never sees a transaction a crash could still take back. The wait happens
//! here, in the connection's task; the queue keeps the order.
//!
//! In cluster mode a leader writes nothing once the lease it serves under has lapsed
//! (it closes the connection with 1013: another node may lead by then).
//!
//! On a reader node (cluster mode), the connection's reducer and procedure calls are
//! not sent to the actor but forwarded to the leader (`cluster::forward_ws`); each
//! result is written after whatever the queue holds at that moment, so a caller sees
//! its call's row changes before its result.
//!
//! Protocol errors close the socket with a close frame whose reason says what was wrong.
//! When the connection ends for any reason the actor is told, so `client_disconnected`
//! runs exactly once per accepted connection.

mod close_reason;
pub mod sessions;

use crate::cluster::forward_ws::WsForward;
use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use futures_util::SinkExt;
use spacetime_commitlog::DurableOffset;
use spacetime_engine::subscription::{ClientHandle, DropReason, Outgoing};
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
/// How long a connection may go without answering a ping before it is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one write to the socket may stay blocked (the client reads nothing)
/// before the connection is closed.
const SEND_STALL_TIMEOUT: Duration = IDLE_TIMEOUT;
/// How long a write must have waited on the client for its completion to count as a
/// sign of life (as a pong does).
const WRITE_PROOF_OF_LIFE: Duration = Duration::from_secs(1);
/// How long the close frame may take to go out (a client that does not read may never
/// take it) before the socket is dropped without it.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

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
    /// On a reader: where its calls go (to the leader); `None` sends them to the actor.
    pub forward: Option<crate::cluster::forward_ws::WsForward>,
    /// In cluster mode, what let this node serve the connection: a leader's lease,
    /// checked before each write (see [`take_batch`]).
    pub admission: Option<crate::cluster::Admission>,
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
    // Whatever is still queued will never be sent: free it before the close frame,
    // which may wait on a client that does not read.
    conn.outgoing.close();
    while conn.outgoing.try_recv().is_ok() {}
    let _ = conn.database.client(ClientRequest::Disconnect {
        client: conn.client.clone(),
    });
    if let End::Close(code, reason) = end {
        let reason = close_reason::truncate(reason);
        let _ = tokio::time::timeout(CLOSE_GRACE, close(&mut socket, code, reason)).await;
    }
}

/// Sends the close frame, then reads (and ignores) what the client still sends until
/// its own close frame: a socket dropped with unread input is reset, and the reset
/// would destroy the close frame before the client reads it.
async fn close(socket: &mut WebSocket, code: u16, reason: String) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if socket.send(frame).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = socket.recv().await {
        if let Message::Close(_) = message {
            break;
        }
    }
}

/// How the connection ends once the server dropped the client.
fn dropped(reason: &DropReason) -> End {
    match reason {
        DropReason::TooSlow(text) => End::Close(close_code::POLICY, text.clone()),
        DropReason::Replaced => End::Close(close_code::NORMAL, reason.to_string()),
        // 1012 "service restart": the server changed; reconnecting (with new bindings) works.
        DropReason::ModuleUpdated(text) => End::Close(close_code::RESTART, text.clone()),
    }
}

async fn run(socket: &mut WebSocket, conn: &mut Connection) -> End {
    let mut ping = tokio::time::interval(PING_INTERVAL);
    ping.tick().await;
    let mut last_pong = Instant::now();
    let client = conn.client.clone();
    let sent = crate::metrics::SentCounters::of(conn.database.identity);
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let message = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return End::Gone,
                    Some(Ok(message)) => message,
                };
                let payload = match message {
                    Message::Binary(payload) => payload,
                    Message::Text(_) => {
                        return End::Close(
                            close_code::UNSUPPORTED,
                            "text frames are not part of the v2/v3 protocols; send BSATN client messages as binary frames".into(),
                        )
                    }
                    Message::Pong(_) => {
                        last_pong = Instant::now();
                        continue;
                    }
                    Message::Ping(_) => continue,
                    Message::Close(_) => return End::Gone,
                };
                let messages = match decode(&payload, conn.framing) {
                    Ok(messages) => messages,
                    Err(reason) => return End::Close(close_code::POLICY, reason),
                };
                for message in messages {
                    let message = match &conn.forward {
                        Some(forward) => match forward.take(message).await {
                            Ok(()) => continue,
                            Err(message) => message,
                        },
                        None => message,
                    };
                    let command = ClientRequest::Message { connection_id: conn.client.connection_id, message };
                    if conn.database.client(command).is_err() {
                        return End::Close(close_code::AWAY, close_reason::database_gone(&conn.database));
                    }
                }
            }
            outgoing = conn.outgoing.recv() => {
                let Some(first) = outgoing else {
                    return match client.dropped() {
                        Some(reason) => dropped(reason),
                        None => End::Close(close_code::AWAY, close_reason::database_gone(&conn.database)),
                    };
                };
                let (batch, bytes) = match take_batch(conn, first).await {
                    Ok(batch) => batch,
                    Err(end) => return end,
                };
                // A client that stops reading blocks this write; it must not block the
                // server's decision to drop it.
                let started = Instant::now();
                tokio::select! {
                    written = write_batch(socket, conn.framing, conn.compression, &batch) => {
                        if written.is_err() {
                            return End::Gone;
                        }
                        client.flushed(bytes);
                        if let Some(sent) = &sent {
                            sent.sent(batch.len(), bytes);
                        }
                        // A write that had to wait finished because the client read: it
                        // is alive, though its pongs wait unread behind this write.
                        if started.elapsed() >= WRITE_PROOF_OF_LIFE {
                            last_pong = Instant::now();
                        }
                    }
                    () = client.wait_dropped() => return client.dropped().map_or(End::Gone, dropped),
                    () = tokio::time::sleep(SEND_STALL_TIMEOUT) => {
                        return End::Close(close_code::POLICY, format!(
                            "too slow: a write made no progress for {} s; read faster or subscribe to less",
                            SEND_STALL_TIMEOUT.as_secs()
                        ));
                    }
                }
            }
            reply = WsForward::next_reply(&mut conn.forward) => {
                // What the queue holds goes first: the forwarded call's row changes
                // were queued before this node applied it, so before its result.
                let (mut batch, mut bytes) = (Vec::new(), 0);
                while let Ok(first) = conn.outgoing.try_recv() {
                    match take_batch(conn, first).await {
                        Ok((more, n)) => {
                            batch.extend(more);
                            bytes += n;
                        }
                        Err(end) => return end,
                    }
                }
                batch.push(Outgoing { offset: None, body: reply });
                if write_batch(socket, conn.framing, conn.compression, &batch).await.is_err() {
                    return End::Gone;
                }
                client.flushed(bytes);
            }
            () = client.wait_dropped() => return client.dropped().map_or(End::Gone, dropped),
            _ = ping.tick() => {
                if last_pong.elapsed() > IDLE_TIMEOUT {
                    return End::Close(close_code::AWAY, format!(
                        "no pong for {} s: read the socket and answer pings to stay connected",
                        IDLE_TIMEOUT.as_secs()
                    ));
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

/// `first` and whatever else is already queued (up to [`MAX_BATCH`]), with their
/// total size, to be written with one flush: under load a connection pays one write
/// syscall for many messages. A confirmed connection waits once, for the last
/// message's offset: the queue is in offset order, so that covers every earlier message.
async fn take_batch(conn: &mut Connection, first: Outgoing) -> Result<(Vec<Outgoing>, usize), End> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match conn.outgoing.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    let bytes = batch.iter().map(|m| m.body.len()).sum();
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
    // Checked last, just before the write: a leader's answers (a subscription's
    // initial rows, a one-off query's) are its own only while the lease it serves
    // under is valid; once it lapses another node may lead, so the client is told to
    // reconnect (1013 "try again later"; this node steps down within moments).
    let lapsed = conn.admission.as_ref().map(|a| a.still_valid(conn.database.identity));
    if let Some(Err(why)) = lapsed {
        return Err(End::Close(close_code::AGAIN, why));
    }
    Ok((batch, bytes))
}

/// Writes `batch` and flushes once. A v3 connection gets the messages merged into as
/// few frames as [`MAX_FRAME`] allows; a v2 connection gets one frame per message.
async fn write_batch(
    socket: &mut WebSocket,
    framing: Framing,
    compression: Compression,
    batch: &[Outgoing],
) -> Result<(), axum::Error> {
    match framing {
        Framing::V2 => {
            for message in batch {
                socket
                    .feed(Message::Binary(compress(&message.body, compression).into()))
                    .await?;
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
                        .feed(Message::Binary(compress(&frame, compression).into()))
                        .await?;
                    frame.clear();
                }
            }
        }
    }
    socket.flush().await
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
