//! One subscription query, compiled once: the checked [`SelectPlan`] of the SQL layer plus
//! what incremental evaluation needs (the returned table, and for a join the index of
//! each side's join column), its initial rows, and its delta for one transaction.
//!
//! A delta is computed from the transaction's changed rows only: a single-table query
//! filters them with its predicate; a join probes the other side's index with each
//! changed row. The full query is never re-run per transaction, with one exception.
//!
//! Row-level security is part of the compiled query ([`spacetime_sql::rls`]): for a
//! caller other than the owner, each table's filters are added to the plan's predicate,
//! so initial rows and deltas (a changed row counts only if the caller may see it) both
//! respect them. The exception: when a filter of a table the query reads joins another
//! table, a row's visibility can change without the row changing; such a query is
//! re-evaluated on every transaction that touches any table involved and compared with
//! its previous result, which it keeps.

use spacetime_datastore::{Datastore, TableSchema, TxData};
use spacetime_sats::def::raw::TableAccess;
use spacetime_sats::{AlgebraicValue, ColId, IndexId, ProductValue, TableId};
use spacetime_sql::parse::{SqlProjection, SqlStmt};
use spacetime_sql::plan::{JoinPlan, Plan, Predicate, Projection, SelectPlan};
use spacetime_sql::rls::Visibility;
use spacetime_sql::{exec, Catalog, SqlAuth, SqlError};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

/// Why a query cannot be subscribed to, or failed on a transaction.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryError {
    /// The SQL layer refused or failed it, worded as the SQL API words it.
    #[error("{0}")]
    Sql(#[from] SqlError),
    /// A form the SQL API accepts but subscriptions do not: the message says which,
    /// and what to do instead.
    #[error("{0}")]
    Unsupported(&'static str),
    /// An event table on one side of a join.
    #[error("the event table `{table}` cannot be joined in a subscription; subscribe to it alone")]
    EventTableJoin {
        /// The table.
        table: String,
    },
    /// A join column without a single-column index.
    #[error(
        "Subscriptions require indexes on join columns: `{table}.{column}` has none; add `#[index(btree)]` to it in \
         the module"
    )]
    UnindexedJoin {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// The datastore failed (a table or index the plan names is gone).
    #[error("{0}")]
    Datastore(#[from] spacetime_datastore::DatastoreError),
}

/// A changed row: its BSATN and its decoded value.
pub type ChangedRow = (Box<[u8]>, ProductValue);

/// The changed rows of one table in one transaction, decoded once and shared by every
/// query that reads the table.
#[derive(Debug, Default)]
pub struct TableDelta {
    /// Rows the transaction added.
    pub inserts: Vec<ChangedRow>,
    /// Rows the transaction removed.
    pub deletes: Vec<ChangedRow>,
}

/// A transaction's changes, by table.
pub type TxDelta = HashMap<TableId, TableDelta>;

/// The changes of `tx` to the tables `wanted` accepts, decoded once for every query
/// that reads them. A row the datastore cannot decode is left out.
pub fn decode_tx(ds: &Datastore, tx: &TxData, wanted: impl Fn(TableId) -> bool) -> TxDelta {
    let mut delta = TxDelta::new();
    for t in tx.tables.iter().filter(|t| wanted(t.table_id)) {
        let decode = |rows: &[Box<[u8]>]| -> Vec<ChangedRow> {
            rows.iter()
                .filter_map(|r| ds.decode_row(t.table_id, r).ok().map(|v| (r.clone(), v)))
                .collect()
        };
        delta.insert(
            t.table_id,
            TableDelta {
                inserts: decode(&t.inserts),
                deletes: decode(&t.deletes),
            },
        );
    }
    delta
}

/// One side of a subscribed join: the join column and the single-column index on it.
#[derive(Debug, Clone, Copy)]
struct JoinSide {
    col: ColId,
    index: IndexId,
}

/// A compiled subscription query: `SELECT * | t.* FROM t [JOIN u ON …] [WHERE …]`.
#[derive(Debug)]
pub struct CompiledQuery {
    plan: SelectPlan,
    /// The relation whose rows the query returns.
    returned: usize,
    /// For a join, relation 0's and relation 1's join columns with their indexes.
    join: Option<[JoinSide; 2]>,
    /// Whether it reads a private table, so only the owner may share it.
    private: bool,
    /// Whether the returned table is an event table (its rows are sent as events).
    event: bool,
    /// Every table whose change may change the result.
    reads: Vec<TableId>,
    /// Set when the caller's row-level security filters join other tables: then the
    /// result is re-evaluated per transaction ([`CompiledQuery::delta`]).
    reevaluated: Option<Reevaluated>,
}

/// The state of a query whose result is re-evaluated on each transaction.
#[derive(Debug)]
struct Reevaluated {
    /// The caller's filters, applied to the (unrestricted) plan at each evaluation.
    visibility: Visibility,
    /// The result of the last evaluation, as a bag of rows.
    last: Mutex<HashMap<Vec<u8>, usize>>,
}

impl Reevaluated {
    /// The rows of `plan` the caller may see on `ds`, remembered as the last result;
    /// an error, remembering nothing, once they pass `max_bytes`.
    fn evaluate(&self, plan: &SelectPlan, ds: &Datastore, max_bytes: usize) -> Result<Vec<Vec<u8>>, QueryError> {
        let mut plan = plan.clone();
        self.visibility.restrict(&mut plan, ds)?;
        let rows = exec::select_bsatn(&plan, ds, max_bytes)?;
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = bag(&rows);
        Ok(rows)
    }

    /// The difference between the last result and the result on `ds`, which becomes
    /// the last result.
    fn delta(&self, plan: &SelectPlan, ds: &Datastore) -> Result<QueryDelta, QueryError> {
        let before = std::mem::take(&mut *self.last.lock().unwrap_or_else(PoisonError::into_inner));
        let after = bag(&self.evaluate(plan, ds, usize::MAX)?);
        let mut out = QueryDelta::default();
        for (row, &n) in &after {
            let m = before.get(row).copied().unwrap_or(0);
            out.inserts
                .extend(std::iter::repeat_n(row, n.saturating_sub(m)).cloned());
        }
        for (row, &m) in &before {
            let n = after.get(row).copied().unwrap_or(0);
            out.deletes
                .extend(std::iter::repeat_n(row, m.saturating_sub(n)).cloned());
        }
        Ok(out)
    }
}

/// Rows as a bag: each distinct row with how often it occurs.
fn bag(rows: &[Vec<u8>]) -> HashMap<Vec<u8>, usize> {
    let mut out = HashMap::new();
    for row in rows {
        *out.entry(row.clone()).or_default() += 1;
    }
    out
}

/// The rows a query gains and loses in one transaction, as BSATN.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct QueryDelta {
    /// Rows now in the result.
    pub inserts: Vec<Vec<u8>>,
    /// Rows no longer in the result.
    pub deletes: Vec<Vec<u8>>,
}

