//! DML: `INSERT INTO t [(cols)] VALUES (…), …`, `UPDATE t SET c = lit, … [WHERE …]` and
//! `DELETE FROM t [WHERE …]`, each on one table, with literal values only.

use super::ast::{SqlStmt, SqlTable};
use super::expr::{column_from_parts, filter, literal_only, object_name};
use super::select::table_factor;
use crate::error::SqlError;
use sqlparser::ast::{self as sql, Expr, SelectItem, SetExpr, TableWithJoins};

pub(super) fn insert(ins: sql::Insert) -> Result<SqlStmt, SqlError> {
    let sql::Insert {
        or,
        ignore,
        table,
        table_alias,
        columns,
        overwrite,
        source,
        assignments,
        partitioned,
        after_columns,
        on,
        returning,
        replace_into,
        priority,
        insert_alias,
        settings,
        format_clause,
        ..
    } = ins;
    if or.is_some()
        || ignore
        || table_alias.is_some()
        || overwrite
        || !assignments.is_empty()
        || partitioned.is_some()
        || !after_columns.is_empty()
        || on.is_some()
        || returning.is_some()
        || replace_into
        || priority.is_some()
        || insert_alias.is_some()
        || settings.is_some()
        || format_clause.is_some()
    {
        return Err(SqlError::unsupported(
            "this form of INSERT",
            "write `INSERT INTO t [(cols)] VALUES (…), (…)`",
        ));
    }
    let table = match table {
        sql::TableObject::TableName(name) => object_name(&name)?,
        sql::TableObject::TableFunction(_) => {
            return Err(SqlError::unsupported("INSERT into a function", "insert into a table"))
        }
    };
    let values = match source.map(|q| *q.body) {
        Some(SetExpr::Values(values)) => values,
        Some(SetExpr::Select(_)) => {
            return Err(SqlError::unsupported(
                "INSERT … SELECT",
                "list the rows: `INSERT INTO t VALUES (…), (…)`",
            ))
        }
        _ => {
            return Err(SqlError::unsupported(
                "this form of INSERT",
                "write `INSERT INTO t [(cols)] VALUES (…), (…)`",
            ))
        }
    };
    let rows = values
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|e| literal_only(e, "an inserted value"))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SqlStmt::Insert {
        table,
        columns: columns.into_iter().map(|c| c.value).collect(),
        rows,
    })
}

/// The parts of an `UPDATE`, which `sqlparser` keeps in its statement variant rather than in
/// a struct of their own.
pub(super) struct Update {
    pub(super) table: TableWithJoins,
    pub(super) assignments: Vec<sql::Assignment>,
    pub(super) from: Option<sql::UpdateTableFromKind>,
    pub(super) selection: Option<Expr>,
    pub(super) returning: Option<Vec<SelectItem>>,
    pub(super) or: Option<sql::SqliteOnConflict>,
    pub(super) limit: Option<Expr>,
}

pub(super) fn update(u: Update) -> Result<SqlStmt, SqlError> {
    if u.from.is_some() || u.returning.is_some() || u.or.is_some() || u.limit.is_some() {
        return Err(SqlError::unsupported(
            "UPDATE with FROM, RETURNING, OR or LIMIT",
            "write `UPDATE t SET c = <literal> [WHERE …]`",
        ));
    }
    let table = single_table(u.table, "UPDATE")?;
    let assignments = u
        .assignments
        .into_iter()
        .map(|a| {
            let target = match a.target {
                sql::AssignmentTarget::ColumnName(name) => column_from_parts(&name)?,
                sql::AssignmentTarget::Tuple(_) => {
                    return Err(SqlError::unsupported(
                        "tuple assignments in UPDATE",
                        "assign each column: `SET a = 1, b = 2`",
                    ))
                }
            };
            let value = literal_only(&a.value, "the right-hand side of SET")?;
            Ok((target, value))
        })
        .collect::<Result<_, _>>()?;
    let filter = u.selection.map(filter).transpose()?;
    Ok(SqlStmt::Update {
        table,
        assignments,
        filter,
    })
}

pub(super) fn delete(d: sql::Delete) -> Result<SqlStmt, SqlError> {
    let sql::Delete {
        tables,
        from,
        using,
        selection,
        returning,
        order_by,
        limit,
    } = d;
    if !tables.is_empty() || using.is_some() || returning.is_some() || !order_by.is_empty() || limit.is_some() {
        return Err(SqlError::unsupported(
            "this form of DELETE",
            "write `DELETE FROM t [WHERE …]`",
        ));
    }
    let mut from = match from {
        sql::FromTable::WithFromKeyword(t) | sql::FromTable::WithoutKeyword(t) => t,
    };
    if from.len() != 1 {
        return Err(SqlError::unsupported(
            "DELETE from several tables",
            "delete from one table at a time",
        ));
    }
    let table = single_table(from.remove(0), "DELETE")?;
    let filter = selection.map(filter).transpose()?;
    Ok(SqlStmt::Delete { table, filter })
}

fn single_table(t: TableWithJoins, stmt: &str) -> Result<SqlTable, SqlError> {
    if !t.joins.is_empty() {
        return Err(SqlError::unsupported(
            format!("joins in {stmt}"),
            format!("{stmt} one table; filter it with WHERE"),
        ));
    }
    table_factor(t.relation)
}
