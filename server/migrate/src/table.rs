//! The steps and refusals for a table both modules define: its columns, keys,
//! indexes, constraints, sequences, schedule and access.

use crate::types::{compare, type_name, TypeChange};
use crate::{Refusal, Step};
use spacetime_sats::def::model::{ColumnDef, TableDef};
use spacetime_sats::def::raw::TableAccess;
use spacetime_sats::json::value_to_json;
use spacetime_sats::{ColId, Typespace};

/// Adds to `steps` what migrating `old` to `new` (same name) takes, or to `refusals`
/// why it cannot.
pub(crate) fn diff(
    old: &TableDef,
    old_ts: &Typespace,
    new: &TableDef,
    new_ts: &Typespace,
    steps: &mut Vec<Step>,
    refusals: &mut Vec<Refusal>,
) {
    let table = || new.name.clone();
    if old.table_type != new.table_type {
        refusals.push(Refusal::ChangeTableType { table: table() });
    }
    match (old.is_event, new.is_event) {
        (false, true) => refusals.push(Refusal::ChangeEventFlag {
            table: table(),
            change: "into an event table",
        }),
        (true, false) => refusals.push(Refusal::ChangeEventFlag {
            table: table(),
            change: "from an event table into a stored one",
        }),
        // Event tables store no rows: any column change is safe.
        (true, true) => {
            if columns_differ(old, old_ts, new, new_ts) {
                steps.push(Step::ReschemaEventTable { table: table() });
            }
        }
        (false, false) => diff_columns(old, old_ts, new, new_ts, steps, refusals),
    }
    if old.access != new.access {
        steps.push(Step::ChangeAccess {
            table: table(),
            public: new.access == TableAccess::Public,
        });
    }
    if column_name(old, old.primary_key) != column_name(new, new.primary_key) {
        steps.push(Step::ChangePrimaryKey {
            table: table(),
            old: column_name(old, old.primary_key),
            new: column_name(new, new.primary_key),
        });
    }
    diff_indexes(old, new, steps);
    diff_constraints(old, new, steps);
    diff_sequences(old, new, steps);
    diff_schedule(old, new, steps);
}

/// The name of column `col` of `table`, if given and present.
fn column_name(table: &TableDef, col: Option<ColId>) -> Option<String> {
    col.and_then(|c| table.columns.get(c.idx())).map(|c| c.name.clone())
}

/// The names of `cols` of `table`, for messages and index identity across versions
/// (column ids of kept columns do not move, but names are what the publisher reads).
fn column_names(table: &TableDef, cols: &[ColId]) -> Vec<String> {
    cols.iter()
        .map(|c| column_name(table, Some(*c)).unwrap_or_else(|| format!("#{}", c.0)))
        .collect()
}

/// Whether the columns of an event table changed at all.
fn columns_differ(old: &TableDef, old_ts: &Typespace, new: &TableDef, new_ts: &Typespace) -> bool {
    old.columns.len() != new.columns.len()
        || old
            .columns
            .iter()
            .zip(&new.columns)
            .any(|(a, b)| a.name != b.name || compare(&a.ty, old_ts, &b.ty, new_ts) != TypeChange::Same)
}

/// Kept columns must stay in place with a compatible type; new columns go at the end,
/// each with a default.
fn diff_columns(
    old: &TableDef,
    old_ts: &Typespace,
    new: &TableDef,
    new_ts: &Typespace,
    steps: &mut Vec<Step>,
    refusals: &mut Vec<Refusal>,
) {
    let table = &new.name;
    let mut changed = Vec::new();
    for column in &old.columns {
        let Some(updated) = new.columns.iter().find(|c| c.name == column.name) else {
            refusals.push(Refusal::RemoveColumn {
                table: table.clone(),
                column: column.name.clone(),
                ty: type_name(&column.ty, old_ts),
            });
            continue;
        };
        let (before, after) = (type_name(&column.ty, old_ts), type_name(&updated.ty, new_ts));
        match compare(&column.ty, old_ts, &updated.ty, new_ts) {
            TypeChange::Same => {}
            TypeChange::Compatible => changed.push((column.name.clone(), before, after)),
            TypeChange::Incompatible(why) => refusals.push(Refusal::ChangeColumnType {
                table: table.clone(),
                column: column.name.clone(),
                old: before,
                new: after,
                reason: why.describe(),
            }),
        }
    }
    let added: Vec<&ColumnDef> = new
        .columns
        .iter()
        .filter(|c| old.columns.iter().all(|o| o.name != c.name))
        .collect();
    if reordered(old, new) {
        let order = |t: &TableDef| t.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ");
        refusals.push(Refusal::ReorderColumns {
            table: table.clone(),
            old: order(old),
            new: order(new),
        });
    }
    let mut with_defaults = Vec::new();
    for column in added {
        let ty = type_name(&column.ty, new_ts);
        match new.default_values.iter().find(|(col, _)| *col == column.col_id) {
            Some((_, value)) => {
                let default = value_to_json(value, &column.ty, new_ts).to_string();
                with_defaults.push((column.name.clone(), ty, default));
            }
            None => refusals.push(Refusal::AddColumnWithoutDefault {
                table: table.clone(),
                column: column.name.clone(),
                ty,
            }),
        }
    }
    if !changed.is_empty() {
        steps.push(Step::ChangeColumnTypes {
            table: table.clone(),
            columns: changed,
        });
    }
    if !with_defaults.is_empty() {
        steps.push(Step::AddColumns {
            table: table.clone(),
            columns: with_defaults,
        });
        steps.push(Step::DisconnectAllClients);
    }
}

