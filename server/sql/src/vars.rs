//! The database's SQL settings, upstream's `st_var`: `SET name = n` (the owner only),
//! `SHOW name`, and the one setting that changes what a query may do, `row_limit`.
//!
//! Upstream accepts four names: `row_limit` and three slow-query thresholds
//! (`slow_ad_hoc_query_ms`, `slow_tx_update_ms`, `slow_subscription_query_ms`), each a
//! `u64`. `SHOW` is `SELECT value FROM st_var WHERE name = …`, so it prints one column
//! `value` holding a `StVarValue` (`(U64 = 5)`), or no row for a setting never set.
//!
//! `row_limit` bounds the rows a query or subscription of anyone but the owner may read:
//! one whose estimate passes it is refused before it runs. The slow-query thresholds are kept and
//! shown; nothing here acts on them.

use crate::lit::convert;
use crate::parse::SqlLit;
use crate::plan::{Access, JoinPlan, SelectPlan};
use crate::{SqlAuth, SqlError, SqlOutcome};
use spacetime_datastore::Datastore;
use spacetime_sats::{AlgebraicType, AlgebraicValue, ProductType, ProductValue, Typespace};
use std::collections::BTreeMap;

/// The settings upstream knows.
pub const NAMES: [&str; 4] = [
    ROW_LIMIT,
    "slow_ad_hoc_query_ms",
    "slow_tx_update_ms",
    "slow_subscription_query_ms",
];

/// The setting that bounds the rows a non-owner's query reads.
pub const ROW_LIMIT: &str = "row_limit";

/// The values of the settings that have been set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlVars {
    values: BTreeMap<String, u64>,
}

impl SqlVars {
    /// The settings that have a value, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.values.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.values.get(name).copied()
    }

    /// Sets `name` to `value` without a caller: settings read back from where the engine
    /// keeps them.
    ///
    /// # Errors
    /// A name upstream does not know.
    pub fn restore(&mut self, name: &str, value: u64) -> Result<(), SqlError> {
        let name = known(name)?;
        self.values.insert(name.to_owned(), value);
        Ok(())
    }

    /// `SET name = value`, for `auth`'s caller.
    ///
    /// # Errors
    /// A caller other than the owner, a name upstream does not know, and a value that
    /// is not a `u64`.
    pub fn set(&mut self, name: &str, value: &SqlLit, auth: &SqlAuth) -> Result<(), SqlError> {
        if !auth.is_owner() {
            return Err(SqlError::NotOwner(
                "only the database owner may run SET statements".into(),
            ));
        }
        let name = known(name)?;
        let value = match convert(value, &AlgebraicType::U64, &Typespace::default()) {
            Ok(AlgebraicValue::U64(n)) => n,
            _ => {
                return Err(SqlError::Type(format!(
                    "`{name}` is a u64, which {value} is not; write a whole number such as `SET {name} = 1000`"
                )))
            }
        };
        self.values.insert(name.to_owned(), value);
        Ok(())
    }

    /// `SHOW name`: a column `value` with the setting's value, or no row if it was
    /// never set.
    ///
    /// # Errors
    /// A name upstream does not know.
    pub fn show(&self, name: &str) -> Result<SqlOutcome, SqlError> {
        let name = known(name)?;
        Ok(SqlOutcome {
            schema: ProductType::named([("value", value_type())]),
            rows: self
                .get(name)
                .map(|v| ProductValue::new(vec![value_of(v)]))
                .into_iter()
                .collect(),
            stats: Default::default(),
            tx: None,
        })
    }

    /// Refuses a query of anyone but the owner whose estimated rows read pass
    /// `row_limit`.
    ///
    /// # Errors
    /// [`SqlError::Limit`] naming the estimate and the limit.
    pub fn check_row_limit(&self, plan: &SelectPlan, auth: &SqlAuth, ds: &Datastore) -> Result<(), SqlError> {
        let Some(limit) = self.get(ROW_LIMIT) else {
            return Ok(());
        };
        if auth.is_owner() {
            return Ok(());
        }
        let estimate = estimate_rows(plan, ds);
        if estimate > limit {
            return Err(SqlError::Limit(format!(
                "Estimated cardinality ({estimate} rows) exceeds limit ({limit} rows); \
                 filter on an indexed column, or ask the owner to raise `row_limit`"
            )));
        }
        Ok(())
    }

    /// Refuses a subscription of anyone but the owner if one of its queries' estimated
    /// rows pass `row_limit`, as one-off queries are. A query that does not compile is
    /// left to the subscription to report.
    ///
    /// # Errors
    /// [`SqlError::Limit`] for the first query over the limit.
    pub fn check_queries(
        &self,
        queries: &[String],
        auth: &SqlAuth,
        catalog: crate::Catalog<'_>,
        ds: &Datastore,
    ) -> Result<(), SqlError> {
        if self.get(ROW_LIMIT).is_none() || auth.is_owner() {
            return Ok(());
        }
        for sql in queries {
            if let Ok(crate::plan::Plan::Select(plan)) = crate::compile(sql, auth, catalog, ds) {
                self.check_row_limit(&plan, auth, ds)?;
            }
        }
        Ok(())
    }
}

