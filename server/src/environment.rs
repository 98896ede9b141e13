//! Databases' environment values (2.14's module environment): kept in the host runtime,
//! where modules read them (`env_get`), and in one JSON file per database under
//! `control-db/env/` so they survive a restart (nothing is written on an in-memory
//! server). Values are plain text readable by the database's owner.

use crate::state::AppState;
use spacetime_host::EnvironmentValues;
use spacetime_sats::Identity;
use std::path::PathBuf;

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
