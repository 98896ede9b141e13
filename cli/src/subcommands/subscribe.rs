//! `spacetime subscribe <db> <query>…`: opens the real-time WebSocket (`v2.bsatn.spacetimedb`),
//! subscribes once to every query, and prints each update as one JSON line
//! `{"<table>":{"deletes":[…],"inserts":[…]}}`, rows as SATS-JSON objects keyed by column name
//! (decoded with the row types of the database's schema). Stops after `-n` updates or `-t`
//! seconds; a refused query (such as one over a private table) is an error. When the
//! database is deleted, it says so and exits successfully; when the server stops it (a
//! restart, a storage failure), the close reason is the error.

use crate::api::JsonBody;
use crate::{Auth, Ctx};
use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Map, Value};
use spacetime_protocol::v2::{self, ClientMessage, QueryRows, ServerMessage, TableUpdateRows, TransactionUpdate};
use spacetime_protocol::{compression, v3, BsatnRowList, QuerySetId};
use spacetime_sats::bsatn::value::decode_value_exact;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::RawModuleDefV10;
use spacetime_sats::json::{from_json, value_to_json};
use spacetime_sats::AlgebraicType;
use std::io::Write;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};

/// Arguments of `subscribe`.
#[derive(Debug, clap::Args)]
pub struct SubscribeArgs {
    /// `[DATABASE] QUERY…`: the name or identity of the database (default: `database` in
    /// spacetime.json; the first word is taken as a query when it starts with `SELECT`), then
    /// the SQL queries to subscribe to.
    #[arg(required = true, value_name = "[DATABASE] QUERY")]
    pub queries: Vec<String>,
    /// Exit after this many updates (the initial update does not count).
    #[arg(short = 'n', long = "num-updates", value_name = "N")]
    pub num_updates: Option<u32>,
    /// Exit after this many seconds.
    #[arg(short = 't', long, value_name = "SECS")]
    pub timeout: Option<u32>,
    /// Print the rows matching the queries when the subscription starts.
    #[arg(long)]
    pub print_initial_update: bool,
    /// Whether to receive only updates that are durable (the server's default is true).
    #[arg(long, value_name = "BOOL", num_args = 1)]
    pub confirmed: Option<bool>,
    /// Send no token.
    #[arg(long)]
    pub anonymous: bool,
}

/// The query set id of the one `Subscribe` this verb sends.
const QUERY_SET: QuerySetId = QuerySetId::new(1);

