//! The one admission check for client reducer calls, HTTP and WebSocket alike: the
//! reducer must exist, must not be a lifecycle reducer (the server calls those), and a
//! private (scheduled) reducer may be called only by the database owner.

use crate::error::CallRefused;
use spacetime_sats::def::model::{ModuleDef, ReducerDef};
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::ReducerId;

/// The reducer `name` of `module` (its id and definition) if a client that `is_owner`
/// (or not) may call it.
///
/// # Errors
/// [`CallRefused`] saying why not.
pub(crate) fn admit_reducer<'m>(
    module: &'m ModuleDef,
    name: &str,
    is_owner: bool,
) -> Result<(ReducerId, &'m ReducerDef), CallRefused> {
    let Some((id, reducer)) = module.reducer(name) else {
        let callable = module
            .reducers
            .iter()
            .filter(|r| r.lifecycle.is_none())
            .map(|r| r.name.clone())
            .collect();
        return Err(CallRefused::NoSuchReducer {
            name: name.to_owned(),
            callable,
        });
    };
    if let Some(lifecycle) = reducer.lifecycle.clone() {
        return Err(CallRefused::Lifecycle {
            name: name.to_owned(),
            lifecycle,
        });
    }
    if matches!(reducer.visibility, FunctionVisibility::Private) && !is_owner {
        return Err(CallRefused::Private { name: name.to_owned() });
    }
    Ok((id, reducer))
}
