//! Parsing: SQL text → `sqlparser`'s AST (Postgres dialect) → the small untyped AST
//! of the supported subset ([`SqlStmt`]).
//!
//! This is the whitelist. Everything `sqlparser` accepts but Spacetime does not
//! support is rejected here, with a message that says what is unsupported and what
//! to write instead. Names are not resolved and literals are not typed yet: that is
//! `check`'s job, against the module's schema.
//!
//! This file takes one statement apart by kind; `ast` is the model it produces,
//! `select` handles queries, `dml` the statements that change rows, and `expr` the
//! predicates, literals and names they share; `limits` bounds the text's size and the
//! trees' depth so that no statement can exhaust a stack.

mod ast;
mod dml;
mod expr;
pub mod limits;
mod select;

pub use ast::{CmpOp, SqlColumn, SqlExpr, SqlJoin, SqlLit, SqlProjection, SqlSelect, SqlStmt, SqlTable};

use crate::error::SqlError;
use sqlparser::ast::{self as sql, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

/// Parses exactly one statement of the supported subset.
///
/// # Errors
/// [`SqlError::Parse`] for text that is not SQL; [`SqlError::Unsupported`] for empty
/// input, several statements, or anything outside the subset; [`SqlError::Limit`] for
/// text over [`limits::MAX_SQL_BYTES`] or nesting over the depth limits.
pub fn parse(sql: &str) -> Result<SqlStmt, SqlError> {
    limits::check_size(sql)?;
    // `sqlparser`'s tree is dropped recursively; give the whole parse the headroom
    // the text's length can need (see `limits`), on a fresh stack segment if the
    // caller's thread has less left.
    let needed = limits::stack_needed(sql.len());
    stacker::maybe_grow(needed, needed, || parse_text(sql))
}

fn parse_text(sql: &str) -> Result<SqlStmt, SqlError> {
    let empty = || SqlError::unsupported("an empty query", "write one statement, such as `SELECT * FROM t`");
    if sql.trim().trim_end_matches(';').trim().is_empty() {
        return Err(empty());
    }
    let mut stmts = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(limits::PARSER_RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| match e {
            ParserError::RecursionLimitExceeded => limits::parser_too_deep(),
            e => SqlError::Parse(strip_parser_prefix(&e.to_string())),
        })?;
    match stmts.len() {
        0 => return Err(empty()),
        1 => {}
        n => {
            return Err(SqlError::unsupported(
                format!("{n} statements in one request"),
                "send each statement on its own",
            ))
        }
    }
    statement(stmts.remove(0))
}

fn strip_parser_prefix(msg: &str) -> String {
    msg.strip_prefix("sql parser error: ").unwrap_or(msg).to_owned()
}

fn statement(stmt: Statement) -> Result<SqlStmt, SqlError> {
    match stmt {
        Statement::Query(q) => select::query(*q).map(SqlStmt::Select),
        Statement::Insert(ins) => dml::insert(ins),
        Statement::Update { table, assignments, from, selection, returning, or, limit } => dml::update(dml::Update {
            table,
            assignments,
            from,
            selection,
            returning,
            or,
            limit,
        }),
        Statement::Delete(d) => dml::delete(d),
        Statement::Set(sql::Set::SingleAssignment { scope: None, hivevar: false, variable, mut values }) if values.len() == 1 => {
            let name = expr::object_name(&variable)?;
            let value = expr::literal_only(&values.remove(0), "the value of SET")?;
            Ok(SqlStmt::Set { name, value })
        }
        Statement::ShowVariable { variable } if variable.len() == 1 => Ok(SqlStmt::Show { name: variable[0].value.clone() }),
        Statement::CreateTable(_)
        | Statement::CreateIndex(_)
        | Statement::CreateView { .. }
        | Statement::AlterTable { .. }
        | Statement::Drop { .. }
        | Statement::Truncate { .. } => Err(SqlError::unsupported(
            "DDL (CREATE, ALTER, DROP, TRUNCATE)",
            "the schema comes from the module: change the module's tables and publish it again (use `DELETE FROM t` to remove rows)",
        )),
        other => {
            let text = other.to_string();
            let keyword = text.split_whitespace().next().unwrap_or("this").to_uppercase();
            Err(SqlError::unsupported(
                format!("{keyword} statements"),
                "use SELECT, INSERT, UPDATE, DELETE, `SET row_limit = n` or `SHOW row_limit`",
            ))
        }
    }
}
