//! The SQL subset: parsing, checking and executing queries and DML.
//!
//! # Brief overview
//! [`execute`] runs one statement in three stages, each its own module:
//! 1. [`parse`](parse::parse): `sqlparser` (Postgres dialect), then a strict whitelist
//!    into the small untyped AST [`SqlStmt`](parse::SqlStmt). Anything outside the
//!    subset is rejected here with what to write instead.
//! 2. [`check`](check::check): resolves names against the module's schema and the
//!    caller's rights, types literals, and picks index accesses: a typed
//!    [`Plan`](plan::Plan).
//! 3. [`execute_plan`](exec::execute_plan): runs the plan on the
//!    [`Datastore`]; each DML statement is its own transaction, whose
//!    [`TxData`] is returned for subscription updates.
//!
//! No statement can exhaust a stack: text is capped at
//! [`MAX_SQL_BYTES`](parse::limits::MAX_SQL_BYTES), nesting is capped, and flat
//! `AND`/`OR` chains are lists at every stage (see [`parse::limits`]).
//!
//! Row-level security applies to every `SELECT` of a caller other than the owner:
//! [`compile`] restricts each table of the plan to the rows the module's filters let the
//! caller see ([`rls`]).
//!
//! Rendering results (tables, JSON) is not done here: [`SqlOutcome`] holds the result
//! schema and rows as SATS values.
//!
//! The subset: `SELECT *|t.*|cols [AS a]|COUNT(*) AS n FROM t [AS a] [[INNER] JOIN u
//! [AS b] [ON x.c = y.d]]… [WHERE …] [LIMIT n]` with `= <> != < <= > >=`, `AND`, `OR`,
//! parentheses, literals and `:sender`; and, for the owner only, `INSERT INTO t
//! [(cols)] VALUES (…)[, (…)]`, `UPDATE t SET c = lit[, …] [WHERE …]` and
//! `DELETE FROM t [WHERE …]`.
#![deny(missing_docs)]

pub mod check;
mod error;
pub mod exec;
pub mod lit;
pub mod parse;
pub mod plan;
pub mod rls;
pub mod system_tables;
pub mod vars;
pub mod view_call;

pub use error::SqlError;
pub use exec::execute_plan;
pub use system_tables::SystemState;

use spacetime_datastore::{Datastore, TxData};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::{Identity, ProductType, ProductValue};

/// What statements are checked against: the module's schema and its row-level
/// security filters, compiled once per module.
#[derive(Debug, Clone, Copy)]
pub struct Catalog<'a> {
    /// The module definition.
    pub module: &'a ModuleDef,
    /// Its filters, checked against the datastore of the database.
    pub rls: &'a rls::RlsRules,
}

/// Who runs a statement, and who owns the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlAuth {
    /// The caller's identity; `:sender` in a query is this.
    pub caller: Identity,
    /// The database owner's identity.
    pub owner: Identity,
}

impl SqlAuth {
    /// Whether the caller owns the database: only the owner sees private tables, may
    /// run DML, and sees every row whatever the row-level security filters say.
    pub fn is_owner(&self) -> bool {
        self.caller == self.owner
    }
}

/// How many rows a DML statement changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmlStats {
    /// Rows added by `INSERT` (an insert of an existing identical row adds none).
    pub rows_inserted: u64,
    /// Rows removed by `DELETE`.
    pub rows_deleted: u64,
    /// Rows matched and rewritten by `UPDATE`.
    pub rows_updated: u64,
}

/// The result of one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlOutcome {
    /// The result's column names and types (type references inlined); empty for DML.
    pub schema: ProductType,
    /// The result rows; empty for DML.
    pub rows: Vec<ProductValue>,
    /// What DML changed; zero for queries.
    pub stats: DmlStats,
    /// The committed transaction of a DML statement, to notify subscribers with.
    pub tx: Option<TxData>,
}

/// Parses and checks `sql` into a plan, without running it. A query of a caller other
/// than the owner reads only the rows the module's filters let it see.
///
/// # Errors
/// As [`execute`], except for errors that only running reveals.
pub fn compile(sql: &str, auth: &SqlAuth, catalog: Catalog<'_>, ds: &Datastore) -> Result<plan::Plan, SqlError> {
    compile_stmt(&parse::parse(sql)?, auth, catalog, ds)
}

