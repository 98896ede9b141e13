//! What index lookups accept: [`FilterableValue`] key types, the point and range
//! arguments of [`RangedIndex`](crate::RangedIndex) and [`PointIndex`](crate::PointIndex),
//! and their encoding into the arguments of the index-scan host calls.
//!
//! A ranged argument is a prefix of column values whose last element may be a range:
//! `x`, `(x,)`, `(x, y)`, `(x, 1..3)`, `(..=5,)`. The prefix is sent as the concatenated
//! BSATN of its values; the last element is sent as two BSATN `Bound`s (tag `included` = 0,
//! `excluded` = 1, `unbounded` = 2, then the value). When every column of the index is
//! given as a plain value, the lookup is a point scan instead.

use crate::{ConnectionId, Identity, Timestamp, Uuid};
use core::ops::{self, Bound};
use spacetime_sats::bsatn::Encode;
use spacetime_sats::{i256, u256, ColId};

/// A type whose values can be looked up in an index: integers, `bool`, strings,
/// [`Identity`], [`ConnectionId`], [`Timestamp`], [`Uuid`] and enums without payloads that
/// derive `SpacetimeType`.
///
/// `Column` is the column type the value is compared with; `&str` looks up `String` columns.
/// Owned values implement it only for `Copy` types, so that a `String` key is passed as
/// `&String` or `&str` rather than cloned.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used to look up rows in an index",
    label = "expected an integer, `bool`, `&String`, `&str`, `Identity`, `ConnectionId`, `Timestamp`, `Uuid` or a payload-free enum",
    note = "floats, structs, vectors and options are not index key types; pass strings by reference"
)]
pub trait FilterableValue: Encode + Private {
    /// The column type this value is compared with.
    type Column;
}

/// Seals [`FilterableValue`]: only the types listed there (and derived plain enums) are keys.
#[doc(hidden)]
pub trait Private {}

macro_rules! filterable {
    (copy $($ty:ty),*) => {$(
        impl Private for $ty {}
        impl FilterableValue for $ty { type Column = $ty; }
        impl Private for &$ty {}
        impl FilterableValue for &$ty { type Column = $ty; }
    )*};
}

filterable!(copy u8, u16, u32, u64, u128, u256, i8, i16, i32, i64, i128, i256, bool, Identity, ConnectionId, Timestamp, Uuid);

impl Private for &String {}
impl FilterableValue for &String {
    type Column = String;
}
impl Private for &str {}
impl FilterableValue for &str {
    type Column = String;
}

/// The last element of a ranged index argument: a single value or a range.
pub enum TermBound<T> {
    /// A single value, i.e. `Included(v)` at both ends.
    Single(Bound<T>),
    /// A range.
    Range(Bound<T>, Bound<T>),
}

/// The last element of a ranged index argument: a plain key value or any range of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is neither an index key value nor a range of them",
    note = "use a value such as `5` or `&name`, or a range such as `1..5`, `..=5`, `(Bound::Excluded(1), Bound::Unbounded)`"
)]
pub trait IndexScanRangeBoundsTerminator {
    /// Whether this is a single value rather than a range.
    const POINT: bool = false;
    /// The key value type.
    type Arg: FilterableValue;
    /// The value, if this is a single value.
    fn as_point(&self) -> Option<&Self::Arg>;
    /// The bounds this element covers.
    fn bounds(&self) -> TermBound<&Self::Arg>;
}

impl<Arg: FilterableValue> IndexScanRangeBoundsTerminator for Arg {
    const POINT: bool = true;
    type Arg = Arg;
    fn as_point(&self) -> Option<&Arg> {
        Some(self)
    }
    fn bounds(&self) -> TermBound<&Arg> {
        TermBound::Single(Bound::Included(self))
    }
}

macro_rules! range_terminator {
    ($($range:ty),*) => {$(
        impl<T: FilterableValue> IndexScanRangeBoundsTerminator for $range {
            type Arg = T;
            fn as_point(&self) -> Option<&T> {
                None
            }
            fn bounds(&self) -> TermBound<&T> {
                TermBound::Range(ops::RangeBounds::start_bound(self), ops::RangeBounds::end_bound(self))
            }
        }
    )*};
}

range_terminator!(
    ops::Range<T>,
    ops::RangeFrom<T>,
    ops::RangeInclusive<T>,
    ops::RangeTo<T>,
    ops::RangeToInclusive<T>,
    (Bound<T>, Bound<T>)
);

