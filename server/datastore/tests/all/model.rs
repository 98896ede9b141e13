//! A property test: random operation sequences applied to the datastore and to a
//! naive model (a `Vec` of rows per table) must agree on every result and state.
//!
//! Table `t(id: u8 pk, a: i8 btree, b: u8 hash, s: string)` exercises unique, btree
//! and hash indexes; table `bag(x: u8, y: u8)` with a btree on `x` has no unique
//! index, so set semantics go through the row hash.

use crate::*;
use proptest::prelude::*;
use spacetime_datastore::TableBuilder;
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::{AlgebraicType, AlgebraicValue, Typespace};
use std::ops::{Bound, RangeBounds};

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, i8, u8, String),
    Update(u8, i8, u8, String),
    Delete(u8, i8, u8, String),
    /// Delete the `n % len`th row of `t`, so deletes often hit.
    DeleteNth(usize),
    /// Insert the row of `t` deleted last in this transaction again.
    Reinsert,
    DeleteRangeA(Bound<i8>, Bound<i8>),
    DeletePointB(u8),
    InsertBag(u8, u8),
    DeleteBag(u8, u8),
    Clear,
    Commit,
    Rollback,
}

fn bound() -> impl Strategy<Value = Bound<i8>> {
    prop_oneof![
        Just(Bound::Unbounded),
        (-4i8..4).prop_map(Bound::Included),
        (-4i8..4).prop_map(Bound::Excluded)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u8..8;
    let a = -4i8..4;
    let b = 0u8..3;
    let s = prop_oneof![Just("x".to_owned()), Just("y".to_owned())];
    prop_oneof![
        6 => (id.clone(), a.clone(), b.clone(), s.clone()).prop_map(|(i, a, b, s)| Op::Insert(i, a, b, s)),
        3 => (id.clone(), a.clone(), b.clone(), s.clone()).prop_map(|(i, a, b, s)| Op::Update(i, a, b, s)),
        2 => (id, a, b.clone(), s).prop_map(|(i, a, b, s)| Op::Delete(i, a, b, s)),
        2 => (0usize..16).prop_map(Op::DeleteNth),
        2 => Just(Op::Reinsert),
        1 => (bound(), bound()).prop_map(|(s, e)| Op::DeleteRangeA(s, e)),
        1 => b.prop_map(Op::DeletePointB),
        3 => (0u8..4, 0u8..3).prop_map(|(x, y)| Op::InsertBag(x, y)),
        2 => (0u8..4, 0u8..3).prop_map(|(x, y)| Op::DeleteBag(x, y)),
        1 => Just(Op::Clear),
        2 => Just(Op::Commit),
        2 => Just(Op::Rollback),
    ]
}

type Row = (u8, i8, u8, String);

#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    t: Vec<Row>,
    bag: Vec<(u8, u8)>,
}

fn row_bytes(r: &Row) -> Vec<u8> {
    enc(vec![r.0.into(), r.1.into(), r.2.into(), r.3.as_str().into()])
}

fn in_range(v: i8, start: Bound<i8>, end: Bound<i8>) -> bool {
    (start, end).contains(&v)
}

