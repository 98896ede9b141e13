//! Execution: runs a [`Plan`] on the datastore.
//!
//! Queries read the current committed state. Each DML statement runs in its own
//! [`MutTx`](spacetime_datastore::MutTx): it commits when every row succeeded and
//! rolls back on the first error, so a statement is all or nothing.

use crate::error::SqlError;
use crate::plan::{Access, DeletePlan, InsertPlan, JoinPlan, Plan, Predicate, Projection, SelectPlan, UpdatePlan};
use crate::{DmlStats, SqlOutcome};
use spacetime_datastore::{Datastore, RowRef};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::{AlgebraicValue, ProductType, ProductValue, TableId};
use std::collections::HashMap;
use std::rc::Rc;

/// Runs `plan` on `ds`.
///
/// # Errors
/// Datastore errors, e.g. a unique violation from `INSERT` or `UPDATE` (nothing of
/// the statement is applied then).
pub fn execute_plan(plan: &Plan, ds: &mut Datastore) -> Result<SqlOutcome, SqlError> {
    match plan {
        Plan::Select(p) => Ok(SqlOutcome {
            schema: p.schema.clone(),
            rows: select(p, ds)?,
            stats: DmlStats::default(),
            tx: None,
        }),
        Plan::Insert(p) => insert(p, ds),
        Plan::Update(p) => update(p, ds),
        Plan::Delete(p) => delete(p, ds),
    }
}

/// The rows of `table` that `access` yields.
fn access_rows<'a>(
    ds: &'a Datastore,
    table: TableId,
    access: &Access,
) -> Result<Box<dyn Iterator<Item = RowRef<'a>> + 'a>, SqlError> {
    Ok(match access {
        Access::Scan => Box::new(ds.scan(table)?),
        Access::IndexPoint { index, key } => Box::new(ds.index_scan_point(*index, key)?),
        Access::IndexRange {
            index,
            prefix,
            start,
            end,
        } => Box::new(ds.index_scan_range(*index, prefix.clone(), start.clone(), end.clone())?),
    })
}

fn matches(filter: Option<&Predicate>, tuple: &[&ProductValue]) -> bool {
    filter.is_none_or(|f| f.eval(tuple))
}

/// Runs a query and returns its result rows.
///
/// # Errors
/// Only if the plan names tables or indexes `ds` does not have.
pub fn select(p: &SelectPlan, ds: &Datastore) -> Result<Vec<ProductValue>, SqlError> {
    let mut rows = Vec::new();
    run_select(p, ds, |row| {
        rows.push(row);
        Ok(())
    })?;
    Ok(rows)
}

/// Runs a query and returns its result rows encoded as BSATN, stopping as soon as their
/// encoded size passes `max_bytes`: neither the rows nor the time spent grow past the
/// budget, however large the table.
///
/// # Errors
/// [`SqlError::ResultTooLarge`] past the budget; otherwise as [`select`].
pub fn select_bsatn(p: &SelectPlan, ds: &Datastore, max_bytes: usize) -> Result<Vec<Vec<u8>>, SqlError> {
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    if p.joins.is_empty() && p.projection == Projection::Relation(0) {
        // Whole rows of one table: the stored bytes are the encoding, so a row is
        // decoded only when a filter must look at it.
        let limit = p.limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        for row in access_rows(ds, p.relations[0].table_id, &p.access)? {
            if rows.len() >= limit {
                break;
            }
            if p.filter.as_ref().is_some_and(|f| !f.eval(&[&row.to_product_value()])) {
                continue;
            }
            bytes = bytes.saturating_add(row.bytes().len());
            if bytes > max_bytes {
                return Err(SqlError::ResultTooLarge { limit: max_bytes });
            }
            rows.push(row.bytes().to_vec());
        }
        return Ok(rows);
    }
    run_select(p, ds, |row| {
        let encoded = to_vec(&row);
        bytes = bytes.saturating_add(encoded.len());
        if bytes > max_bytes {
            return Err(SqlError::ResultTooLarge { limit: max_bytes });
        }
        rows.push(encoded);
        Ok(())
    })?;
    Ok(rows)
}

