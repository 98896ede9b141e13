//! The client cache: the rows of the client's subscriptions, one [`TableCache`] per table,
//! keyed by each row's BSATN bytes with a reference count.
//!
//! The server sends bags, not sets: a row matched by two query sets arrives twice. A row
//! enters the cache (and fires `on_insert`) when its count goes from 0 to 1 and leaves it
//! (firing `on_delete`) when the count returns to 0. Everything a message changes is
//! applied first and reported as one net diff per table afterwards, so callbacks always see
//! the whole message applied, and a row that leaves and comes back within one message fires
//! nothing. The cache also remembers which rows each query set holds, so a set that ends
//! without the server listing its rows (an error, or a reconnect) still lets go of them.

use crate::callbacks::Callbacks;
use crate::context::EventContext;
use crate::error::InternalError;
use crate::module::SpacetimeModule;
use bytes::Bytes;
use spacetime_protocol::v2::{QueryRows, TableUpdateRows, TransactionUpdate};
use spacetime_protocol::QuerySetId;
use spacetime_sats::bsatn::{self, Decode, Encode};
use std::any::Any;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

/// What a table's rows must be: decodable from BSATN, clonable into callbacks, shareable.
pub trait Row: Decode + Clone + Debug + Send + Sync + 'static {}
impl<T: Decode + Clone + Debug + Send + Sync + 'static> Row for T {}

type KeyFn<R> = Arc<dyn Fn(&R) -> Vec<u8> + Send + Sync>;

/// A unique column: its values (as BSATN) map to the key of the row holding them.
struct UniqueIndex<R> {
    name: &'static str,
    key: KeyFn<R>,
    rows: HashMap<Vec<u8>, Bytes>,
}

/// The cached rows of one table.
pub struct TableCache<R> {
    name: &'static str,
    rows: HashMap<Bytes, (R, u32)>,
    primary_key: Option<KeyFn<R>>,
    uniques: Vec<UniqueIndex<R>>,
    is_event: bool,
}

impl<R: Row> TableCache<R> {
    fn new(name: &'static str, is_event: bool) -> Self {
        Self {
            name,
            rows: HashMap::new(),
            primary_key: None,
            uniques: Vec::new(),
            is_event,
        }
    }

