//! `auto_inc` columns: generated values, write-back, overflow and collisions.

use crate::*;
use spacetime_datastore::TableBuilder;
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::Errno;
use spacetime_sats::{AlgebraicType, Typespace};

#[test]
fn zero_gets_the_next_value_and_is_written_back() {
    let (mut ds, t) = person_ds();
    let mut tx = ds.begin_mut_tx();
    assert_eq!(tx.insert_bsatn(t, &person_row(0, "a", 1)).unwrap(), to_vec(&1u64));
    assert_eq!(tx.insert_bsatn(t, &person_row(0, "b", 1)).unwrap(), to_vec(&2u64));
    // A non-zero value is kept and generates nothing.
    assert_eq!(tx.insert_bsatn(t, &person_row(10, "c", 1)).unwrap(), Vec::<u8>::new());
    tx.commit();
    assert_eq!(
        rows(&ds, t),
        vec![person_pv(1, "a", 1), person_pv(2, "b", 1), person_pv(10, "c", 1)]
    );
}

#[test]
fn generated_values_are_in_column_order() {
    let mut ds = Datastore::new();
    let def = TableBuilder::new("two")
        .column("a", AlgebraicType::I16)
        .column("s", AlgebraicType::String)
        .column("b", AlgebraicType::U32)
        .auto_inc("b")
        .sequence_range(100, 1, 1000)
        .auto_inc("a")
        .build();
    let t = ds.create_table(&def, &Typespace::default()).unwrap();
    let mut tx = ds.begin_mut_tx();
    let generated = tx
        .insert_bsatn(t, &enc(vec![0i16.into(), "x".into(), 0u32.into()]))
        .unwrap();
    let mut expected = to_vec(&1i16);
    expected.extend(to_vec(&100u32));
    assert_eq!(generated, expected);
    assert_eq!(
        tx.insert_bsatn(t, &enc(vec![5i16.into(), "y".into(), 0u32.into()]))
            .unwrap(),
        to_vec(&101u32)
    );
}

#[test]
fn overflow_past_the_maximum_fails_and_changes_nothing() {
    let mut ds = Datastore::new();
    let def = TableBuilder::new("tiny")
        .column("id", AlgebraicType::U8)
        .primary_key("id")
        .auto_inc("id")
        .sequence_range(254, 1, i128::MAX)
        .build();
    let t = ds.create_table(&def, &Typespace::default()).unwrap();
    let mut tx = ds.begin_mut_tx();
    assert_eq!(tx.insert_bsatn(t, &enc(vec![0u8.into()])).unwrap(), vec![254]);
    assert_eq!(tx.insert_bsatn(t, &enc(vec![0u8.into()])).unwrap(), vec![255]);
    let err = tx.insert_bsatn(t, &enc(vec![0u8.into()])).unwrap_err();
    assert_eq!(err.errno(), Errno::AUTO_INC_OVERFLOW);
    assert_eq!(
        err.to_string(),
        "sequence `tiny_id_seq` is exhausted: its next value would pass 255"
    );
    assert_eq!(tx.row_count(t).unwrap(), 2);
}

#[test]
fn a_manual_value_colliding_with_a_generated_one_is_a_unique_violation() {
    let (mut ds, t) = person_ds();
    let mut tx = ds.begin_mut_tx();
    tx.insert_bsatn(t, &person_row(0, "a", 1)).unwrap();
    let err = tx.insert_bsatn(t, &person_row(1, "b", 1)).unwrap_err();
    assert_eq!(err.errno(), Errno::UNIQUE_ALREADY_EXISTS);
    // And a generated value colliding with a manual one.
    tx.insert_bsatn(t, &person_row(2, "c", 1)).unwrap();
    assert_eq!(
        tx.insert_bsatn(t, &person_row(0, "d", 1)).unwrap_err().errno(),
        Errno::UNIQUE_ALREADY_EXISTS
    );
    // The failed insert did not consume the value.
    tx.delete_row(t, &person_row(2, "c", 1)).unwrap();
    assert_eq!(tx.insert_bsatn(t, &person_row(0, "d", 1)).unwrap(), to_vec(&2u64));
}

#[test]
fn a_sequence_advanced_past_a_value_continues_after_it_and_never_goes_back() {
    let (mut ds, t) = person_ds();
    assert_eq!(
        ds.sequence_states(t).unwrap(),
        vec![(spacetime_sats::ColId(0), Some(1))]
    );
    ds.advance_sequence_past(t, spacetime_sats::ColId(0), 41).unwrap();
    // Advancing to an earlier value is a no-op, and other columns are ignored.
    ds.advance_sequence_past(t, spacetime_sats::ColId(0), 7).unwrap();
    ds.advance_sequence_past(t, spacetime_sats::ColId(2), 1000).unwrap();
    assert_eq!(
        ds.sequence_states(t).unwrap(),
        vec![(spacetime_sats::ColId(0), Some(42))]
    );
    let mut tx = ds.begin_mut_tx();
    assert_eq!(tx.insert_bsatn(t, &person_row(0, "a", 1)).unwrap(), to_vec(&42u64));
    tx.commit();
}
