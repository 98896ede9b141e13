//! Shared set-up for the benchmarks: build and load the bench module
//! (`tests/modules/bench`), create its tables in a fresh datastore, and call its
//! reducers in process, exactly as the server's database actor does.
#![deny(missing_docs)]

#[path = "../../tests/src/modules.rs"]
#[allow(dead_code)]
mod modules;

use spacetime_datastore::Datastore;
use spacetime_host::{DiscardLogs, HostConfig, HostRuntime, ModuleInstance, ReducerCall, ReducerOutcome};
use spacetime_sats::bsatn::Encode;
use spacetime_sats::{Identity, ReducerId, Timestamp};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Which build of the bench module to run, from `SPACETIME_BENCH_BINDINGS`
/// (`ours`, the default, or `upstream`).
pub fn bindings_from_env() -> modules::Bindings {
    match std::env::var("SPACETIME_BENCH_BINDINGS").as_deref() {
        Ok("upstream") => modules::Bindings::Upstream,
        _ => modules::Bindings::Ours,
    }
}

/// The bench module's `.wasm` bytes, built if needed.
///
/// # Panics
/// If the module does not build.
pub fn bench_module_wasm() -> Vec<u8> {
    modules::module_bytes(modules::BENCH, bindings_from_env())
}

/// A database running the bench module.
pub struct BenchDb {
    /// Its datastore.
    pub ds: Datastore,
    /// Its warm module instance.
    pub instance: ModuleInstance,
    empty: ReducerId,
    transfer: ReducerId,
    seed: ReducerId,
    caller: Identity,
    /// The timestamp given to calls.
    pub now: Timestamp,
}

impl BenchDb {
    /// Builds (if needed) and loads the bench module, with its tables created.
    ///
    /// # Panics
    /// If the module does not build, load or instantiate: a benchmark has no better
    /// way to report it.
    pub fn new() -> Self {
        let wasm = bench_module_wasm();
        let runtime = HostRuntime::new(HostConfig::default()).expect("the engine starts");
        let program = runtime
            .load(&wasm)
            .unwrap_or_else(|e| panic!("the bench module does not load: {e}"));
        let def = program.module_def();
        let mut ds = Datastore::new();
        for table in &def.tables {
            ds.create_table(table, &def.typespace)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", table.name));
        }
        let id = |name: &str| {
            def.reducer(name)
                .unwrap_or_else(|| panic!("the bench module has no `{name}`"))
                .0
        };
        let (empty, transfer, seed) = (id("empty"), id("transfer"), id("seed"));
        let instance = program
            .instantiate(Identity::ZERO, Arc::new(DiscardLogs))
            .expect("instantiates");
        Self {
            ds,
            instance,
            empty,
            transfer,
            seed,
            caller: Identity::from_byte_array([1; 32]),
            now: Timestamp::now(),
        }
    }

    fn call(&mut self, reducer_id: ReducerId, args: &[u8]) -> ReducerOutcome {
        let call = ReducerCall {
            reducer_id,
            caller_identity: self.caller,
            caller_connection_id: None,
            timestamp: self.now,
            args_bsatn: args,
            caller_jwt: None,
        };
        self.instance.call_reducer(&mut self.ds, call)
    }

    /// Creates `count` accounts with ids `0..count`, each holding `balance`.
    ///
    /// # Panics
    /// If the seeding reducer fails.
    pub fn seed(&mut self, count: u32, balance: i64) {
        let mut args = Vec::new();
        0u32.encode(&mut args);
        count.encode(&mut args);
        balance.encode(&mut args);
        let outcome = self.call(self.seed, &args);
        if let Err(e) = outcome.result {
            panic!("seeding {count} accounts failed: {e}");
        }
    }

    /// Calls the empty reducer.
    pub fn empty(&mut self) -> ReducerOutcome {
        self.call(self.empty, &[])
    }

    /// Calls `transfer(from, to, amount)`.
    pub fn transfer(&mut self, from: u32, to: u32, amount: i64) -> ReducerOutcome {
        let mut args = [0u8; 16];
        args[..4].copy_from_slice(&from.to_le_bytes());
        args[4..8].copy_from_slice(&to.to_le_bytes());
        args[8..].copy_from_slice(&amount.to_le_bytes());
        self.call(self.transfer, &args)
    }
}

impl Default for BenchDb {
    fn default() -> Self {
        Self::new()
    }
}

/// CPU time (user + system) recorded in a `/proc` `stat` file: a process's
/// (`/proc/<pid>/stat`) or one thread's (`/proc/<pid>/task/<tid>/stat`); `None` where
/// that is unavailable (not Linux).
pub fn proc_stat_cpu(stat_file: &Path) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_file).ok()?;
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}
