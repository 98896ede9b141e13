//! The traits generated table handles implement: [`Table`] for stored tables,
//! [`TableWithPrimaryKey`] for those with a primary key, and [`EventTable`] for event
//! tables. Bring them into scope to call `count`, `iter` and the callback methods.

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