/// Appends the BSATN of `bound`: a `u8` tag (included 0, excluded 1, unbounded 2), then
/// the value for the first two.
pub fn encode_bound<T: Encode + ?Sized>(bound: Bound<&T>, out: &mut Vec<u8>) {
    match bound {
        Bound::Included(v) => {
            out.push(0);
            v.encode(out);
        }
        Bound::Excluded(v) => {
            out.push(1);
            v.encode(out);
        }
        Bound::Unbounded => out.push(2),
    }
}

/// The arguments of a range scan host call, in one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeArgs {
    data: Vec<u8>,
    prefix_elems: u16,
    rstart_at: usize,
    // `None` when the end bound is the start bound (a single value).
    rend_at: Option<usize>,
}

impl RangeArgs {
    /// Builds the arguments from the encoded `prefix` of `prefix_elems` values and the
    /// last element's bounds.
    pub fn new<T: Encode + ?Sized>(mut prefix: Vec<u8>, prefix_elems: u16, term: TermBound<&T>) -> Self {
        let rstart_at = prefix.len();
        let rend_at = match term {
            TermBound::Single(bound) => {
                encode_bound(bound, &mut prefix);
                None
            }
            TermBound::Range(start, end) => {
                encode_bound(start, &mut prefix);
                let at = prefix.len();
                encode_bound(end, &mut prefix);
                Some(at)
            }
        };
        Self {
            data: prefix,
            prefix_elems,
            rstart_at,
            rend_at,
        }
    }

    /// `(prefix, prefix_elems, rstart, rend)` as the host calls take them.
    pub fn parts(&self) -> (&[u8], ColId, &[u8], &[u8]) {
        let prefix = &self.data[..self.rstart_at];
        let (rstart, rend) = match self.rend_at {
            Some(at) => (&self.data[self.rstart_at..at], &self.data[at..]),
            None => (&self.data[self.rstart_at..], &self.data[self.rstart_at..]),
        };
        (prefix, ColId(self.prefix_elems), rstart, rend)
    }
}

/// Marks the impls of [`IndexScanRangeBounds`] and [`WithPointArg`] for an argument that is
/// not wrapped in a tuple.
pub struct SingleBound;

/// An argument of [`RangedIndex::filter`](crate::RangedIndex::filter) for an index over
/// the columns `Cols` (a tuple of the column types).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid argument for an index over columns `{Cols}`",
    note = "pass a prefix of the indexed columns' values, whose last element may be a range: `x`, `(x, y)`, `(x, 1..5)`",
    note = "string keys are passed as `&String` or `&str`"
)]
pub trait IndexScanRangeBounds<Cols, K = ()> {
    /// Whether every element given is a single value.
    const POINT: bool;
    /// How many leading columns the argument constrains.
    const COLS_PROVIDED: usize;
    /// Appends the point key (only meaningful when [`Self::POINT`]).
    fn encode_point(&self, out: &mut Vec<u8>);
    /// The range scan arguments.
    fn range_args(&self) -> RangeArgs;
}

const POINT_INVARIANT: &str = "a terminator with POINT = true is a single value";

macro_rules! range_bounds {
    (bare [$($rc:ident),*]) => {
        impl<C1, $($rc,)* A1: FilterableValue<Column = C1>, Term: IndexScanRangeBoundsTerminator<Arg = A1>>
            IndexScanRangeBounds<(C1, $($rc,)*), SingleBound> for Term
        {
            const POINT: bool = Term::POINT;
            const COLS_PROVIDED: usize = 1;
            fn encode_point(&self, out: &mut Vec<u8>) {
                self.as_point().expect(POINT_INVARIANT).encode(out);
            }
            fn range_args(&self) -> RangeArgs {
                RangeArgs::new(Vec::new(), 0, self.bounds())
            }
        }
    };
    ([$($pc:ident $pa:ident),*] $tc:ident $ta:ident [$($rc:ident),*]) => {
        impl<$($pc, $pa: FilterableValue<Column = $pc>,)* $tc, $ta: FilterableValue<Column = $tc>, $($rc,)* Term: IndexScanRangeBoundsTerminator<Arg = $ta>>
            IndexScanRangeBounds<($($pc,)* $tc, $($rc,)*)> for ($($pa,)* Term,)
        {
            const POINT: bool = Term::POINT;
            const COLS_PROVIDED: usize = 1 $(+ range_bounds!(@one $pc))*;
            #[allow(non_snake_case)]
            fn encode_point(&self, out: &mut Vec<u8>) {
                let ($($pa,)* term,) = self;
                $($pa.encode(out);)*
                term.as_point().expect(POINT_INVARIANT).encode(out);
            }
            #[allow(non_snake_case, unused_mut)]
            fn range_args(&self) -> RangeArgs {
                let ($($pa,)* term,) = self;
                let mut prefix = Vec::new();
                $($pa.encode(&mut prefix);)*
                RangeArgs::new(prefix, 0 $(+ range_bounds!(@one $pc))*, term.bounds())
            }
        }
    };
    (@one $x:ident) => { 1 };
}

