//! [`Index`]: a map from the values of some columns to the rows holding them.
//!
//! A key is the column's [`AlgebraicValue`] for a one-column index and a product of
//! the values for a multi-column one, so keys order exactly as `shared/reference`
//! §4 says (numbers numerically, strings by bytes, products lexicographically, sums
//! by tag then payload). Unique indexes map a key to one row, so a primary-key
//! lookup is one probe; non-unique btree indexes keep `(key, row)` pairs so removing
//! one row of many with the same key stays logarithmic.
//!
//! An index on one column of a primitive integer or `bool` type keys its map by a
//! native `u128` instead (see [`NativeTy`]): a primary-key probe then compares
//! machine integers rather than walking `AlgebraicValue`'s derived `Ord`, and a key
//! takes 16 bytes instead of an `AlgebraicValue`'s 32. The encoding keeps the order
//! of the column's values, so range scans visit the same rows in the same order.
//! A unique btree of this kind also keeps a hash map of the same pairs, so a
//! point probe skips the btree walk (about 40 bytes more per row).

use crate::RowPointer;
use spacetime_sats::{AlgebraicType, AlgebraicValue, ColId, IndexId};
use std::cmp::Ordering;
use std::collections::{btree_map, btree_set, BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

/// How an index is organised, as far as scans care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Ordered: point, prefix and range scans. Direct indexes are btrees here.
    BTree,
    /// Hashed: point scans only.
    Hash,
}

/// The rows under each key, organised as the index's kind and uniqueness say.
#[derive(Debug)]
enum Maps<K> {
    UniqueBTree(BTreeMap<K, RowPointer>),
    MultiBTree(BTreeSet<(K, RowPointer)>),
    UniqueHash(HashMap<K, RowPointer>),
    MultiHash(HashMap<K, Vec<RowPointer>>),
}

impl<K: Ord + std::hash::Hash + Clone> Maps<K> {
    fn new(kind: IndexKind, unique: bool) -> Self {
        match (kind, unique) {
            (IndexKind::BTree, true) => Self::UniqueBTree(BTreeMap::new()),
            (IndexKind::BTree, false) => Self::MultiBTree(BTreeSet::new()),
            (IndexKind::Hash, true) => Self::UniqueHash(HashMap::new()),
            (IndexKind::Hash, false) => Self::MultiHash(HashMap::new()),
        }
    }

    fn kind(&self) -> IndexKind {
        match self {
            Self::UniqueBTree(_) | Self::MultiBTree(_) => IndexKind::BTree,
            Self::UniqueHash(_) | Self::MultiHash(_) => IndexKind::Hash,
        }
    }

    fn get_unique(&self, key: &K) -> Option<RowPointer> {
        match self {
            Self::UniqueBTree(m) => m.get(key).copied(),
            Self::UniqueHash(m) => m.get(key).copied(),
            Self::MultiBTree(_) | Self::MultiHash(_) => None,
        }
    }

    fn insert(&mut self, key: K, ptr: RowPointer) {
        match self {
            Self::UniqueBTree(m) => {
                m.insert(key, ptr);
            }
            Self::MultiBTree(s) => {
                s.insert((key, ptr));
            }
            Self::UniqueHash(m) => {
                m.insert(key, ptr);
            }
            Self::MultiHash(m) => m.entry(key).or_default().push(ptr),
        }
    }

    fn remove(&mut self, key: &K, ptr: RowPointer) {
        match self {
            Self::UniqueBTree(m) => {
                m.remove(key);
            }
            Self::MultiBTree(s) => {
                // The set owns its keys, so the probe needs an owned pair.
                s.remove(&(key.clone(), ptr));
            }
            Self::UniqueHash(m) => {
                m.remove(key);
            }
            Self::MultiHash(m) => {
                if let Some(ptrs) = m.get_mut(key) {
                    if let Some(at) = ptrs.iter().position(|&p| p == ptr) {
                        ptrs.swap_remove(at);
                    }
                    if ptrs.is_empty() {
                        m.remove(key);
                    }
                }
            }
        }
    }
}

/// The primitive column types whose values an index keys as a native `u128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NativeTy {
    Bool,
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    I128,
    U128,
}

