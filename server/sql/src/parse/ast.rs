//! The statement model: the small untyped AST of the supported subset that parsing
//! produces and `check` reads. Names are as written and literals untyped; nothing here
//! knows `sqlparser`.

/// A parsed statement of the supported subset.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlStmt {
    /// `SELECT …`
    Select(SqlSelect),
    /// `INSERT INTO t [(cols)] VALUES (…), …`
    Insert {
        /// The target table.
        table: String,
        /// The listed columns; empty means all, in table order.
        columns: Vec<String>,
        /// The rows of literals.
        rows: Vec<Vec<SqlLit>>,
    },
    /// `UPDATE t SET c = lit, … [WHERE …]`
    Update {
        /// The target table.
        table: SqlTable,
        /// `(column, value)` pairs.
        assignments: Vec<(SqlColumn, SqlLit)>,
        /// The filter.
        filter: Option<SqlExpr>,
    },
    /// `DELETE FROM t [WHERE …]`
    Delete {
        /// The target table.
        table: SqlTable,
        /// The filter.
        filter: Option<SqlExpr>,
    },
    /// `SET name = value`
    Set {
        /// The variable.
        name: String,
        /// Its new value.
        value: SqlLit,
    },
    /// `SHOW name`
    Show {
        /// The variable.
        name: String,
    },
}

/// `SELECT <projection> FROM <from> [WHERE <filter>] [LIMIT <n>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlSelect {
    /// What to return.
    pub projection: SqlProjection,
    /// The first table.
    pub from: SqlTable,
    /// Joined tables, in order.
    pub joins: Vec<SqlJoin>,
    /// The filter.
    pub filter: Option<SqlExpr>,
    /// The row limit.
    pub limit: Option<u64>,
}

/// A table with an optional alias, or a call of a view with parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTable {
    /// The table name as written.
    pub name: String,
    /// The alias, if given.
    pub alias: Option<String>,
    /// The arguments of a view call, `v(a, b)`; `None` for a plain name.
    pub args: Option<Vec<SqlLit>>,
}

impl SqlTable {
    /// The name the rest of the query refers to it by.
    pub fn reference(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// `[INNER] JOIN t [AS a] [ON x.c = y.d]`; no `ON` is a cross join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlJoin {
    /// The joined table.
    pub table: SqlTable,
    /// The two columns the `ON` clause equates.
    pub on: Option<(SqlColumn, SqlColumn)>,
}

/// What a `SELECT` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlProjection {
    /// `*`
    Star,
    /// `t.*`
    TableStar(String),
    /// `col [AS alias], …`
    Columns(Vec<(SqlColumn, Option<String>)>),
    /// `COUNT(*) AS alias`
    Count(String),
}

/// A column reference, `c` or `t.c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlColumn {
    /// The table or alias qualifier.
    pub table: Option<String>,
    /// The column name.
    pub column: String,
}

impl std::fmt::Display for SqlColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.table {
            Some(t) => write!(f, "{t}.{}", self.column),
            None => f.write_str(&self.column),
        }
    }
}

/// A literal, untyped until checked against the column it meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlLit {
    /// A number as written, with a leading `-` if negated.
    Number(String),
    /// `'text'`
    String(String),
    /// `0x…` or `X'…'`, the hex digits only.
    Hex(String),
    /// `TRUE` or `FALSE`.
    Bool(bool),
}

impl std::fmt::Display for SqlLit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => f.write_str(n),
            Self::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Self::Hex(h) => write!(f, "0x{h}"),
            Self::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>` or `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator with its operands swapped: `a < b` is `b > a`.
    pub fn flip(self) -> Self {
        match self {
            Self::Lt => Self::Gt,
            Self::Le => Self::Ge,
            Self::Gt => Self::Lt,
            Self::Ge => Self::Le,
            other => other,
        }
    }
}

/// An untyped predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlExpr {
    /// A literal.
    Lit(SqlLit),
    /// A column.
    Column(SqlColumn),
    /// `:sender`, the caller's identity.
    Sender,
    /// `lhs op rhs`
    Cmp(CmpOp, Box<SqlExpr>, Box<SqlExpr>),
    /// `a AND b AND …`: a flat chain of two or more operands, so a long chain is a
    /// list rather than a deep tree (nothing that walks it needs a frame per term).
    And(Vec<SqlExpr>),
    /// `a OR b OR …`, flat like [`SqlExpr::And`].
    Or(Vec<SqlExpr>),
}