/// Runs `subscribe`.
///
/// # Errors
/// When the database is unknown, the connection is refused, a query is rejected, or the
/// server sends something that does not decode against the schema.
pub fn exec(ctx: &mut Ctx, mut args: SubscribeArgs) -> Result<()> {
    // `subscribe "SELECT …"` inside a project: the database is spacetime.json's.
    let first_is_query = args
        .queries
        .first()
        .is_some_and(|q| q.trim_start().to_ascii_lowercase().starts_with("select"));
    let database = if first_is_query {
        ctx.database(None)?
    } else {
        ctx.database(Some(args.queries.remove(0)))?
    };
    if args.queries.is_empty() {
        bail!(
            "name at least one query to subscribe to, e.g. `spacetime subscribe {database} \"SELECT * FROM message\"`"
        );
    }
    let api = ctx.api(if args.anonymous {
        Auth::Anonymous
    } else {
        Auth::IfAvailable
    })?;
    let db = api.resolve_database(&database)?;
    let schema = api
        .send_ok(
            api.request(Method::GET, &format!("/database/{}/schema", db.identity))
                .query(&[("version", "10")]),
            "reading the schema",
        )?
        .json_body("the schema")?;
    let raw: RawModuleDefV10 =
        from_json(&schema).map_err(|e| anyhow!("the server's schema is not a V10 module definition: {e}"))?;
    let def = ModuleDef::try_from(raw).map_err(|e| anyhow!("the server's module definition is invalid: {e}"))?;

    let mut url = format!(
        "{}/v1/database/{}/subscribe?compression=None",
        ws_base(api.base())?,
        db.identity
    );
    if let Some(confirmed) = args.confirmed {
        url.push_str(&format!("&confirmed={confirmed}"));
    }
    let mut request = url
        .as_str()
        .into_client_request()
        .with_context(|| format!("invalid WebSocket URL {url}"))?;
    let headers = request.headers_mut();
    // v3 first, as upstream's CLI; v2 is the same messages one per frame.
    let offer = format!("{}, {}", v3::BIN_PROTOCOL, v2::BIN_PROTOCOL);
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_str(&offer).context("the protocol offer")?,
    );
    if let Some(token) = api.token() {
        let value =
            HeaderValue::from_str(&format!("Bearer {token}")).context("the saved token is not a valid header value")?;
        headers.insert("Authorization", value);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let session = stream(request, &args, &def);
    let end = match args.timeout {
        // Running out of time is how a bounded watch ends, not a failure.
        Some(secs) => runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(secs.into()), session)
                .await
                .unwrap_or(Ok(End::Done))
        }),
        None => runtime.block_on(session),
    }?;
    if let End::DatabaseGone(reason) = end {
        // Deleted, or stopped (a restart, a storage failure)? The name lookup tells.
        let lookup = api.send(api.request(Method::GET, &format!("/database/{}/identity", db.identity)))?;
        if lookup.status() != reqwest::StatusCode::NOT_FOUND {
            // Stopped, not deleted: the subscription ended for a reason the user must
            // act on (a restart, a storage failure), so it is an error.
            bail!("the server closed the subscription: {reason}");
        }
        eprintln!("The database `{database}` was deleted; the subscription ended.");
    }
    Ok(())
}

/// How a subscription ended without an error.
enum End {
    /// `-n` updates were printed (or the time ran out).
    Done,
    /// The server closed the connection because the database went away (close code 1000
    /// or 1001), with the close frame's reason.
    DatabaseGone(String),
}

/// `ws://…` or `wss://…` for an `http://…` or `https://…` server URL.
fn ws_base(base: &str) -> Result<String> {
    if let Some(rest) = base.strip_prefix("http://") {
        Ok(format!("ws://{rest}"))
    } else if let Some(rest) = base.strip_prefix("https://") {
        Ok(format!("wss://{rest}"))
    } else {
        bail!("the server URL {base} is neither http:// nor https://")
    }
}

/// Connects, subscribes and prints updates until `-n` is reached or the server closes.
async fn stream(
    request: tungstenite::handshake::client::Request,
    args: &SubscribeArgs,
    def: &ModuleDef,
) -> Result<End> {
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.map_err(|e| match e {
        tungstenite::Error::Http(response) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned();
            anyhow!(
                "the server refused the subscription ({}): {}",
                response.status(),
                body.trim()
            )
        }
        other => anyhow!("cannot open the WebSocket: {other}"),
    })?;
    let framed_v3 = response
        .headers()
        .get("Sec-WebSocket-Protocol")
        .is_some_and(|p| p.as_bytes() == v3::BIN_PROTOCOL.as_bytes());
    // One v2 message is also a valid v3 frame, so sending needs no framing choice.
    let subscribe = ClientMessage::Subscribe(v2::Subscribe {
        request_id: 1,
        query_set_id: QUERY_SET,
        query_strings: args.queries.clone(),
    });
    socket
        .send(Message::Binary(subscribe.to_bytes().into()))
        .await
        .context("sending the subscription")?;

    let mut stdout = std::io::stdout().lock();
    let mut updates = 0u32;
    let done = |updates: u32| args.num_updates.is_some_and(|n| updates >= n);
    let mut applied = false;
    while !(applied && done(updates)) {
        let Some(frame) = socket.next().await else {
            bail!("the server closed the connection");
        };
        let payload = match frame.context("reading from the WebSocket")? {
            Message::Binary(bytes) => bytes,
            Message::Close(Some(close)) if matches!(close.code, CloseCode::Normal | CloseCode::Away) => {
                return Ok(End::DatabaseGone(close.reason.to_string()))
            }
            Message::Close(close) => bail!(
                "the server closed the connection{}",
                close.map(|c| format!(": {}", c.reason)).unwrap_or_default()
            ),
            _ => continue,
        };
        let body = compression::decompress(&payload)?;
        let messages = if framed_v3 {
            v3::decode_frame(&body)?
        } else {
            vec![ServerMessage::from_bytes(&body).context("decoding a server message")?]
        };
        for message in messages {
            if applied && done(updates) {
                break;
            }
            let line = match message {
                ServerMessage::SubscribeApplied(a) if a.query_set_id == QUERY_SET => {
                    applied = true;
                    if !args.print_initial_update {
                        continue;
                    }
                    initial_json(&a.rows, def)?
                }
                ServerMessage::SubscriptionError(e) if e.query_set_id == QUERY_SET => bail!("{}", e.error),
                ServerMessage::TransactionUpdate(update) => {
                    updates += 1;
                    update_json(&update, def)?
                }
                _ => continue,
            };
            writeln!(stdout, "{line}")
                .and_then(|()| stdout.flush())
                .context("writing to stdout")?;
        }
    }
    // A polite close; the process ends right after, so a failure here changes nothing.
    let _ = socket.close(None).await;
    Ok(End::Done)
}

