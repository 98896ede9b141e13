//! Row-level security: the module's `#[client_visibility_filter]` rules, checked once per
//! module ([`RlsRules::compile`], which is also the publish-time check) and bound to one
//! caller ([`RlsRules::bind`]) into a [`Visibility`], the one place that decides which rows
//! of a table that caller may see.
//!
//! A filter is `SELECT * FROM t [WHERE …]` or `SELECT t.* FROM t JOIN … [WHERE …]` over a
//! public table `t`, where `:sender` is the caller reading. A row of `t` is visible to a
//! caller other than the database owner iff some filter of `t` returns it: several filters
//! are a union, and a row is visible once however many filters return it. Tables joined
//! inside a filter are read as that caller sees them (their own filters apply; `t` itself
//! is read whole, as upstream does), so filters must not refer to each other in a cycle.
//! The owner sees every row.
//!
//! Every read applies it the same way: [`Visibility::restrict`] adds each relation's
//! condition to a checked plan's filter, so SQL, one-off queries, subscriptions' initial
//! rows and deltas, and every side of a join go through it. A reader that is not a SQL
//! plan can use [`Visibility::visible_rows`] (a whole table) or check each row against
//! [`Visibility::row_condition`]. A view's own function is not such a reader: it reads
//! as the module does, past the filters, as upstream's views do (the engine's
//! `views.rs`); a query of the view's rows is restricted like any query.
//!
//! A one-table filter becomes a predicate on the row: a row's visibility then depends on
//! the row alone. A filter with a join becomes the set of rows it returns on the current
//! state, which changes when the joined tables change; [`Visibility::is_dynamic`] tells a
//! subscription that it must re-evaluate on such changes
//! ([`Visibility::dependencies`] lists the tables).

use crate::check::{check, choose_access};
use crate::error::SqlError;
use crate::exec;
use crate::parse::{parse, SqlProjection, SqlStmt};
use crate::plan::{Plan, Predicate, Projection, SelectPlan};
use crate::SqlAuth;
use spacetime_datastore::Datastore;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::raw::TableAccess;
use spacetime_sats::{Identity, ProductValue, TableId};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

/// Why a module's publish is refused for its row-level security filters: every filter
/// that does not check (so the author fixes them all in one round), never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RlsError {
    /// Each invalid filter, in the module's order (a cycle is reported once, last).
    pub filters: Vec<InvalidFilter>,
}

/// One filter that does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row-level security filter `{sql}` is invalid: {problem}")]
pub struct InvalidFilter {
    /// The filter's SQL, as the module wrote it.
    pub sql: String,
    /// What is wrong with it.
    pub problem: RlsProblem,
}

impl std::fmt::Display for RlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.filters.as_slice() {
            [one] => one.fmt(f),
            many => {
                write!(f, "{} row-level security filters are invalid:", many.len())?;
                for filter in many {
                    write!(f, "\n  - `{}`: {}", filter.sql, filter.problem)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for RlsError {}

/// What is wrong with a filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RlsProblem {
    /// It does not parse or check, as a query would not.
    #[error("{0}")]
    Sql(#[from] SqlError),
    /// It is not a query returning the whole rows of one table.
    #[error(
        "a filter must return the whole rows of one table: write `SELECT * FROM t [WHERE …]` or \
         `SELECT t.* FROM t JOIN u ON … [WHERE …]`, without LIMIT"
    )]
    Shape,
    /// It returns the rows of a private table, which no client but the owner sees anyway.
    #[error(
        "Cannot define RLS rule on private table: {0}. Please make table public if you wish to restrict access using \
         RLS."
    )]
    PrivateTable(String),
    /// Its joined tables have filters that lead back to its own table.
    #[error(
        "the filters of {0} refer to each other in a cycle, so none of them can be evaluated; remove the join that \
         closes the cycle"
    )]
    Cycle(String),
}

/// The module's filters, checked, by the table they filter. Empty for a module without
/// filters, which costs every read nothing.
#[derive(Debug, Clone, Default)]
pub struct RlsRules {
    by_table: BTreeMap<TableId, Vec<Rule>>,
}

/// One checked filter.
#[derive(Debug, Clone)]
struct Rule {
    /// The filter as the module wrote it (`st_row_level_security`'s rows).
    sql: String,
    /// The parsed filter, checked again per caller (which binds `:sender`).
    stmt: SqlStmt,
    /// The other tables it joins.
    joined: Vec<TableId>,
}

/// The module owner's view of the schema, which filters are checked with: a filter may
/// join a private table.
const AUTHOR: SqlAuth = SqlAuth {
    caller: Identity::ZERO,
    owner: Identity::ZERO,
};

