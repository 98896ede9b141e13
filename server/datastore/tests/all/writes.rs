//! Inserts, updates and deletes: set semantics, constraints, and the ABI shapes.

use crate::*;
use spacetime_datastore::{DatastoreError, TableBuilder, FIRST_USER_TABLE_ID};
use spacetime_sats::bsatn::Encode;
use spacetime_sats::Errno;
use spacetime_sats::{AlgebraicType, TableId, Typespace};

#[test]
fn ids_and_names() {
    let mut ds = Datastore::new();
    let a = ds.create_table(&person(), &Typespace::default()).unwrap();
    let b = ds
        .create_table(
            &TableBuilder::new("other").column("x", AlgebraicType::U8).build(),
            &Typespace::default(),
        )
        .unwrap();
    assert_eq!((a, b), (TableId(FIRST_USER_TABLE_ID), TableId(FIRST_USER_TABLE_ID + 1)));
    assert_eq!(ds.table_id_from_name("person").unwrap(), a);
    assert_eq!(ds.table_id_from_name("Person").unwrap(), a);
    let err = ds.table_id_from_name("nobody").unwrap_err();
    assert_eq!(err.errno(), Errno::NO_SUCH_TABLE);
    assert_eq!(err.to_string(), "no such table: `nobody`");
    let pk = ds.index_id_from_name("person_id_idx_btree").unwrap();
    let (schema, ix) = ds.index_schema(pk).unwrap();
    assert_eq!((schema.table_id, ix.unique), (a, true));
    assert_eq!(
        ds.index_id_from_name("person_nope_idx_btree").unwrap_err().errno(),
        Errno::NO_SUCH_INDEX
    );
    assert!(matches!(
        ds.create_table(&person(), &Typespace::default()),
        Err(DatastoreError::TableExists(_))
    ));
    assert_eq!(ds.row_count(TableId(4242)).unwrap_err().errno(), Errno::NO_SUCH_TABLE);
}

#[test]
fn identical_insert_is_a_no_op() {
    let (mut ds, t) = person_ds();
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(t, &person_row(1, "ann", 30)).unwrap();
    assert_eq!(tx.insert_bsatn(t, &person_row(1, "ann", 30)).unwrap(), Vec::<u8>::new());
    assert_eq!(tx.row_count(t).unwrap(), 1);
    let data = tx.commit();
    assert_eq!(data.table(t).unwrap().inserts.len(), 1);

    // Also on a table without any unique index, where a row hash finds duplicates.
    let bag = ds
        .create_table(
            &TableBuilder::new("bag")
                .column("x", AlgebraicType::String)
                .btree(&["x"])
                .build(),
            &Typespace::default(),
        )
        .unwrap();
    let mut tx = ds.begin_mut_tx();
    for s in ["a", "b", "a", "a"] {
        tx.insert_bsatn(bag, &enc(vec![s.into()])).unwrap();
    }
    assert_eq!(tx.row_count(bag).unwrap(), 2);
    assert!(tx.delete_row(bag, &enc(vec!["a".into()])).unwrap());
    assert!(!tx.delete_row(bag, &enc(vec!["a".into()])).unwrap());
    tx.insert_bsatn(bag, &enc(vec!["a".into()])).unwrap();
    tx.commit();
    assert_eq!(rows(&ds, bag), vec![pv(vec!["a".into()]), pv(vec!["b".into()])]);
}

#[test]
fn unique_violation_changes_nothing_else() {
    let (mut ds, t) = person_ds();
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(t, &person_row(1, "ann", 30)).unwrap();
    tx.insert_bsatn(t, &person_row(2, "bob", 40)).unwrap();
    let err = tx.insert_bsatn(t, &person_row(3, "ann", 50)).unwrap_err();
    assert_eq!(err.errno(), Errno::UNIQUE_ALREADY_EXISTS);
    assert_eq!(
        err.to_string(),
        "duplicate unique value: constraint `person_name_key` on table `person` already has a row with value \"ann\""
    );
    let err = tx.insert_bsatn(t, &person_row(2, "cat", 50)).unwrap_err();
    assert!(
        matches!(&err, DatastoreError::UniqueConstraintViolation { constraint, value, .. } if constraint == "person_id_key" && value == "2")
    );
    // The failed inserts left no trace in any index.
    let age = index(&tx, "person_age_idx_btree");
    assert_eq!(tx.index_scan_point(age, &50u32.into()).unwrap().count(), 0);
    let data = tx.commit();
    assert_eq!(rows(&ds, t), vec![person_pv(1, "ann", 30), person_pv(2, "bob", 40)]);
    assert_eq!(data.table(t).unwrap().inserts.len(), 2);
}

