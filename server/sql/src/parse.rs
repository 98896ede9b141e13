//! Parsing: SQL text → `sqlparser`'s AST (Postgres dialect) → the small untyped AST
//! of the supported subset ([`SqlStmt`]).
//!
//! This is the whitelist. Everything `sqlparser` accepts but Spacetime does not
//! support is rejected here, with a message that says what is unsupported and what
//! to write instead. Names are not resolved and literals are not typed yet: that is
//! `check`'s job, against the module's schema.

use crate::error::SqlError;
use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, JoinConstraint,
    JoinOperator, LimitClause, ObjectName, ObjectNamePart, Query, Select, SelectItem, SelectItemQualifiedWildcardKind,
    SetExpr, Statement, TableFactor, TableWithJoins, UnaryOperator, Value, WildcardAdditionalOptions,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

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

/// A table with an optional alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlTable {
    /// The table name as written.
    pub name: String,
    /// The alias, if given.
    pub alias: Option<String>,
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
    /// `lhs AND rhs`
    And(Box<SqlExpr>, Box<SqlExpr>),
    /// `lhs OR rhs`
    Or(Box<SqlExpr>, Box<SqlExpr>),
}

/// Parses exactly one statement of the supported subset.
///
/// # Errors
/// [`SqlError::Parse`] for text that is not SQL; [`SqlError::Unsupported`] for empty
/// input, several statements, or anything outside the subset.
pub fn parse(sql: &str) -> Result<SqlStmt, SqlError> {
    let empty = || SqlError::unsupported("an empty query", "write one statement, such as `SELECT * FROM t`");
    if sql.trim().trim_end_matches(';').trim().is_empty() {
        return Err(empty());
    }
    let mut stmts = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| SqlError::Parse(strip_parser_prefix(&e.to_string())))?;
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
        Statement::Query(q) => query(*q).map(SqlStmt::Select),
        Statement::Insert(ins) => insert(ins),
        Statement::Update { table, assignments, from, selection, returning, or, limit } => {
            if from.is_some() || returning.is_some() || or.is_some() || limit.is_some() {
                return Err(SqlError::unsupported(
                    "UPDATE with FROM, RETURNING, OR or LIMIT",
                    "write `UPDATE t SET c = <literal> [WHERE …]`",
                ));
            }
            let table = single_table(table, "UPDATE")?;
            let assignments = assignments
                .into_iter()
                .map(|a| {
                    let target = match a.target {
                        ast::AssignmentTarget::ColumnName(name) => column_from_parts(&name)?,
                        ast::AssignmentTarget::Tuple(_) => {
                            return Err(SqlError::unsupported("tuple assignments in UPDATE", "assign each column: `SET a = 1, b = 2`"))
                        }
                    };
                    let value = literal_only(&a.value, "the right-hand side of SET")?;
                    Ok((target, value))
                })
                .collect::<Result<_, _>>()?;
            let filter = selection.map(|e| expr(&e)).transpose()?;
            Ok(SqlStmt::Update { table, assignments, filter })
        }
        Statement::Delete(d) => delete(d),
        Statement::Set(ast::Set::SingleAssignment { scope: None, hivevar: false, variable, mut values }) if values.len() == 1 => {
            let name = object_name(&variable)?;
            let value = literal_only(&values.remove(0), "the value of SET")?;
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

fn query(q: Query) -> Result<SqlSelect, SqlError> {
    let Query {
        with,
        body,
        order_by,
        limit_clause,
        fetch,
        locks,
        for_clause,
        settings,
        format_clause,
        pipe_operators,
    } = q;
    if with.is_some() {
        return Err(SqlError::unsupported(
            "WITH (common table expressions)",
            "query the tables directly",
        ));
    }
    if order_by.is_some() {
        return Err(SqlError::unsupported(
            "ORDER BY",
            "results come in no particular order; sort them in the client",
        ));
    }
    if fetch.is_some()
        || !locks.is_empty()
        || for_clause.is_some()
        || settings.is_some()
        || format_clause.is_some()
        || !pipe_operators.is_empty()
    {
        return Err(SqlError::unsupported(
            "FETCH, FOR, SETTINGS, FORMAT and pipe clauses",
            "use `LIMIT n`",
        ));
    }
    let limit = match limit_clause {
        None => None,
        Some(LimitClause::LimitOffset {
            limit,
            offset: None,
            limit_by,
        }) if limit_by.is_empty() => limit.map(|e| limit_value(&e)).transpose()?,
        Some(_) => return Err(SqlError::unsupported("OFFSET", "use `LIMIT n` alone")),
    };
    let select = match *body {
        SetExpr::Select(select) => *select,
        SetExpr::SetOperation { op, .. } => {
            return Err(SqlError::unsupported(
                format!("set operations ({op})"),
                "run each SELECT on its own",
            ))
        }
        SetExpr::Query(_) => return Err(SqlError::unsupported("subqueries", "query the table directly")),
        SetExpr::Values(_) => {
            return Err(SqlError::unsupported(
                "a bare VALUES list",
                "use `INSERT INTO t VALUES (…)`",
            ))
        }
        _ => {
            return Err(SqlError::unsupported(
                "this kind of query",
                "write `SELECT … FROM t [WHERE …]`",
            ))
        }
    };
    let mut parsed = select_body(select)?;
    parsed.limit = limit;
    Ok(parsed)
}

fn limit_value(e: &Expr) -> Result<u64, SqlError> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<u64>().ok(),
            _ => None,
        },
        _ => None,
    }
    .ok_or_else(|| SqlError::unsupported(format!("LIMIT {e}"), "LIMIT takes a non-negative integer literal"))
}

