//! HTTP requests: a reducer call and a SQL statement, each wrapped in
//! `client_connected` / `client_disconnected` on a new connection id, as upstream runs
//! an HTTP request.

use super::admission::admit_reducer;
use crate::actor::Actor;
use crate::error::CallError;
use crate::random_connection_id;
use spacetime_host::{ReducerCall, ReducerError, ReducerOutcome};
use spacetime_sats::bsatn::value::value_to_vec;
use spacetime_sats::json::value_from_json;
use spacetime_sats::{AlgebraicType, ConnectionId, Identity, Timestamp};
use spacetime_sql::{SqlAuth, SqlError, SqlOutcome};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What an HTTP SQL request did.
#[derive(Debug)]
pub enum SqlResult {
    /// `client_connected` refused the caller; the statement did not run.
    Rejected(ReducerError),
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
        let program = self.instance.program().clone();
        let def = program.module_def();
        let reducer_id = admit_reducer(def, reducer, caller == self.owner)?;
        let params = def.reducer_by_id(reducer_id).map(|r| &r.params).ok_or_else(|| {
            CallError::Refused(crate::error::CallRefused::NoSuchReducer {
                name: reducer.to_owned(),
                callable: Vec::new(),
            })
        })?;
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
        let args = value_to_vec(&value);
        let connection_id = random_connection_id();
        self.open_http_connection(connection_id, jwt);
        if let Err(e) = self.connect(caller, connection_id) {
            self.connection_jwts.remove(&connection_id);
            return Err(CallError::ConnectRejected(e));
        }
        let timestamp = Timestamp::now();
        let call = ReducerCall {
            reducer_id,
            caller_identity: caller,
            caller_connection_id: Some(connection_id),
            timestamp,
            args_bsatn: &args,
            caller_jwt: self.connection_jwts.get(&connection_id).map(|jwt| &**jwt),
        };
        let outcome = self.instance.call_reducer(&mut self.db.datastore, call);
        match &outcome.result {
            Err(e) => self.log_failure(reducer, e),
            Ok(tx) => self.db.commit(tx, timestamp, None),
        }
        self.disconnect(caller, connection_id);
        self.connection_jwts.remove(&connection_id);
        Ok(outcome)
    }

    /// Runs one SQL statement between `client_connected` and `client_disconnected`.
    pub(super) fn http_sql(&mut self, caller: Identity, jwt: Option<Arc<str>>, sql: &str) -> SqlResult {
        let connection_id = random_connection_id();
        self.open_http_connection(connection_id, jwt);
        if let Err(e) = self.connect(caller, connection_id) {
            self.connection_jwts.remove(&connection_id);
            return SqlResult::Rejected(e);
        }
        let start = Instant::now();
        let auth = SqlAuth {
            caller,
            owner: self.owner,
        };
        let program = self.instance.program().clone();
        let result = spacetime_sql::execute(sql, &auth, program.module_def(), &mut self.db.datastore);
        let duration = start.elapsed();
        if let Ok(SqlOutcome { tx: Some(tx), .. }) = &result {
            // DML on a scheduled table schedules or cancels calls, as a reducer would:
            // the funnel feeds the scheduler.
            self.db.commit(tx, Timestamp::now(), None);
        }
        self.disconnect(caller, connection_id);
        self.connection_jwts.remove(&connection_id);
        SqlResult::Ran { result, duration }
    }

    /// Records the token payload of an HTTP request's connection for its duration.
    fn open_http_connection(&mut self, connection_id: ConnectionId, jwt: Option<Arc<str>>) {
        if let Some(jwt) = jwt {
            self.connection_jwts.insert(connection_id, jwt);
        }
    }
}
