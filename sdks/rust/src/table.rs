//! Table handles. The traits generated table handles implement: [`Table`] for stored
//! tables, [`TableWithPrimaryKey`] for those with a primary key, and [`EventTable`] for
//! event tables; bring them into scope to call `count`, `iter` and the callback methods.
//! Under them, what the generated handles wrap: [`TableHandle`], which reads one table of
//! the client cache and queues callback registrations with the connection, and
//! [`UniqueConstraintHandle`], which finds rows by a unique column.

use crate::cache::Row;
use crate::callbacks::{CallbackId, CallbackKind, Callbacks};
use crate::connection::{DbContextImpl, Mutation};
use crate::context::EventContext;
use crate::module::SpacetimeModule;
use spacetime_sats::bsatn::{self, Encode};
use std::marker::PhantomData;

/// A handle on one table of the client cache, which holds the rows of the client's
/// subscriptions.
pub trait Table {
    /// The row type.
    type Row: 'static;
    /// The context row callbacks receive.
    type EventContext;

    /// The number of rows in the cache.
    fn count(&self) -> u64;
    /// The rows in the cache, cloned, in no particular order.
    fn iter(&self) -> impl Iterator<Item = Self::Row> + '_;

    /// Identifies a registered insert callback.
    type InsertCallbackId;
    /// Runs `callback` for each row that enters the cache.
    fn on_insert(
        &self,
        callback: impl FnMut(&Self::EventContext, &Self::Row) + Send + 'static,
    ) -> Self::InsertCallbackId;
    /// Unregisters an insert callback.
    fn remove_on_insert(&self, callback: Self::InsertCallbackId);

    /// Identifies a registered delete callback.
    type DeleteCallbackId;
    /// Runs `callback` for each row that leaves the cache.
    fn on_delete(
        &self,
        callback: impl FnMut(&Self::EventContext, &Self::Row) + Send + 'static,
    ) -> Self::DeleteCallbackId;
    /// Unregisters a delete callback.
    fn remove_on_delete(&self, callback: Self::DeleteCallbackId);
}

/// A [`Table`] with a primary key: a delete and an insert of the same key in one
/// transaction is one update, reported to `on_update` instead of `on_delete`/`on_insert`.
pub trait TableWithPrimaryKey: Table {
    /// Identifies a registered update callback.
    type UpdateCallbackId;
    /// Runs `callback(ctx, old, new)` for each updated row.
    fn on_update(
        &self,
        callback: impl FnMut(&Self::EventContext, &Self::Row, &Self::Row) + Send + 'static,
    ) -> Self::UpdateCallbackId;
    /// Unregisters an update callback.
    fn remove_on_update(&self, callback: Self::UpdateCallbackId);
}

/// A handle on an event table: its rows are delivered to `on_insert` and never stored, so
/// `count` is always 0 and `iter` is always empty.
pub trait EventTable {
    /// The row type.
    type Row: 'static;
    /// The context row callbacks receive.
    type EventContext;

    /// Always 0.
    fn count(&self) -> u64;
    /// Always empty.
    fn iter(&self) -> impl Iterator<Item = Self::Row> + '_;

    /// Identifies a registered insert callback.
    type InsertCallbackId;
    /// Runs `callback` for each event.
    fn on_insert(
        &self,
        callback: impl FnMut(&Self::EventContext, &Self::Row) + Send + 'static,
    ) -> Self::InsertCallbackId;
    /// Unregisters an insert callback.
    fn remove_on_insert(&self, callback: Self::InsertCallbackId);
}

/// The cache view of one table, wrapped by the generated table handle.
pub struct TableHandle<M: SpacetimeModule, R> {
    imp: DbContextImpl<M>,
    table: &'static str,
    _row: PhantomData<fn() -> R>,
}

impl<M: SpacetimeModule, R: Row> TableHandle<M, R> {
    pub(crate) fn new(imp: DbContextImpl<M>, table: &'static str) -> Self {
        Self {
            imp,
            table,
            _row: PhantomData,
        }
    }

    /// The number of cached rows.
    pub fn count(&self) -> u64 {
        self.imp
            .read_cache(|cache| cache.table::<R>(self.table).map_or(0, |t| t.len() as u64))
    }

    /// The cached rows, cloned.
    pub fn iter(&self) -> std::vec::IntoIter<R> {
        self.imp
            .read_cache(|cache| {
                cache
                    .table::<R>(self.table)
                    .map(|t| t.rows().cloned().collect::<Vec<_>>())
            })
            .unwrap_or_default()
            .into_iter()
    }

    fn register(&self, f: impl FnOnce(&mut Callbacks<M>) + Send + 'static) {
        self.imp.queue(Mutation::Callbacks(Box::new(f)));
    }

    /// Registers an insert callback.
    pub fn on_insert(&self, callback: impl FnMut(&EventContext<M>, &R) + Send + 'static) -> CallbackId {
        let (id, table) = (CallbackId::next(), self.table);
        self.register(move |cbs| cbs.table_entry::<R>(table).on_insert.push((id, Box::new(callback))));
        id
    }

    /// Registers a delete callback.
    pub fn on_delete(&self, callback: impl FnMut(&EventContext<M>, &R) + Send + 'static) -> CallbackId {
        let (id, table) = (CallbackId::next(), self.table);
        self.register(move |cbs| cbs.table_entry::<R>(table).on_delete.push((id, Box::new(callback))));
        id
    }

    /// Registers an update callback.
    pub fn on_update(&self, callback: impl FnMut(&EventContext<M>, &R, &R) + Send + 'static) -> CallbackId {
        let (id, table) = (CallbackId::next(), self.table);
        self.register(move |cbs| cbs.table_entry::<R>(table).on_update.push((id, Box::new(callback))));
        id
    }

    /// Unregisters an insert callback.
    pub fn remove_on_insert(&self, id: CallbackId) {
        let table = self.table;
        self.register(move |cbs| cbs.remove::<R>(table, CallbackKind::Insert, id));
    }

    /// Unregisters a delete callback.
    pub fn remove_on_delete(&self, id: CallbackId) {
        let table = self.table;
        self.register(move |cbs| cbs.remove::<R>(table, CallbackKind::Delete, id));
    }

    /// Unregisters an update callback.
    pub fn remove_on_update(&self, id: CallbackId) {
        let table = self.table;
        self.register(move |cbs| cbs.remove::<R>(table, CallbackKind::Update, id));
    }

    /// The unique column registered as `index`, with values of type `K`.
    pub fn unique<K: Encode + ?Sized>(&self, index: &'static str) -> UniqueConstraintHandle<M, R, K> {
        UniqueConstraintHandle {
            imp: self.imp.clone(),
            table: self.table,
            index,
            _types: PhantomData,
        }
    }
}

/// The row and key types a unique handle is for, without owning either.
type KeyTypes<R, K> = (fn() -> R, fn(&K));

/// Finds cached rows by the value of a unique column.
pub struct UniqueConstraintHandle<M: SpacetimeModule, R, K: ?Sized> {
    imp: DbContextImpl<M>,
    table: &'static str,
    index: &'static str,
    _types: PhantomData<KeyTypes<R, K>>,
}

impl<M: SpacetimeModule, R: Row, K: Encode + ?Sized> UniqueConstraintHandle<M, R, K> {
    /// The cached row whose column equals `value`.
    pub fn find(&self, value: &K) -> Option<R> {
        let key = bsatn::to_vec(value);
        self.imp
            .read_cache(|cache| cache.table::<R>(self.table)?.find_unique(self.index, &key).cloned())
    }
}