/// `name` if it is a setting upstream knows.
fn known(name: &str) -> Result<&str, SqlError> {
    NAMES.iter().find(|n| **n == name).copied().ok_or_else(|| {
        SqlError::Name(format!(
            "{name} is not a valid system variable; the variables are {}",
            NAMES.join(", ")
        ))
    })
}

/// Upstream's `StVarValue`, the type of `st_var.value`.
pub fn value_type() -> AlgebraicType {
    AlgebraicType::sum([
        ("Bool", AlgebraicType::Bool),
        ("I8", AlgebraicType::I8),
        ("U8", AlgebraicType::U8),
        ("I16", AlgebraicType::I16),
        ("U16", AlgebraicType::U16),
        ("I32", AlgebraicType::I32),
        ("U32", AlgebraicType::U32),
        ("I64", AlgebraicType::I64),
        ("U64", AlgebraicType::U64),
        ("I128", AlgebraicType::I128),
        ("U128", AlgebraicType::U128),
        ("F32", AlgebraicType::F32),
        ("F64", AlgebraicType::F64),
        ("String", AlgebraicType::String),
    ])
}

/// A `u64` setting as a `StVarValue`.
pub fn value_of(v: u64) -> AlgebraicValue {
    /// The tag of `U64` in [`value_type`].
    const U64_TAG: u8 = 8;
    AlgebraicValue::sum(U64_TAG, AlgebraicValue::U64(v))
}

/// How many rows `plan` reads, at most: the first table's rows (one for a unique
/// point lookup), and for each join the rows of its table when it is scanned (a hash
/// or cross join), or one per row so far for a unique index lookup.
fn estimate_rows(plan: &SelectPlan, ds: &Datastore) -> u64 {
    let count = |i: usize| {
        plan.relations
            .get(i)
            .and_then(|r| ds.row_count(r.table_id).ok())
            .unwrap_or(0)
    };
    let unique = |index| ds.index_schema(index).is_ok_and(|(_, ix)| ix.unique);
    let mut so_far = match &plan.access {
        Access::IndexPoint { index, .. } if unique(*index) => count(0).min(1),
        _ => count(0),
    };
    let mut total = so_far;
    for (i, join) in plan.joins.iter().enumerate() {
        let rel = i + 1;
        match join {
            JoinPlan::IndexLookup { index, .. } if unique(*index) => total = total.saturating_add(so_far),
            JoinPlan::IndexLookup { .. } => {
                so_far = so_far.saturating_mul(count(rel).max(1));
                total = total.saturating_add(so_far);
            }
            JoinPlan::Hash { .. } | JoinPlan::Cross => {
                total = total.saturating_add(count(rel));
                so_far = so_far.saturating_mul(count(rel).max(1));
            }
        }
    }
    total
}
