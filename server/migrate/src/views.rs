//! Views added, removed or redefined. A view holds no data of its own (the server
//! evaluates it again from the tables after every update), so every change is
//! automatic; the plan lists them because clients built against the old bindings read
//! the old row type.

use crate::types::type_name;
use crate::Step;
use spacetime_sats::def::model::{ModuleDef, ViewDef};
use spacetime_sats::AlgebraicType;

/// What differs between two definitions of a view, in plain words.
fn change(old: &ViewDef, old_def: &ModuleDef, new: &ViewDef, new_def: &ModuleDef) -> Option<String> {
    let mut changes = Vec::new();
    let row = |v: &ViewDef, def: &ModuleDef| type_name(&AlgebraicType::Ref(v.product_type_ref), &def.typespace);
    let (old_row, new_row) = (row(old, old_def), row(new, new_def));
    if old_row != new_row {
        changes.push(format!("its rows changed from {old_row} to {new_row}"));
    }
    let kind = |v: &ViewDef| if v.is_anonymous { "anonymous" } else { "per caller" };
    if old.is_anonymous != new.is_anonymous {
        changes.push(format!("it is now {} (was {})", kind(new), kind(old)));
    }
    let returns = |v: &ViewDef| if v.returns_option { "Option" } else { "Vec" };
    if old.returns_option != new.returns_option {
        changes.push(format!("it now returns {} (was {})", returns(new), returns(old)));
    }
    if old.returns_query != new.returns_query {
        changes.push(
            if new.returns_query {
                "it now returns a query"
            } else {
                "it now returns rows"
            }
            .to_owned(),
        );
    }
    let (old_params, new_params) = (
        crate::params_text(&old.params, old_def),
        crate::params_text(&new.params, new_def),
    );
    if old_params != new_params {
        changes.push(format!("its parameters changed from {old_params} to {new_params}"));
    }
    if old.is_public != new.is_public {
        changes.push(
            if new.is_public {
                "it is now public"
            } else {
                "it is now private"
            }
            .to_owned(),
        );
    }
    let key = |v: &ViewDef| {
        v.primary_key
            .and_then(|c| v.columns.get(c.idx()))
            .map_or_else(|| "none".to_owned(), |c| format!("`{}`", c.name))
    };
    if key(old) != key(new) {
        changes.push(format!("its primary key changed from {} to {}", key(old), key(new)));
    }
    (!changes.is_empty()).then(|| changes.join("; "))
}

/// Adds a step for each view of `old` or `new` that is not the same in both.
pub(crate) fn diff(old: &ModuleDef, new: &ModuleDef, steps: &mut Vec<Step>) {
    for view in &old.views {
        match new.views.iter().find(|v| v.name == view.name) {
            None => steps.push(Step::RemoveView {
                view: view.name.clone(),
            }),
            Some(updated) => {
                if let Some(change) = change(view, old, updated, new) {
                    steps.push(Step::ChangeView {
                        view: view.name.clone(),
                        change,
                    });
                }
            }
        }
    }
    for view in &new.views {
        if old.views.iter().all(|v| v.name != view.name) {
            steps.push(Step::AddView {
                view: view.name.clone(),
            });
        }
    }
}
