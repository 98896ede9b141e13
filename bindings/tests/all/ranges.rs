//! Encoding of index arguments into the range-scan host call's `prefix`/`rstart`/`rend`.

use spacetimedb::filter::{IndexScanRangeBounds, RangeArgs, SingleBound, WithPointArg};
use std::ops::Bound;

fn range<Cols, K, B: IndexScanRangeBounds<Cols, K>>(b: B) -> (Vec<u8>, u16, Vec<u8>, Vec<u8>) {
    let args: RangeArgs = b.range_args();
    let (prefix, elems, rstart, rend) = args.parts();
    (prefix.to_vec(), elems.0, rstart.to_vec(), rend.to_vec())
}

fn point<Cols, K, B: IndexScanRangeBounds<Cols, K>>(b: B) -> (bool, usize, Vec<u8>) {
    let mut out = Vec::new();
    if B::POINT {
        b.encode_point(&mut out);
    }
    (B::POINT, B::COLS_PROVIDED, out)
}

#[test]
fn inclusive_upper_bound_matches_the_reference_bytes() {
    let (prefix, elems, rstart, rend) = range::<(u32,), SingleBound, _>(..=5u32);
    assert_eq!((prefix, elems), (vec![], 0));
    assert_eq!(rstart, [2]);
    assert_eq!(rend, [0, 5, 0, 0, 0]);
}

#[test]
fn every_range_form_encodes_its_bounds() {
    assert_eq!(range::<(u8,), SingleBound, _>(1u8..3).2, [0, 1]);
    assert_eq!(range::<(u8,), SingleBound, _>(1u8..3).3, [1, 3]);
    assert_eq!(range::<(u8,), SingleBound, _>(1u8..=3).3, [0, 3]);
    assert_eq!(range::<(u8,), SingleBound, _>(1u8..).3, [2]);
    assert_eq!(range::<(u8,), SingleBound, _>(..3u8).2, [2]);
    assert_eq!(range::<(u8,), SingleBound, _>(..3u8).3, [1, 3]);
    let (_, _, rstart, rend) = range::<(u8,), SingleBound, _>((Bound::Excluded(1u8), Bound::Unbounded));
    assert_eq!((rstart, rend), (vec![1, 1], vec![2]));
    // A single value on a range scan is `Included(v)` at both ends.
    let (_, _, rstart, rend) = range::<(u8, u8), SingleBound, _>(4u8);
    assert_eq!((rstart, rend), (vec![0, 4], vec![0, 4]));
}

#[test]
fn prefix_values_precede_the_ranged_column() {
    let (prefix, elems, rstart, rend) = range::<(u32, String, i8), (), _>((7u32, "ab", ..0i8));
    assert_eq!(prefix, [7, 0, 0, 0, 2, 0, 0, 0, b'a', b'b']);
    assert_eq!(elems, 2);
    assert_eq!((rstart, rend), (vec![2], vec![1, 0]));
    let (prefix, elems, _, _) = range::<(u32, String), (), _>((7u32,));
    assert_eq!((prefix, elems), (vec![], 0));
}

#[test]
fn values_for_every_column_form_a_point() {
    assert_eq!(
        point::<(u32, i64), (), _>((1u32, -1i64)),
        (true, 2, vec![1, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255])
    );
    let name = String::from("x");
    assert_eq!(
        point::<(String,), SingleBound, _>(&name),
        (true, 1, vec![1, 0, 0, 0, b'x'])
    );
    assert!(!point::<(u32, i64), (), _>((1u32, 0i64..)).0);
    assert_eq!(point::<(u32, i64), SingleBound, _>(1u32).1, 1);
}

#[test]
fn hash_keys_concatenate_the_column_values() {
    let mut out = Vec::new();
    WithPointArg::<(bool, u16)>::encode_point(&(true, 258u16), &mut out);
    assert_eq!(out, [1, 2, 1]);
    out.clear();
    WithPointArg::<(u16,), SingleBound>::encode_point(&3u16, &mut out);
    assert_eq!(out, [3, 0]);
}
