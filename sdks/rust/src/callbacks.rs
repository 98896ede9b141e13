//! Registered row callbacks, by table, and the ids that unregister them.

use crate::cache::Row;
use crate::context::EventContext;
use crate::module::SpacetimeModule;
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies one registered callback. Generated code wraps it in a typed id per table and
/// kind, so an insert id cannot be passed to `remove_on_delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

impl CallbackId {
    pub(crate) fn next() -> Self {
        // One counter for all kinds and connections: ids only need to be unique.
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Self(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

pub(crate) type RowCallback<M, R> = Box<dyn FnMut(&EventContext<M>, &R) + Send + 'static>;
pub(crate) type UpdateCallback<M, R> = Box<dyn FnMut(&EventContext<M>, &R, &R) + Send + 'static>;

/// The callbacks of one table, in registration order.
pub(crate) struct TableCallbacks<M: SpacetimeModule, R> {
    pub(crate) on_insert: Vec<(CallbackId, RowCallback<M, R>)>,
    pub(crate) on_delete: Vec<(CallbackId, RowCallback<M, R>)>,
    pub(crate) on_update: Vec<(CallbackId, UpdateCallback<M, R>)>,
}

impl<M: SpacetimeModule, R> Default for TableCallbacks<M, R> {
    fn default() -> Self {
        Self {
            on_insert: Vec::new(),
            on_delete: Vec::new(),
            on_update: Vec::new(),
        }
    }
}

/// Which list a callback is in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallbackKind {
    Insert,
    Delete,
    Update,
}

/// Every table's callbacks.
pub(crate) struct Callbacks<M: SpacetimeModule> {
    tables: HashMap<&'static str, Box<dyn Any + Send>>,
    _module: std::marker::PhantomData<fn() -> M>,
}

impl<M: SpacetimeModule> Default for Callbacks<M> {
    fn default() -> Self {
        Self {
            tables: HashMap::new(),
            _module: std::marker::PhantomData,
        }
    }
}

impl<M: SpacetimeModule> Callbacks<M> {
    /// The callbacks of `table`, if any were registered.
    pub(crate) fn table_mut<R: Row>(&mut self, table: &str) -> Option<&mut TableCallbacks<M, R>> {
        self.tables.get_mut(table)?.downcast_mut()
    }

    /// The callbacks of `table`, created if needed.
    pub(crate) fn table_entry<R: Row>(&mut self, table: &'static str) -> &mut TableCallbacks<M, R> {
        self.tables
            .entry(table)
            .or_insert_with(|| Box::new(TableCallbacks::<M, R>::default()))
            .downcast_mut()
            .expect("a table's callbacks are registered with its one row type")
    }

    /// Unregisters a callback; an unknown id (already removed) is ignored.
    pub(crate) fn remove<R: Row>(&mut self, table: &'static str, kind: CallbackKind, id: CallbackId) {
        let Some(t) = self.table_mut::<R>(table) else { return };
        match kind {
            CallbackKind::Insert => t.on_insert.retain(|(i, _)| *i != id),
            CallbackKind::Delete => t.on_delete.retain(|(i, _)| *i != id),
            CallbackKind::Update => t.on_update.retain(|(i, _)| *i != id),
        }
    }
}
