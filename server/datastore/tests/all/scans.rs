//! Point and range scans: every bound kind, multi-column prefixes, key ordering,
//! and the ABI's BSATN encodings.

use crate::*;
use spacetime_datastore::TableBuilder;
use spacetime_sats::bsatn::{to_vec, Encode};
use spacetime_sats::Errno;
use spacetime_sats::{AlgebraicType, Typespace};
use std::ops::Bound::{self, Excluded, Included, Unbounded};

/// `nums(n: i64 btree, h: u8 hash)` holding n = -3..=3.
fn nums() -> (Datastore, TableId) {
    let mut ds = Datastore::new();
    let def = TableBuilder::new("nums")
        .column("n", AlgebraicType::I64)
        .column("h", AlgebraicType::U8)
        .btree(&["n"])
        .hash(&["h"])
        .build();
    let t = ds.create_table(&def, &Typespace::default()).unwrap();
    let mut tx = ds.begin_mut_tx();
    for n in [3i64, -1, 0, -3, 2, 1, -2] {
        tx.insert_bsatn(t, &enc(vec![n.into(), ((n + 3) as u8 % 2).into()]))
            .unwrap();
    }
    tx.commit();
    (ds, t)
}

fn ns(ds: &Datastore, start: Bound<i64>, end: Bound<i64>) -> Vec<i64> {
    let ix = index(ds, "nums_n_idx_btree");
    ds.index_scan_range(ix, vec![], start.map(Into::into), end.map(Into::into))
        .unwrap()
        .map(|r| match r.read_column(spacetime_sats::ColId(0)) {
            Some(spacetime_sats::AlgebraicValue::I64(n)) => n,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// The BSATN `Bound<i64>` the ABI passes.
fn bound_bsatn(b: Bound<i64>) -> Vec<u8> {
    let mut out = Vec::new();
    match b {
        Included(v) => {
            out.push(0);
            v.encode(&mut out);
        }
        Excluded(v) => {
            out.push(1);
            v.encode(&mut out);
        }
        Unbounded => out.push(2),
    }
    out
}

#[test]
fn every_bound_kind_on_a_signed_column() {
    let (ds, _) = nums();
    let ix = index(&ds, "nums_n_idx_btree");
    let cases: [(Bound<i64>, Bound<i64>, &[i64]); 9] = [
        (Unbounded, Unbounded, &[-3, -2, -1, 0, 1, 2, 3]),
        (Included(-1), Included(1), &[-1, 0, 1]),
        (Excluded(-1), Included(1), &[0, 1]),
        (Included(-1), Excluded(1), &[-1, 0]),
        (Excluded(-1), Excluded(1), &[0]),
        (Unbounded, Excluded(-1), &[-3, -2]),
        (Excluded(2), Unbounded, &[3]),
        (Included(2), Included(-2), &[]),
        (Excluded(0), Excluded(0), &[]),
    ];
    for (start, end, expected) in cases {
        assert_eq!(ns(&ds, start, end), expected, "{start:?}..{end:?}");
        let via_abi = ds
            .index_scan_range_bsatn(ix, &[], 0, &bound_bsatn(start), &bound_bsatn(end))
            .unwrap()
            .map(|r| r.to_product_value().elements[0].clone())
            .collect::<Vec<_>>();
        assert_eq!(
            via_abi,
            expected.iter().map(|&n| n.into()).collect::<Vec<_>>(),
            "abi {start:?}..{end:?}"
        );
    }
    // `..=5u32`-style encodings from module-api.md: rstart `02`, rend `00 ..`.
    assert_eq!(bound_bsatn(Unbounded), vec![2]);
    let point = ds.index_scan_point_bsatn(ix, &to_vec(&-2i64)).unwrap().count();
    assert_eq!(point, 1);
}

#[test]
fn hash_indexes_do_points_only() {
    let (ds, _) = nums();
    let h = index(&ds, "nums_h_idx_hash");
    assert_eq!(ds.index_scan_point(h, &1u8.into()).unwrap().count(), 3);
    assert_eq!(ds.index_scan_point_bsatn(h, &[0]).unwrap().count(), 4);
    let err = ds.index_scan_range_bsatn(h, &[], 0, &[2], &[2]).unwrap_err();
    assert_eq!(err.errno(), Errno::WRONG_INDEX_ALGO);
    assert!(err.to_string().contains("`nums_h_idx_hash` is a hash index"), "{err}");
    assert_eq!(
        ds.index_scan_range(h, vec![], Unbounded, Unbounded)
            .unwrap_err()
            .errno(),
        Errno::WRONG_INDEX_ALGO
    );
}

#[test]
fn malformed_scan_arguments_are_decode_errors() {
    let (ds, _) = nums();
    let ix = index(&ds, "nums_n_idx_btree");
    assert_eq!(
        ds.index_scan_point_bsatn(ix, &[1, 2]).unwrap_err().errno(),
        Errno::BSATN_DECODE_ERROR
    );
    assert_eq!(
        ds.index_scan_range_bsatn(ix, &[], 0, &[3], &[2]).unwrap_err().errno(),
        Errno::BSATN_DECODE_ERROR
    );
    assert_eq!(
        ds.index_scan_range_bsatn(ix, &[], 1, &[2], &[2]).unwrap_err().errno(),
        Errno::BSATN_DECODE_ERROR
    );
    assert_eq!(
        ds.index_scan_range_bsatn(ix, &[], 0, &[2, 0], &[2])
            .unwrap_err()
            .errno(),
        Errno::BSATN_DECODE_ERROR
    );
    assert_eq!(
        ds.index_scan_point_bsatn(spacetime_sats::IndexId(999), &[])
            .unwrap_err()
            .errno(),
        Errno::NO_SUCH_INDEX
    );
}

/// `multi(a: u32, b: string, c: i64)` with a btree on `(a, b, c)`.
fn multi() -> (Datastore, spacetime_sats::IndexId) {
    let mut ds = Datastore::new();
    let def = TableBuilder::new("multi")
        .column("a", AlgebraicType::U32)
        .column("b", AlgebraicType::String)
        .column("c", AlgebraicType::I64)
        .btree(&["a", "b", "c"])
        .build();
    let t = ds.create_table(&def, &Typespace::default()).unwrap();
    let mut tx = ds.begin_mut_tx();
    for a in 1..=3u32 {
        for b in ["x", "y", "z"] {
            for c in [-1i64, 0, 1] {
                tx.insert_bsatn(t, &enc(vec![a.into(), b.into(), c.into()])).unwrap();
            }
        }
    }
    tx.commit();
    let ix = index(&ds, "multi_a_b_c_idx_btree");
    (ds, ix)
}

fn triples(scan: spacetime_datastore::IndexScan<'_>) -> Vec<ProductValue> {
    scan.map(|r| r.to_product_value()).collect()
}

fn triple(a: u32, b: &str, c: i64) -> ProductValue {
    pv(vec![a.into(), b.into(), c.into()])
}

#[test]
fn multi_column_prefixes_and_ranges() {
    let (ds, ix) = multi();
    // No prefix, range on `a`.
    let r = triples(
        ds.index_scan_range(ix, vec![], Excluded(2u32.into()), Unbounded)
            .unwrap(),
    );
    assert_eq!(r.len(), 9);
    assert!(r.iter().all(|p| p.elements[0] == 3u32.into()));
    // Prefix `a = 2`, range `b in ("x", "z")`.
    let r = triples(
        ds.index_scan_range(ix, vec![2u32.into()], Excluded("x".into()), Excluded("z".into()))
            .unwrap(),
    );
    assert_eq!(r, vec![triple(2, "y", -1), triple(2, "y", 0), triple(2, "y", 1)]);
    // Prefix `a = 3, b = "z"`, range `c >= 0`.
    let r = triples(
        ds.index_scan_range(ix, vec![3u32.into(), "z".into()], Included(0i64.into()), Unbounded)
            .unwrap(),
    );
    assert_eq!(r, vec![triple(3, "z", 0), triple(3, "z", 1)]);
    // Prefix `a = 1` with everything after unbounded, in key order.
    let r = triples(
        ds.index_scan_range(ix, vec![1u32.into()], Unbounded, Unbounded)
            .unwrap(),
    );
    assert_eq!(r.len(), 9);
    assert!(r.windows(2).all(|w| w[0] < w[1]));
    // The same through the ABI encoding: prefix is the concatenated key values.
    let mut prefix = to_vec(&3u32);
    "z".encode(&mut prefix);
    let mut rstart = vec![1];
    (-1i64).encode(&mut rstart);
    let r = triples(ds.index_scan_range_bsatn(ix, &prefix, 2, &rstart, &[2]).unwrap());
    assert_eq!(r, vec![triple(3, "z", 0), triple(3, "z", 1)]);
    // A full key is a point scan.
    let mut point = to_vec(&2u32);
    "y".encode(&mut point);
    0i64.encode(&mut point);
    assert_eq!(
        triples(ds.index_scan_point_bsatn(ix, &point).unwrap()),
        vec![triple(2, "y", 0)]
    );
    // Deleting by a range removes exactly those rows.
    let mut ds = ds;
    let mut tx = ds.begin_mut_tx();
    assert_eq!(
        tx.delete_by_index_scan_range_bsatn(ix, &prefix, 2, &rstart, &[2])
            .unwrap(),
        2
    );
    assert_eq!(tx.delete_by_index_scan_point_bsatn(ix, &point).unwrap(), 1);
    tx.commit();
    let t = ds.table_id_from_name("multi").unwrap();
    assert_eq!(ds.row_count(t).unwrap(), 24);
}

#[test]
fn keys_order_as_the_reference_says() {
    let mut ds = Datastore::new();
    let shape = AlgebraicType::sum([
        ("circle", AlgebraicType::U32),
        ("label", AlgebraicType::String),
        ("none", AlgebraicType::unit()),
    ]);
    let def = TableBuilder::new("ord")
        .column("s", AlgebraicType::String)
        .column("k", shape)
        .btree(&["s"])
        .btree(&["k"])
        .build();
    let t = ds.create_table(&def, &Typespace::default()).unwrap();
    let sum = |tag: u8, v: spacetime_sats::AlgebraicValue| spacetime_sats::AlgebraicValue::sum(tag, v);
    let mut tx = ds.begin_mut_tx();
    let values = [
        ("b", sum(1, "a".into())),
        ("B", sum(0, 10u32.into())),
        ("ab", sum(2, spacetime_sats::AlgebraicValue::unit())),
        ("a", sum(0, 9u32.into())),
        ("é", sum(1, "B".into())),
    ];
    for (s, k) in &values {
        tx.insert_bsatn(t, &enc(vec![(*s).into(), k.clone()])).unwrap();
    }
    tx.commit();
    let all = |name: &str, col: usize| {
        ds.index_scan_range(index(&ds, name), vec![], Unbounded, Unbounded)
            .unwrap()
            .map(|r| r.to_product_value().elements[col].clone())
            .collect::<Vec<_>>()
    };
    // Strings by UTF-8 bytes: upper case before lower case, prefixes first, é last.
    assert_eq!(
        all("ord_s_idx_btree", 0),
        ["B", "a", "ab", "b", "é"].map(Into::into).to_vec()
    );
    // Sums by tag, then payload.
    assert_eq!(
        all("ord_k_idx_btree", 1),
        vec![
            sum(0, 9u32.into()),
            sum(0, 10u32.into()),
            sum(1, "B".into()),
            sum(1, "a".into()),
            sum(2, spacetime_sats::AlgebraicValue::unit())
        ]
    );
}

/// One-column indexes on integer and `bool` columns key natively; each scan must
/// still agree with `AlgebraicValue`'s order, including inverted and empty ranges
/// and bounds or points of another type (which sort before or after every key).
#[test]
fn native_keyed_indexes_agree_with_algebraic_value_order() {
    use spacetime_sats::{AlgebraicValue as V, ColId};
    use std::ops::RangeBounds;
    let mut ds = Datastore::new();
    let def = TableBuilder::new("native")
        .column("id", AlgebraicType::I128)
        .column("n", AlgebraicType::I64)
        .column("b", AlgebraicType::Bool)
        .column("u", AlgebraicType::U128)
        .primary_key("id")
        .btree(&["n"])
        .btree(&["b"])
        .unique(&["u"])
        .build();
    let t = ds.create_table(&def, &Typespace::default()).unwrap();
    let ids = [i128::MIN, -5, -1, 0, 1, 7, i128::MAX];
    let ns = [i64::MIN, -2, 0, 0, 3, 3, i64::MAX];
    let us = [0, 1, 2, 1 << 64, u128::MAX - 1, u128::MAX, 9];
    let mut tx = ds.begin_mut_tx();
    for i in 0..ids.len() {
        let row = vec![ids[i].into(), ns[i].into(), (i % 3 == 0).into(), us[i].into()];
        tx.insert_bsatn(t, &enc(row)).unwrap();
    }
    tx.commit();
    let others = [V::U8(0), V::String("z".into()), V::I32(0)];
    let cases: [(&str, usize, Vec<V>); 4] = [
        ("native_id_idx_btree", 0, ids.iter().map(|&v| v.into()).collect()),
        ("native_n_idx_btree", 1, ns.iter().map(|&v| v.into()).collect()),
        (
            "native_b_idx_btree",
            2,
            (0..ids.len()).map(|i| (i % 3 == 0).into()).collect(),
        ),
        ("native_u_idx_btree", 3, us.iter().map(|&v| v.into()).collect()),
    ];
    for (name, col, values) in cases {
        let ix = index(&ds, name);
        let key_of = |r: spacetime_datastore::RowRef<'_>| r.read_column(ColId(col as u16)).unwrap();
        let mut probes: Vec<V> = values.clone();
        probes.extend(others.iter().cloned());
        let mut bounds = vec![Unbounded];
        for p in &probes {
            bounds.push(Included(p.clone()));
            bounds.push(Excluded(p.clone()));
        }
        for p in &probes {
            let got: Vec<V> = ds.index_scan_point(ix, p).unwrap().map(key_of).collect();
            let want = values.iter().filter(|v| *v == p).count();
            assert_eq!(got.len(), want, "{name}: point {p:?}");
            assert!(got.iter().all(|v| v == p), "{name}: point {p:?}");
        }
        for start in &bounds {
            for end in &bounds {
                let got: Vec<V> = ds
                    .index_scan_range(ix, vec![], start.clone(), end.clone())
                    .unwrap()
                    .map(key_of)
                    .collect();
                let mut want: Vec<V> = values
                    .iter()
                    .filter(|v| (start.as_ref(), end.as_ref()).contains(*v))
                    .cloned()
                    .collect();
                want.sort();
                assert_eq!(got, want, "{name}: {start:?}..{end:?}");
            }
        }
    }
}
