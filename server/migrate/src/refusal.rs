//! Why an update cannot migrate automatically: one [`Refusal`] per problem, all of
//! them collected in [`Refusals`] so the publisher fixes everything in one go.

use std::fmt;

/// One change the planner cannot make automatically. Each message names the table,
/// the column and, where types are involved, both types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A column of a kept table is gone.
    #[error(
        "removing column `{column}` ({ty}) from table `{table}` needs a manual migration: its values would be lost"
    )]
    RemoveColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its type.
        ty: String,
    },
    /// The kept columns of a table are in another order, or a new column is not at the end.
    #[error(
        "reordering the columns of table `{table}` needs a manual migration: they were ({old}) and are now ({new}); \
         keep the existing columns in their order and add new ones at the end"
    )]
    ReorderColumns {
        /// The table.
        table: String,
        /// The old column order, comma-separated.
        old: String,
        /// The new column order, comma-separated.
        new: String,
    },
    /// A column's type changed in a way stored values do not decode as.
    #[error(
        "changing the type of column `{column}` of table `{table}` from {old} to {new} needs a manual migration: \
         {reason}"
    )]
    ChangeColumnType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The old type.
        old: String,
        /// The new type.
        new: String,
        /// Why, in plain words.
        reason: &'static str,
    },
    /// A column was added without a default for the existing rows.
    #[error(
        "adding column `{column}` ({ty}) to table `{table}` needs a default value for the existing rows: \
         annotate it with #[default(...)]"
    )]
    AddColumnWithoutDefault {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its type.
        ty: String,
    },
    /// A table became, or stopped being, an event table.
    #[error("changing table `{table}` {change} needs a manual migration")]
    ChangeEventFlag {
        /// The table.
        table: String,
        /// "into an event table" or "from an event table into a stored one".
        change: &'static str,
    },
    /// A table changed between system and user table.
    #[error("changing table `{table}` between a system and a user table needs a manual migration")]
    ChangeTableType {
        /// The table.
        table: String,
    },
}

/// Every reason an update cannot migrate automatically (never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusals(pub Vec<Refusal>);

impl fmt::Display for Refusals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "this update cannot migrate the database automatically")?;
        for refusal in &self.0 {
            write!(f, "\n- {refusal}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusals {}