/// The JSON line of the rows a subscription started with.
fn initial_json(rows: &QueryRows, def: &ModuleDef) -> Result<Value> {
    let mut out = Map::new();
    for table in &rows.tables {
        add_rows(&mut out, def, &table.table, "inserts", &table.rows)?;
    }
    Ok(Value::Object(out))
}

/// The JSON line of one transaction's changes.
fn update_json(update: &TransactionUpdate, def: &ModuleDef) -> Result<Value> {
    let mut out = Map::new();
    for (_, table) in update.table_updates() {
        for chunk in &table.rows {
            match chunk {
                TableUpdateRows::PersistentTable(rows) => {
                    add_rows(&mut out, def, &table.table_name, "deletes", &rows.deletes)?;
                    add_rows(&mut out, def, &table.table_name, "inserts", &rows.inserts)?;
                }
                TableUpdateRows::EventTable(rows) => {
                    add_rows(&mut out, def, &table.table_name, "inserts", &rows.events)?
                }
            }
        }
    }
    Ok(Value::Object(out))
}

/// Appends `rows` of `table`, decoded and printed, to `out[table][kind]`.
fn add_rows(out: &mut Map<String, Value>, def: &ModuleDef, table: &str, kind: &str, rows: &BsatnRowList) -> Result<()> {
    // A view's rows arrive under the view's name, as a table's do.
    let row_type = def
        .table(table)
        .map(|t| &t.row_type)
        .or_else(|| def.view(table).map(|v| &v.row_type))
        .ok_or_else(|| anyhow!("the server sent rows of `{table}`, a table or view the schema does not have"))?;
    let row_type = AlgebraicType::Product(row_type.clone());
    let entry = out
        .entry(table.to_owned())
        .or_insert_with(|| serde_json::json!({ "deletes": [], "inserts": [] }));
    let list = entry[kind]
        .as_array_mut()
        .expect("both lists are created with the entry");
    for row in rows.iter() {
        let value = decode_value_exact(&row_type, &def.typespace, &row)
            .map_err(|e| anyhow!("a row of `{table}` does not match the schema: {e}"))?;
        list.push(value_to_json(&value, &row_type, &def.typespace));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_urls_follow_the_server_scheme() {
        assert_eq!(ws_base("http://127.0.0.1:3000").unwrap(), "ws://127.0.0.1:3000");
        assert_eq!(ws_base("https://example.invalid").unwrap(), "wss://example.invalid");
        assert!(ws_base("ftp://x").is_err());
    }
}
