//! Databases' environment values (2.14's module environment): kept in the host runtime,
//! where modules read them (`env_get`), and in one JSON file per database under
//! `control-db/env/` so they survive a restart (nothing is written on an in-memory
//! server). Values are plain text readable by the database's owner.

use crate::state::AppState;
use serde_json::{Map, Value};
use spacetime_host::EnvironmentValues;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::validate::env_key_problem;
use spacetime_sats::Identity;
use std::path::PathBuf;

/// Why a database's environment values were refused.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// The key is not a POSIX environment name.
    #[error(
        "environment key `{key}` is invalid: {problem}; use ASCII letters, digits and `_`, not starting with a digit"
    )]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The module declares the key with a fixed set of values and this is not one of them.
    #[error("environment key `{key}` of database `{db}` takes one of {allowed:?}, not {value:?}")]
    NotAllowed {
        /// The database.
        db: String,
        /// The key.
        key: String,
        /// The values the module allows.
        allowed: Vec<String>,
        /// The value given.
        value: String,
    },
    /// A change that is neither a string nor `null`.
    #[error("the value of environment key `{key}` must be a string (or null to remove it), not {value}")]
    NotAString {
        /// The key.
        key: String,
        /// The JSON given.
        value: Value,
    },
    /// The module declares keys as required (not `Option`) and they have no value.
    #[error(
        "the module of database `{db}` requires the environment value{} {} (declared without `Option`), which {} not set: \
         give `{}` to `spacetime publish`, or run `spacetime env set {db} {}`",
        if keys.len() == 1 { "" } else { "s" },
        keys.join(", "),
        if keys.len() == 1 { "is" } else { "are" },
        keys.iter().map(|k| format!("--env {k}=<value>")).collect::<Vec<_>>().join(" "),
        keys.iter().map(|k| format!("{k}=<value>")).collect::<Vec<_>>().join(" ")
    )]
    MissingRequired {
        /// The database.
        db: String,
        /// The required keys without a value.
        keys: Vec<String>,
    },
}

/// Applies `changes` (a string sets a key, `null` removes it) to `values`, checking each
/// key's name and, where `module` declares a fixed set of values for it, the value. Every
/// change is checked before `values` is touched.
///
/// # Errors
/// The first change refused; `values` is unchanged then.
pub fn apply_changes(
    module: &ModuleDef,
    db: &str,
    values: &mut EnvironmentValues,
    changes: Map<String, Value>,
) -> Result<(), EnvError> {
    let mut changed = values.clone();
    for (key, value) in changes {
        if let Some(problem) = env_key_problem(&key) {
            return Err(EnvError::InvalidKey { key, problem });
        }
        match value {
            Value::Null => {
                changed.remove(&key);
            }
            Value::String(text) => {
                let allowed = module.environment_key(&key).and_then(|k| k.allowed.clone());
                if let Some(allowed) = allowed.filter(|a| !a.contains(&text)) {
                    return Err(EnvError::NotAllowed {
                        db: db.to_owned(),
                        key,
                        allowed,
                        value: text,
                    });
                }
                changed.insert(key, text);
            }
            other => return Err(EnvError::NotAString { key, value: other }),
        }
    }
    *values = changed;
    Ok(())
}

/// Checks that every key `module` declares as required has a value in `values`.
///
/// # Errors
/// [`EnvError::MissingRequired`] naming every such key without one.
pub fn check_required(module: &ModuleDef, db: &str, values: &EnvironmentValues) -> Result<(), EnvError> {
    let keys: Vec<String> = module
        .environment
        .iter()
        .filter(|key| !key.optional && !values.contains_key(&key.name))
        .map(|key| key.name.clone())
        .collect();
    if keys.is_empty() {
        Ok(())
    } else {
        Err(EnvError::MissingRequired {
            db: db.to_owned(),
            keys,
        })
    }
}

/// The directory of the environment files.
fn dir(state: &AppState) -> PathBuf {
    state.config().data_dir.join("control-db").join("env")
}

fn path(state: &AppState, database: Identity) -> PathBuf {
    dir(state).join(format!("{}.json", database.to_hex()))
}

/// Loads every database's stored values into the host runtime; run before databases start
/// so their `init` and restored reducers see them. An unreadable file is logged and skipped.
pub fn load_all(state: &AppState) {
    if state.config().in_memory {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir(state)) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(identity) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|hex| Identity::from_hex(hex).ok())
        else {
            continue;
        };
        let parsed = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<EnvironmentValues>(&bytes).map_err(|e| e.to_string()));
        match parsed {
            Ok(values) => state.host().environments().set(identity, values),
            Err(e) => log::error!(
                "cannot read the environment of database {identity} from {}: {e}",
                path.display()
            ),
        }
    }
}

/// Stores `values` as the environment of `database` (in the runtime, and on disk unless
/// the server is in memory).
///
/// # Errors
/// The file could not be written; the runtime keeps the old values then.
pub fn store(state: &AppState, database: Identity, values: EnvironmentValues) -> std::io::Result<()> {
    if !state.config().in_memory {
        let path = path(state, database);
        std::fs::create_dir_all(dir(state))?;
        let json = serde_json::to_vec_pretty(&values).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, &path)?;
    }
    state.host().environments().set(database, values);
    Ok(())
}

/// Forgets the environment of a deleted `database` (in the runtime and on disk).
pub fn remove(state: &AppState, database: Identity) {
    state.host().environments().set(database, EnvironmentValues::new());
    if !state.config().in_memory {
        let path = path(state, database);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                log::warn!("cannot remove {}: {e}", path.display());
            }
        }
    }
}