/// An argument of [`PointIndex::filter`](crate::PointIndex::filter) for a hash index over
/// the columns `Cols`: one value per column.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid key for a hash index over columns `{Cols}`",
    note = "hash indexes look up whole keys: pass one value per indexed column, `x` or `(x, y)`; ranges need a btree index"
)]
pub trait WithPointArg<Cols, K = ()> {
    /// Appends the BSATN of the key.
    fn encode_point(&self, out: &mut Vec<u8>);
}

impl<C1, A1: FilterableValue<Column = C1>> WithPointArg<(C1,), SingleBound> for A1 {
    fn encode_point(&self, out: &mut Vec<u8>) {
        self.encode(out)
    }
}

macro_rules! point_tuple {
    ($($c:ident $a:ident),*) => {
        impl<$($c, $a: FilterableValue<Column = $c>),*> WithPointArg<($($c,)*)> for ($($a,)*) {
            #[allow(non_snake_case)]
            fn encode_point(&self, out: &mut Vec<u8>) {
                let ($($a,)*) = self;
                $($a.encode(out);)*
            }
        }
    };
}

range_bounds!([] C1 A1 []);
range_bounds!([] C1 A1 [C2]);
range_bounds!([C1 A1] C2 A2 []);
range_bounds!([] C1 A1 [C2, C3]);
range_bounds!([C1 A1] C2 A2 [C3]);
range_bounds!([C1 A1, C2 A2] C3 A3 []);
range_bounds!([] C1 A1 [C2, C3, C4]);
range_bounds!([C1 A1] C2 A2 [C3, C4]);
range_bounds!([C1 A1, C2 A2] C3 A3 [C4]);
range_bounds!([C1 A1, C2 A2, C3 A3] C4 A4 []);
range_bounds!([] C1 A1 [C2, C3, C4, C5]);
range_bounds!([C1 A1] C2 A2 [C3, C4, C5]);
range_bounds!([C1 A1, C2 A2] C3 A3 [C4, C5]);
range_bounds!([C1 A1, C2 A2, C3 A3] C4 A4 [C5]);
range_bounds!([C1 A1, C2 A2, C3 A3, C4 A4] C5 A5 []);
range_bounds!([] C1 A1 [C2, C3, C4, C5, C6]);
range_bounds!([C1 A1] C2 A2 [C3, C4, C5, C6]);
range_bounds!([C1 A1, C2 A2] C3 A3 [C4, C5, C6]);
range_bounds!([C1 A1, C2 A2, C3 A3] C4 A4 [C5, C6]);
range_bounds!([C1 A1, C2 A2, C3 A3, C4 A4] C5 A5 [C6]);
range_bounds!([C1 A1, C2 A2, C3 A3, C4 A4, C5 A5] C6 A6 []);
range_bounds!(bare []);
range_bounds!(bare[C2]);
range_bounds!(bare [C2, C3]);
range_bounds!(bare [C2, C3, C4]);
range_bounds!(bare [C2, C3, C4, C5]);
range_bounds!(bare [C2, C3, C4, C5, C6]);
point_tuple!(C1 A1);
point_tuple!(C1 A1, C2 A2);
point_tuple!(C1 A1, C2 A2, C3 A3);
point_tuple!(C1 A1, C2 A2, C3 A3, C4 A4);
point_tuple!(C1 A1, C2 A2, C3 A3, C4 A4, C5 A5);
point_tuple!(C1 A1, C2 A2, C3 A3, C4 A4, C5 A5, C6 A6);