/// Runs a query, handing each result row to `emit` as it is found (filtered, projected,
/// counted and limited); an error from `emit` stops the scan.
fn run_select(
    p: &SelectPlan,
    ds: &Datastore,
    emit: impl FnMut(ProductValue) -> Result<(), SqlError>,
) -> Result<(), SqlError> {
    let limit = p.limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let mut sink = Sink {
        projection: &p.projection,
        filter: p.filter.as_ref(),
        limit,
        emitted: 0,
        count: 0,
        emit,
    };
    let first = access_rows(ds, p.relations[0].table_id, &p.access)?;
    if p.joins.is_empty() {
        // One table: stream, stopping at the limit.
        for row in first {
            if !sink.offer(&[&row.to_product_value()])? {
                break;
            }
        }
    } else {
        let mut tuples: Vec<Vec<Rc<ProductValue>>> = first.map(|r| vec![Rc::new(r.to_product_value())]).collect();
        for (i, join) in p.joins.iter().enumerate() {
            tuples = join_step(ds, p.relations[i + 1].table_id, join, tuples)?;
        }
        for tuple in &tuples {
            if !sink.offer(&tuple.iter().map(|r| &**r).collect::<Vec<_>>())? {
                break;
            }
        }
    }
    sink.finish()
}

/// Passes on the result: filters tuples, projects or counts them, and applies the limit.
struct Sink<'p, E> {
    projection: &'p Projection,
    filter: Option<&'p Predicate>,
    limit: usize,
    /// How many rows were handed to `emit`.
    emitted: usize,
    count: u64,
    emit: E,
}

impl<E: FnMut(ProductValue) -> Result<(), SqlError>> Sink<'_, E> {
    /// Takes one candidate tuple; returns whether more are wanted.
    fn offer(&mut self, tuple: &[&ProductValue]) -> Result<bool, SqlError> {
        if *self.projection == Projection::Count {
            if matches(self.filter, tuple) {
                self.count += 1;
            }
            return Ok(true);
        }
        if self.emitted < self.limit && matches(self.filter, tuple) {
            (self.emit)(project(self.projection, tuple))?;
            self.emitted += 1;
        }
        Ok(self.emitted < self.limit)
    }

    fn finish(mut self) -> Result<(), SqlError> {
        if *self.projection == Projection::Count && self.limit > 0 {
            (self.emit)(ProductValue::new(vec![AlgebraicValue::U64(self.count)]))?;
        }
        Ok(())
    }
}

fn project(projection: &Projection, tuple: &[&ProductValue]) -> ProductValue {
    match projection {
        Projection::Relation(rel) => tuple[*rel].clone(),
        Projection::Columns(cols) => ProductValue::new(
            cols.iter()
                .map(|c| tuple[c.rel].elements[c.col.idx()].clone())
                .collect(),
        ),
        Projection::Count => ProductValue::default(),
    }
}