#[test]
fn bad_bsatn_is_a_decode_error() {
    let (mut ds, t) = person_ds();
    let mut tx = ds.begin_mut_tx();
    let mut row = person_row(1, "ann", 30);
    row.push(0);
    let err = tx.insert_bsatn(t, &row).unwrap_err();
    assert_eq!(err.errno(), Errno::BSATN_DECODE_ERROR);
    assert!(err.to_string().contains("a row of table `person`"), "{err}");
    let err = tx.insert_bsatn(t, &row[..5]).unwrap_err();
    assert_eq!(err.errno(), Errno::BSATN_DECODE_ERROR);
    assert_eq!(tx.row_count(t).unwrap(), 0);
}

#[test]
fn update_moves_only_changed_indexes() {
    let (mut ds, t) = person_ds();
    let pk = index(&ds, "person_id_idx_btree");
    let age = index(&ds, "person_age_idx_btree");
    let name = index(&ds, "person_name_idx_btree");
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(t, &person_row(1, "ann", 30)).unwrap();
    tx.insert_bsatn(t, &person_row(2, "bob", 40)).unwrap();
    tx.commit();

    let mut tx = ds.begin_mut_tx();
    // Change an indexed column (age) and a unique one (name).
    tx.update_bsatn(t, pk, &person_row(1, "amy", 31)).unwrap();
    assert_eq!(tx.index_scan_point(age, &30u32.into()).unwrap().count(), 0);
    assert_eq!(tx.index_scan_point(age, &31u32.into()).unwrap().count(), 1);
    assert_eq!(tx.index_scan_point(name, &"ann".into()).unwrap().count(), 0);
    let found = tx
        .index_scan_point(name, &"amy".into())
        .unwrap()
        .next()
        .unwrap()
        .to_product_value();
    assert_eq!(found, person_pv(1, "amy", 31));
    // An update whose new unique value collides fails and changes nothing.
    let err = tx.update_bsatn(t, pk, &person_row(1, "bob", 99)).unwrap_err();
    assert_eq!(err.errno(), Errno::UNIQUE_ALREADY_EXISTS);
    assert_eq!(tx.index_scan_point(age, &31u32.into()).unwrap().count(), 1);
    // Updating through a non-unique index, or a missing row, fails.
    assert_eq!(
        tx.update_bsatn(t, age, &person_row(1, "x", 31)).unwrap_err().errno(),
        Errno::INDEX_NOT_UNIQUE
    );
    let err = tx.update_bsatn(t, pk, &person_row(9, "x", 1)).unwrap_err();
    assert_eq!(err.errno(), Errno::NO_SUCH_ROW);
    assert!(
        err.to_string()
            .contains("no row with value 9 in index `person_id_idx_btree`"),
        "{err}"
    );
    // Updating through the unique `name` index changes the primary key.
    tx.update_bsatn(t, name, &person_row(7, "bob", 40)).unwrap();
    let data = tx.commit();
    assert_eq!(rows(&ds, t), vec![person_pv(1, "amy", 31), person_pv(7, "bob", 40)]);
    let changes = data.table(t).unwrap();
    assert_eq!(
        changes.inserts,
        vec![
            person_row(1, "amy", 31).into_boxed_slice(),
            person_row(7, "bob", 40).into_boxed_slice()
        ]
    );
    assert_eq!(
        changes.deletes,
        vec![
            person_row(1, "ann", 30).into_boxed_slice(),
            person_row(2, "bob", 40).into_boxed_slice()
        ]
    );
    assert_eq!(ds.index_scan_point(pk, &2u64.into()).unwrap().count(), 0);
    assert_eq!(ds.index_scan_point(pk, &7u64.into()).unwrap().count(), 1);
}

