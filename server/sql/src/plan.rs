//! The typed plan: what `check` produces and `exec` runs.
//!
//! Names are resolved to table and column ids, literals are values of their column's
//! type, `:sender` is the caller's identity, and each table access says whether it
//! scans or probes an index. Subscriptions can reuse [`SelectPlan`] and
//! [`Predicate::eval`] to evaluate a query against the rows of one transaction.

use crate::parse::CmpOp;
use spacetime_sats::{AlgebraicValue, ColId, IndexId, ProductType, ProductValue, TableId};
use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

/// A checked statement, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// A query.
    Select(SelectPlan),
    /// `INSERT`.
    Insert(InsertPlan),
    /// `UPDATE`.
    Update(UpdatePlan),
    /// `DELETE`.
    Delete(DeletePlan),
}

/// A table a plan reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The table.
    pub table_id: TableId,
    /// Its canonical name.
    pub table_name: String,
    /// The name the query refers to it by (its alias, or the name as written).
    pub alias: String,
}

/// A column of one of the plan's relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ColRef {
    /// The relation's position in the plan's `relations`.
    pub rel: usize,
    /// The column.
    pub col: ColId,
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A column's value.
    Column(ColRef),
    /// A constant, already of the other side's type.
    Value(AlgebraicValue),
}

/// A typed predicate over a tuple of rows (one row per relation).
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// A constant (`WHERE TRUE`).
    Const(bool),
    /// `lhs op rhs`, both of the same type.
    Cmp(CmpOp, Operand, Operand),
    /// Every operand holds. Flat (the operands of a chain `a AND b AND …` side by
    /// side), so evaluating a long chain needs no frame per term.
    And(Vec<Predicate>),
    /// Some operand holds; flat like [`Predicate::And`].
    Or(Vec<Predicate>),
    /// The row of relation `.0` is one of these rows: what row-level security makes of
    /// a filter with a join, whose rows depend on other tables (see [`crate::rls`]).
    RowIn(usize, Arc<HashSet<ProductValue>>),
}

impl Operand {
    fn value<'a>(&'a self, tuple: &[&'a ProductValue]) -> Option<&'a AlgebraicValue> {
        match self {
            Self::Column(c) => tuple.get(c.rel)?.elements.get(c.col.idx()),
            Self::Value(v) => Some(v),
        }
    }
}

impl Predicate {
    /// Whether the predicate holds for `tuple`, whose `i`th row belongs to relation `i`.
    /// A column missing from the tuple makes its comparison false.
    pub fn eval(&self, tuple: &[&ProductValue]) -> bool {
        match self {
            Self::Const(b) => *b,
            Self::And(terms) => terms.iter().all(|t| t.eval(tuple)),
            Self::Or(terms) => terms.iter().any(|t| t.eval(tuple)),
            Self::RowIn(rel, rows) => tuple.get(*rel).is_some_and(|row| rows.contains(*row)),
            Self::Cmp(op, lhs, rhs) => {
                let (Some(l), Some(r)) = (lhs.value(tuple), rhs.value(tuple)) else {
                    return false;
                };
                match op {
                    CmpOp::Eq => l == r,
                    CmpOp::Ne => l != r,
                    CmpOp::Lt => l < r,
                    CmpOp::Le => l <= r,
                    CmpOp::Gt => l > r,
                    CmpOp::Ge => l >= r,
                }
            }
        }
    }

    /// The predicate with every column of relation 0 moved to relation `rel`: a
    /// one-table predicate applied to relation `rel` of a larger plan. Recursion follows
    /// nesting only, which parsing bounds.
    pub fn on_relation(&self, rel: usize) -> Self {
        let operand = |o: &Operand| match o {
            Operand::Column(c) if c.rel == 0 => Operand::Column(ColRef { rel, col: c.col }),
            other => other.clone(),
        };
        match self {
            Self::Const(b) => Self::Const(*b),
            Self::Cmp(op, l, r) => Self::Cmp(*op, operand(l), operand(r)),
            Self::And(terms) => Self::And(terms.iter().map(|t| t.on_relation(rel)).collect()),
            Self::Or(terms) => Self::Or(terms.iter().map(|t| t.on_relation(rel)).collect()),
            Self::RowIn(0, rows) => Self::RowIn(rel, rows.clone()),
            Self::RowIn(r, rows) => Self::RowIn(*r, rows.clone()),
        }
    }