impl RlsRules {
    /// Checks every filter of `module` against the tables of `ds` (which must have the
    /// module's tables).
    ///
    /// # Errors
    /// The first filter that does not parse or check, does not return whole rows of one
    /// table, filters a private table, or joins tables whose filters lead back to it.
    pub fn compile(module: &ModuleDef, ds: &Datastore) -> Result<Self, RlsError> {
        let mut rules = Self::default();
        let mut first_sql = BTreeMap::new();
        let mut invalid = Vec::new();
        for sql in &module.row_level_security {
            match compile_rule(sql, module, ds) {
                Ok((table, rule)) => {
                    first_sql.entry(table).or_insert_with(|| sql.clone());
                    rules.by_table.entry(table).or_default().push(rule);
                }
                Err(problem) => invalid.push(InvalidFilter {
                    sql: sql.clone(),
                    problem,
                }),
            }
        }
        if let Some((table, cycle)) = rules.find_cycle(ds) {
            invalid.push(InvalidFilter {
                sql: first_sql.get(&table).cloned().unwrap_or_default(),
                problem: RlsProblem::Cycle(cycle),
            });
        }
        if invalid.is_empty() {
            Ok(rules)
        } else {
            Err(RlsError { filters: invalid })
        }
    }

    /// Whether the module has no filters.
    pub fn is_empty(&self) -> bool {
        self.by_table.is_empty()
    }

