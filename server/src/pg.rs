//! The PostgreSQL wire protocol (`--pg-port`), through the `pgwire` crate: `psql` and
//! PostgreSQL drivers connect with the database's name as the database and a token
//! as the password (the user name is ignored), as upstream, and run the same SQL as
//! `spacetime sql`, through the same funnel ([`spacetime_engine::Database::sql`]), so
//! the same permissions apply. Results are sent as text columns.

use crate::auth::Authenticator;
use crate::server::accept_failed;
use crate::server::conn_limit::ConnLimits;
use crate::state::AppState;
use async_trait::async_trait;
use futures_util::{stream, Sink, SinkExt};
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata, DefaultServerParameterProvider,
    StartupHandler,
};
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::{ClientInfo, PgWireConnectionState, PgWireServerHandlers, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::response::ErrorResponse;
use pgwire::messages::startup::Authentication;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use serde_json::Value;
use spacetime_engine::SqlResult;
use spacetime_sats::json::value_to_json;
use spacetime_sats::{AlgebraicType, Typespace};
use std::fmt::Debug;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Metadata keys this handler adds to a connection once its token is verified.
const IDENTITY: &str = "spacetime.identity";
const PAYLOAD: &str = "spacetime.payload";

/// Serves PostgreSQL clients on `listener` until the task is dropped. Each connection
/// is admitted by `limits`, the same caps (total and per address) as the HTTP port's.
pub(crate) async fn serve(state: AppState, listener: TcpListener, limits: Arc<ConnLimits>) {
    let handlers = Arc::new(Handlers {
        state: state.clone(),
        auth: axum::extract::FromRef::from_ref(&state),
    });
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(e).await;
                continue;
            }
        };
        // Past a cap the connection is closed at once (the refusal is logged).
        let Ok(permit) = limits.admit(peer.ip()) else {
            continue;
        };
        let handlers = handlers.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
                log::debug!("PostgreSQL connection from {peer} ended with an error: {e}");
            }
        });
    }
}

struct Handlers {
    state: AppState,
    auth: Arc<Authenticator>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(Queries {
            state: self.state.clone(),
        })
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::new(Startup {
            auth: self.auth.clone(),
        })
    }
}

/// Asks for a cleartext password and verifies it as a token.
struct Startup {
    auth: Arc<Authenticator>,
}

fn user_error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".to_owned(), code.to_owned(), message)))
}

