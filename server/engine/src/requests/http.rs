//! HTTP requests: a reducer call and a SQL statement, each wrapped in
//! `client_connected` / `client_disconnected` on a new connection id, as upstream runs
//! an HTTP request.

use super::admission::admit_reducer;
use crate::actor::Actor;
use crate::error::CallError;
use crate::follower::NotLeader;
use crate::random_connection_id;
use spacetime_host::{ReducerCall, ReducerError, ReducerOutcome};
use spacetime_sats::bsatn::value::value_to_vec;
use spacetime_sats::json::value_from_json;
use spacetime_sats::{AlgebraicType, ConnectionId, Identity, ReducerId, Timestamp};
use spacetime_sql::parse::SqlStmt;
use spacetime_sql::vars::SqlVars;
use spacetime_sql::{Catalog, SqlAuth, SqlError, SqlOutcome, SystemState};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What an HTTP SQL request did.
#[derive(Debug)]
pub enum SqlResult {
    /// `client_connected` refused the caller; the statement did not run.
    Rejected(ReducerError),
    /// The database follows another node (a standby or read replica), which runs
    /// only queries: the statement writes and was not run.
    NotLeader(NotLeader),
    /// The statement ran, or was refused with a message for the caller.
    Ran {
        /// Its result or error.
        result: Result<SqlOutcome, SqlError>,
        /// How long it took.
        duration: Duration,
    },
}

impl Actor {
    /// Admits the call, decodes its JSON arguments against the reducer's parameters,
    /// then runs it between `client_connected` and `client_disconnected`.
    pub(super) fn http_call(
        &mut self,
        caller: Identity,
        jwt: Option<Arc<str>>,
        reducer: &str,
        args: &serde_json::Value,
    ) -> Result<ReducerOutcome, CallError> {
        let (reducer_id, args) = self.admit_json_call(caller, reducer, args)?;
        self.in_http_connection(caller, jwt, |actor, connection_id| {
            actor.run_call(caller, connection_id, reducer_id, reducer, &args)
        })
        .map_err(CallError::ConnectRejected)
    }

    /// The admission check of a reducer call with JSON arguments (as an HTTP call and
    /// a call forwarded for a connection another node hosts send them): the reducer's
    /// id and the arguments as BSATN.
    pub(super) fn admit_json_call(
        &self,
        caller: Identity,
        reducer: &str,
        args: &serde_json::Value,
    ) -> Result<(ReducerId, Vec<u8>), CallError> {
        if let Some(refusal) = self.not_leader() {
            return Err(CallError::NotLeader(refusal));
        }
        let program = self.instance.program().clone();
        let def = program.module_def();
        let (reducer_id, reducer_def) = admit_reducer(def, reducer, caller == self.owner)?;
        let params = &reducer_def.params;
        let value = value_from_json(args, &AlgebraicType::Product(params.clone()), &def.typespace).map_err(|e| {
            let names: Vec<&str> = params
                .elements
                .iter()
                .map(|p| p.name.as_deref().unwrap_or("_"))
                .collect();
            CallError::InvalidArgs {
                error: e.under("args").to_string(),
                params: names.join(", "),
            }
        })?;
        Ok((reducer_id, value_to_vec(&value)))
    }

    /// Runs an admitted reducer call on connection `connection_id` and commits it.
    pub(super) fn run_call(
        &mut self,
        caller: Identity,
        connection_id: ConnectionId,
        reducer_id: ReducerId,
        reducer: &str,
        args: &[u8],
    ) -> ReducerOutcome {
        let timestamp = Timestamp::now();
        let call = ReducerCall {
            reducer_id,
            caller_identity: caller,
            caller_connection_id: Some(connection_id),
            timestamp,
            args_bsatn: args,
            caller_jwt: self.connection_jwts.get(&connection_id).map(|jwt| &**jwt),
        };
        let outcome = self.instance.call_reducer(&mut self.db.datastore, call);
        crate::metrics::reducer_called(&self.db.metrics_label, reducer, &outcome);
        match &outcome.result {
            Err(e) => self.log_failure(reducer, e),
            Ok(tx) => self.db.commit(tx, timestamp, None),
        }
        outcome
    }

