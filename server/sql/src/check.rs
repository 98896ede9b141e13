//! Checking: the untyped [`SqlStmt`] against the schema and the caller → a [`Plan`].
//!
//! Resolves tables (private ones are invisible to non-owners), columns and aliases,
//! types every literal at the column it meets, enforces that only the owner runs DML,
//! and chooses an index for the first table and each join where one applies.

use crate::error::SqlError;
use crate::lit::{convert, inline_refs, type_name};
use crate::parse::{CmpOp, SqlColumn, SqlExpr, SqlLit, SqlProjection, SqlSelect, SqlStmt, SqlTable};
use crate::plan::{
    Access, ColRef, DeletePlan, InsertPlan, JoinPlan, Operand, Plan, Predicate, Projection, Relation, SelectPlan,
    UpdatePlan,
};
use crate::SqlAuth;
use spacetime_datastore::{Datastore, IndexKind, TableSchema};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::{TableAccess, TableType};
use spacetime_sats::{AlgebraicType, AlgebraicValue, ColId, ProductType, ProductTypeElement, ProductValue, Typespace};
use std::collections::HashMap;
use std::ops::Bound;

/// Checks `stmt` for `auth`'s caller against `module` and the tables of `ds`.
///
/// # Errors
/// Unknown (or, for non-owners, private) tables, unknown columns, ambiguous or
/// wrongly qualified names, literals that do not fit their column, DML by a
/// non-owner, and `SET`/`SHOW`.
pub fn check(stmt: &SqlStmt, auth: &SqlAuth, module: &ModuleDef, ds: &Datastore) -> Result<Plan, SqlError> {
    let cx = Cx { auth, module, ds };
    match stmt {
        SqlStmt::Select(select) => cx.select(select).map(Plan::Select),
        SqlStmt::Insert { table, columns, rows } => {
            cx.require_owner("INSERT")?;
            cx.require_not_view(table)?;
            cx.insert(table, columns, rows).map(Plan::Insert)
        }
        SqlStmt::Update {
            table,
            assignments,
            filter,
        } => {
            cx.require_owner("UPDATE")?;
            cx.require_not_view(&table.name)?;
            let scope = cx.single_scope(table)?;
            let mut set = Vec::new();
            for (col, lit) in assignments {
                let c = scope.column(col)?;
                let value = scope.literal(c, lit)?;
                if set.iter().any(|(prev, _)| *prev == c.col) {
                    return Err(SqlError::Name(format!(
                        "column `{col}` is assigned twice; assign each column once"
                    )));
                }
                set.push((c.col, value));
            }
            let filter = filter.as_ref().map(|f| scope.predicate(f, auth)).transpose()?;
            let access = choose_access(scope.rels[0].schema, filter.as_ref());
            Ok(Plan::Update(UpdatePlan {
                table: scope.relation(0),
                access,
                filter,
                assignments: set,
            }))
        }
        SqlStmt::Delete { table, filter } => {
            cx.require_owner("DELETE")?;
            cx.require_not_view(&table.name)?;
            let scope = cx.single_scope(table)?;
            let filter = filter.as_ref().map(|f| scope.predicate(f, auth)).transpose()?;
            let access = choose_access(scope.rels[0].schema, filter.as_ref());
            Ok(Plan::Delete(DeletePlan {
                table: scope.relation(0),
                access,
                filter,
            }))
        }
        SqlStmt::Set { name, .. } | SqlStmt::Show { name } => Err(SqlError::unsupported(
            format!("`SET`/`SHOW {name}` here"),
            "settings are read and changed by one-off SQL statements (`spacetime sql`), not subscriptions",
        )),
    }
}

struct Cx<'a> {
    auth: &'a SqlAuth,
    module: &'a ModuleDef,
    ds: &'a Datastore,
}

/// A table in scope: how the query names it and its schema.
struct ScopeRel<'a> {
    reference: String,
    schema: &'a TableSchema,
}

/// The tables a statement can refer to, in `FROM`/`JOIN` order.
struct Scope<'a> {
    rels: Vec<ScopeRel<'a>>,
}

impl<'a> Cx<'a> {
    fn require_owner(&self, what: &str) -> Result<(), SqlError> {
        if self.auth.is_owner() {
            Ok(())
        } else {
            Err(SqlError::NotOwner(format!(
                "only the database owner may run {what} statements"
            )))
        }
    }

