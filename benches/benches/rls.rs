//! Row-level security's cost: `SELECT * FROM note` over 100,000 notes of 1,000 owners,
//! run by a client whose filters show it its own notes (`owner = :sender`, indexed) or its
//! own and the shared ones (two filters, a union, which no index serves), next to the
//! owner's unfiltered query and the owner's `WHERE owner = …`. Parsing, checking,
//! binding the filters and running are all measured, as a SQL request pays them.
//!
//! Run with `cargo bench -p spacetime-benches --bench rls`.

use criterion::{criterion_group, criterion_main, Criterion};
use spacetime_datastore::{Datastore, TableBuilder};
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::{AlgebraicType, AlgebraicValue, Identity, ProductValue, Typespace};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::{Catalog, SqlAuth};
use std::hint::black_box;

const NOTES: u32 = 100_000;
const OWNERS: u32 = 1_000;

fn identity(n: u32) -> Identity {
    Identity::from_claims("bench", &n.to_string())
}

/// The module (note: id, owner, shared) with `filters`, and its datastore filled.
fn database(filters: &[&str]) -> (ModuleDef, Datastore, RlsRules) {
    let typespace = Typespace::default();
    let note = TableBuilder::new("note")
        .column("id", AlgebraicType::U32)
        .column("owner", AlgebraicType::identity())
        .column("shared", AlgebraicType::Bool)
        .primary_key("id")
        .btree(&["owner"])
        .build();
    let mut ds = Datastore::new();
    ds.create_table(&note, &typespace).expect("the table is valid");
    let table = ds.table_id_from_name("note").expect("just created");
    let mut tx = ds.begin_mut_tx();
    for id in 0..NOTES {
        let owner = AlgebraicValue::product(vec![AlgebraicValue::from(identity(id % OWNERS).to_u256())]);
        let row = ProductValue::new(vec![id.into(), owner, AlgebraicValue::Bool(id % 100 == 0)]);
        tx.insert_bsatn(table, &to_vec(&row)).expect("distinct ids");
    }
    tx.commit();
    let module = ModuleDef {
        typespace,
        types: vec![],
        tables: vec![note],
        reducers: vec![],
        procedures: vec![],
        case_conversion_policy: spacetime_sats::def::raw::CaseConversionPolicy::SnakeCase,
        row_level_security: filters.iter().map(|f| (*f).to_owned()).collect(),
        environment: vec![],
        http_handlers: vec![],
        http_routes: vec![],
        views: vec![],
    };
    let rls = RlsRules::compile(&module, &ds).expect("the filters check");
    (module, ds, rls)
}

fn rls(c: &mut Criterion) {
    let owner = identity(OWNERS + 1);
    let client = identity(7);
    let mut group = c.benchmark_group("rls");
    let cases: [(&str, &[&str], Identity, String); 4] = [
        ("owner_all_rows", &[], owner, "SELECT * FROM note".into()),
        (
            "owner_where_owner",
            &[],
            owner,
            format!("SELECT * FROM note WHERE owner = 0x{}", client.to_hex()),
        ),
        (
            "client_one_filter",
            &["SELECT * FROM note WHERE owner = :sender"],
            client,
            "SELECT * FROM note".into(),
        ),
        (
            "client_two_filters",
            &[
                "SELECT * FROM note WHERE owner = :sender",
                "SELECT * FROM note WHERE shared = true",
            ],
            client,
            "SELECT * FROM note".into(),
        ),
    ];
    for (name, filters, caller, sql) in cases {
        let (module, mut ds, rules) = database(filters);
        let auth = SqlAuth { caller, owner };
        let catalog = Catalog {
            module: &module,
            rls: &rules,
        };
        let rows = spacetime_sql::execute(&sql, &auth, catalog, &mut ds)
            .expect("runs")
            .rows
            .len();
        println!("rls/{name}: {rows} rows");
        group.bench_function(name, |b| {
            b.iter(|| black_box(spacetime_sql::execute(&sql, &auth, catalog, &mut ds).expect("runs")))
        });
    }
    group.finish();
}

criterion_group!(benches, rls);
criterion_main!(benches);
