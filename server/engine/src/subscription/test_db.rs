//! The database the subscription unit tests share: `person(id pk, name)`,
//! `pet(id pk, owner, name)` (with `owner` indexed or not), and the private `secret`,
//! as a module definition and a datastore holding its empty tables.

use super::QueryDelta;
use spacetime_datastore::{Datastore, TableBuilder};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::def::model::TableDef;
use spacetime_sats::def::raw::CaseConversionPolicy;
use spacetime_sats::{AlgebraicType, Identity, Typespace};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::{Catalog, SqlAuth};

/// The database owner.
pub fn owner() -> Identity {
    Identity::from_claims("test", "owner")
}

/// The owner's authorisation.
pub fn auth() -> SqlAuth {
    SqlAuth {
        caller: owner(),
        owner: owner(),
    }
}

/// The module and its empty tables; `pet.owner` has a btree index when
/// `pet_owner_indexed` (created after pet's primary-key index).
pub fn database(pet_owner_indexed: bool) -> (ModuleDef, Datastore) {
    let mut pet = TableBuilder::new("pet")
        .column("id", AlgebraicType::U32)
        .column("owner", AlgebraicType::U32)
        .column("name", AlgebraicType::String)
        .primary_key("id");
    if pet_owner_indexed {
        pet = pet.btree(&["owner"]);
    }
    let tables = vec![
        TableBuilder::new("person")
            .column("id", AlgebraicType::U32)
            .column("name", AlgebraicType::String)
            .primary_key("id")
            .build(),
        pet.build(),
        TableBuilder::new("secret")
            .column("k", AlgebraicType::U32)
            .private()
            .build(),
    ];
    module_with(tables, vec![])
}

/// A module of `tables` (no types) with the filters `row_level_security`, and a
/// datastore holding its empty tables.
pub fn module_with(tables: Vec<TableDef>, row_level_security: Vec<String>) -> (ModuleDef, Datastore) {
    let typespace = Typespace::default();
    let mut ds = Datastore::new();
    for t in &tables {
        ds.create_table(t, &typespace).expect("the test tables are valid");
    }
    let module = ModuleDef {
        typespace,
        types: vec![],
        tables,
        reducers: vec![],
        procedures: vec![],
        environment: vec![],
        http_handlers: vec![],
        http_routes: vec![],
        views: vec![],
        case_conversion_policy: CaseConversionPolicy::SnakeCase,
        row_level_security,
    };
    (module, ds)
}

/// The rows `before` with `delta` applied, checking that every deleted row was there;
/// `context` names the statement for the failure message.
pub fn apply_delta(mut rows: Vec<Vec<u8>>, delta: &QueryDelta, context: &str) -> Vec<Vec<u8>> {
    for d in &delta.deletes {
        let at = rows
            .iter()
            .position(|r| r == d)
            .unwrap_or_else(|| panic!("`{context}` deletes a row not in the result"));
        rows.remove(at);
    }
    rows.extend(delta.inserts.iter().cloned());
    rows
}

/// `module` without row-level security filters, as SQL and subscriptions take it.
pub fn catalog(module: &ModuleDef) -> Catalog<'_> {
    // Leaked: a test's few empty rule sets live as long as the test process anyway.
    let rls: &'static RlsRules = Box::leak(Box::default());
    Catalog { module, rls }
}