fn compile_stmt(
    stmt: &parse::SqlStmt,
    auth: &SqlAuth,
    catalog: Catalog<'_>,
    ds: &Datastore,
) -> Result<plan::Plan, SqlError> {
    let mut plan = check::check(stmt, auth, catalog.module, ds)?;
    if let plan::Plan::Select(select) = &mut plan {
        catalog.rls.bind(auth, catalog.module, ds)?.restrict(select, ds)?;
    }
    Ok(plan)
}

/// Runs one SQL statement for `auth`'s caller, with no clients, credentials or
/// settings: [`execute_with`] for a database that has none.
///
/// # Errors
/// As [`execute_with`].
pub fn execute(sql: &str, auth: &SqlAuth, catalog: Catalog<'_>, ds: &mut Datastore) -> Result<SqlOutcome, SqlError> {
    execute_with(sql, auth, catalog, &mut SystemState::default(), ds)
}

/// Runs one SQL statement for `auth`'s caller.
///
/// Table names resolve through the module (canonical or accessor names) and then the
/// datastore; the system tables (`st_table`, `st_client`, …) are built from the module,
/// the datastore and `system` ([`system_tables`]). `SET` and `SHOW` read and change
/// `system.vars`, and a non-owner's query is held to its `row_limit`.
///
/// # Errors
/// A [`SqlError`] naming what is wrong: syntax, an unsupported construct (with what to
/// write instead), an unknown or private table, an unknown column, a literal that does
/// not fit its column, DML or `SET` by a non-owner, a query over `row_limit`, or a
/// datastore error such as a unique violation (in which case the statement changed
/// nothing).
pub fn execute_with(
    sql: &str,
    auth: &SqlAuth,
    catalog: Catalog<'_>,
    system: &mut SystemState,
    ds: &mut Datastore,
) -> Result<SqlOutcome, SqlError> {
    let stmt = parse::parse(sql)?;
    match &stmt {
        parse::SqlStmt::Set { name, value } => {
            system.vars.set(name, value, auth)?;
            return Ok(SqlOutcome {
                schema: ProductType::default(),
                rows: Vec::new(),
                stats: DmlStats::default(),
                tx: None,
            });
        }
        parse::SqlStmt::Show { name } => return system.vars.show(name),
        _ => {}
    }
    if let Some(mut scratch) = system_tables::for_statement(&stmt, catalog.module, ds, catalog.rls, system)? {
        let plan = check::check(&stmt, auth, catalog.module, &scratch)?;
        return execute_plan(&plan, &mut scratch);
    }
    let plan = compile_stmt(&stmt, auth, catalog, ds)?;
    if let plan::Plan::Select(select) = &plan {
        system.vars.check_row_limit(select, auth, ds)?;
    }
    execute_plan(&plan, ds)
}

/// The rows of a one-off query and the table they come from (the projected table's, or
/// the first table's for a column list or a count).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRows {
    /// The table's canonical name.
    pub table_name: String,
    /// The result rows.
    pub rows: Vec<ProductValue>,
}

/// Runs a read-only `SELECT` for `auth`'s caller, as a WebSocket one-off query does:
/// system tables as [`execute_with`] has them, row-level security, and `row_limit`.
/// `None` for any other statement, which a read-only caller refuses.
///
/// # Errors
/// As [`execute_with`].
pub fn query_with(
    sql: &str,
    auth: &SqlAuth,
    catalog: Catalog<'_>,
    system: &SystemState,
    ds: &Datastore,
) -> Result<Option<QueryRows>, SqlError> {
    let stmt = parse::parse(sql)?;
    if !matches!(stmt, parse::SqlStmt::Select(_)) {
        return Ok(None);
    }
    let scratch = system_tables::for_statement(&stmt, catalog.module, ds, catalog.rls, system)?;
    let (plan, ds) = match &scratch {
        Some(scratch) => (check::check(&stmt, auth, catalog.module, scratch)?, scratch),
        None => (compile_stmt(&stmt, auth, catalog, ds)?, ds),
    };
    let plan::Plan::Select(select) = plan else {
        return Ok(None);
    };
    if scratch.is_none() {
        system.vars.check_row_limit(&select, auth, ds)?;
    }
    let rows = exec::select(&select, ds)?;
    let rel = match select.projection {
        plan::Projection::Relation(rel) => rel,
        _ => 0,
    };
    let table_name = select
        .relations
        .get(rel)
        .map(|r| r.table_name.clone())
        .unwrap_or_default();
    Ok(Some(QueryRows { table_name, rows }))
}