/// Flipping the sign bit maps `i128` onto `u128` keeping the order.
const SIGN: u128 = 1 << 127;

impl NativeTy {
    fn of(ty: &AlgebraicType) -> Option<Self> {
        Some(match ty {
            AlgebraicType::Bool => Self::Bool,
            AlgebraicType::I8 => Self::I8,
            AlgebraicType::U8 => Self::U8,
            AlgebraicType::I16 => Self::I16,
            AlgebraicType::U16 => Self::U16,
            AlgebraicType::I32 => Self::I32,
            AlgebraicType::U32 => Self::U32,
            AlgebraicType::I64 => Self::I64,
            AlgebraicType::U64 => Self::U64,
            AlgebraicType::I128 => Self::I128,
            AlgebraicType::U128 => Self::U128,
            _ => return None,
        })
    }

    /// `value`'s type and its order-preserving native key; `None` for other types.
    fn encode(value: &AlgebraicValue) -> Option<(Self, u128)> {
        let signed = |v: i128| (v as u128) ^ SIGN;
        Some(match *value {
            AlgebraicValue::Bool(v) => (Self::Bool, v as u128),
            AlgebraicValue::I8(v) => (Self::I8, signed(v.into())),
            AlgebraicValue::U8(v) => (Self::U8, v.into()),
            AlgebraicValue::I16(v) => (Self::I16, signed(v.into())),
            AlgebraicValue::U16(v) => (Self::U16, v.into()),
            AlgebraicValue::I32(v) => (Self::I32, signed(v.into())),
            AlgebraicValue::U32(v) => (Self::U32, v.into()),
            AlgebraicValue::I64(v) => (Self::I64, signed(v.into())),
            AlgebraicValue::U64(v) => (Self::U64, v.into()),
            AlgebraicValue::I128(v) => (Self::I128, signed(v)),
            AlgebraicValue::U128(v) => (Self::U128, v),
            _ => return None,
        })
    }

    /// A value of this type, to learn where values of other types sort against it.
    fn sample(self) -> AlgebraicValue {
        match self {
            Self::Bool => AlgebraicValue::Bool(false),
            Self::I8 => AlgebraicValue::I8(0),
            Self::U8 => AlgebraicValue::U8(0),
            Self::I16 => AlgebraicValue::I16(0),
            Self::U16 => AlgebraicValue::U16(0),
            Self::I32 => AlgebraicValue::I32(0),
            Self::U32 => AlgebraicValue::U32(0),
            Self::I64 => AlgebraicValue::I64(0),
            Self::U64 => AlgebraicValue::U64(0),
            Self::I128 => AlgebraicValue::I128(0),
            Self::U128 => AlgebraicValue::U128(0),
        }
    }

    /// The native key of `value`, or, for a value of another type (which no key
    /// equals), whether it sorts before (`Less`) or after (`Greater`) every key.
    fn key(self, value: &AlgebraicValue) -> Result<u128, Ordering> {
        match Self::encode(value) {
            Some((ty, key)) if ty == self => Ok(key),
            // Values of different types order by type alone, whatever the payloads.
            _ => Err(value.cmp(&self.sample())),
        }
    }

    /// The native bounds of a scan from `start` to `end`; `None` if no key lies
    /// between them (`BTreeMap::range` would panic on some such pairs).
    fn bounds(self, start: &Bound<AlgebraicValue>, end: &Bound<AlgebraicValue>) -> Option<(Bound<u128>, Bound<u128>)> {
        let lo = match start {
            Bound::Unbounded => Bound::Unbounded,
            Bound::Included(v) | Bound::Excluded(v) => match self.key(v) {
                Ok(k) if matches!(start, Bound::Included(_)) => Bound::Included(k),
                Ok(k) => Bound::Excluded(k),
                Err(Ordering::Greater) => return None,
                Err(_) => Bound::Unbounded,
            },
        };
        let hi = match end {
            Bound::Unbounded => Bound::Unbounded,
            Bound::Included(v) | Bound::Excluded(v) => match self.key(v) {
                Ok(k) if matches!(end, Bound::Included(_)) => Bound::Included(k),
                Ok(k) => Bound::Excluded(k),
                Err(Ordering::Less) => return None,
                Err(_) => Bound::Unbounded,
            },
        };
        let empty = match (lo, hi) {
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a >= b,
            _ => false,
        };
        (!empty).then_some((lo, hi))
    }
}