    /// Each filter's table and text, by table.
    pub fn filters(&self) -> impl Iterator<Item = (TableId, &str)> + '_ {
        self.by_table
            .iter()
            .flat_map(|(table, rules)| rules.iter().map(move |r| (*table, r.sql.as_str())))
    }

    /// A filtered table whose filters, through their joins, lead back to it, with the
    /// names along the way.
    fn find_cycle(&self, ds: &Datastore) -> Option<(TableId, String)> {
        let name = |t: &TableId| {
            ds.table_schema(*t)
                .map_or_else(|_| format!("{t:?}"), |s| format!("`{}`", s.def.name))
        };
        for start in self.by_table.keys() {
            // Depth-first over the join graph from `start`, with an explicit stack of paths.
            let mut stack = vec![vec![*start]];
            let mut seen = BTreeSet::new();
            while let Some(path) = stack.pop() {
                let last = path[path.len() - 1];
                for rule in self.by_table.get(&last).into_iter().flatten() {
                    for next in &rule.joined {
                        if next == start {
                            let names: Vec<String> = path.iter().chain([start]).map(name).collect();
                            return Some((*start, names.join(" → ")));
                        }
                        if self.by_table.contains_key(next) && seen.insert(*next) {
                            let mut longer = path.clone();
                            longer.push(*next);
                            stack.push(longer);
                        }
                    }
                }
            }
        }
        None
    }

    /// The filters bound to `auth`'s caller: `:sender` is the caller. Nothing is
    /// restricted for the owner, or when the module has no filters.
    ///
    /// # Errors
    /// Only if a filter no longer checks against `ds` (its tables are gone).
    pub fn bind(&self, auth: &SqlAuth, module: &ModuleDef, ds: &Datastore) -> Result<Visibility, SqlError> {
        let mut visibility = Visibility::default();
        if auth.is_owner() {
            return Ok(visibility);
        }
        let author = SqlAuth {
            caller: auth.caller,
            ..AUTHOR
        };
        for (table, rules) in &self.by_table {
            let bound = rules
                .iter()
                .map(|rule| match check(&rule.stmt, &author, module, ds)? {
                    Plan::Select(plan) => Ok(plan),
                    _ => Err(SqlError::unsupported("a filter that is not a SELECT", "write a SELECT")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            visibility.tables.insert(*table, bound);
        }
        Ok(visibility)
    }
}

/// Parses and checks one filter: the table it filters and the rule.
fn compile_rule(sql: &str, module: &ModuleDef, ds: &Datastore) -> Result<(TableId, Rule), RlsProblem> {
    let stmt = parse(sql)?;
    let SqlStmt::Select(select) = &stmt else {
        return Err(RlsProblem::Shape);
    };
    let whole_rows = matches!(select.projection, SqlProjection::Star | SqlProjection::TableStar(_));
    if !whole_rows || select.limit.is_some() {
        return Err(RlsProblem::Shape);
    }
    let Plan::Select(plan) = check(&stmt, &AUTHOR, module, ds)? else {
        return Err(RlsProblem::Shape);
    };
    let Projection::Relation(returned) = plan.projection else {
        return Err(RlsProblem::Shape);
    };
    let table = plan.relations[returned].table_id;
    let schema = ds.table_schema(table).map_err(SqlError::from)?;
    if schema.def.access == TableAccess::Private {
        return Err(RlsProblem::PrivateTable(schema.def.name.clone()));
    }
    let joined: BTreeSet<TableId> = plan
        .relations
        .iter()
        .map(|r| r.table_id)
        .filter(|t| *t != table)
        .collect();
    let joined = joined.into_iter().collect();
    Ok((
        table,
        Rule {
            sql: sql.to_owned(),
            stmt,
            joined,
        },
    ))
}

/// The filters of a module bound to one caller: which rows of each table the caller may
/// see. The default restricts nothing (the owner's, or a module without filters).
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    /// Each filtered table's filters, checked for the caller.
    tables: BTreeMap<TableId, Vec<SelectPlan>>,
}

impl Visibility {
    /// Whether every row of every table is visible.
    pub fn is_unrestricted(&self) -> bool {
        self.tables.is_empty()
    }

    /// Whether some row of `table` may be hidden.
    pub fn restricts(&self, table: TableId) -> bool {
        self.tables.contains_key(&table)
    }

    /// Whether the visibility of rows of `tables` can change without the rows changing:
    /// some filter of theirs joins another table.
    pub fn is_dynamic(&self, tables: impl IntoIterator<Item = TableId>) -> bool {
        tables
            .into_iter()
            .filter_map(|t| self.tables.get(&t))
            .flatten()
            .any(|plan| plan.relations.len() > 1)
    }

    /// `tables` and every table whose changes can change which of their rows are
    /// visible: the tables their filters join, and theirs in turn.
    pub fn dependencies(&self, tables: impl IntoIterator<Item = TableId>) -> BTreeSet<TableId> {
        let mut out = BTreeSet::new();
        let mut pending: Vec<TableId> = tables.into_iter().collect();
        while let Some(table) = pending.pop() {
            if !out.insert(table) {
                continue;
            }
            for plan in self.tables.get(&table).into_iter().flatten() {
                pending.extend(plan.relations.iter().map(|r| r.table_id));
            }
        }
        out
    }

    /// Restricts every relation of `plan` to the rows the caller may see, by adding each
    /// one's condition to the plan's filter (the access path stays valid: the filter is
    /// checked on every tuple). Filters with joins are evaluated on `ds` now.
    ///
    /// # Errors
    /// Only if a table a filter reads is gone.
    pub fn restrict(&self, plan: &mut SelectPlan, ds: &Datastore) -> Result<(), SqlError> {
        for rel in 0..plan.relations.len() {
            if let Some(condition) = self.condition(plan.relations[rel].table_id, rel, ds)? {
                add_condition(plan, condition);
                if rel == 0 {
                    // A filter such as `owner = :sender` may make an index usable.
                    let schema = ds.table_schema(plan.relations[0].table_id)?;
                    plan.access = choose_access(schema, plan.filter.as_ref());
                }
            }
        }
        Ok(())
    }

    /// The rows of `table` the caller may see: the per-caller table scan for readers that
    /// are not a SQL plan.
    ///
    /// # Errors
    /// If `table` or a table a filter reads is gone.
    pub fn visible_rows(&self, table: TableId, ds: &Datastore) -> Result<Vec<ProductValue>, SqlError> {
        let condition = self.row_condition(table, ds)?;
        Ok(ds
            .scan(table)?
            .map(|row| row.to_product_value())
            .filter(|row| condition.as_ref().is_none_or(|c| c.eval(&[row])))
            .collect())
    }

    /// The condition a row of `table` must meet to be visible, for a reader that checks
    /// rows one at a time (`condition.eval(&[row])`); `None` if every row is visible. Filters with joins
    /// are evaluated on `ds` now, so the condition holds for this state only.
    ///
    /// # Errors
    /// If a table a filter reads is gone.
    pub fn row_condition(&self, table: TableId, ds: &Datastore) -> Result<Option<Predicate>, SqlError> {
        self.condition(table, 0, ds)
    }

    /// The condition on relation `rel` (a row of `table`) of a plan: the union of the
    /// table's filters, or `None` if every row is visible.
    fn condition(&self, table: TableId, rel: usize, ds: &Datastore) -> Result<Option<Predicate>, SqlError> {
        let Some(plans) = self.tables.get(&table) else {
            return Ok(None);
        };
        let mut any = Vec::with_capacity(plans.len());
        for plan in plans {
            if plan.relations.len() > 1 {
                any.push(Predicate::RowIn(rel, Arc::new(self.filter_rows(table, plan, ds)?)));
            } else {
                match &plan.filter {
                    // A filter without a condition shows every row.
                    None => return Ok(None),
                    Some(filter) => any.push(filter.on_relation(rel)),
                }
            }
        }
        Ok(Some(if any.len() == 1 {
            any.remove(0)
        } else {
            Predicate::Or(any)
        }))
    }

    /// The rows of `table` a filter with a join returns now, its other tables read as
    /// the caller sees them. Terminates because filters were refused if cyclic.
    fn filter_rows(
        &self,
        table: TableId,
        plan: &SelectPlan,
        ds: &Datastore,
    ) -> Result<HashSet<ProductValue>, SqlError> {
        let mut plan = plan.clone();
        for rel in 0..plan.relations.len() {
            let other = plan.relations[rel].table_id;
            if other == table {
                continue;
            }
            if let Some(condition) = self.condition(other, rel, ds)? {
                add_condition(&mut plan, condition);
            }
        }
        Ok(exec::select(&plan, ds)?.into_iter().collect())
    }
}

/// `plan`'s filter AND `condition`.
fn add_condition(plan: &mut SelectPlan, condition: Predicate) {
    plan.filter = Some(match plan.filter.take() {
        Some(filter) => filter.and(condition),
        None => condition,
    });
}
