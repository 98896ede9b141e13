//! [`Environments`]: the environment values of each database (2.14's module environment),
//! which modules read with the `spacetime_10.6` import `env_get`.
//!
//! Values belong to a database, not to a module: the server sets them (`spacetime publish
//! --env`, `spacetime env set`) and every instance of that database reads the current ones.
//! They live in the runtime, keyed by database identity, so setting them needs no request
//! to the database's actor and instances need no per-call plumbing.

use spacetime_sats::Identity;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// The values of one database, key to value.
pub type EnvironmentValues = BTreeMap<String, String>;

/// Every database's environment values; cheap to clone (shared).
#[derive(Clone, Default, Debug)]
pub struct Environments {
    inner: Arc<RwLock<HashMap<Identity, Arc<EnvironmentValues>>>>,
}

impl Environments {
    /// Replaces the values of `database`.
    pub fn set(&self, database: Identity, values: EnvironmentValues) {
        self.write().insert(database, Arc::new(values));
    }

    /// The values of `database` (empty if none were set).
    pub fn get(&self, database: Identity) -> Arc<EnvironmentValues> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        map.get(&database).cloned().unwrap_or_default()
    }

    /// Forgets `database` (it was deleted).
    pub fn remove(&self, database: Identity) {
        self.write().remove(&database);
    }

    /// The value of `key` for `database`.
    pub(crate) fn value(&self, database: Identity, key: &str) -> Option<String> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        map.get(&database).and_then(|values| values.get(key).cloned())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Identity, Arc<EnvironmentValues>>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}