impl QueryDelta {
    /// Whether the result did not change.
    pub fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.deletes.is_empty()
    }
}

impl CompiledQuery {
    /// Parses and checks `sql` as a subscription query for `auth`'s caller, restricted
    /// to the rows the module's filters let the caller see.
    ///
    /// # Errors
    /// A message for the client: SQL errors as the SQL API words them (a private table
    /// is "no such table" for non-owners), and the subscription-only restrictions (no
    /// projections, `COUNT`, `LIMIT`, cross joins, more than two tables, or joins on
    /// unindexed columns).
    pub fn compile(sql: &str, auth: &SqlAuth, catalog: Catalog<'_>, ds: &Datastore) -> Result<Self, QueryError> {
        let module = catalog.module;
        let stmt = spacetime_sql::parse::parse(sql)?;
        let SqlStmt::Select(select) = &stmt else {
            return Err(QueryError::Unsupported("subscriptions take only `SELECT * FROM t [WHERE …]` queries; run DML through a reducer or `spacetime sql`"));
        };
        match &select.projection {
            SqlProjection::Columns(_) => {
                return Err(QueryError::Unsupported("Column projections are not supported in subscriptions; subscribe to `SELECT * FROM t` (or `t.*` in a join) and read the columns you need"))
            }
            SqlProjection::Count(_) => {
                return Err(QueryError::Unsupported("COUNT is not supported in subscriptions; subscribe to the rows and count them on the client, or use a one-off query"))
            }
            SqlProjection::Star | SqlProjection::TableStar(_) => {}
        }
        if select.limit.is_some() {
            return Err(QueryError::Unsupported(
                "LIMIT is not supported in subscriptions; subscribe to the whole result, or use a one-off query",
            ));
        }
        if select.joins.len() > 1 {
            return Err(QueryError::Unsupported(
                "a subscription query may join at most two tables; split it into several queries",
            ));
        }
        if select.joins.iter().any(|j| j.on.is_none()) {
            return Err(QueryError::Unsupported(
                "cross joins are not supported in subscriptions; join on indexed columns with `JOIN u ON t.c = u.d`",
            ));
        }
        let Plan::Select(mut plan) = spacetime_sql::check::check(&stmt, auth, module, ds)? else {
            return Err(QueryError::Unsupported("subscriptions take only SELECT queries"));
        };
        let Projection::Relation(returned) = plan.projection else {
            return Err(QueryError::Unsupported(
                "Column projections are not supported in subscriptions",
            ));
        };
        let schemas = plan
            .relations
            .iter()
            .map(|r| ds.table_schema(r.table_id))
            .collect::<Result<Vec<_>, _>>()?;
        let join = match plan.joins.first() {
            None => None,
            Some(join) => Some(join_sides(join, &schemas)?),
        };
        let private = schemas.iter().any(|s| s.def.access == TableAccess::Private);
        let event = schemas[returned].def.is_event;
        let visibility = catalog.rls.bind(auth, module, ds)?;
        let tables: Vec<TableId> = plan.relations.iter().map(|r| r.table_id).collect();
        let (reads, reevaluated) = if visibility.is_dynamic(tables.iter().copied()) {
            let reads = visibility.dependencies(tables).into_iter().collect();
            let reevaluated = Reevaluated {
                visibility,
                last: Mutex::default(),
            };
            (reads, Some(reevaluated))
        } else {
            // Filters on the rows alone: part of the predicate, for good.
            visibility.restrict(&mut plan, ds)?;
            (tables, None)
        };
        Ok(Self {
            plan,
            returned,
            join,
            private,
            event,
            reads,
            reevaluated,
        })
    }