/// Extends every tuple with the matching rows of `table`.
fn join_step(
    ds: &Datastore,
    table: TableId,
    join: &JoinPlan,
    tuples: Vec<Vec<Rc<ProductValue>>>,
) -> Result<Vec<Vec<Rc<ProductValue>>>, SqlError> {
    let extend = |tuple: &Vec<Rc<ProductValue>>, row: Rc<ProductValue>| {
        let mut t = tuple.clone();
        t.push(row);
        t
    };
    let mut out = Vec::new();
    match join {
        JoinPlan::Cross => {
            let rows = ds
                .scan(table)?
                .map(|r| Rc::new(r.to_product_value()))
                .collect::<Vec<_>>();
            for tuple in &tuples {
                out.extend(rows.iter().map(|r| extend(tuple, r.clone())));
            }
        }
        JoinPlan::IndexLookup { index, probe } => {
            for tuple in &tuples {
                let key = &tuple[probe.rel].elements[probe.col.idx()];
                for row in ds.index_scan_point(*index, key)? {
                    out.push(extend(tuple, Rc::new(row.to_product_value())));
                }
            }
        }
        JoinPlan::Hash { probe, build } => {
            let mut by_key: HashMap<AlgebraicValue, Vec<Rc<ProductValue>>> = HashMap::new();
            for row in ds.scan(table)? {
                let row = row.to_product_value();
                by_key
                    .entry(row.elements[build.idx()].clone())
                    .or_default()
                    .push(Rc::new(row));
            }
            for tuple in &tuples {
                let key = &tuple[probe.rel].elements[probe.col.idx()];
                for row in by_key.get(key).into_iter().flatten() {
                    out.push(extend(tuple, row.clone()));
                }
            }
        }
    }
    Ok(out)
}

/// The rows of a DML target that match: their BSATN and decoded values.
fn matching(
    ds: &Datastore,
    table: TableId,
    access: &Access,
    filter: Option<&Predicate>,
) -> Result<Vec<(Vec<u8>, ProductValue)>, SqlError> {
    let mut out = Vec::new();
    for row in access_rows(ds, table, access)? {
        let value = row.to_product_value();
        if matches(filter, &[&value]) {
            out.push((row.bytes().to_vec(), value));
        }
    }
    Ok(out)
}

fn dml_outcome(stats: DmlStats, tx: spacetime_datastore::TxData) -> SqlOutcome {
    SqlOutcome {
        schema: ProductType::default(),
        rows: Vec::new(),
        stats,
        tx: Some(tx),
    }
}

fn insert(p: &InsertPlan, ds: &mut Datastore) -> Result<SqlOutcome, SqlError> {
    let table = p.table.table_id;
    let mut tx = ds.begin_mut_tx();
    let mut inserted = 0;
    for row in &p.rows {
        let before = tx.row_count(table)?;
        // On error the transaction is dropped, which rolls it back.
        tx.insert_bsatn(table, &to_vec(row))?;
        inserted += tx.row_count(table)? - before;
    }
    Ok(dml_outcome(
        DmlStats {
            rows_inserted: inserted,
            ..DmlStats::default()
        },
        tx.commit(),
    ))
}

fn delete(p: &DeletePlan, ds: &mut Datastore) -> Result<SqlOutcome, SqlError> {
    let table = p.table.table_id;
    let rows = matching(ds, table, &p.access, p.filter.as_ref())?;
    let mut tx = ds.begin_mut_tx();
    let mut deleted = 0;
    for (bytes, _) in &rows {
        deleted += u64::from(tx.delete_row(table, bytes)?);
    }
    Ok(dml_outcome(
        DmlStats {
            rows_deleted: deleted,
            ..DmlStats::default()
        },
        tx.commit(),
    ))
}

fn update(p: &UpdatePlan, ds: &mut Datastore) -> Result<SqlOutcome, SqlError> {
    let table = p.table.table_id;
    let rows = matching(ds, table, &p.access, p.filter.as_ref())?;
    let mut tx = ds.begin_mut_tx();
    // Delete every old row before inserting any new one, so updates that swap unique
    // values between rows do not collide with rows not yet updated.
    for (bytes, _) in &rows {
        tx.delete_row(table, bytes)?;
    }
    for (_, value) in &rows {
        let mut new = value.clone();
        for (col, v) in &p.assignments {
            new.elements[col.idx()] = v.clone();
        }
        tx.insert_bsatn(table, &to_vec(&new))?;
    }
    let updated = rows.len() as u64;
    Ok(dml_outcome(
        DmlStats {
            rows_updated: updated,
            ..DmlStats::default()
        },
        tx.commit(),
    ))
}
