//! `SELECT`: the query clauses the subset allows (`FROM` with inner joins, `WHERE`,
//! `LIMIT`), the projection (`*`, `t.*`, columns, `COUNT(*) AS n`), a view called with
//! arguments in `FROM` (`v(1, 'a')`), and rejections with what to write instead for
//! everything else a query may say.

use super::ast::{SqlColumn, SqlExpr, SqlJoin, SqlLit, SqlProjection, SqlSelect, SqlTable};
use super::expr::{expr, filter, literal_only, object_name};
use crate::error::SqlError;
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, JoinConstraint, JoinOperator,
    LimitClause, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, TableFactor, TableFunctionArgs,
    TableWithJoins, Value, WildcardAdditionalOptions,
};

pub(super) fn query(q: Query) -> Result<SqlSelect, SqlError> {
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
    let filter = s.selection.map(filter).transpose()?;
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

pub(super) fn table_factor(t: TableFactor) -> Result<SqlTable, SqlError> {
    match t {
        TableFactor::Table {
            name,
            alias,
            args,
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
            let args = args.map(view_args).transpose()?;
            Ok(SqlTable {
                name: object_name(&name)?,
                alias,
                args,
            })
        }
        TableFactor::Derived { .. } => Err(SqlError::unsupported("subqueries in FROM", "query the table directly")),
        other => Err(SqlError::unsupported(
            format!("`{other}` in FROM"),
            "name a table: `FROM t [AS a]`",
        )),
    }
}

/// The arguments of a view call, `FROM v(1, 'a')`: literals only, in order.
fn view_args(args: TableFunctionArgs) -> Result<Vec<SqlLit>, SqlError> {
    if args.settings.is_some() {
        return Err(SqlError::unsupported(
            "SETTINGS in a view call",
            "pass the arguments only",
        ));
    }
    (args.args.iter())
        .map(|arg| match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => literal_only(e, "a view argument"),
            other => Err(SqlError::unsupported(
                format!("`{other}` as a view argument"),
                "pass literal values in the order of the view's parameters: `v(1, 'a')`",
            )),
        })
        .collect()
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