#[derive(Debug)]
enum IndexMap {
    /// Keys are `AlgebraicValue`s: any column types, any number of columns.
    Value(Maps<AlgebraicValue>),
    /// One column of a [`NativeTy`] type, keyed by its native encoding.
    Native(NativeTy, Maps<u128>),
}

/// One index of a table.
#[derive(Debug)]
pub(crate) struct Index {
    pub(crate) id: IndexId,
    pub(crate) name: String,
    pub(crate) columns: Vec<ColId>,
    /// The unique constraint this index enforces, if any.
    pub(crate) constraint: Option<String>,
    map: IndexMap,
    /// Beside a native unique btree, the same `key → row` pairs hashed: a primary-key
    /// probe is then one or two cache misses instead of a walk through the btree's
    /// levels, while the btree still serves range scans.
    points: Option<HashMap<u128, RowPointer>>,
}

/// The row pointers a scan yields, before they are turned into rows.
#[derive(Debug)]
pub(crate) enum PtrIter<'a> {
    One(Option<RowPointer>),
    Slice(std::slice::Iter<'a, RowPointer>),
    UniqueRange(btree_map::Range<'a, AlgebraicValue, RowPointer>, Option<RangeFilter>),
    MultiRange(btree_set::Range<'a, (AlgebraicValue, RowPointer)>, Option<RangeFilter>),
    /// Native bounds are exact, so these need no filter.
    NativeUniqueRange(btree_map::Range<'a, u128, RowPointer>),
    NativeMultiRange(btree_set::Range<'a, (u128, RowPointer)>),
}

/// What a range scan keeps: keys that start with `prefix`, whose next element lies
/// within `start..end`. Keys are visited in order from the first candidate, so the
/// first key past the range ends the scan.
#[derive(Debug)]
pub(crate) struct RangeFilter {
    /// Whether keys are products (multi-column index) or bare values.
    product_keys: bool,
    prefix: Vec<AlgebraicValue>,
    start: Bound<AlgebraicValue>,
    end: Bound<AlgebraicValue>,
    done: bool,
}

enum Step {
    Skip,
    Yield,
    Stop,
}

impl RangeFilter {
    fn step(&mut self, key: &AlgebraicValue) -> Step {
        let elem = if self.product_keys {
            let Some(elems) = key.as_product().map(|p| &p.elements) else {
                return Step::Stop;
            };
            let k = self.prefix.len();
            if elems.len() <= k || elems[..k] != self.prefix[..] {
                return Step::Stop;
            }
            &elems[k]
        } else {
            key
        };
        if let Bound::Excluded(start) = &self.start {
            if elem == start {
                return Step::Skip;
            }
        }
        let past_end = match &self.end {
            Bound::Included(end) => elem > end,
            Bound::Excluded(end) => elem >= end,
            Bound::Unbounded => false,
        };
        if past_end {
            Step::Stop
        } else {
            Step::Yield
        }
    }

    fn filter(filter: &mut Option<Self>, key: &AlgebraicValue) -> Step {
        match filter {
            None => Step::Yield,
            Some(f) if f.done => Step::Stop,
            Some(f) => {
                let step = f.step(key);
                f.done = matches!(step, Step::Stop);
                step
            }
        }
    }
}

impl Iterator for PtrIter<'_> {
    type Item = RowPointer;

    fn next(&mut self) -> Option<RowPointer> {
        match self {
            Self::One(ptr) => ptr.take(),
            Self::Slice(iter) => iter.next().copied(),
            Self::UniqueRange(iter, filter) => loop {
                let (key, ptr) = iter.next()?;
                match RangeFilter::filter(filter, key) {
                    Step::Skip => continue,
                    Step::Yield => return Some(*ptr),
                    Step::Stop => return None,
                }
            },
            Self::MultiRange(iter, filter) => loop {
                let (key, ptr) = iter.next()?;
                match RangeFilter::filter(filter, key) {
                    Step::Skip => continue,
                    Step::Yield => return Some(*ptr),
                    Step::Stop => return None,
                }
            },
            Self::NativeUniqueRange(iter) => iter.next().map(|(_, &ptr)| ptr),
            Self::NativeMultiRange(iter) => iter.next().map(|&(_, ptr)| ptr),
        }
    }
}

const PTR_MIN: RowPointer = RowPointer(0);
const PTR_MAX: RowPointer = RowPointer(u32::MAX);

impl Index {
    /// `key_type` is the resolved type of the column of a one-column index (`None`
    /// for several columns); it decides whether keys are stored natively.
    pub(crate) fn new(
        id: IndexId,
        name: String,
        columns: Vec<ColId>,
        kind: IndexKind,
        constraint: Option<String>,
        key_type: Option<&AlgebraicType>,
    ) -> Self {
        let unique = constraint.is_some();
        let map = match key_type.and_then(NativeTy::of) {
            Some(ty) if columns.len() == 1 => IndexMap::Native(ty, Maps::new(kind, unique)),
            _ => IndexMap::Value(Maps::new(kind, unique)),
        };
        let points = matches!(map, IndexMap::Native(_, Maps::UniqueBTree(_))).then(HashMap::new);
        Self {
            id,
            name,
            columns,
            constraint,
            map,
            points,
        }
    }

    pub(crate) fn kind(&self) -> IndexKind {
        match &self.map {
            IndexMap::Value(m) => m.kind(),
            IndexMap::Native(_, m) => m.kind(),
        }
    }

    pub(crate) fn is_unique(&self) -> bool {
        self.constraint.is_some()
    }

    /// The row holding `key` in a unique index; `None` for a non-unique index.
    pub(crate) fn get_unique(&self, key: &AlgebraicValue) -> Option<RowPointer> {
        match &self.map {
            IndexMap::Value(m) => m.get_unique(key),
            IndexMap::Native(ty, m) => {
                let key = ty.key(key).ok()?;
                match &self.points {
                    Some(points) => points.get(&key).copied(),
                    None => m.get_unique(&key),
                }
            }
        }
    }

    /// Adds `key → ptr`. For a unique index the caller has checked the key is free.
    pub(crate) fn insert(&mut self, key: AlgebraicValue, ptr: RowPointer) {
        match &mut self.map {
            IndexMap::Value(m) => m.insert(key, ptr),
            IndexMap::Native(ty, m) => {
                let native = ty.key(&key).expect("stored keys have the column's type");
                m.insert(native, ptr);
                if let Some(points) = &mut self.points {
                    points.insert(native, ptr);
                }
            }
        }
    }

    /// Removes `key → ptr`.
    pub(crate) fn remove(&mut self, key: &AlgebraicValue, ptr: RowPointer) {
        match &mut self.map {
            IndexMap::Value(m) => m.remove(key, ptr),
            IndexMap::Native(ty, m) => {
                if let Ok(native) = ty.key(key) {
                    m.remove(&native, ptr);
                    if let Some(points) = &mut self.points {
                        points.remove(&native);
                    }
                }
            }
        }
    }

    /// Every row whose key equals `key`.
    pub(crate) fn scan_point(&self, key: &AlgebraicValue) -> PtrIter<'_> {
        match &self.map {
            IndexMap::Value(Maps::UniqueBTree(m)) => PtrIter::One(m.get(key).copied()),
            IndexMap::Value(Maps::UniqueHash(m)) => PtrIter::One(m.get(key).copied()),
            IndexMap::Value(Maps::MultiHash(m)) => PtrIter::Slice(m.get(key).map(|v| v.iter()).unwrap_or_default()),
            IndexMap::Value(Maps::MultiBTree(s)) => {
                let range = (
                    Bound::Included((key.clone(), PTR_MIN)),
                    Bound::Included((key.clone(), PTR_MAX)),
                );
                PtrIter::MultiRange(s.range(range), None)
            }
            IndexMap::Native(ty, m) => {
                // A key of another type equals no stored key.
                let Ok(key) = ty.key(key) else {
                    return PtrIter::One(None);
                };
                if let Some(points) = &self.points {
                    return PtrIter::One(points.get(&key).copied());
                }
                match m {
                    Maps::UniqueBTree(m) => PtrIter::One(m.get(&key).copied()),
                    Maps::UniqueHash(m) => PtrIter::One(m.get(&key).copied()),
                    Maps::MultiHash(m) => PtrIter::Slice(m.get(&key).map(|v| v.iter()).unwrap_or_default()),
                    Maps::MultiBTree(s) => PtrIter::NativeMultiRange(s.range((key, PTR_MIN)..=(key, PTR_MAX))),
                }
            }
        }
    }

    /// Rows whose key starts with `prefix` and whose next key column lies within
    /// `start..end`. `None` for a hash index. The caller checks that
    /// `prefix.len() < self.columns.len()`.
    pub(crate) fn scan_range(
        &self,
        prefix: Vec<AlgebraicValue>,
        start: Bound<AlgebraicValue>,
        end: Bound<AlgebraicValue>,
    ) -> Option<PtrIter<'_>> {
        let map = match &self.map {
            IndexMap::Native(ty, m) => return Self::scan_range_native(*ty, m, &start, &end),
            IndexMap::Value(map) => map,
        };
        let product_keys = self.columns.len() > 1;
        // The first key that can match: for product keys, the shorter product
        // `(prefix.., start)` sorts before every longer key extending it.
        let lower = match (&start, product_keys) {
            (Bound::Unbounded, false) => Bound::Unbounded,
            (Bound::Unbounded, true) => Bound::Included(AlgebraicValue::product(prefix.clone())),
            (Bound::Included(v), false) => Bound::Included(v.clone()),
            (Bound::Excluded(v), false) => Bound::Excluded(v.clone()),
            (Bound::Included(v) | Bound::Excluded(v), true) => {
                let mut elems = prefix.clone();
                elems.push(v.clone());
                Bound::Included(AlgebraicValue::product(elems))
            }
        };
        let filter = Some(RangeFilter {
            product_keys,
            prefix,
            start,
            end,
            done: false,
        });
        match map {
            Maps::UniqueBTree(m) => Some(PtrIter::UniqueRange(m.range((lower, Bound::Unbounded)), filter)),
            Maps::MultiBTree(s) => {
                let lower = match lower {
                    Bound::Included(k) => Bound::Included((k, PTR_MIN)),
                    Bound::Excluded(k) => Bound::Excluded((k, PTR_MAX)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                Some(PtrIter::MultiRange(s.range((lower, Bound::Unbounded)), filter))
            }
            Maps::UniqueHash(_) | Maps::MultiHash(_) => None,
        }
    }

    /// [`scan_range`](Self::scan_range) of a native index: one column, so there is no
    /// prefix and the bounds alone decide.
    fn scan_range_native<'a>(
        ty: NativeTy,
        m: &'a Maps<u128>,
        start: &Bound<AlgebraicValue>,
        end: &Bound<AlgebraicValue>,
    ) -> Option<PtrIter<'a>> {
        // One column, so `prefix` is empty and the bounds alone decide.
        let Some((lo, hi)) = ty.bounds(start, end) else {
            return (m.kind() == IndexKind::BTree).then_some(PtrIter::One(None));
        };
        match m {
            Maps::UniqueBTree(m) => Some(PtrIter::NativeUniqueRange(m.range((lo, hi)))),
            Maps::MultiBTree(s) => {
                let lo = match lo {
                    Bound::Included(k) => Bound::Included((k, PTR_MIN)),
                    Bound::Excluded(k) => Bound::Excluded((k, PTR_MAX)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                let hi = match hi {
                    Bound::Included(k) => Bound::Included((k, PTR_MAX)),
                    Bound::Excluded(k) => Bound::Excluded((k, PTR_MIN)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                Some(PtrIter::NativeMultiRange(s.range((lo, hi))))
            }
            Maps::UniqueHash(_) | Maps::MultiHash(_) => None,
        }
    }
}
