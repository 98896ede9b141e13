//! The size and depth limits on SQL text, and the stack headroom parsing runs with.
//!
//! Every SQL statement (HTTP `/sql`, one-off queries, subscriptions) comes from a client,
//! often without a token, and is parsed on its database's actor thread. A statement must
//! not be able to exhaust that thread's stack, so:
//! - the text is at most [`MAX_SQL_BYTES`], checked before anything else;
//! - `sqlparser`'s own nesting guard is set to [`PARSER_RECURSION_LIMIT`];
//! - our expression tree may nest at most [`MAX_EXPR_DEPTH`] levels; flat `AND`/`OR`
//!   chains do not count, as they become lists (see `expr`);
//! - `sqlparser` builds a left-deep tree for a flat operator chain (`a OR b OR …`),
//!   and Rust drops such a tree recursively. The chains we consume are taken apart
//!   iteratively (`drop_flat`); for everything else parsing runs with at least
//!   `stack_needed` bytes of stack, growing onto a fresh segment if the caller has
//!   less. That bound is linear in the text's length, which [`MAX_SQL_BYTES`] caps.

use crate::error::SqlError;
use sqlparser::ast::Expr;

/// The longest SQL text accepted, in bytes (128 KiB): room for an `OR` chain of
/// several thousand comparisons, while bounding parse time, memory and tree depth.
pub const MAX_SQL_BYTES: usize = 128 * 1024;

/// How deeply `sqlparser` may recurse (parentheses, subqueries, unary operators):
/// its own default, named here so the error can say it.
pub const PARSER_RECURSION_LIMIT: usize = 50;

/// How deeply an expression may nest in our tree: parentheses, unary operators and
/// comparison operands each add a level; the operands of a flat `AND`/`OR` chain
/// share one.
pub const MAX_EXPR_DEPTH: usize = 128;

/// Stack bytes reserved per byte of SQL text: a tree can be at most one level deep
/// per byte (`a!!!…`), and dropping one level of `sqlparser`'s tree takes well under
/// this much even in a debug build (measured by the `limits` tests).
const STACK_PER_SQL_BYTE: usize = 256;

/// Stack bytes reserved beyond the per-byte share, for the parser's own frames, which
/// nest up to [`PARSER_RECURSION_LIMIT`] levels. An unoptimised build's frames are several
/// times larger: 45 nested parentheses (`UPDATE((((…`, from the `sql_text` fuzz corpus) need
/// between 2 and 3 MiB in a debug build, and under 1 MiB in release even with AddressSanitizer.
const STACK_BASE: usize = if cfg!(debug_assertions) { 6 } else { 1 } * 1024 * 1024;

/// The stack parsing `sql_len` bytes of text may need at most.
pub(super) fn stack_needed(sql_len: usize) -> usize {
    STACK_BASE + sql_len.min(MAX_SQL_BYTES) * STACK_PER_SQL_BYTE
}

/// Rejects text over [`MAX_SQL_BYTES`].
pub(super) fn check_size(sql: &str) -> Result<(), SqlError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(SqlError::Limit(format!(
            "the statement is {} bytes, over the limit of {MAX_SQL_BYTES} bytes; split it into several \
             statements or filter with fewer terms",
            sql.len()
        )));
    }
    Ok(())
}

/// The error for `sqlparser`'s nesting guard.
pub(super) fn parser_too_deep() -> SqlError {
    SqlError::Limit(format!(
        "the statement nests more than {PARSER_RECURSION_LIMIT} levels (parentheses, subqueries or unary \
         operators); remove redundant parentheses or split the statement"
    ))
}

/// The error for an expression nesting deeper than [`MAX_EXPR_DEPTH`].
pub(super) fn expr_too_deep() -> SqlError {
    SqlError::Limit(format!(
        "the expression nests more than {MAX_EXPR_DEPTH} levels; write flat `a OR b OR …` / `a AND b AND …` \
         chains (they have no depth limit) instead of nesting or chaining comparisons"
    ))
}

/// Drops a `sqlparser` expression without a stack frame per level of its operator
/// chains: binary and unary operators and parentheses are taken apart with a work list,
/// so a left-deep `a OR b OR …` of any length is dropped in constant stack.
pub(super) fn drop_flat(e: Expr) {
    let mut pending = vec![e];
    while let Some(e) = pending.pop() {
        match e {
            Expr::BinaryOp { left, right, .. } => {
                pending.push(*left);
                pending.push(*right);
            }
            Expr::UnaryOp { expr, .. } | Expr::Nested(expr) => pending.push(*expr),
            // Leaves, and shapes the parser's nesting guard already bounds.
            other => drop(other),
        }
    }
}