    /// Its canonical name, as the wire names it.
    pub fn table_name(&self) -> &str {
        &self.plan.relations[self.returned].table_name
    }

    /// Every table the query reads; a change to any of them may change its result.
    pub fn reads(&self) -> impl Iterator<Item = TableId> + '_ {
        self.reads.iter().copied()
    }

    /// Whether the returned table is an event table.
    pub fn is_event(&self) -> bool {
        self.event
    }

    /// Whether only the database owner may run it (it reads a private table).
    pub fn owner_only(&self) -> bool {
        self.private
    }

    /// The query's current rows, as BSATN.
    ///
    /// # Errors
    /// Only if a table it reads is gone (the module was replaced meanwhile).
    pub fn rows(&self, ds: &Datastore) -> Result<Vec<Vec<u8>>, QueryError> {
        self.rows_within(ds, usize::MAX)
    }

    /// As [`CompiledQuery::rows`], stopping as soon as the rows' encoded size passes
    /// `max_bytes`, so a query over a huge table costs at most the budget in time and
    /// memory.
    ///
    /// # Errors
    /// [`SqlError::ResultTooLarge`](spacetime_sql::SqlError::ResultTooLarge) past the
    /// budget; otherwise as [`CompiledQuery::rows`].
    pub fn rows_within(&self, ds: &Datastore, max_bytes: usize) -> Result<Vec<Vec<u8>>, QueryError> {
        match &self.reevaluated {
            Some(reevaluated) => reevaluated.evaluate(&self.plan, ds, max_bytes),
            None => Ok(exec::select_bsatn(&self.plan, ds, max_bytes)?),
        }
    }

    /// What the committed transaction `tx` changed in the result; `ds` is the state
    /// after it.
    ///
    /// # Errors
    /// Only if an index the query probes is gone.
    pub fn delta(&self, ds: &Datastore, tx: &TxDelta) -> Result<QueryDelta, QueryError> {
        if let Some(reevaluated) = &self.reevaluated {
            return reevaluated.delta(&self.plan, ds);
        }
        let empty = TableDelta::default();
        let changes = |rel: usize| tx.get(&self.plan.relations[rel].table_id).unwrap_or(&empty);
        let filter = self.plan.filter.as_ref();
        let holds = |tuple: &[&ProductValue]| filter.is_none_or(|f: &Predicate| f.eval(tuple));
        let mut out = QueryDelta::default();
        let Some(sides) = self.join else {
            let c = changes(0);
            out.inserts = c
                .inserts
                .iter()
                .filter(|(_, v)| holds(&[v]))
                .map(|(b, _)| b.to_vec())
                .collect();
            out.deletes = c
                .deletes
                .iter()
                .filter(|(_, v)| holds(&[v]))
                .map(|(b, _)| b.to_vec())
                .collect();
            return Ok(out);
        };
        let (c0, c1) = (changes(0), changes(1));
        if c0.inserts.is_empty() && c0.deletes.is_empty() && c1.inserts.is_empty() && c1.deletes.is_empty() {
            return Ok(out);
        }
        let new0: HashSet<&[u8]> = c0.inserts.iter().map(|(b, _)| &**b).collect();
        let new1: HashSet<&[u8]> = c1.inserts.iter().map(|(b, _)| &**b).collect();
        let key = |side: usize, row: &'_ ProductValue| row.elements[sides[side].col.idx()].clone();
        let probe = |side: usize, key: &AlgebraicValue| -> Result<Vec<(Vec<u8>, ProductValue)>, QueryError> {
            let rows = ds.index_scan_point(sides[side].index, key)?;
            Ok(rows.map(|r| (r.bytes().to_vec(), r.to_product_value())).collect())
        };
        let returned = self.returned;
        let emit = |into: &mut Vec<Vec<u8>>, (b0, v0): (&[u8], &ProductValue), (b1, v1): (&[u8], &ProductValue)| {
            if holds(&[v0, v1]) {
                into.push(if returned == 0 { b0.to_vec() } else { b1.to_vec() });
            }
        };
        // Pairs of the new state with at least one inserted row: (A+ ⋈ B') and
        // ((A' − A+) ⋈ B+).
        for (b0, v0) in &c0.inserts {
            for (b1, v1) in probe(1, &key(0, v0))? {
                emit(&mut out.inserts, (b0, v0), (&b1, &v1));
            }
        }
        for (b1, v1) in &c1.inserts {
            for (b0, v0) in probe(0, &key(1, v1))? {
                if !new0.contains(&b0[..]) {
                    emit(&mut out.inserts, (&b0, &v0), (b1, v1));
                }
            }
        }
        // Pairs of the old state with at least one deleted row: (A− ⋈ B), where
        // B = (B' − B+) + B−, and ((A − A−) ⋈ B−), where A − A− = A' − A+.
        for (b0, v0) in &c0.deletes {
            let k = key(0, v0);
            for (b1, v1) in probe(1, &k)? {
                if !new1.contains(&b1[..]) {
                    emit(&mut out.deletes, (b0, v0), (&b1, &v1));
                }
            }
            for (b1, v1) in c1.deletes.iter().filter(|(_, v1)| key(1, v1) == k) {
                emit(&mut out.deletes, (b0, v0), (b1, v1));
            }
        }
        for (b1, v1) in &c1.deletes {
            for (b0, v0) in probe(0, &key(1, v1))? {
                if !new0.contains(&b0[..]) {
                    emit(&mut out.deletes, (&b0, &v0), (b1, v1));
                }
            }
        }
        Ok(out)
    }
}

