//! The data side of migrations over hand-built definitions: defaults filled in, a
//! duplicate refusing a new unique constraint, a non-empty removed table refused,
//! sequences carried over; and a log whose migration record restores the new state.

use super::{migrate, MigrationError};
use crate::schema_change::create_tables;
use crate::storage::{self, StorageConfig};
use spacetime_datastore::{Datastore, TableBuilder};
use spacetime_sats::bsatn::value::value_to_vec;
use spacetime_sats::def::model::{ModuleDef, TableDef};
use spacetime_sats::def::raw::CaseConversionPolicy;
use spacetime_sats::{AlgebraicType as T, AlgebraicValue as V, ColId, Identity, ProductValue, Typespace};

pub(crate) fn module(tables: Vec<TableDef>) -> ModuleDef {
    ModuleDef {
        typespace: Typespace::default(),
        types: vec![],
        tables,
        reducers: vec![],
        procedures: vec![],
        environment: vec![],
        http_handlers: vec![],
        http_routes: vec![],
        views: vec![],
        case_conversion_policy: CaseConversionPolicy::SnakeCase,
        row_level_security: vec![],
    }
}

/// `person(id u32 pk auto_inc, name string)`.
pub(crate) fn person() -> TableBuilder {
    TableBuilder::new("person")
        .column("id", T::U32)
        .column("name", T::String)
        .primary_key("id")
        .auto_inc("id")
}

pub(crate) fn row(values: Vec<V>) -> Vec<u8> {
    value_to_vec(&V::Product(ProductValue::new(values)))
}

/// A datastore of `def` holding `rows` (by table name).
pub(crate) fn filled(def: &ModuleDef, rows: &[(&str, Vec<V>)]) -> Datastore {
    let mut ds = Datastore::new();
    create_tables(&mut ds, def.tables.iter(), def).expect("tables");
    let mut tx = ds.begin_mut_tx();
    for (table, values) in rows {
        let id = tx.table_id_from_name(table).expect("table");
        tx.insert_bsatn(id, &row(values.clone())).expect("insert");
    }
    tx.commit();
    ds
}

/// Every row of `table`, decoded, sorted.
fn rows_of(ds: &Datastore, table: &str) -> Vec<Vec<V>> {
    let id = ds.table_id_from_name(table).expect("table");
    let mut rows: Vec<_> = ds
        .scan(id)
        .expect("scan")
        .map(|r| r.to_product_value().elements)
        .collect();
    rows.sort_by_key(|r| format!("{r:?}"));
    rows
}

fn plan(old: &ModuleDef, new: &ModuleDef) -> spacetime_migrate::Plan {
    spacetime_migrate::plan(old, new).expect("automatic")
}

#[test]
fn added_columns_get_their_defaults_and_sequences_continue() {
    let old = module(vec![person().build()]);
    let mut with_age = person().column("age", T::U8).build();
    with_age.default_values.push((ColId(2), V::U8(18)));
    let new = module(vec![with_age]);
    let ds = filled(&old, &[("person", vec![V::U32(0), V::String("Ada".into())])]);
    let mut migrated = migrate(&ds, &plan(&old, &new), &new).expect("migrates");
    assert_eq!(
        rows_of(&migrated, "person"),
        vec![vec![V::U32(1), V::String("Ada".into()), V::U8(18)]]
    );
    let id = migrated.table_id_from_name("person").expect("table");
    let mut tx = migrated.begin_mut_tx();
    tx.insert_bsatn(id, &row(vec![V::U32(0), V::String("Bob".into()), V::U8(3)]))
        .expect("insert");
    tx.commit();
    assert_eq!(
        rows_of(&migrated, "person")[1][0],
        V::U32(2),
        "the sequence went on after 1"
    );
    // The old datastore is untouched.
    assert_eq!(rows_of(&ds, "person"), vec![vec![V::U32(1), V::String("Ada".into())]]);
}

#[test]
fn a_new_unique_constraint_is_checked_against_the_rows() {
    let old = module(vec![person().build()]);
    let new = module(vec![person().unique(&["name"]).build()]);
    let twice = [
        ("person", vec![V::U32(0), V::String("Ada".into())]),
        ("person", vec![V::U32(0), V::String("Ada".into())]),
    ];
    let ds = filled(&old, &twice);
    let Err(err) = migrate(&ds, &plan(&old, &new), &new) else {
        panic!("refused")
    };
    assert!(matches!(err, MigrationError::Duplicate { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("`person`") && text.contains("\"Ada\""), "{text}");

    let ds = filled(&old, &twice[..1]);
    let mut migrated = migrate(&ds, &plan(&old, &new), &new).expect("no duplicates");
    let id = migrated.table_id_from_name("person").expect("table");
    let mut tx = migrated.begin_mut_tx();
    assert!(tx
        .insert_bsatn(id, &row(vec![V::U32(0), V::String("Ada".into())]))
        .is_err());
}

#[test]
fn a_removed_table_must_be_empty() {
    let pet = || TableBuilder::new("pet").column("name", T::String).build();
    let old = module(vec![person().build(), pet()]);
    let new = module(vec![person().build()]);
    let ds = filled(
        &old,
        &[
            ("pet", vec![V::String("Rex".into())]),
            ("pet", vec![V::String("Tom".into())]),
        ],
    );
    let Err(err) = migrate(&ds, &plan(&old, &new), &new) else {
        panic!("refused")
    };
    assert!(matches!(err, MigrationError::TableNotEmpty { rows: 2, .. }), "{err}");
    assert!(err.to_string().contains("table `pet`") && err.to_string().contains("2 row(s)"));
    let empty = filled(&old, &[]);
    let migrated = migrate(&empty, &plan(&old, &new), &new).expect("empty table goes");
    assert!(migrated.table_id_from_name("pet").is_err());
}

#[test]
fn restore_starts_from_the_last_migration_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = std::sync::Arc::new(crate::module_logs::ModuleLogs::in_memory());
    let old = module(vec![person().build()]);
    let mut with_age = person().column("age", T::U8).build();
    with_age.default_values.push((ColId(2), V::U8(7)));
    let new = module(vec![with_age]);

    let config = StorageConfig::new(dir.path().to_owned(), 0);
    let mut ds = filled(&old, &[]);
    let mut log = storage::open(&config, &mut ds, &logs).expect("open").log;
    // A transaction in the old row layout, then the migration.
    let id = ds.table_id_from_name("person").expect("table");
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(id, &row(vec![V::U32(0), V::String("Ada".into())]))
        .expect("insert");
    let committed = tx.commit();
    log.append_tx(&committed);
    let migrated = migrate(&ds, &plan(&old, &new), &new).expect("migrates");
    let offset = log
        .append_migration(
            &migrated,
            "cafe",
            1,
            Identity::from_claims("t", "me"),
            "add columns".into(),
        )
        .expect("append");
    log.wait_durable(offset).expect("durable");
    drop(log);

    let config = StorageConfig::new(dir.path().to_owned(), 0);
    assert_eq!(
        storage::logged_program(&config, &logs).expect("read"),
        Some("cafe".into())
    );
    let mut restored = filled(&new, &[]);
    let opened = storage::open(&config, &mut restored, &logs).expect("restores");
    assert!(!opened.fresh);
    assert_eq!(
        rows_of(&restored, "person"),
        vec![vec![V::U32(1), V::String("Ada".into()), V::U8(7)]]
    );
}