    /// Declares the primary key: deletes and inserts of the same key in one message are
    /// reported as updates.
    pub fn set_primary_key<K: Encode + ?Sized + 'static>(&mut self, column: fn(&R) -> &K) -> &mut Self {
        self.primary_key = Some(Arc::new(move |row| bsatn::to_vec(column(row))));
        self
    }

    /// Declares a unique column named `name`, so `find` can look rows up by it.
    pub fn add_unique_index<K: Encode + ?Sized + 'static>(
        &mut self,
        name: &'static str,
        column: fn(&R) -> &K,
    ) -> &mut Self {
        self.uniques.push(UniqueIndex {
            name,
            key: Arc::new(move |row| bsatn::to_vec(column(row))),
            rows: HashMap::new(),
        });
        self
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn rows(&self) -> impl Iterator<Item = &R> {
        self.rows.values().map(|(row, _)| row)
    }

    pub(crate) fn find_unique(&self, index: &str, key: &[u8]) -> Option<&R> {
        let index = self.uniques.iter().find(|u| u.name == index)?;
        let row_key = index.rows.get(key)?;
        self.rows.get(row_key).map(|(row, _)| row)
    }

    fn decode(&self, bytes: &Bytes) -> Result<R, InternalError> {
        bsatn::from_slice(bytes).map_err(|e| {
            InternalError::new(format!(
                "cannot decode a row of table `{}` as {}; the bindings are probably out of date: re-run `spacetime generate`",
                self.name,
                std::any::type_name::<R>()
            ))
            .with_cause(e)
        })
    }

    /// Applies one message's inserts and deletes and returns the net diff.
    fn apply(&mut self, change: &RawChange) -> Result<TableDiff<R>, InternalError> {
        if self.is_event {
            let events = change
                .events
                .iter()
                .map(|b| Ok((b.clone(), self.decode(b)?)))
                .collect::<Result<_, _>>()?;
            return Ok(TableDiff {
                table: self.name,
                inserts: events,
                deletes: Vec::new(),
                updates: Vec::new(),
            });
        }
        // Whether each touched row was present before the message, in first-touch order.
        let mut touched: Vec<(Bytes, bool)> = Vec::new();
        let mut seen: HashMap<Bytes, ()> = HashMap::new();
        let mut removed: HashMap<Bytes, R> = HashMap::new();
        let mut touch = |rows: &HashMap<Bytes, (R, u32)>, key: &Bytes| {
            if seen.insert(key.clone(), ()).is_none() {
                touched.push((key.clone(), rows.contains_key(key)));
            }
        };
        // Inserts first, so a delete and an insert of the same row in one message never
        // sees the row missing.
        for key in &change.inserts {
            touch(&self.rows, key);
            match self.rows.get_mut(key) {
                Some((_, count)) => *count += 1,
                None => {
                    let row = self.decode(key)?;
                    self.rows.insert(key.clone(), (row, 1));
                }
            }
        }
        for key in &change.deletes {
            touch(&self.rows, key);
            match self.rows.get_mut(key) {
                Some((_, count)) if *count > 1 => *count -= 1,
                Some(_) => {
                    let (row, _) = self.rows.remove(key).expect("the row was just found");
                    removed.insert(key.clone(), row);
                }
                None => log::warn!(
                    "table `{}`: the server deleted a row this client does not have; ignoring it",
                    self.name
                ),
            }
        }
        let mut inserts = Vec::new();
        let mut deletes = Vec::new();
        for (key, before) in touched {
            match (before, self.rows.get(&key)) {
                (false, Some((row, _))) => inserts.push((key, row.clone())),
                (true, None) => deletes.push((
                    key.clone(),
                    removed
                        .remove(&key)
                        .expect("a row present before and gone after was removed"),
                )),
                _ => {}
            }
        }
        let diff = self.pair_updates(inserts, deletes);
        self.update_indexes(&diff);
        Ok(diff)
    }

    /// Turns a delete and an insert with the same primary key into an update.
    fn pair_updates(&self, inserts: Vec<(Bytes, R)>, deletes: Vec<(Bytes, R)>) -> TableDiff<R> {
        let Some(pk) = &self.primary_key else {
            return TableDiff {
                table: self.name,
                inserts,
                deletes,
                updates: Vec::new(),
            };
        };
        if deletes.is_empty() || inserts.is_empty() {
            return TableDiff {
                table: self.name,
                inserts,
                deletes,
                updates: Vec::new(),
            };
        }
        let mut deleted_by_pk: HashMap<Vec<u8>, usize> =
            deletes.iter().enumerate().map(|(i, (_, row))| (pk(row), i)).collect();
        let mut paired = vec![None; deletes.len()];
        let mut remaining_inserts = Vec::new();
        let mut update_order = Vec::new();
        for insert in inserts {
            match deleted_by_pk.remove(&pk(&insert.1)) {
                Some(i) => {
                    paired[i] = Some(update_order.len());
                    update_order.push((i, insert));
                }
                None => remaining_inserts.push(insert),
            }
        }
        let mut olds: Vec<Option<(Bytes, R)>> = deletes.into_iter().map(Some).collect();
        let mut remaining_deletes = Vec::new();
        for (i, slot) in olds.iter_mut().enumerate() {
            if paired[i].is_none() {
                remaining_deletes.push(slot.take().expect("each delete is visited once"));
            }
        }
        let updates = update_order
            .into_iter()
            .map(|(i, new)| (olds[i].take().expect("each delete pairs once"), new))
            .collect();
        TableDiff {
            table: self.name,
            inserts: remaining_inserts,
            deletes: remaining_deletes,
            updates,
        }
    }

    fn update_indexes(&mut self, diff: &TableDiff<R>) {
        for index in &mut self.uniques {
            for (_, row) in diff.deletes.iter().chain(diff.updates.iter().map(|(old, _)| old)) {
                index.rows.remove(&(index.key)(row));
            }
            for (key, row) in diff.inserts.iter().chain(diff.updates.iter().map(|(_, new)| new)) {
                if index.rows.insert((index.key)(row), key.clone()).is_some() {
                    log::warn!(
                        "table `{}`: two cached rows share a value of unique column `{}`",
                        self.name,
                        index.name
                    );
                }
            }
        }
    }

    /// The diff that turns this table's rows into `newer`'s (after a reconnect).
    fn diff_to(&self, newer: &Self) -> TableDiff<R> {
        let deletes = self
            .rows
            .iter()
            .filter(|(k, _)| !newer.rows.contains_key(*k))
            .map(|(k, (r, _))| (k.clone(), r.clone()));
        let inserts = newer
            .rows
            .iter()
            .filter(|(k, _)| !self.rows.contains_key(*k))
            .map(|(k, (r, _))| (k.clone(), r.clone()));
        self.pair_updates(inserts.collect(), deletes.collect())
    }
}