#[async_trait]
impl StartupHandler for Startup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::CleartextPassword))
                    .await?;
            }
            PgWireFrontendMessage::PasswordMessageFamily(password) => {
                let token = password.into_password()?.password;
                match self.auth.authenticate(&token).await {
                    Ok(caller) => {
                        client
                            .metadata_mut()
                            .insert(IDENTITY.to_owned(), caller.identity.to_hex().to_string());
                        client
                            .metadata_mut()
                            .insert(PAYLOAD.to_owned(), caller.payload.to_string());
                        finish_authentication(client, &DefaultServerParameterProvider::default()).await?;
                    }
                    Err(e) => {
                        let error = ErrorInfo::new(
                            "FATAL".to_owned(),
                            "28P01".to_owned(),
                            format!("the password must be a Spacetime token (`spacetime login show --token`): {e}"),
                        );
                        client
                            .send(PgWireBackendMessage::ErrorResponse(ErrorResponse::from(error)))
                            .await?;
                        client.close().await?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Runs each statement as `spacetime sql` does.
struct Queries {
    state: AppState,
}

#[async_trait]
impl SimpleQueryHandler for Queries {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let metadata = client.metadata();
        let (Some(identity), Some(payload)) = (metadata.get(IDENTITY), metadata.get(PAYLOAD)) else {
            return Err(user_error("28000", "not authenticated".into()));
        };
        let identity = spacetime_sats::Identity::from_hex(identity)
            .map_err(|_| user_error("28000", "not authenticated".into()))?;
        let db = metadata
            .get("database")
            .cloned()
            .ok_or_else(|| user_error("3D000", "no database given: connect with dbname=<database name>".into()))?;
        let record = self.state.lookup(&db).map_err(|e| user_error("3D000", e.to_string()))?;
        let database = self
            .state
            .running(&record)
            .map_err(|e| user_error("57P03", e.to_string()))?;
        let mut responses = Vec::new();
        for statement in query.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let result = database
                .sql(identity, Some(Arc::from(payload.as_str())), statement.to_owned(), true)
                .await
                .map_err(|e| user_error("57P03", e.to_string()))?;
            let outcome = match result {
                SqlResult::Rejected(e) => {
                    return Err(user_error(
                        "28000",
                        format!("the module's client_connected reducer rejected the caller: {e}"),
                    ))
                }
                // 25006: read_only_sql_transaction.
                SqlResult::NotLeader(refusal) => return Err(user_error("25006", refusal.to_string())),
                SqlResult::Ran { result, .. } => result.map_err(|e| user_error("42000", e.to_string()))?,
            };
            if outcome.schema.elements.is_empty() {
                let stats = &outcome.stats;
                let tag = if stats.rows_inserted > 0 {
                    Tag::new("INSERT").with_oid(0).with_rows(stats.rows_inserted as usize)
                } else if stats.rows_deleted > 0 {
                    Tag::new("DELETE").with_rows(stats.rows_deleted as usize)
                } else {
                    Tag::new("UPDATE").with_rows(stats.rows_updated as usize)
                };
                responses.push(Response::Execution(tag));
                continue;
            }
            let fields: Vec<FieldInfo> = outcome
                .schema
                .elements
                .iter()
                .enumerate()
                .map(|(i, column)| {
                    let name = column
                        .name
                        .as_deref()
                        .map_or_else(|| format!("column{i}"), str::to_owned);
                    FieldInfo::new(name, None, None, pg_type(&column.algebraic_type), FieldFormat::Text)
                })
                .collect();
            let schema = Arc::new(fields);
            let typespace = Typespace::default();
            let mut rows = Vec::with_capacity(outcome.rows.len());
            for row in &outcome.rows {
                let mut encoder = DataRowEncoder::new(schema.clone());
                for (value, column) in row.elements.iter().zip(&outcome.schema.elements) {
                    let text = match (
                        &column.algebraic_type,
                        value_to_json(value, &column.algebraic_type, &typespace),
                    ) {
                        // PostgreSQL's text forms of booleans.
                        (AlgebraicType::Bool, Value::Bool(b)) => if b { "t" } else { "f" }.to_owned(),
                        (_, Value::String(s)) => s,
                        (_, other) => other.to_string(),
                    };
                    encoder.encode_field(&Some(text))?;
                }
                rows.push(encoder.finish());
            }
            responses.push(Response::Query(QueryResponse::new(schema, stream::iter(rows))));
        }
        Ok(responses)
    }
}

/// The PostgreSQL type a column is announced as, so clients align and parse numbers
/// and booleans; everything else (strings, products, sums, arrays, 128- and 256-bit
/// integers) is text, JSON for the composite ones, as `spacetime sql` renders them.
fn pg_type(ty: &AlgebraicType) -> Type {
    match ty {
        AlgebraicType::Bool => Type::BOOL,
        AlgebraicType::I8 | AlgebraicType::U8 | AlgebraicType::I16 => Type::INT2,
        AlgebraicType::U16 | AlgebraicType::I32 => Type::INT4,
        AlgebraicType::U32 | AlgebraicType::I64 => Type::INT8,
        AlgebraicType::U64 | AlgebraicType::I128 | AlgebraicType::U128 | AlgebraicType::I256 | AlgebraicType::U256 => {
            Type::NUMERIC
        }
        AlgebraicType::F32 => Type::FLOAT4,
        AlgebraicType::F64 => Type::FLOAT8,
        _ => Type::VARCHAR,
    }
}