fn check(ds: &Datastore, t: TableId, bag: TableId, m: &Model) {
    let mut expected =
        m.t.iter()
            .map(|r| pv(vec![r.0.into(), r.1.into(), r.2.into(), r.3.as_str().into()]))
            .collect::<Vec<_>>();
    expected.sort();
    assert_eq!(rows(ds, t), expected);
    let mut expected_bag = m
        .bag
        .iter()
        .map(|&(x, y)| pv(vec![x.into(), y.into()]))
        .collect::<Vec<_>>();
    expected_bag.sort();
    assert_eq!(rows(ds, bag), expected_bag);
    assert_eq!(ds.row_count(t).unwrap(), m.t.len() as u64);
    // Every index agrees with the model.
    let a_ix = index(ds, "t_a_idx_btree");
    let scanned = ds
        .index_scan_range(a_ix, vec![], Bound::Unbounded, Bound::Unbounded)
        .unwrap()
        .map(|r| r.to_product_value().elements[1].clone())
        .collect::<Vec<_>>();
    let mut a_sorted = m.t.iter().map(|r| AlgebraicValue::from(r.1)).collect::<Vec<_>>();
    a_sorted.sort();
    assert_eq!(scanned, a_sorted);
    for b in 0..3u8 {
        let n = ds
            .index_scan_point(index(ds, "t_b_idx_hash"), &b.into())
            .unwrap()
            .count();
        assert_eq!(n, m.t.iter().filter(|r| r.2 == b).count());
    }
    for id in 0..8u8 {
        let n = ds
            .index_scan_point_bsatn(index(ds, "t_id_idx_btree"), &to_vec(&id))
            .unwrap()
            .count();
        assert_eq!(n, usize::from(m.t.iter().any(|r| r.0 == id)));
    }
    for x in 0..4u8 {
        let n = ds
            .index_scan_point(index(ds, "bag_x_idx_btree"), &x.into())
            .unwrap()
            .count();
        assert_eq!(n, m.bag.iter().filter(|r| r.0 == x).count());
    }
}

/// Inserts `r` into `t` in both the datastore and the model, checking they agree.
fn insert_t(tx: &mut spacetime_datastore::MutTx<'_>, t: TableId, m: &mut Model, r: Row) {
    let res = tx.insert_bsatn(t, &row_bytes(&r));
    if m.t.contains(&r) {
        assert!(res.is_ok());
    } else if m.t.iter().any(|x| x.0 == r.0) {
        assert!(res.is_err());
    } else {
        res.unwrap();
        m.t.push(r);
    }
}