    /// `self AND other`, keeping a chain flat.
    pub fn and(self, other: Predicate) -> Self {
        match self {
            Self::And(mut terms) => {
                terms.push(other);
                Self::And(terms)
            }
            first => Self::And(vec![first, other]),
        }
    }

    /// The top-level conjuncts: `a AND (b AND c)` gives `[a, b, c]`. Walks nested
    /// conjunctions with a work list rather than recursion.
    pub fn conjuncts(&self) -> Vec<&Predicate> {
        let mut out = Vec::new();
        let mut pending = vec![self];
        while let Some(p) = pending.pop() {
            match p {
                Self::And(terms) => pending.extend(terms.iter().rev()),
                other => out.push(other),
            }
        }
        out
    }
}

/// How the first relation of a plan is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every row.
    Scan,
    /// Rows whose key on `index` equals `key`.
    IndexPoint {
        /// The index.
        index: IndexId,
        /// The key: the value for a one-column index, a product for several.
        key: AlgebraicValue,
    },
    /// Rows whose key starts with `prefix` and whose next column is in `start..end`.
    IndexRange {
        /// The (btree) index.
        index: IndexId,
        /// Values of the leading key columns.
        prefix: Vec<AlgebraicValue>,
        /// The lower bound on the next key column.
        start: Bound<AlgebraicValue>,
        /// The upper bound on the next key column.
        end: Bound<AlgebraicValue>,
    },
}

/// How a joined relation is matched to the tuples built so far.
#[derive(Debug, Clone, PartialEq)]
pub enum JoinPlan {
    /// Every pairing (a `JOIN` without `ON`).
    Cross,
    /// For each tuple, probe `index` of the joined table with the value of `probe`.
    IndexLookup {
        /// An index of the joined table whose only column is the join column.
        index: IndexId,
        /// The column of an earlier relation whose value is looked up.
        probe: ColRef,
    },
    /// Hash the joined table on `build` once, then look up the value of `probe`.
    Hash {
        /// The column of an earlier relation whose value is looked up.
        probe: ColRef,
        /// The joined table's join column.
        build: ColId,
    },
}

/// What a query returns per matching tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// The whole row of one relation (`*` or `t.*`).
    Relation(usize),
    /// These columns, in order.
    Columns(Vec<ColRef>),
    /// One row holding the number of matching tuples (`COUNT(*) AS n`).
    Count,
}

/// A checked `SELECT`.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectPlan {
    /// The tables, in `FROM`/`JOIN` order.
    pub relations: Vec<Relation>,
    /// How `relations[0]` is read.
    pub access: Access,
    /// `joins[i]` brings in `relations[i + 1]`.
    pub joins: Vec<JoinPlan>,
    /// The whole `WHERE` clause, checked on every tuple (also the parts an index
    /// access already guarantees, which keeps the access choice a pure optimisation).
    pub filter: Option<Predicate>,
    /// What to return.
    pub projection: Projection,
    /// The most rows to return.
    pub limit: Option<u64>,
    /// The names and types of the result's columns, with type references inlined.
    pub schema: ProductType,
}

/// A checked `INSERT`.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertPlan {
    /// The target table.
    pub table: Relation,
    /// The rows, in column order.
    pub rows: Vec<ProductValue>,
}

/// A checked `UPDATE`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdatePlan {
    /// The target table.
    pub table: Relation,
    /// How matching rows are found.
    pub access: Access,
    /// The filter.
    pub filter: Option<Predicate>,
    /// The new value of each assigned column.
    pub assignments: Vec<(ColId, AlgebraicValue)>,
}

/// A checked `DELETE`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletePlan {
    /// The target table.
    pub table: Relation,
    /// How matching rows are found.
    pub access: Access,
    /// The filter.
    pub filter: Option<Predicate>,
}