/// The net change to one table in one message, ready to fire callbacks.
pub(crate) struct TableDiff<R> {
    table: &'static str,
    inserts: Vec<(Bytes, R)>,
    deletes: Vec<(Bytes, R)>,
    updates: Vec<((Bytes, R), (Bytes, R))>,
}

/// A [`TableDiff`] of any row type.
pub(crate) trait AnyDiff<M: SpacetimeModule>: Send {
    fn invoke(&self, ctx: &EventContext<M>, callbacks: &mut Callbacks<M>);
    fn is_empty(&self) -> bool;
}

impl<M: SpacetimeModule, R: Row> AnyDiff<M> for TableDiff<R> {
    fn invoke(&self, ctx: &EventContext<M>, callbacks: &mut Callbacks<M>) {
        let Some(table) = callbacks.table_mut::<R>(self.table) else {
            return;
        };
        for (_, row) in &self.deletes {
            table.on_delete.iter_mut().for_each(|(_, cb)| cb(ctx, row));
        }
        for (_, row) in &self.inserts {
            table.on_insert.iter_mut().for_each(|(_, cb)| cb(ctx, row));
        }
        for ((_, old), (_, new)) in &self.updates {
            table.on_update.iter_mut().for_each(|(_, cb)| cb(ctx, old, new));
        }
    }

    fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.deletes.is_empty() && self.updates.is_empty()
    }
}

/// A [`TableCache`] of any row type.
trait AnyTable<M: SpacetimeModule>: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn apply(&mut self, change: &RawChange) -> Result<Box<dyn AnyDiff<M>>, InternalError>;
    fn diff_to(&self, newer: &dyn AnyTable<M>) -> Box<dyn AnyDiff<M>>;
}

impl<M: SpacetimeModule, R: Row> AnyTable<M> for TableCache<R> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn apply(&mut self, change: &RawChange) -> Result<Box<dyn AnyDiff<M>>, InternalError> {
        Ok(Box::new(TableCache::apply(self, change)?))
    }
    fn diff_to(&self, newer: &dyn AnyTable<M>) -> Box<dyn AnyDiff<M>> {
        let newer = newer
            .as_any()
            .downcast_ref::<Self>()
            .expect("both caches registered the same row type for a table");
        Box::new(TableCache::diff_to(self, newer))
    }
}

/// The rows one message inserts and deletes in one table, still encoded.
#[derive(Default)]
struct RawChange {
    inserts: Vec<Bytes>,
    deletes: Vec<Bytes>,
    events: Vec<Bytes>,
}

/// A message's changes, grouped by table in first-mention order.
#[derive(Default)]
pub(crate) struct Changes {
    tables: Vec<(&'static str, RawChange)>,
}

impl Changes {
    fn table(&mut self, name: &'static str) -> &mut RawChange {
        let i = match self.tables.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.tables.push((name, RawChange::default()));
                self.tables.len() - 1
            }
        };
        &mut self.tables[i].1
    }
}

/// Which rows (by bytes, with multiplicity) one query set holds in each table.
type QuerySetRows = HashMap<&'static str, HashMap<Bytes, u32>>;