    /// Refuses DML on a view: its rows are the module's to compute.
    fn require_not_view(&self, name: &str) -> Result<(), SqlError> {
        match self.module.view(name) {
            Some(view) => Err(SqlError::ReadOnlyView(view.name.clone())),
            None => Ok(()),
        }
    }

    /// Resolves a table by canonical or accessor name; private tables exist only for
    /// the owner. A view resolves to the table holding its rows as the caller sees
    /// them (their own, for a per-caller view; for a view with parameters, those of
    /// the call's arguments; materialised by the engine).
    fn table(&self, table: &SqlTable) -> Result<&'a TableSchema, SqlError> {
        let name = table.name.as_str();
        let call = crate::view_call::resolve(self.module, table)?;
        let backing = call.map(|c| c.view.backing_table_name(self.auth.caller, &c.args));
        let canonical = match &backing {
            Some(backing) => backing.as_str(),
            None => self.module.table(name).map_or(name, |t| t.name.as_str()),
        };
        let missing = || SqlError::NoSuchTable(name.to_owned());
        let id = self.ds.table_id_from_name(canonical).map_err(|_| missing())?;
        let schema = self.ds.table_schema(id).map_err(|_| missing())?;
        // A view's table (a system table) is reached through the view's name only, so
        // a quoted `"view#identity"` cannot read another caller's rows.
        if backing.is_none() && schema.def.table_type == TableType::System {
            return Err(missing());
        }
        if schema.def.access == TableAccess::Private && !self.auth.is_owner() {
            return Err(missing());
        }
        Ok(schema)
    }

    fn single_scope(&self, table: &SqlTable) -> Result<Scope<'a>, SqlError> {
        let schema = self.table(table)?;
        Ok(Scope {
            rels: vec![ScopeRel {
                reference: table.reference().to_owned(),
                schema,
            }],
        })
    }

    fn select(&self, s: &SqlSelect) -> Result<SelectPlan, SqlError> {
        let mut scope = self.single_scope(&s.from)?;
        let mut joins = Vec::new();
        for join in &s.joins {
            let schema = self.table(&join.table)?;
            let reference = join.table.reference().to_owned();
            if scope.rels.iter().any(|r| r.reference == reference) {
                return Err(SqlError::Name(format!(
                    "`{reference}` names two tables of the query; give one an alias: `JOIN {} AS other`",
                    join.table.name
                )));
            }
            scope.rels.push(ScopeRel { reference, schema });
            let new = scope.rels.len() - 1;
            joins.push(match &join.on {
                None => JoinPlan::Cross,
                Some((a, b)) => scope.join(new, a, b)?,
            });
        }
        let filter = s.filter.as_ref().map(|f| scope.predicate(f, self.auth)).transpose()?;
        let (projection, schema) = scope.projection(&s.projection)?;
        let access = choose_access(scope.rels[0].schema, filter.as_ref());
        let relations = (0..scope.rels.len()).map(|i| scope.relation(i)).collect();
        Ok(SelectPlan {
            relations,
            access,
            joins,
            filter,
            projection,
            limit: s.limit,
            schema,
        })
    }

    fn insert(&self, table: &str, columns: &[String], rows: &[Vec<SqlLit>]) -> Result<InsertPlan, SqlError> {
        let schema = self.table(&SqlTable {
            name: table.to_owned(),
            alias: None,
            args: None,
        })?;
        let scope = Scope {
            rels: vec![ScopeRel {
                reference: table.to_owned(),
                schema,
            }],
        };
        let arity = schema.def.columns.len();
        // Positions of the listed columns in the row; all columns in order if none.
        let order = if columns.is_empty() {
            (0..arity)
                .map(|i| ColRef {
                    rel: 0,
                    col: ColId(i as u16),
                })
                .collect::<Vec<_>>()
        } else {
            let order = columns
                .iter()
                .map(|c| {
                    scope.column(&SqlColumn {
                        table: None,
                        column: c.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut seen = vec![false; arity];
            for c in &order {
                if std::mem::replace(&mut seen[c.col.idx()], true) {
                    return Err(SqlError::Name(format!(
                        "column `{}` is listed twice",
                        schema.def.columns[c.col.idx()].name
                    )));
                }
            }
            if let Some(missing) = seen.iter().position(|s| !s) {
                return Err(SqlError::Name(format!(
                    "INSERT must give every column a value, but `{}` is missing; columns without a value are not supported",
                    schema.def.columns[missing].name
                )));
            }
            order
        };
        let rows = rows
            .iter()
            .map(|row| {
                if row.len() != arity {
                    return Err(SqlError::Name(format!(
                        "INSERT INTO `{table}` needs {arity} values per row (one per column), but a row has {}",
                        row.len()
                    )));
                }
                let mut values = vec![AlgebraicValue::unit(); arity];
                for (c, lit) in order.iter().zip(row) {
                    values[c.col.idx()] = scope.literal(*c, lit)?;
                }
                Ok(ProductValue::new(values))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(InsertPlan {
            table: scope.relation(0),
            rows,
        })
    }
}

impl Scope<'_> {
    fn relation(&self, i: usize) -> Relation {
        let r = &self.rels[i];
        Relation {
            table_id: r.schema.table_id,
            table_name: view_name_of(&r.schema.def.name).to_owned(),
            alias: r.reference.clone(),
        }
    }

    fn typespace(&self, rel: usize) -> &Typespace {
        &self.rels[rel].schema.typespace
    }

    fn col_type(&self, c: ColRef) -> &AlgebraicType {
        &self.rels[c.rel].schema.def.columns[c.col.idx()].ty
    }

    fn col_name(&self, c: ColRef) -> &str {
        &self.rels[c.rel].schema.def.columns[c.col.idx()].name
    }

    fn describe(&self, c: ColRef) -> String {
        let name = self.col_name(c);
        if self.rels.len() > 1 {
            format!("`{}.{name}`", self.rels[c.rel].reference)
        } else {
            format!("`{name}`")
        }
    }

    fn column(&self, c: &SqlColumn) -> Result<ColRef, SqlError> {
        let rel = match &c.table {
            Some(q) => self.rels.iter().position(|r| r.reference == *q).ok_or_else(|| {
                let names = self
                    .rels
                    .iter()
                    .map(|r| format!("`{}`", r.reference))
                    .collect::<Vec<_>>()
                    .join(", ");
                SqlError::Name(format!(
                    "unknown table or alias `{q}` in `{c}`; this statement's tables are {names}"
                ))
            })?,
            None if self.rels.len() == 1 => 0,
            None => {
                return Err(SqlError::Name(format!(
                    "column `{}` must be qualified with its table in a join, e.g. `{}.{}`",
                    c.column, self.rels[0].reference, c.column
                )))
            }
        };
        let def = &self.rels[rel].schema.def;
        let col = def.column(&c.column).ok_or_else(|| SqlError::NoSuchColumn {
            column: c.column.clone(),
            scope: format!("table `{}`", def.name),
        })?;
        Ok(ColRef { rel, col: col.col_id })
    }

    fn literal(&self, c: ColRef, lit: &SqlLit) -> Result<AlgebraicValue, SqlError> {
        let ty = self.col_type(c);
        convert(lit, ty, self.typespace(c.rel)).map_err(|why| {
            SqlError::Type(format!(
                "column {} has type {}, which the literal {lit} does not fit: {why}",
                self.describe(c),
                type_name(ty, self.typespace(c.rel))
            ))
        })
    }

    fn resolved(&self, c: ColRef) -> AlgebraicType {
        inline_refs(self.col_type(c), self.typespace(c.rel))
    }

    fn join(&self, new: usize, a: &SqlColumn, b: &SqlColumn) -> Result<JoinPlan, SqlError> {
        let (a, b) = (self.column(a)?, self.column(b)?);
        let (probe, build) = match (a.rel == new, b.rel == new) {
            (true, false) => (b, a),
            (false, true) => (a, b),
            _ => {
                return Err(SqlError::Name(format!(
                    "the ON condition of the join with `{}` must equate one of its columns with a column of an earlier table",
                    self.rels[new].reference
                )))
            }
        };
        if self.resolved(probe) != self.resolved(build) {
            return Err(SqlError::Type(format!(
                "cannot join {} of type {} with {} of type {}",
                self.describe(probe),
                type_name(self.col_type(probe), self.typespace(probe.rel)),
                self.describe(build),
                type_name(self.col_type(build), self.typespace(build.rel))
            )));
        }
        let index = self.rels[new]
            .schema
            .indexes
            .iter()
            .find(|ix| ix.columns[..] == [build.col]);
        Ok(match index {
            Some(ix) => JoinPlan::IndexLookup {
                index: ix.index_id,
                probe,
            },
            None => JoinPlan::Hash {
                probe,
                build: build.col,
            },
        })
    }

    fn predicate(&self, e: &SqlExpr, auth: &SqlAuth) -> Result<Predicate, SqlError> {
        match e {
            // Recursion here follows nesting only (flat chains are lists), which parsing
            // bounds by `MAX_EXPR_DEPTH`.
            SqlExpr::And(terms) => Ok(Predicate::And(
                terms
                    .iter()
                    .map(|t| self.predicate(t, auth))
                    .collect::<Result<_, _>>()?,
            )),
            SqlExpr::Or(terms) => Ok(Predicate::Or(
                terms
                    .iter()
                    .map(|t| self.predicate(t, auth))
                    .collect::<Result<_, _>>()?,
            )),
            SqlExpr::Lit(SqlLit::Bool(b)) => Ok(Predicate::Const(*b)),
            SqlExpr::Column(c) => {
                let c = self.column(c)?;
                if self.resolved(c) != AlgebraicType::Bool {
                    return Err(SqlError::Type(format!(
                        "column {} of type {} is not a condition; compare it with a value",
                        self.describe(c),
                        type_name(self.col_type(c), self.typespace(c.rel))
                    )));
                }
                Ok(Predicate::Cmp(
                    CmpOp::Eq,
                    Operand::Column(c),
                    Operand::Value(AlgebraicValue::Bool(true)),
                ))
            }
            SqlExpr::Lit(_) | SqlExpr::Sender => Err(SqlError::Type(
                "a WHERE condition must be a comparison, such as `a = 1`".into(),
            )),
            SqlExpr::Cmp(op, l, r) => self.comparison(*op, l, r, auth),
        }
    }

    fn comparison(&self, op: CmpOp, l: &SqlExpr, r: &SqlExpr, auth: &SqlAuth) -> Result<Predicate, SqlError> {
        let nested = || {
            SqlError::unsupported(
                "comparing the result of a comparison",
                "combine comparisons with AND and OR",
            )
        };
        let (col, other, op) = match (l, r) {
            (SqlExpr::Column(c), other) => (c, other, op),
            (other, SqlExpr::Column(c)) => (c, other, op.flip()),
            (SqlExpr::Lit(_) | SqlExpr::Sender, SqlExpr::Lit(_) | SqlExpr::Sender) => {
                return Err(SqlError::Type(
                    "a comparison needs a column on at least one side".into(),
                ))
            }
            _ => return Err(nested()),
        };
        let c = self.column(col)?;
        let rhs = match other {
            SqlExpr::Column(o) => {
                let o = self.column(o)?;
                if self.resolved(c) != self.resolved(o) {
                    return Err(SqlError::Type(format!(
                        "cannot compare {} of type {} with {} of type {}",
                        self.describe(c),
                        type_name(self.col_type(c), self.typespace(c.rel)),
                        self.describe(o),
                        type_name(self.col_type(o), self.typespace(o.rel))
                    )));
                }
                Operand::Column(o)
            }
            SqlExpr::Lit(lit) => Operand::Value(self.literal(c, lit)?),
            SqlExpr::Sender => {
                if !self.resolved(c).as_product().is_some_and(ProductType::is_identity) {
                    return Err(SqlError::Type(format!(
                        ":sender is an Identity, but column {} has type {}",
                        self.describe(c),
                        type_name(self.col_type(c), self.typespace(c.rel))
                    )));
                }
                Operand::Value(AlgebraicValue::product(vec![AlgebraicValue::from(
                    auth.caller.to_u256(),
                )]))
            }
            SqlExpr::Cmp(..) | SqlExpr::And(..) | SqlExpr::Or(..) => return Err(nested()),
        };
        Ok(Predicate::Cmp(op, Operand::Column(c), rhs))
    }

    fn projection(&self, p: &SqlProjection) -> Result<(Projection, ProductType), SqlError> {
        let row_type = |rel: usize| {
            let def = &self.rels[rel].schema.def;
            ProductType::new(
                def.columns
                    .iter()
                    .map(|c| ProductTypeElement::named(&c.name, inline_refs(&c.ty, self.typespace(rel))))
                    .collect(),
            )
        };
        Ok(match p {
            SqlProjection::Star if self.rels.len() > 1 => {
                return Err(SqlError::unsupported(
                    "`SELECT *` with joins",
                    format!("select one table's rows: `SELECT {}.* FROM …`", self.rels[0].reference),
                ))
            }
            SqlProjection::Star => (Projection::Relation(0), row_type(0)),
            SqlProjection::TableStar(t) => {
                let rel = self
                    .rels
                    .iter()
                    .position(|r| r.reference == *t)
                    .ok_or_else(|| SqlError::Name(format!("unknown table or alias `{t}` in `{t}.*`")))?;
                (Projection::Relation(rel), row_type(rel))
            }
            SqlProjection::Count(alias) => (
                Projection::Count,
                ProductType::named([(alias.as_str(), AlgebraicType::U64)]),
            ),
            SqlProjection::Columns(cols) => {
                let mut refs = Vec::new();
                let mut elems = Vec::new();
                for (c, alias) in cols {
                    let r = self.column(c)?;
                    // Upstream heads a column with its name as the query wrote it (an
                    // accessor name stays an accessor name), or its alias.
                    let name = alias.as_deref().unwrap_or(&c.column);
                    elems.push(ProductTypeElement::named(name, self.resolved(r)));
                    refs.push(r);
                }
                (Projection::Columns(refs), ProductType::new(elems))
            }
        })
    }
}

/// Bounds on one column collected from the conjuncts of a filter.
#[derive(Default)]
struct ColBounds {
    eq: Option<AlgebraicValue>,
    lower: Option<Bound<AlgebraicValue>>,
    upper: Option<Bound<AlgebraicValue>>,
}

/// Picks how to read the first relation: a point lookup on an index whose columns
/// the filter fixes with `=` (unique indexes first), else a btree range over fixed
/// leading columns and a bounded next column, else a scan. The filter is still
/// checked on every row, so any choice is correct; this only makes it cheaper.
pub fn choose_access(schema: &TableSchema, filter: Option<&Predicate>) -> Access {
    let Some(filter) = filter else {
        return Access::Scan;
    };
    let mut cols: HashMap<ColId, ColBounds> = HashMap::new();
    for conjunct in filter.conjuncts() {
        let Predicate::Cmp(op, Operand::Column(c), Operand::Value(v)) = conjunct else {
            continue;
        };
        if c.rel != 0 {
            continue;
        }
        let b = cols.entry(c.col).or_default();
        match op {
            CmpOp::Eq => b.eq = b.eq.take().or_else(|| Some(v.clone())),
            CmpOp::Gt => b.lower = b.lower.take().or_else(|| Some(Bound::Excluded(v.clone()))),
            CmpOp::Ge => b.lower = b.lower.take().or_else(|| Some(Bound::Included(v.clone()))),
            CmpOp::Lt => b.upper = b.upper.take().or_else(|| Some(Bound::Excluded(v.clone()))),
            CmpOp::Le => b.upper = b.upper.take().or_else(|| Some(Bound::Included(v.clone()))),
            CmpOp::Ne => {}
        }
    }
    let mut best: Option<(u32, Access)> = None;
    for ix in &schema.indexes {
        let fixed = ix
            .columns
            .iter()
            .take_while(|c| cols.get(c).is_some_and(|b| b.eq.is_some()))
            .count();
        let eq = |c: &ColId| cols[c].eq.clone().expect("counted as fixed");
        let candidate = if fixed == ix.columns.len() {
            let mut values = ix.columns.iter().map(eq).collect::<Vec<_>>();
            let key = if values.len() == 1 {
                values.remove(0)
            } else {
                AlgebraicValue::product(values)
            };
            let score = if ix.unique { 1000 } else { 500 } + fixed as u32;
            Some((
                score,
                Access::IndexPoint {
                    index: ix.index_id,
                    key,
                },
            ))
        } else if ix.kind == IndexKind::BTree {
            let next = cols.get(&ix.columns[fixed]);
            let ranged = next.is_some_and(|b| b.lower.is_some() || b.upper.is_some());
            (fixed > 0 || ranged).then(|| {
                let start = next.and_then(|b| b.lower.clone()).unwrap_or(Bound::Unbounded);
                let end = next.and_then(|b| b.upper.clone()).unwrap_or(Bound::Unbounded);
                let prefix = ix.columns[..fixed].iter().map(eq).collect();
                (
                    fixed as u32 * 10 + u32::from(ranged),
                    Access::IndexRange {
                        index: ix.index_id,
                        prefix,
                        start,
                        end,
                    },
                )
            })
        } else {
            None
        };
        if let Some((score, access)) = candidate {
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, access));
            }
        }
    }
    best.map_or(Access::Scan, |(_, a)| a)
}

/// The name clients know a table by: a per-caller view's table (`view#caller`) or a
/// view call's (`view(args)`) is the view's; any other table its own name.
fn view_name_of(table: &str) -> &str {
    table.split(['#', '(']).next().unwrap_or(table)
}