/// The join columns of both sides with their single-column indexes; subscriptions
/// need both, so that a change on either side can probe the other.
fn join_sides(join: &JoinPlan, schemas: &[&TableSchema]) -> Result<[JoinSide; 2], QueryError> {
    let (probe, build) =
        match join {
            JoinPlan::IndexLookup { index, probe } => {
                let ix = schemas[1].indexes.iter().find(|ix| ix.index_id == *index);
                let col = ix
                    .and_then(|ix| ix.columns.first().copied())
                    .ok_or(QueryError::Unsupported("the join index is gone"))?;
                (probe.col, col)
            }
            JoinPlan::Hash { probe, build } => (probe.col, *build),
            JoinPlan::Cross => return Err(QueryError::Unsupported(
                "cross joins are not supported in subscriptions; join on indexed columns with `JOIN u ON t.c = u.d`",
            )),
        };
    let side = |schema: &TableSchema, col: ColId| -> Result<JoinSide, QueryError> {
        if schema.def.is_event {
            return Err(QueryError::EventTableJoin {
                table: schema.def.name.clone(),
            });
        }
        let index = schema
            .indexes
            .iter()
            .find(|ix| ix.columns[..] == [col])
            .map(|ix| ix.index_id);
        let column = schema.def.columns.get(col.idx()).map_or("?", |c| c.name.as_str());
        index
            .map(|index| JoinSide { col, index })
            .ok_or_else(|| QueryError::UnindexedJoin {
                table: schema.def.name.clone(),
                column: column.to_owned(),
            })
    };
    Ok([side(schemas[0], probe)?, side(schemas[1], build)?])
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
