//! Transactions: rollback restores everything, commit reports net changes.

use crate::*;
use spacetime_datastore::DecodedChanges;
use spacetime_sats::bsatn::to_vec;

fn snapshot(ds: &Datastore, t: TableId) -> (Vec<ProductValue>, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let age = index(ds, "person_age_idx_btree");
    let name = index(ds, "person_name_idx_btree");
    let by_age = ds
        .index_scan_range(age, vec![], std::ops::Bound::Unbounded, std::ops::Bound::Unbounded)
        .unwrap();
    let by_name = ds
        .index_scan_range(name, vec![], std::ops::Bound::Unbounded, std::ops::Bound::Unbounded)
        .unwrap();
    (
        rows(ds, t),
        by_age.map(|r| r.bytes().to_vec()).collect(),
        by_name.map(|r| r.bytes().to_vec()).collect(),
    )
}

#[test]
fn rollback_restores_rows_indexes_and_sequences() {
    let (mut ds, t) = person_ds();
    let pk = index(&ds, "person_id_idx_btree");
    let mut tx = ds.begin_mut_tx();
    for (n, a) in [("ann", 30), ("bob", 40), ("cat", 30)] {
        tx.insert_bsatn(t, &person_row(0, n, a)).unwrap();
    }
    tx.commit();
    let before = snapshot(&ds, t);

    let mut tx = ds.begin_mut_tx();
    assert_eq!(tx.insert_bsatn(t, &person_row(0, "dan", 50)).unwrap(), to_vec(&4u64));
    tx.update_bsatn(t, pk, &person_row(1, "ann", 31)).unwrap();
    tx.update_bsatn(t, pk, &person_row(1, "anna", 32)).unwrap();
    assert!(tx.delete_row(t, &person_row(2, "bob", 40)).unwrap());
    tx.insert_bsatn(t, &person_row(0, "bob", 41)).unwrap();
    tx.delete_by_index_scan_point_bsatn(pk, &to_vec(&3u64)).unwrap();
    tx.rollback();

    assert_eq!(snapshot(&ds, t), before);
    // The sequence is back where it was: the next generated id is 4 again.
    let mut tx = ds.begin_mut_tx();
    assert_eq!(tx.insert_bsatn(t, &person_row(0, "eve", 1)).unwrap(), to_vec(&4u64));
    tx.commit();
}

#[test]
fn dropping_an_open_tx_rolls_it_back() {
    let (mut ds, t) = person_ds();
    {
        let mut tx = ds.begin_mut_tx();
        tx.insert_bsatn(t, &person_row(1, "ann", 30)).unwrap();
    }
    assert_eq!(ds.row_count(t).unwrap(), 0);
}

#[test]
fn tx_data_is_net_of_the_transaction() {
    let (mut ds, t) = person_ds();
    let pk = index(&ds, "person_id_idx_btree");
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(t, &person_row(1, "ann", 30)).unwrap();
    tx.insert_bsatn(t, &person_row(2, "bob", 40)).unwrap();
    tx.commit();

    let mut tx = ds.begin_mut_tx();
    // Inserted then deleted: in neither list.
    tx.insert_bsatn(t, &person_row(3, "cat", 50)).unwrap();
    tx.delete_row(t, &person_row(3, "cat", 50)).unwrap();
    // Deleted then re-inserted unchanged: in neither list.
    tx.delete_row(t, &person_row(1, "ann", 30)).unwrap();
    tx.insert_bsatn(t, &person_row(1, "ann", 30)).unwrap();
    // Updated twice and back: in neither list.
    tx.update_bsatn(t, pk, &person_row(2, "bob", 41)).unwrap();
    tx.update_bsatn(t, pk, &person_row(2, "bob", 40)).unwrap();
    assert!(tx.commit().is_empty());

    let mut tx = ds.begin_mut_tx();
    tx.update_bsatn(t, pk, &person_row(2, "bob", 41)).unwrap();
    tx.insert_bsatn(t, &person_row(5, "eve", 1)).unwrap();
    let data = tx.commit();
    let decoded = data.decode(&ds).unwrap();
    let expected = DecodedChanges {
        table_id: t,
        inserts: vec![person_pv(2, "bob", 41), person_pv(5, "eve", 1)],
        deletes: vec![person_pv(2, "bob", 40)],
    };
    assert_eq!(decoded, vec![expected]);
    assert_eq!(data.tables[0].table_name, "person");
}
