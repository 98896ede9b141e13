//! Shared set-up: one runtime with short limits, the host-test module loaded once, and
//! [`Db`], a datastore with its module instance and collected logs.

use crate::modules::{module_bytes, Bindings, HOST_TEST};
use spacetime_datastore::Datastore;
use spacetime_host::{
    CollectLogs, HostConfig, HostRuntime, ModuleInstance, ModuleProgram, ReducerCall, ReducerOutcome,
};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::def::raw::{
    FunctionVisibility, RawModuleDef, RawModuleDefV10, RawModuleDefV10Section, RawReducerDefV10,
};
use spacetime_sats::{AlgebraicType, ConnectionId, Identity, ProductType, ProductValue, Timestamp};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The time budget of test calls: short, so the runaway test is quick.
pub const BUDGET: Duration = Duration::from_millis(300);
/// The memory limit of test instances.
pub const MEMORY_LIMIT: usize = 64 << 20;

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

pub fn runtime() -> &'static HostRuntime {
    static RUNTIME: OnceLock<HostRuntime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        HostRuntime::new(HostConfig {
            reducer_time_budget: BUDGET,
            memory_limit: MEMORY_LIMIT,
            ..HostConfig::default()
        })
        .expect("the engine starts")
    })
}

/// The host-test module built against upstream, loaded once.
pub fn host_test_program() -> &'static ModuleProgram {
    static PROGRAM: OnceLock<ModuleProgram> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let wasm = module_bytes(HOST_TEST, Bindings::Upstream);
        runtime()
            .load(&wasm)
            .unwrap_or_else(|e| panic!("host-test module does not load: {e}"))
    })
}

/// The BSATN of a definition with `count` reducers `r0`, `r1`, … without parameters,
/// for hand-written modules to write from `__describe_module__`.
pub fn unit_reducers_definition(count: usize) -> Vec<u8> {
    let reducers = (0..count)
        .map(|i| RawReducerDefV10 {
            source_name: format!("r{i}"),
            params: ProductType::unit(),
            visibility: FunctionVisibility::ClientCallable,
            ok_return_type: AlgebraicType::Product(ProductType::unit()),
            err_return_type: AlgebraicType::String,
        })
        .collect();
    to_vec(&RawModuleDef::V10(RawModuleDefV10 {
        sections: vec![RawModuleDefV10Section::Reducers(reducers)],
    }))
}

/// `bytes` as the contents of a WAT data string (`\xx` escapes).
pub fn wat_data(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// The identity tests call as.
pub fn alice() -> Identity {
    Identity::from_byte_array([7; 32])
}

/// The database's identity.
pub fn database() -> Identity {
    Identity::from_byte_array([42; 32])
}

/// A database: datastore, instance, logs.
pub struct Db {
    pub ds: Datastore,
    pub instance: ModuleInstance,
    pub logs: CollectLogs,
    pub now: Timestamp,
    /// The token payload calls carry (`get_jwt`); none by default.
    pub caller_jwt: Option<String>,
}

impl Db {
    pub fn new(program: &ModuleProgram) -> Self {
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
            logs,
            now: Timestamp::from_micros_since_unix_epoch(1_700_000_000_000_000),
            caller_jwt: None,
        }
    }

    pub fn host_test() -> Self {
        Self::new(host_test_program())
    }

    /// Calls `reducer` as alice with `args`.
    pub fn call(&mut self, reducer: &str, args: Vec<u8>) -> ReducerOutcome {
        self.call_as(reducer, alice(), args)
    }

    pub fn call_as(&mut self, reducer: &str, caller: Identity, args: Vec<u8>) -> ReducerOutcome {
        let (reducer_id, _) = self
            .instance
            .program()
            .module_def()
            .reducer(reducer)
            .unwrap_or_else(|| panic!("no reducer {reducer}"));
        let call = ReducerCall {
            reducer_id,
            caller_identity: caller,
            caller_connection_id: Some(ConnectionId::from_u128(5)),
            timestamp: self.now,
            args_bsatn: &args,
            caller_jwt: self.caller_jwt.as_deref(),
        };
        self.instance.call_reducer(&mut self.ds, call)
    }

    /// Calls and asserts the call committed.
    #[track_caller]
    pub fn ok(&mut self, reducer: &str, args: Vec<u8>) {
        let outcome = self.call(reducer, args);
        if let Err(e) = &outcome.result {
            panic!("`{reducer}` failed: {e}\nlogs: {:#?}", self.logs.take());
        }
    }

    /// The rows of `table`, decoded.
    pub fn rows(&self, table: &str) -> Vec<ProductValue> {
        let id = self.ds.table_id_from_name(table).expect("table exists");
        self.ds.scan(id).expect("scan").map(|r| r.to_product_value()).collect()
    }
}
