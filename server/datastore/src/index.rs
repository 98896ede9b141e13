//! [`Index`]: a map from the values of some columns to the rows holding them.
//!
//! A key is the column's [`AlgebraicValue`] for a one-column index and a product of
//! the values for a multi-column one, so keys order exactly as `shared/reference`
//! §4 says (numbers numerically, strings by bytes, products lexicographically, sums
//! by tag then payload). Unique indexes map a key to one row, so a primary-key
//! lookup is one probe; non-unique btree indexes keep `(key, row)` pairs so removing
//! one row of many with the same key stays logarithmic.

use crate::RowPointer;
use spacetime_sats::{AlgebraicValue, ColId, IndexId};
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

#[derive(Debug)]
enum IndexMap {
    UniqueBTree(BTreeMap<AlgebraicValue, RowPointer>),
    MultiBTree(BTreeSet<(AlgebraicValue, RowPointer)>),
    UniqueHash(HashMap<AlgebraicValue, RowPointer>),
    MultiHash(HashMap<AlgebraicValue, Vec<RowPointer>>),
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
}

/// The row pointers a scan yields, before they are turned into rows.
#[derive(Debug)]
pub(crate) enum PtrIter<'a> {
    One(Option<RowPointer>),
    Slice(std::slice::Iter<'a, RowPointer>),
    UniqueRange(
        btree_map::Range<'a, AlgebraicValue, RowPointer>,
        Option<RangeFilter>,
    ),
    MultiRange(
        btree_set::Range<'a, (AlgebraicValue, RowPointer)>,
        Option<RangeFilter>,
    ),
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
        }
    }
}

const PTR_MIN: RowPointer = RowPointer(0);
const PTR_MAX: RowPointer = RowPointer(u32::MAX);

impl Index {
    pub(crate) fn new(
        id: IndexId,
        name: String,
        columns: Vec<ColId>,
        kind: IndexKind,
        constraint: Option<String>,
    ) -> Self {
        let map = match (kind, constraint.is_some()) {
            (IndexKind::BTree, true) => IndexMap::UniqueBTree(BTreeMap::new()),
            (IndexKind::BTree, false) => IndexMap::MultiBTree(BTreeSet::new()),
            (IndexKind::Hash, true) => IndexMap::UniqueHash(HashMap::new()),
            (IndexKind::Hash, false) => IndexMap::MultiHash(HashMap::new()),
        };
        Self {
            id,
            name,
            columns,
            constraint,
            map,
        }
    }

    pub(crate) fn kind(&self) -> IndexKind {
        match self.map {
            IndexMap::UniqueBTree(_) | IndexMap::MultiBTree(_) => IndexKind::BTree,
            IndexMap::UniqueHash(_) | IndexMap::MultiHash(_) => IndexKind::Hash,
        }
    }

    pub(crate) fn is_unique(&self) -> bool {
        self.constraint.is_some()
    }

    /// The row holding `key` in a unique index; `None` for a non-unique index.
    pub(crate) fn get_unique(&self, key: &AlgebraicValue) -> Option<RowPointer> {
        match &self.map {
            IndexMap::UniqueBTree(m) => m.get(key).copied(),
            IndexMap::UniqueHash(m) => m.get(key).copied(),
            IndexMap::MultiBTree(_) | IndexMap::MultiHash(_) => None,
        }
    }

    /// Adds `key → ptr`. For a unique index the caller has checked the key is free.
    pub(crate) fn insert(&mut self, key: AlgebraicValue, ptr: RowPointer) {
        match &mut self.map {
            IndexMap::UniqueBTree(m) => {
                m.insert(key, ptr);
            }
            IndexMap::MultiBTree(s) => {
                s.insert((key, ptr));
            }
            IndexMap::UniqueHash(m) => {
                m.insert(key, ptr);
            }
            IndexMap::MultiHash(m) => m.entry(key).or_default().push(ptr),
        }
    }

    /// Removes `key → ptr`.
    pub(crate) fn remove(&mut self, key: &AlgebraicValue, ptr: RowPointer) {
        match &mut self.map {
            IndexMap::UniqueBTree(m) => {
                m.remove(key);
            }
            IndexMap::MultiBTree(s) => {
                // The set owns its keys, so the probe needs an owned pair.
                s.remove(&(key.clone(), ptr));
            }
            IndexMap::UniqueHash(m) => {
                m.remove(key);
            }
            IndexMap::MultiHash(m) => {
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

    /// Every row whose key equals `key`.
    pub(crate) fn scan_point(&self, key: &AlgebraicValue) -> PtrIter<'_> {
        match &self.map {
            IndexMap::UniqueBTree(m) => PtrIter::One(m.get(key).copied()),
            IndexMap::UniqueHash(m) => PtrIter::One(m.get(key).copied()),
            IndexMap::MultiHash(m) => {
                PtrIter::Slice(m.get(key).map(|v| v.iter()).unwrap_or_default())
            }
            IndexMap::MultiBTree(s) => {
                let range = (
                    Bound::Included((key.clone(), PTR_MIN)),
                    Bound::Included((key.clone(), PTR_MAX)),
                );
                PtrIter::MultiRange(s.range(range), None)
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
        match &self.map {
            IndexMap::UniqueBTree(m) => Some(PtrIter::UniqueRange(
                m.range((lower, Bound::Unbounded)),
                filter,
            )),
            IndexMap::MultiBTree(s) => {
                let lower = match lower {
                    Bound::Included(k) => Bound::Included((k, PTR_MIN)),
                    Bound::Excluded(k) => Bound::Excluded((k, PTR_MAX)),
                    Bound::Unbounded => Bound::Unbounded,
                };
                Some(PtrIter::MultiRange(
                    s.range((lower, Bound::Unbounded)),
                    filter,
                ))
            }
            IndexMap::UniqueHash(_) | IndexMap::MultiHash(_) => None,
        }
    }
}
