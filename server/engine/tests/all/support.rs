//! Shared set-up: one runtime, the host-test module loaded once, and [`Db`], a
//! datastore with its module instance, schedule queue and collected logs, committing
//! as the engine's commit funnel does (each commit is fed to the scheduler).

use crate::modules::{module_bytes, Bindings, HOST_TEST};
use spacetime_datastore::Datastore;
use spacetime_engine::schedule::{ScheduledCall, ScheduledOutcome, Scheduler};
use spacetime_host::{
    CollectLogs, HostConfig, HostRuntime, ModuleInstance, ModuleProgram, ReducerCall, ReducerOutcome,
};
use spacetime_sats::{ConnectionId, Identity, ProductValue, Timestamp};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Encodes values back to back as BSATN, i.e. a product of them.
#[macro_export]
macro_rules! args {
    ($($value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut out = Vec::<u8>::new();
        $(spacetime_sats::bsatn::Encode::encode(&$value, &mut out);)*
        out
    }};
}

/// The host-test module built against upstream, loaded once.
pub fn host_test_program() -> &'static ModuleProgram {
    static RUNTIME: OnceLock<HostRuntime> = OnceLock::new();
    static PROGRAM: OnceLock<ModuleProgram> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let runtime = RUNTIME.get_or_init(|| {
            HostRuntime::new(HostConfig {
                reducer_time_budget: Duration::from_millis(300),
                memory_limit: 64 << 20,
            })
            .expect("the engine starts")
        });
        let wasm = module_bytes(HOST_TEST, Bindings::Upstream);
        runtime
            .load(&wasm)
            .unwrap_or_else(|e| panic!("host-test module does not load: {e}"))
    })
}

/// The database's identity.
pub fn database() -> Identity {
    Identity::from_byte_array([42; 32])
}

/// A database: datastore, instance, schedule queue, logs.
pub struct Db {
    pub ds: Datastore,
    pub instance: ModuleInstance,
    pub scheduler: Scheduler,
    pub logs: CollectLogs,
    pub now: Timestamp,
}

impl Db {
    pub fn host_test() -> Self {
        let program = host_test_program();
        let def = program.module_def();
        let mut ds = Datastore::new();
        for table in &def.tables {
            ds.create_table(table, &def.typespace)
                .unwrap_or_else(|e| panic!("cannot create table {}: {e}", table.name));
        }
        let logs = CollectLogs::default();
        let instance = program
            .instantiate(database(), Arc::new(logs.clone()))
            .expect("instantiates");
        Self {
            ds,
            instance,
            scheduler: Scheduler::new(def),
            logs,
            now: Timestamp::from_micros_since_unix_epoch(1_700_000_000_000_000),
        }
    }

    /// Calls `reducer` with `args` at `self.now`; a commit is fed to the scheduler.
    pub fn call(&mut self, reducer: &str, args: Vec<u8>) -> ReducerOutcome {
        let (reducer_id, _) = self
            .instance
            .program()
            .module_def()
            .reducer(reducer)
            .unwrap_or_else(|| panic!("no reducer {reducer}"));
        let call = ReducerCall {
            reducer_id,
            caller_identity: Identity::from_byte_array([7; 32]),
            caller_connection_id: Some(ConnectionId::from_u128(5)),
            timestamp: self.now,
            args_bsatn: &args,
        };
        let outcome = self.instance.call_reducer(&mut self.ds, call);
        if let Ok(tx) = &outcome.result {
            self.scheduler.observe(tx, self.now);
        }
        outcome
    }

    /// Calls and asserts the call committed.
    #[track_caller]
    pub fn ok(&mut self, reducer: &str, args: Vec<u8>) {
        let outcome = self.call(reducer, args);
        if let Err(e) = &outcome.result {
            panic!("`{reducer}` failed: {e}\nlogs: {:#?}", self.logs.take());
        }
    }

    /// Runs a due call at `now`, feeding its transactions to the scheduler.
    pub fn run_scheduled(&mut self, call: ScheduledCall, now: Timestamp) -> Option<ScheduledOutcome> {
        let ran = self.scheduler.run(&mut self.instance, &mut self.ds, call, now)?;
        for tx in ran.outcome.committed().into_iter().chain(&ran.cleanup) {
            self.scheduler.observe(tx, now);
        }
        Some(ran)
    }

    /// The rows of `table`, decoded.
    pub fn rows(&self, table: &str) -> Vec<ProductValue> {
        let id = self.ds.table_id_from_name(table).expect("table exists");
        self.ds.scan(id).expect("scan").map(|r| r.to_product_value()).collect()
    }
}
