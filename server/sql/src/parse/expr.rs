//! Expressions: `WHERE` predicates (comparisons under `AND`/`OR`), literals and
//! `:sender`, and the column and table names they are built from.
//!
//! `sqlparser` builds a flat chain `a OR b OR …` as a left-deep tree; conversion walks
//! such a chain with a work list into one flat [`SqlExpr::Or`] (or `And`) list, so its
//! length costs no stack here or in any later stage. Other nesting is counted and
//! capped at [`MAX_EXPR_DEPTH`].

use super::ast::{CmpOp, SqlColumn, SqlExpr, SqlLit};
use super::limits::{drop_flat, expr_too_deep, MAX_EXPR_DEPTH};
use crate::error::SqlError;
use sqlparser::ast::{BinaryOperator, Expr, ObjectName, ObjectNamePart, UnaryOperator, Value};

pub(super) fn object_name(name: &ObjectName) -> Result<String, SqlError> {
    match &name.0[..] {
        [ObjectNamePart::Identifier(ident)] => Ok(ident.value.clone()),
        _ => Err(SqlError::unsupported(
            format!("the qualified name `{name}`"),
            "name the table alone, without a schema",
        )),
    }
}

pub(super) fn column_from_parts(name: &ObjectName) -> Result<SqlColumn, SqlError> {
    let idents = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Ok(i.value.clone()),
            ObjectNamePart::Function(_) => Err(SqlError::unsupported(format!("`{name}`"), "name a column")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    columns_from_idents(idents, &name.to_string())
}

fn columns_from_idents(mut idents: Vec<String>, text: &str) -> Result<SqlColumn, SqlError> {
    match idents.len() {
        1 => Ok(SqlColumn {
            table: None,
            column: idents.remove(0),
        }),
        2 => {
            let column = idents.remove(1);
            Ok(SqlColumn {
                table: Some(idents.remove(0)),
                column,
            })
        }
        _ => Err(SqlError::unsupported(
            format!("the name `{text}`"),
            "write a column as `c` or `t.c`",
        )),
    }
}

pub(super) fn literal_only(e: &Expr, place: &str) -> Result<SqlLit, SqlError> {
    match expr(e)? {
        SqlExpr::Lit(l) => Ok(l),
        _ => Err(SqlError::unsupported(
            format!("`{e}` as {place}"),
            "write a literal value",
        )),
    }
}

/// Converts a `WHERE` clause and drops `sqlparser`'s tree of it without recursion.
pub(super) fn filter(e: Expr) -> Result<SqlExpr, SqlError> {
    let converted = expr(&e);
    drop_flat(e);
    converted
}

/// Converts a `sqlparser` expression of the supported predicate grammar.
pub(super) fn expr(e: &Expr) -> Result<SqlExpr, SqlError> {
    expr_at(e, 1)
}

/// Converts `e`, found `depth` levels down.
fn expr_at(e: &Expr, depth: usize) -> Result<SqlExpr, SqlError> {
    if depth > MAX_EXPR_DEPTH {
        return Err(expr_too_deep());
    }
    let expr = |inner: &Expr| expr_at(inner, depth + 1);
    match e {
        Expr::Nested(inner) => expr(inner),
        Expr::Identifier(ident) => Ok(SqlExpr::Column(SqlColumn {
            table: None,
            column: ident.value.clone(),
        })),
        Expr::CompoundIdentifier(idents) => {
            columns_from_idents(idents.iter().map(|i| i.value.clone()).collect(), &e.to_string()).map(SqlExpr::Column)
        }
        Expr::Value(v) => value(&v.value, e),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => match expr(inner)? {
            SqlExpr::Lit(SqlLit::Number(n)) if !n.starts_with('-') => Ok(SqlExpr::Lit(SqlLit::Number(format!("-{n}")))),
            _ => Err(SqlError::unsupported(
                format!("`{e}`"),
                "arithmetic is not supported; write a literal such as `-5`",
            )),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr: inner,
        } => match expr(inner)? {
            lit @ SqlExpr::Lit(SqlLit::Number(_)) => Ok(lit),
            _ => Err(SqlError::unsupported(format!("`{e}`"), "write a literal such as `5`")),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not, ..
        } => Err(SqlError::unsupported(
            "NOT",
            "negate the comparison instead, e.g. `a <> 1` for `NOT a = 1`",
        )),
        Expr::BinaryOp { left, op, right } => {
            let cmp = match op {
                BinaryOperator::And | BinaryOperator::Or => return chain(e, op, depth),
                BinaryOperator::Eq => CmpOp::Eq,
                BinaryOperator::NotEq => CmpOp::Ne,
                BinaryOperator::Lt => CmpOp::Lt,
                BinaryOperator::LtEq => CmpOp::Le,
                BinaryOperator::Gt => CmpOp::Gt,
                BinaryOperator::GtEq => CmpOp::Ge,
                BinaryOperator::Plus
                | BinaryOperator::Minus
                | BinaryOperator::Multiply
                | BinaryOperator::Divide
                | BinaryOperator::Modulo => {
                    return Err(SqlError::unsupported(
                        format!("the arithmetic `{e}`"),
                        "compare columns with literals or other columns",
                    ))
                }
                other => {
                    return Err(SqlError::unsupported(
                        format!("the operator {other}"),
                        "use = <> != < <= > >= with AND, OR and parentheses",
                    ))
                }
            };
            Ok(SqlExpr::Cmp(cmp, Box::new(expr(left)?), Box::new(expr(right)?)))
        }
        Expr::IsNull(_) | Expr::IsNotNull(_) => Err(SqlError::unsupported(
            "IS [NOT] NULL",
            "columns are never NULL; compare the column with a value instead",
        )),
        Expr::Like { .. } | Expr::ILike { .. } | Expr::SimilarTo { .. } => Err(SqlError::unsupported(
            "LIKE",
            "compare with `=`, or fetch the rows and match them in the client",
        )),
        Expr::InList { .. } => Err(SqlError::unsupported("IN (…)", "write `a = 1 OR a = 2`")),
        Expr::Between { .. } => Err(SqlError::unsupported("BETWEEN", "write `a >= low AND a <= high`")),
        Expr::InSubquery { .. } | Expr::Subquery(_) | Expr::Exists { .. } => Err(SqlError::unsupported(
            "subqueries",
            "use a join: `FROM a JOIN b ON a.x = b.y`",
        )),
        Expr::Function(_) => Err(SqlError::unsupported(
            format!("the function call `{e}`"),
            "compare columns with literals",
        )),
        Expr::Case { .. } => Err(SqlError::unsupported("CASE", "filter with AND/OR comparisons")),
        Expr::Cast { .. } => Err(SqlError::unsupported(
            "CAST",
            "write the literal in the column's type; it is converted for you",
        )),
        _ => Err(SqlError::unsupported(
            format!("the expression `{e}`"),
            "use comparisons of columns and literals with AND, OR and parentheses",
        )),
    }
}

/// Converts the chain of `op` (`AND` or `OR`) whose top node is `top` into one flat
/// list, walking the chain with a work list: a chain of any length needs no stack
/// frame per term. Its operands are one level below the chain.
fn chain(top: &Expr, op: &BinaryOperator, depth: usize) -> Result<SqlExpr, SqlError> {
    let mut operands = Vec::new();
    let mut pending = vec![top];
    while let Some(e) = pending.pop() {
        match e {
            Expr::BinaryOp { left, op: o, right } if o == op => {
                // Right first, so the left operand is converted first: terms keep
                // their written order.
                pending.push(right);
                pending.push(left);
            }
            operand => operands.push(expr_at(operand, depth + 1)?),
        }
    }
    Ok(if *op == BinaryOperator::And {
        SqlExpr::And(operands)
    } else {
        SqlExpr::Or(operands)
    })
}

fn value(v: &Value, e: &Expr) -> Result<SqlExpr, SqlError> {
    Ok(SqlExpr::Lit(match v {
        Value::Number(n, _) => SqlLit::Number(n.to_string()),
        Value::SingleQuotedString(s) => SqlLit::String(s.clone()),
        Value::HexStringLiteral(h) => SqlLit::Hex(h.clone()),
        Value::Boolean(b) => SqlLit::Bool(*b),
        Value::Placeholder(p) if p == ":sender" => return Ok(SqlExpr::Sender),
        Value::Placeholder(p) => {
            return Err(SqlError::unsupported(
                format!("the parameter `{p}`"),
                "write the value inline; the only parameter is `:sender`",
            ))
        }
        Value::Null => return Err(SqlError::unsupported("NULL", "columns are never NULL; write a value")),
        Value::DoubleQuotedString(_) => {
            return Err(SqlError::unsupported(
                format!("`{e}`"),
                "strings use single quotes: 'text'",
            ));
        }
        _ => {
            return Err(SqlError::unsupported(
                format!("the literal `{e}`"),
                "use numbers, 'strings', 0x… hex, TRUE or FALSE",
            ))
        }
    }))
}