#[test]
fn update_on_an_index_of_another_table_is_rejected() {
    let (mut ds, t) = person_ds();
    let other = ds
        .create_table(
            &TableBuilder::new("o")
                .column("k", AlgebraicType::U8)
                .primary_key("k")
                .build(),
            &Typespace::default(),
        )
        .unwrap();
    let pk = index(&ds, "person_id_idx_btree");
    let mut tx = ds.begin_mut_tx();
    let err = tx.update_bsatn(other, pk, &enc(vec![1u8.into()])).unwrap_err();
    assert_eq!(err.errno(), Errno::NO_SUCH_INDEX);
    let _ = t;
}

#[test]
fn delete_by_rows_takes_a_bsatn_vec() {
    let (mut ds, t) = person_ds();
    let mut tx = ds.begin_mut_tx();
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        tx.insert_bsatn(t, &person_row(i as u64 + 1, n, 20)).unwrap();
    }
    let mut rel = Vec::new();
    3u32.encode(&mut rel);
    rel.extend(person_row(1, "a", 20));
    rel.extend(person_row(3, "c", 20));
    rel.extend(person_row(2, "b", 21)); // not a row of the table: skipped
                                        // A malformed list deletes nothing.
    let mut bad = rel.clone();
    bad.push(1);
    assert_eq!(
        tx.delete_by_rows(t, &bad).unwrap_err().errno(),
        Errno::BSATN_DECODE_ERROR
    );
    assert_eq!(tx.row_count(t).unwrap(), 3);
    assert_eq!(tx.delete_by_rows(t, &rel).unwrap(), 2);
    tx.commit();
    assert_eq!(rows(&ds, t), vec![person_pv(2, "b", 20)]);
}

#[test]
fn clear_deletes_everything_and_rolls_back() {
    let (mut ds, t) = person_ds();
    let age = index(&ds, "person_age_idx_btree");
    let mut tx = ds.begin_mut_tx();
    for i in 1..=5u64 {
        tx.insert_bsatn(t, &person_row(i, &i.to_string(), 20)).unwrap();
    }
    tx.commit();
    let mut tx = ds.begin_mut_tx();
    assert_eq!(tx.clear(t).unwrap(), 5);
    assert_eq!(tx.row_count(t).unwrap(), 0);
    assert_eq!(tx.index_scan_point(age, &20u32.into()).unwrap().count(), 0);
    tx.rollback();
    assert_eq!(ds.index_scan_point(age, &20u32.into()).unwrap().count(), 5);
    let mut tx = ds.begin_mut_tx();
    assert_eq!(tx.clear(t).unwrap(), 5);
    let data = tx.commit();
    assert_eq!(data.table(t).unwrap().deletes.len(), 5);
    assert_eq!(ds.row_count(t).unwrap(), 0);
    // Freed slots are reused.
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(t, &person_row(9, "z", 1)).unwrap();
    tx.commit();
    assert_eq!(rows(&ds, t), vec![person_pv(9, "z", 1)]);
}

#[test]
fn event_tables_publish_but_keep_nothing() {
    let mut ds = Datastore::new();
    let def = TableBuilder::new("ping")
        .column("n", AlgebraicType::U32)
        .event()
        .build();
    let t = ds.create_table(&def, &Typespace::default()).unwrap();
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(t, &enc(vec![1u32.into()])).unwrap();
    assert_eq!(tx.row_count(t).unwrap(), 1);
    let data = tx.commit();
    assert_eq!(data.table(t).unwrap().inserts.len(), 1);
    assert_eq!(ds.row_count(t).unwrap(), 0);
}

#[test]
fn invalid_definitions_are_rejected() {
    let mut ds = Datastore::new();
    let def = TableBuilder::new("bad")
        .column("s", AlgebraicType::String)
        .auto_inc("s")
        .build();
    let err = ds.create_table(&def, &Typespace::default()).unwrap_err();
    assert!(err.to_string().contains("auto_inc needs an integer column"), "{err}");
    let def = TableBuilder::new("dangling")
        .column("r", AlgebraicType::Ref(spacetime_sats::AlgebraicTypeRef(3)))
        .build();
    assert!(matches!(
        ds.create_table(&def, &Typespace::default()),
        Err(DatastoreError::InvalidSchema { .. })
    ));
    // Nothing of the failed tables was registered.
    assert!(ds.tables().next().is_none());
}