/// The local replica of the subscribed rows of every table.
pub struct ClientCache<M: SpacetimeModule> {
    tables: HashMap<&'static str, Box<dyn AnyTable<M>>>,
    /// Registration order, so diffs and callbacks run in a stable order.
    order: Vec<&'static str>,
    query_sets: HashMap<QuerySetId, QuerySetRows>,
}

impl<M: SpacetimeModule> ClientCache<M> {
    pub(crate) fn new() -> Self {
        let mut cache = Self {
            tables: HashMap::new(),
            order: Vec::new(),
            query_sets: HashMap::new(),
        };
        M::register_tables(&mut cache);
        cache
    }

    /// Registers the stored table `name` with rows of type `R`.
    pub fn register_table<R: Row>(&mut self, name: &'static str) -> &mut TableCache<R> {
        self.register(name, false)
    }

    /// Registers the event table `name` with rows of type `R`.
    pub fn register_event_table<R: Row>(&mut self, name: &'static str) -> &mut TableCache<R> {
        self.register(name, true)
    }

    fn register<R: Row>(&mut self, name: &'static str, is_event: bool) -> &mut TableCache<R> {
        if !self.tables.contains_key(name) {
            self.order.push(name);
        }
        let entry = self
            .tables
            .entry(name)
            .or_insert_with(|| Box::new(TableCache::<R>::new(name, is_event)));
        entry
            .as_any_mut()
            .downcast_mut()
            .expect("a table name registered twice with different row types")
    }

    pub(crate) fn table<R: Row>(&self, name: &str) -> Option<&TableCache<R>> {
        self.tables.get(name)?.as_any().downcast_ref()
    }

