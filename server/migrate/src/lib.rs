//! The migration planner: what publishing a new module over a running database does to
//! its schema and data, or every reason it cannot be done automatically.
//!
//! # Brief overview
//! [`plan`] compares two validated [`ModuleDef`]s and returns either a [`Plan`] (its
//! [`Step`]s in apply order: removals before additions) or [`Refusals`] (each
//! [`Refusal`] names the table, the column and both types). It reads definitions only;
//! the checks that need the rows (a removed table must be empty, a new unique
//! constraint must hold for the existing rows) are steps the engine checks when it
//! applies the plan.
//!
//! Automatic: tables added; empty tables removed; indexes, sequences and schedules
//! added, removed or redefined; unique constraints removed, or added once the rows are
//! checked; access and primary key changed; column types changed in a
//! layout-compatible way ([`types`]); event tables changed freely; reducers,
//! procedures, views and HTTP routes added, removed or changed (reported). Columns
//! added at the end with a default are automatic too, but old clients cannot decode
//! the new rows, so such a plan [breaks clients](Plan::breaks_clients). Refused: removed or reordered columns,
//! other type changes, columns added without a default, a table turned into or out
//! of an event table or between system and user.
#![deny(missing_docs)]

mod refusal;
mod routes;
mod step;
mod table;
pub mod types;
mod views;

#[cfg(test)]
mod tests;

pub use refusal::{Refusal, Refusals};
pub use step::Step;

use spacetime_sats::def::model::{ModuleDef, ProcedureDef, ReducerDef};
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::ProductType;
use types::type_name;

/// An automatic migration: its steps, in apply order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The steps; empty when nothing changes.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Whether applying the plan disconnects every client (it adds columns).
    pub fn breaks_clients(&self) -> bool {
        self.steps.contains(&Step::DisconnectAllClients)
    }

    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// One line per step, for logs and the version history.
    pub fn summary(&self) -> String {
        if self.steps.is_empty() {
            return "no schema change".to_owned();
        }
        self.steps
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Plans the migration of a database running `old` to `new`.
///
/// # Errors
/// [`Refusals`] holding every change that cannot migrate automatically.
pub fn plan(old: &ModuleDef, new: &ModuleDef) -> Result<Plan, Refusals> {
    let mut steps = Vec::new();
    let mut refusals = Vec::new();
    for table in &old.tables {
        match new.tables.iter().find(|t| t.name == table.name) {
            Some(updated) => table::diff(
                table,
                &old.typespace,
                updated,
                &new.typespace,
                &mut steps,
                &mut refusals,
            ),
            None => steps.push(Step::RemoveTable {
                table: table.name.clone(),
            }),
        }
    }
    for table in &new.tables {
        if old.tables.iter().all(|t| t.name != table.name) {
            steps.push(Step::AddTable {
                table: table.name.clone(),
            });
        }
    }
    diff_reducers(old, new, &mut steps);
    diff_procedures(old, new, &mut steps);
    views::diff(old, new, &mut steps);
    routes::diff(old, new, &mut steps);
    if old.row_level_security != new.row_level_security {
        steps.push(Step::ChangeOther {
            what: "change the row-level security filters".to_owned(),
        });
    }
    if !refusals.is_empty() {
        return Err(Refusals(refusals));
    }
    steps.sort();
    steps.dedup();
    Ok(Plan { steps })
}

/// Reducers added, removed or changed: automatic, reported.
fn diff_reducers(old: &ModuleDef, new: &ModuleDef, steps: &mut Vec<Step>) {
    for reducer in &old.reducers {
        match new.reducers.iter().find(|r| r.name == reducer.name) {
            None => steps.push(Step::RemoveReducer {
                reducer: reducer.name.clone(),
            }),
            Some(updated) => {
                if let Some(change) = reducer_change(reducer, old, updated, new) {
                    steps.push(Step::ChangeReducer {
                        reducer: reducer.name.clone(),
                        change,
                    });
                }
            }
        }
    }
    for reducer in &new.reducers {
        if old.reducers.iter().all(|r| r.name != reducer.name) {
            steps.push(Step::AddReducer {
                reducer: reducer.name.clone(),
            });
        }
    }
}

/// Procedures added, removed or changed: they hold no data, so each is reported as
/// [`Step::ChangeOther`].
fn diff_procedures(old: &ModuleDef, new: &ModuleDef, steps: &mut Vec<Step>) {
    let signature = |p: &ProcedureDef, def: &ModuleDef| {
        (
            params_text(&p.params, def),
            type_name(&p.return_type, &def.typespace),
            p.visibility == FunctionVisibility::ClientCallable,
        )
    };
    for procedure in &old.procedures {
        let what = match new.procedures.iter().find(|p| p.name == procedure.name) {
            None => format!("remove procedure `{}`", procedure.name),
            Some(updated) if signature(procedure, old) != signature(updated, new) => {
                let (params, ret, _) = signature(updated, new);
                format!(
                    "change procedure `{}`: it now takes {params} and returns {ret}",
                    procedure.name
                )
            }
            Some(_) => continue,
        };
        steps.push(Step::ChangeOther { what });
    }
    for procedure in &new.procedures {
        if old.procedures.iter().all(|p| p.name != procedure.name) {
            steps.push(Step::ChangeOther {
                what: format!("add procedure `{}`", procedure.name),
            });
        }
    }
}

/// `(name: type, ...)` for a parameter list, in messages.
fn params_text(params: &ProductType, def: &ModuleDef) -> String {
    let params = params.elements.iter().map(|p| {
        let ty = type_name(&p.algebraic_type, &def.typespace);
        match p.name() {
            Some(name) => format!("{name}: {ty}"),
            None => ty,
        }
    });
    format!("({})", params.collect::<Vec<_>>().join(", "))
}

/// What differs between two versions of a reducer, in plain words.
fn reducer_change(old: &ReducerDef, old_def: &ModuleDef, new: &ReducerDef, new_def: &ModuleDef) -> Option<String> {
    let (before, after) = (params_text(&old.params, old_def), params_text(&new.params, new_def));
    let mut changes = Vec::new();
    if before != after {
        changes.push(format!("its parameters changed from {before} to {after}"));
    }
    if old.lifecycle != new.lifecycle {
        changes.push(format!(
            "its lifecycle role changed from {:?} to {:?}",
            old.lifecycle, new.lifecycle
        ));
    }
    if old.visibility != new.visibility {
        changes.push(format!(
            "its visibility changed from {:?} to {:?}",
            old.visibility, new.visibility
        ));
    }
    (!changes.is_empty()).then(|| changes.join("; "))
}