fn select_body(s: Select) -> Result<SqlSelect, SqlError> {
    if s.distinct.is_some() {
        return Err(SqlError::unsupported(
            "DISTINCT",
            "rows of a table are already distinct; remove DISTINCT",
        ));
    }
    match &s.group_by {
        GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty() => {}
        _ => {
            return Err(SqlError::unsupported(
                "GROUP BY",
                "only `COUNT(*) AS n` over the whole result is supported",
            ))
        }
    }
    if s.having.is_some() {
        return Err(SqlError::unsupported("HAVING", "filter rows with WHERE"));
    }
    if s.top.is_some() {
        return Err(SqlError::unsupported("TOP", "use `LIMIT n`"));
    }
    if s.into.is_some()
        || !s.lateral_views.is_empty()
        || s.prewhere.is_some()
        || !s.cluster_by.is_empty()
        || !s.distribute_by.is_empty()
        || !s.sort_by.is_empty()
        || !s.named_window.is_empty()
        || s.qualify.is_some()
        || s.connect_by.is_some()
        || s.exclude.is_some()
        || s.value_table_mode.is_some()
    {
        return Err(SqlError::unsupported(
            "this SELECT clause",
            "write `SELECT … FROM t [JOIN …] [WHERE …] [LIMIT n]`",
        ));
    }
    let mut from = s.from;
    let twj = match from.len() {
        0 => {
            return Err(SqlError::unsupported(
                "SELECT without FROM",
                "select from a table: `SELECT * FROM t`",
            ))
        }
        1 => from.remove(0),
        _ => {
            return Err(SqlError::unsupported(
                "implicit joins (`FROM a, b`)",
                "write an explicit join: `FROM a JOIN b ON a.x = b.y`",
            ))
        }
    };
    let TableWithJoins { relation, joins } = twj;
    let from = table_factor(relation)?;
    let joins = joins
        .into_iter()
        .map(|j| {
            if j.global {
                return Err(SqlError::unsupported("GLOBAL joins", "write `JOIN t ON a.x = t.y`"));
            }
            let constraint = match j.join_operator {
                JoinOperator::Join(c) | JoinOperator::Inner(c) => c,
                JoinOperator::CrossJoin(JoinConstraint::None) => JoinConstraint::None,
                JoinOperator::Left(_)
                | JoinOperator::LeftOuter(_)
                | JoinOperator::Right(_)
                | JoinOperator::RightOuter(_)
                | JoinOperator::FullOuter(_) => {
                    return Err(SqlError::unsupported(
                        "outer joins",
                        "use an inner join: `JOIN t ON a.x = t.y`",
                    ))
                }
                _ => {
                    return Err(SqlError::unsupported(
                        "this kind of join",
                        "use an inner join: `JOIN t ON a.x = t.y`",
                    ))
                }
            };
            let on = match constraint {
                JoinConstraint::None => None,
                JoinConstraint::On(e) => Some(join_condition(&e)?),
                JoinConstraint::Using(_) | JoinConstraint::Natural => {
                    return Err(SqlError::unsupported(
                        "USING and NATURAL joins",
                        "write the condition: `ON a.x = t.y`",
                    ))
                }
            };
            Ok(SqlJoin {
                table: table_factor(j.relation)?,
                on,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let projection = projection(s.projection)?;
    let filter = s.selection.map(|e| expr(&e)).transpose()?;
    Ok(SqlSelect {
        projection,
        from,
        joins,
        filter,
        limit: None,
    })
}

fn join_condition(e: &Expr) -> Result<(SqlColumn, SqlColumn), SqlError> {
    let err = || {
        SqlError::unsupported(
            format!("the join condition `{e}`"),
            "join on an equality of two columns: `ON a.x = b.y`",
        )
    };
    match e {
        Expr::Nested(inner) => join_condition(inner),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => match (expr(left)?, expr(right)?) {
            (SqlExpr::Column(l), SqlExpr::Column(r)) => Ok((l, r)),
            _ => Err(err()),
        },
        _ => Err(err()),
    }
}

fn table_factor(t: TableFactor) -> Result<SqlTable, SqlError> {
    match t {
        TableFactor::Table {
            name,
            alias,
            args: None,
            with_hints,
            version: None,
            with_ordinality: false,
            partitions,
            json_path: None,
            sample: None,
            index_hints,
        } if with_hints.is_empty() && partitions.is_empty() && index_hints.is_empty() => {
            let alias = match alias {
                None => None,
                Some(a) if a.columns.is_empty() => Some(a.name.value),
                Some(_) => {
                    return Err(SqlError::unsupported(
                        "column aliases on a table",
                        "alias columns in the SELECT list",
                    ))
                }
            };
            Ok(SqlTable {
                name: object_name(&name)?,
                alias,
            })
        }
        TableFactor::Derived { .. } => Err(SqlError::unsupported("subqueries in FROM", "query the table directly")),
        other => Err(SqlError::unsupported(
            format!("`{other}` in FROM"),
            "name a table: `FROM t [AS a]`",
        )),
    }
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

fn object_name(name: &ObjectName) -> Result<String, SqlError> {
    match &name.0[..] {
        [ObjectNamePart::Identifier(ident)] => Ok(ident.value.clone()),
        _ => Err(SqlError::unsupported(
            format!("the qualified name `{name}`"),
            "name the table alone, without a schema",
        )),
    }
}

fn column_from_parts(name: &ObjectName) -> Result<SqlColumn, SqlError> {
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

fn projection(items: Vec<SelectItem>) -> Result<SqlProjection, SqlError> {
    let mixed = || SqlError::unsupported("mixing `*` with other items", "select `*`, `t.*`, or a list of columns");
    let plain = |opts: &WildcardAdditionalOptions| {
        opts.opt_ilike.is_none()
            && opts.opt_exclude.is_none()
            && opts.opt_except.is_none()
            && opts.opt_replace.is_none()
            && opts.opt_rename.is_none()
    };
    let n = items.len();
    let mut columns = Vec::new();
    for item in items {
        match item {
            SelectItem::Wildcard(opts) if plain(&opts) => {
                return if n == 1 { Ok(SqlProjection::Star) } else { Err(mixed()) };
            }
            SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(name), opts) if plain(&opts) => {
                return if n == 1 {
                    Ok(SqlProjection::TableStar(object_name(&name)?))
                } else {
                    Err(mixed())
                };
            }
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                return Err(SqlError::unsupported(
                    "wildcard options (EXCLUDE, EXCEPT, …)",
                    "select `*` or list the columns",
                ))
            }
            SelectItem::UnnamedExpr(e) => {
                if is_count_star(&e)? {
                    return Err(SqlError::unsupported(
                        "COUNT(*) without an alias",
                        "name it: `SELECT COUNT(*) AS n FROM t`",
                    ));
                }
                columns.push((projected_column(&e)?, None));
            }
            SelectItem::ExprWithAlias { expr: e, alias } => {
                if is_count_star(&e)? {
                    return if n == 1 {
                        Ok(SqlProjection::Count(alias.value))
                    } else {
                        Err(SqlError::unsupported(
                            "COUNT(*) together with other items",
                            "select `COUNT(*) AS n` on its own",
                        ))
                    };
                }
                columns.push((projected_column(&e)?, Some(alias.value)));
            }
        }
    }
    Ok(SqlProjection::Columns(columns))
}

fn projected_column(e: &Expr) -> Result<SqlColumn, SqlError> {
    match expr(e)? {
        SqlExpr::Column(c) => Ok(c),
        _ => Err(SqlError::unsupported(
            format!("the select item `{e}`"),
            "select columns (`c`, `t.c`), `*`, `t.*` or `COUNT(*) AS n`",
        )),
    }
}

/// Whether `e` is `COUNT(*)`; an error for any other function call.
fn is_count_star(e: &Expr) -> Result<bool, SqlError> {
    let Expr::Function(f) = e else {
        return Ok(false);
    };
    let name = f.name.to_string().to_lowercase();
    let aggregates = [
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "array_agg",
        "string_agg",
        "bool_and",
        "bool_or",
    ];
    if name != "count" {
        return Err(if aggregates.contains(&name.as_str()) {
            SqlError::unsupported(
                format!("the aggregate {}", name.to_uppercase()),
                "only `COUNT(*) AS n` is supported; compute others in the client",
            )
        } else {
            SqlError::unsupported(format!("the function {name}"), "select plain columns")
        });
    }
    let star = match &f.args {
        FunctionArguments::List(list) => {
            list.duplicate_treatment.is_none()
                && list.clauses.is_empty()
                && matches!(&list.args[..], [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)])
        }
        _ => false,
    };
    if !star || f.filter.is_some() || f.over.is_some() || !f.within_group.is_empty() {
        return Err(SqlError::unsupported(
            format!("`{e}`"),
            "only `COUNT(*) AS n` is supported",
        ));
    }
    Ok(true)
}

fn literal_only(e: &Expr, place: &str) -> Result<SqlLit, SqlError> {
    match expr(e)? {
        SqlExpr::Lit(l) => Ok(l),
        _ => Err(SqlError::unsupported(
            format!("`{e}` as {place}"),
            "write a literal value",
        )),
    }
}

/// Converts a `sqlparser` expression of the supported predicate grammar.
fn expr(e: &Expr) -> Result<SqlExpr, SqlError> {
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
                BinaryOperator::And => return Ok(SqlExpr::And(Box::new(expr(left)?), Box::new(expr(right)?))),
                BinaryOperator::Or => return Ok(SqlExpr::Or(Box::new(expr(left)?), Box::new(expr(right)?))),
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

fn insert(ins: ast::Insert) -> Result<SqlStmt, SqlError> {
    let ast::Insert {
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
        ast::TableObject::TableName(name) => object_name(&name)?,
        ast::TableObject::TableFunction(_) => {
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

fn delete(d: ast::Delete) -> Result<SqlStmt, SqlError> {
    let ast::Delete {
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
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    if from.len() != 1 {
        return Err(SqlError::unsupported(
            "DELETE from several tables",
            "delete from one table at a time",
        ));
    }
    let table = single_table(from.remove(0), "DELETE")?;
    let filter = selection.map(|e| expr(&e)).transpose()?;
    Ok(SqlStmt::Delete { table, filter })
}