    /// Runs one SQL statement between `client_connected` and `client_disconnected`.
    pub(super) fn http_sql(&mut self, caller: Identity, jwt: Option<Arc<str>>, sql: &str) -> SqlResult {
        if let Some(refusal) = self.not_leader() {
            return self.follower_sql(caller, sql, refusal);
        }
        let ran = self.in_http_connection(caller, jwt, |actor, connection_id| {
            let start = Instant::now();
            let views_failed = actor.ensure_views_for(caller, [sql]).err();
            let auth = SqlAuth {
                caller,
                owner: actor.owner,
            };
            let program = actor.instance.program().clone();
            let catalog = Catalog {
                module: program.module_def(),
                rls: &actor.rls,
            };
            // The system tables see the WebSocket clients and this request's own
            // connection, as upstream's `st_client` has a row for each.
            let mut system = actor.sql_system_state();
            system.clients.push((caller, connection_id));
            let result = spacetime_sql::execute_with(sql, &auth, catalog, &mut system, &mut actor.db.datastore);
            if system.vars != actor.sql_vars {
                actor.keep_sql_settings(system.vars);
            }
            let duration = start.elapsed();
            if let Ok(SqlOutcome { tx: Some(tx), .. }) = &result {
                // DML on a scheduled table schedules or cancels calls, as a reducer would:
                // the funnel feeds the scheduler.
                actor.db.commit(tx, Timestamp::now(), None);
            }
            // A per-caller view that could not be materialised is missing for a reason.
            let result = match (result, views_failed) {
                (Err(SqlError::NoSuchTable(name)), Some(why)) if program.module_def().view(&name).is_some() => {
                    Err(SqlError::Limit(why.to_string()))
                }
                (result, _) => result,
            };
            SqlResult::Ran { result, duration }
        });
        ran.unwrap_or_else(SqlResult::Rejected)
    }

    /// Runs one SQL statement on a follower: a query reads the rows applied so far,
    /// with no `client_connected`/`client_disconnected` (the leader runs lifecycle
    /// reducers); anything that writes (DML, `SET`) is refused, naming the leader.
    fn follower_sql(&mut self, caller: Identity, sql: &str, refusal: NotLeader) -> SqlResult {
        let start = Instant::now();
        match spacetime_sql::parse::parse(sql) {
            Ok(SqlStmt::Select(_)) => {}
            Ok(_) => return SqlResult::NotLeader(refusal),
            Err(e) => {
                return SqlResult::Ran {
                    result: Err(e),
                    duration: start.elapsed(),
                }
            }
        }
        let _ = self.ensure_views(caller);
        let auth = SqlAuth {
            caller,
            owner: self.owner,
        };
        let program = self.instance.program().clone();
        let mut system = self.sql_system_state();
        let catalog = Catalog {
            module: program.module_def(),
            rls: &self.rls,
        };
        let result = spacetime_sql::execute_with(sql, &auth, catalog, &mut system, &mut self.db.datastore);
        SqlResult::Ran {
            result,
            duration: start.elapsed(),
        }
    }

    /// Takes `vars` as the SQL settings, and stores them for the next start (a failure to
    /// store is logged: the settings hold until the database stops).
    fn keep_sql_settings(&mut self, vars: SqlVars) {
        if let Some(file) = &self.sql_settings_file {
            if let Err(e) = crate::sql_settings::store(file, &vars) {
                log::error!("cannot store the SQL settings in {}: {e}", file.display());
            }
        }
        self.sql_vars = vars;
    }

    /// What SQL's system tables and settings read: the WebSocket clients (`st_client`),
    /// every open connection's token payload (`st_connection_credentials`) and a copy of
    /// the settings (`SET` changes the copy; the caller keeps it).
    pub(super) fn sql_system_state(&self) -> SystemState {
        SystemState {
            clients: self.db.subscriptions.connected().collect(),
            credentials: self
                .connection_jwts
                .iter()
                .map(|(c, jwt)| (*c, jwt.to_string()))
                .collect(),
            vars: self.sql_vars.clone(),
        }
    }

    /// Runs `request` on a new connection of `caller` whose token payload is `jwt`, as
    /// upstream runs an HTTP request: `client_connected` first (its refusal is the
    /// error, and `request` does not run), `client_disconnected` after. The payload is
    /// known to the module for exactly that span.
    fn in_http_connection<T>(
        &mut self,
        caller: Identity,
        jwt: Option<Arc<str>>,
        request: impl FnOnce(&mut Self, ConnectionId) -> T,
    ) -> Result<T, ReducerError> {
        let connection_id = self.http_connect(caller, jwt)?;
        let result = request(self, connection_id);
        self.http_disconnect(caller, connection_id);
        Ok(result)
    }

    /// Opens an HTTP request's connection: a new connection id, `client_connected` for it
    /// (its refusal is the error, and the connection is gone again).
    pub(super) fn http_connect(
        &mut self,
        caller: Identity,
        jwt: Option<Arc<str>>,
    ) -> Result<ConnectionId, ReducerError> {
        let connection_id = random_connection_id();
        if let Some(jwt) = jwt {
            self.connection_jwts.insert(connection_id, jwt);
        }
        if let Err(e) = self.connect(caller, connection_id) {
            self.connection_jwts.remove(&connection_id);
            return Err(e);
        }
        Ok(connection_id)
    }

    /// Closes an HTTP request's connection: `client_disconnected`.
    pub(super) fn http_disconnect(&mut self, caller: Identity, connection_id: ConnectionId) {
        self.disconnect(caller, connection_id);
        self.connection_jwts.remove(&connection_id);
    }
}