fn run(ops: Vec<Op>) {
    let mut ds = Datastore::new();
    let tdef = TableBuilder::new("t")
        .column("id", AlgebraicType::U8)
        .column("a", AlgebraicType::I8)
        .column("b", AlgebraicType::U8)
        .column("s", AlgebraicType::String)
        .primary_key("id")
        .btree(&["a"])
        .hash(&["b"])
        .build();
    let t = ds.create_table(&tdef, &Typespace::default()).unwrap();
    let bagdef = TableBuilder::new("bag")
        .column("x", AlgebraicType::U8)
        .column("y", AlgebraicType::U8)
        .btree(&["x"])
        .build();
    let bag = ds.create_table(&bagdef, &Typespace::default()).unwrap();
    let pk = index(&ds, "t_id_idx_btree");
    let a_ix = index(&ds, "t_a_idx_btree");
    let b_ix = index(&ds, "t_b_idx_hash");

    let mut committed = Model::default();
    let mut ops = ops.into_iter().peekable();
    while ops.peek().is_some() {
        let mut m = committed.clone();
        let mut tx = ds.begin_mut_tx();
        let mut deleted: Vec<Row> = Vec::new();
        let end = loop {
            let Some(op) = ops.next() else {
                break Op::Commit;
            };
            match op {
                Op::Insert(i, a, b, s) => insert_t(&mut tx, t, &mut m, (i, a, b, s)),
                Op::Update(i, a, b, s) => {
                    let r = (i, a, b, s);
                    let res = tx.update_bsatn(t, pk, &row_bytes(&r));
                    match m.t.iter().position(|x| x.0 == i) {
                        Some(at) => {
                            res.unwrap();
                            m.t[at] = r;
                        }
                        None => assert!(res.is_err()),
                    }
                }
                Op::Delete(i, a, b, s) => {
                    let r = (i, a, b, s);
                    let found = m.t.iter().position(|x| *x == r);
                    assert_eq!(tx.delete_row(t, &row_bytes(&r)).unwrap(), found.is_some());
                    if let Some(at) = found {
                        m.t.remove(at);
                    }
                }
                Op::DeleteNth(n) => {
                    if !m.t.is_empty() {
                        let r = m.t.remove(n % m.t.len());
                        assert!(tx.delete_row(t, &row_bytes(&r)).unwrap());
                        deleted.push(r);
                    }
                }
                Op::Reinsert => {
                    if let Some(r) = deleted.pop() {
                        insert_t(&mut tx, t, &mut m, r);
                    }
                }
                Op::DeleteRangeA(s, e) => {
                    let before = m.t.len();
                    m.t.retain(|r| !in_range(r.1, s, e));
                    let n = tx
                        .index_scan_range(a_ix, vec![], s.map(Into::into), e.map(Into::into))
                        .unwrap()
                        .count();
                    assert_eq!(n, before - m.t.len());
                    let enc_bound = |b: Bound<i8>| match b {
                        Bound::Included(v) => vec![0, v as u8],
                        Bound::Excluded(v) => vec![1, v as u8],
                        Bound::Unbounded => vec![2],
                    };
                    let deleted = tx
                        .delete_by_index_scan_range_bsatn(a_ix, &[], 0, &enc_bound(s), &enc_bound(e))
                        .unwrap();
                    assert_eq!(deleted as usize, before - m.t.len());
                }
                Op::DeletePointB(b) => {
                    let before = m.t.len();
                    m.t.retain(|r| r.2 != b);
                    assert_eq!(
                        tx.delete_by_index_scan_point_bsatn(b_ix, &[b]).unwrap() as usize,
                        before - m.t.len()
                    );
                }
                Op::InsertBag(x, y) => {
                    tx.insert_bsatn(bag, &enc(vec![x.into(), y.into()])).unwrap();
                    if !m.bag.contains(&(x, y)) {
                        m.bag.push((x, y));
                    }
                }
                Op::DeleteBag(x, y) => {
                    let found = m.bag.iter().position(|r| *r == (x, y));
                    assert_eq!(
                        tx.delete_row(bag, &enc(vec![x.into(), y.into()])).unwrap(),
                        found.is_some()
                    );
                    if let Some(at) = found {
                        m.bag.remove(at);
                    }
                }
                Op::Clear => {
                    assert_eq!(tx.clear(t).unwrap(), m.t.len() as u64);
                    m.t.clear();
                }
                end @ (Op::Commit | Op::Rollback) => break end,
            }
            check(&tx, t, bag, &m);
        };
        if matches!(end, Op::Commit) {
            let data = tx.commit();
            let ds = &ds;
            // Net changes: exactly the difference between the two states, per table.
            let net = |table: TableId| {
                let changes = data.table(table);
                let mut ins = changes.map_or(vec![], |c| {
                    c.inserts
                        .iter()
                        .map(|r| ds.decode_row(table, r).unwrap())
                        .collect::<Vec<_>>()
                });
                let mut del = changes.map_or(vec![], |c| {
                    c.deletes
                        .iter()
                        .map(|r| ds.decode_row(table, r).unwrap())
                        .collect::<Vec<_>>()
                });
                ins.sort();
                del.sort();
                (ins, del)
            };
            let diff = |new: Vec<ProductValue>, old: Vec<ProductValue>| {
                let mut ins = new.iter().filter(|r| !old.contains(r)).cloned().collect::<Vec<_>>();
                let mut del = old.iter().filter(|r| !new.contains(r)).cloned().collect::<Vec<_>>();
                ins.sort();
                del.sort();
                (ins, del)
            };
            let as_pv = |m: &Model| {
                m.t.iter()
                    .map(|r| pv(vec![r.0.into(), r.1.into(), r.2.into(), r.3.as_str().into()]))
                    .collect::<Vec<_>>()
            };
            let bag_pv = |m: &Model| {
                m.bag
                    .iter()
                    .map(|&(x, y)| pv(vec![x.into(), y.into()]))
                    .collect::<Vec<_>>()
            };
            assert_eq!(net(t), diff(as_pv(&m), as_pv(&committed)));
            assert_eq!(net(bag), diff(bag_pv(&m), bag_pv(&committed)));
            committed = m;
        } else {
            tx.rollback();
        }
        check(&ds, t, bag, &committed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn datastore_matches_a_naive_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