    fn known_name(&self, name: &str) -> Result<&'static str, InternalError> {
        self.tables.get_key_value(name).map(|(k, _)| *k).ok_or_else(|| {
            InternalError::new(format!(
                "the server sent rows of table `{name}`, which these bindings do not know; re-run `spacetime generate`"
            ))
        })
    }

    fn record(&mut self, qs: QuerySetId, table: &'static str, key: &Bytes, insert: bool) {
        let rows = self.query_sets.entry(qs).or_default().entry(table).or_default();
        if insert {
            *rows.entry(key.clone()).or_default() += 1;
        } else if let Some(count) = rows.get_mut(key) {
            *count -= 1;
            if *count == 0 {
                rows.remove(key);
            }
        }
    }

    /// The changes of a transaction update, recording each query set's rows.
    pub(crate) fn changes_of_update(&mut self, update: &TransactionUpdate) -> Result<Changes, InternalError> {
        let mut changes = Changes::default();
        for (qs, table_update) in update.table_updates() {
            let name = self.known_name(&table_update.table_name)?;
            for chunk in &table_update.rows {
                match chunk {
                    TableUpdateRows::PersistentTable(rows) => {
                        for key in rows.inserts.iter() {
                            self.record(qs, name, &key, true);
                            changes.table(name).inserts.push(key);
                        }
                        for key in rows.deletes.iter() {
                            self.record(qs, name, &key, false);
                            changes.table(name).deletes.push(key);
                        }
                    }
                    TableUpdateRows::EventTable(rows) => changes.table(name).events.extend(rows.events.iter()),
                }
            }
        }
        Ok(changes)
    }

    /// The initial rows of a query set, as inserts.
    pub(crate) fn changes_of_applied(&mut self, qs: QuerySetId, rows: &QueryRows) -> Result<Changes, InternalError> {
        let mut changes = Changes::default();
        self.query_sets.entry(qs).or_default();
        for table_rows in &rows.tables {
            let name = self.known_name(&table_rows.table)?;
            for key in table_rows.rows.iter() {
                self.record(qs, name, &key, true);
                changes.table(name).inserts.push(key);
            }
        }
        Ok(changes)
    }

    /// Forgets a query set and returns the rows it held, as deletes.
    pub(crate) fn changes_of_removed(&mut self, qs: QuerySetId) -> Changes {
        let mut changes = Changes::default();
        for (name, rows) in self.query_sets.remove(&qs).unwrap_or_default() {
            let change = changes.table(name);
            for (key, count) in rows {
                change.deletes.extend(std::iter::repeat_n(key, count as usize));
            }
        }
        changes
    }

    /// Applies `changes` and returns the net diff of each changed table.
    pub(crate) fn apply(&mut self, changes: Changes) -> Result<Vec<Box<dyn AnyDiff<M>>>, InternalError> {
        let mut diffs = Vec::new();
        for (name, change) in &changes.tables {
            let table = self.tables.get_mut(name).expect("changes name only registered tables");
            let diff = table.apply(change)?;
            if !diff.is_empty() {
                diffs.push(diff);
            }
        }
        Ok(diffs)
    }

    /// The diffs that turn this cache's rows into `newer`'s, table by table.
    pub(crate) fn diff_to(&self, newer: &Self) -> Vec<Box<dyn AnyDiff<M>>> {
        self.order
            .iter()
            .filter_map(|name| Some(self.tables[name].diff_to(newer.tables.get(name)?.as_ref())))
            .filter(|d| !d.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: u32) -> Bytes {
        bsatn::to_vec(&v).into()
    }

    fn change(inserts: &[u32], deletes: &[u32], events: &[u32]) -> RawChange {
        let all = |v: &[u32]| v.iter().copied().map(bytes).collect();
        RawChange {
            inserts: all(inserts),
            deletes: all(deletes),
            events: all(events),
        }
    }

    fn rows(v: &[(Bytes, u32)]) -> Vec<u32> {
        v.iter().map(|(_, r)| *r).collect()
    }

    #[test]
    fn event_rows_fire_inserts_and_are_never_stored() {
        let mut table = TableCache::<u32>::new("events", true);
        let diff = table.apply(&change(&[], &[], &[7, 7, 8])).unwrap();
        assert_eq!(rows(&diff.inserts), [7, 7, 8]);
        assert!(diff.deletes.is_empty() && diff.updates.is_empty());
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn counts_and_unique_index() {
        let mut table = TableCache::<u32>::new("t", false);
        table.add_unique_index("value", |row: &u32| row);
        let diff = table.apply(&change(&[1, 1, 2], &[], &[])).unwrap();
        assert_eq!(rows(&diff.inserts), [1, 2], "a row inserted twice is one insert");
        let diff = table.apply(&change(&[], &[1], &[])).unwrap();
        assert!(diff.deletes.is_empty(), "one of two references left");
        let diff = table.apply(&change(&[], &[1, 9], &[])).unwrap();
        assert_eq!(rows(&diff.deletes), [1], "an unknown delete is ignored");
        assert_eq!(table.find_unique("value", &bsatn::to_vec(&2u32)), Some(&2));
        assert_eq!(table.find_unique("value", &bsatn::to_vec(&1u32)), None);
        assert!(
            table
                .apply(&RawChange {
                    inserts: vec![Bytes::from_static(&[1])],
                    ..Default::default()
                })
                .is_err(),
            "a short row is an error"
        );
    }

    #[test]
    fn primary_key_pairs_deletes_with_inserts() {
        // Rows are (key, value) pairs; the key is the primary key.
        let mut table = TableCache::<(u8, u8)>::new("kv", false);
        table.set_primary_key(|row: &(u8, u8)| &row.0);
        let enc = |rows: &[(u8, u8)]| rows.iter().map(|r| Bytes::from(bsatn::to_vec(r))).collect::<Vec<_>>();
        let raw = |ins: &[(u8, u8)], del: &[(u8, u8)]| RawChange {
            inserts: enc(ins),
            deletes: enc(del),
            events: Vec::new(),
        };
        table.apply(&raw(&[(1, 10), (2, 20)], &[])).unwrap();
        let diff = table.apply(&raw(&[(1, 11), (3, 30)], &[(1, 10), (2, 20)])).unwrap();
        let updates: Vec<((u8, u8), (u8, u8))> = diff.updates.iter().map(|((_, o), (_, n))| (*o, *n)).collect();
        assert_eq!(updates, [((1, 10), (1, 11))]);
        assert_eq!(diff.deletes.iter().map(|(_, r)| *r).collect::<Vec<_>>(), [(2, 20)]);
        assert_eq!(diff.inserts.iter().map(|(_, r)| *r).collect::<Vec<_>>(), [(3, 30)]);
    }
}