/// Whether the columns both versions keep changed their relative order, or a new
/// column comes before a kept one (a removed column alone is not a reorder).
fn reordered(old: &TableDef, new: &TableDef) -> bool {
    let kept_old = old.columns.iter().filter(|c| has_column(new, &c.name));
    let kept_new = new.columns.iter().filter(|c| has_column(old, &c.name));
    if kept_old.map(|c| &c.name).ne(kept_new.map(|c| &c.name)) {
        return true;
    }
    let last_kept = new.columns.iter().rposition(|c| has_column(old, &c.name));
    let first_added = new.columns.iter().position(|c| !has_column(old, &c.name));
    matches!((last_kept, first_added), (Some(k), Some(a)) if a < k)
}

/// Whether `table` has a column of canonical name `name` (the model's `column` also
/// accepts accessor names, which would match a renamed column).
fn has_column(table: &TableDef, name: &str) -> bool {
    table.columns.iter().any(|c| c.name == name)
}

/// Indexes are matched by name; one whose algorithm or columns changed is dropped and
/// made again.
fn diff_indexes(old: &TableDef, new: &TableDef, steps: &mut Vec<Step>) {
    let key = |t: &TableDef, i: &spacetime_sats::def::model::IndexDef| {
        let kind = match i.algorithm {
            spacetime_sats::def::model::IndexAlgorithm::BTree { .. } => "btree",
            spacetime_sats::def::model::IndexAlgorithm::Hash { .. } => "hash",
            spacetime_sats::def::model::IndexAlgorithm::Direct { .. } => "direct",
        };
        (i.name.clone(), kind, column_names(t, i.algorithm.columns()))
    };
    let old_keys: Vec<_> = old.indexes.iter().map(|i| key(old, i)).collect();
    let new_keys: Vec<_> = new.indexes.iter().map(|i| key(new, i)).collect();
    for k in old_keys.iter().filter(|k| !new_keys.contains(k)) {
        steps.push(Step::RemoveIndex {
            table: new.name.clone(),
            index: k.0.clone(),
        });
    }
    for k in new_keys.iter().filter(|k| !old_keys.contains(k)) {
        steps.push(Step::AddIndex {
            table: new.name.clone(),
            index: k.0.clone(),
        });
    }
}

/// Unique constraints are matched by their columns' names.
fn diff_constraints(old: &TableDef, new: &TableDef, steps: &mut Vec<Step>) {
    let old_keys: Vec<_> = old
        .unique_constraints
        .iter()
        .map(|c| (column_names(old, &c.columns), &c.name))
        .collect();
    let new_keys: Vec<_> = new
        .unique_constraints
        .iter()
        .map(|c| (column_names(new, &c.columns), &c.name))
        .collect();
    for (cols, name) in &old_keys {
        if new_keys.iter().all(|(c, _)| c != cols) {
            steps.push(Step::RemoveUniqueConstraint {
                table: new.name.clone(),
                constraint: (*name).clone(),
            });
        }
    }
    for (cols, name) in &new_keys {
        if old_keys.iter().all(|(c, _)| c != cols) {
            steps.push(Step::AddUniqueConstraint {
                table: new.name.clone(),
                constraint: (*name).clone(),
                columns: cols.clone(),
            });
        }
    }
}

/// Sequences are matched by column; one whose range or step changed is dropped and
/// made again (it continues after the largest value in the column).
fn diff_sequences(old: &TableDef, new: &TableDef, steps: &mut Vec<Step>) {
    let key = |t: &TableDef, s: &spacetime_sats::def::model::SequenceDef| {
        (
            column_name(t, Some(s.column)).unwrap_or_default(),
            (s.start, s.min_value, s.max_value, s.increment),
        )
    };
    let old_keys: Vec<_> = old.sequences.iter().map(|s| key(old, s)).collect();
    let new_keys: Vec<_> = new.sequences.iter().map(|s| key(new, s)).collect();
    for (column, _) in old_keys.iter().filter(|k| !new_keys.contains(k)) {
        steps.push(Step::RemoveSequence {
            table: new.name.clone(),
            column: column.clone(),
        });
    }
    for (column, _) in new_keys.iter().filter(|k| !old_keys.contains(k)) {
        steps.push(Step::AddSequence {
            table: new.name.clone(),
            column: column.clone(),
        });
    }
}

/// A schedule is its reducer and its two columns; any change drops and remakes it.
fn diff_schedule(old: &TableDef, new: &TableDef, steps: &mut Vec<Step>) {
    let key = |t: &TableDef| {
        t.schedule.as_ref().map(|s| {
            (
                s.function_name.clone(),
                column_name(t, Some(s.at_column)),
                column_name(t, Some(s.id_column)),
            )
        })
    };
    let (before, after) = (key(old), key(new));
    if before == after {
        return;
    }
    if let Some((reducer, ..)) = before {
        steps.push(Step::RemoveSchedule {
            table: new.name.clone(),
            reducer,
        });
    }
    if let Some((reducer, ..)) = after {
        steps.push(Step::AddSchedule {
            table: new.name.clone(),
            reducer,
        });
    }
}
