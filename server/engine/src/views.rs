//! Views, materialised: every view's rows live in a backing table of the datastore, so
//! SQL, one-off queries and subscriptions (joins included) read a view exactly as they
//! read a table, and its changes reach subscribers as table changes.
//!
//! - An anonymous view has one backing table, named as the view, filled when the
//!   module starts (or is updated). A per-caller view has one backing table per caller
//!   who reads it (named by [`ViewDef::backing_table_name`]), filled the first time that
//!   caller queries or subscribes ([`Views::ensure_caller`]); SQL resolves the view's
//!   name to the caller's own table, so nobody reaches another caller's rows.
//! - Each materialisation remembers the tables its last evaluation read. After every
//!   committed transaction the funnel calls [`Views::refresh`], which re-evaluates only
//!   the materialisations whose read set the transaction touched and applies the
//!   difference (rows gone deleted, rows new inserted) to their backing tables in one
//!   transaction. Its changes are published with the transaction's own, so a subscriber
//!   sees a view change in the same update as the table change that caused it; a row of
//!   a keyed view whose other columns changed arrives as a delete and an insert of the
//!   same key, which clients pair into an update.
//! - Backing tables are derived state: they are system tables, never logged (the funnel
//!   logs the transaction without them) nor snapshotted, and are rebuilt from the
//!   tables after a restart or a module update.
//! - Views run on an instance of their own, so evaluating them never disturbs the
//!   instance that runs reducers. A view that fails keeps its previous rows and is
//!   retried on the next change to what it read; the failure goes to the module log.
//!
//! A per-caller view is kept current only while its caller has a WebSocket connection;
//! for a caller who is not connected (an HTTP caller between requests), a transaction
//! that touches its read set only marks it stale, and the caller's next query evaluates
//! it first. Per-caller backing tables are kept while the database runs (the datastore
//! cannot drop a table), at most [`MAX_MATERIALISED_CALLERS`] callers' worth.

use spacetime_datastore::{Datastore, DatastoreError, TxData, FIRST_USER_TABLE_ID};
use spacetime_host::{LogLevel, ModuleInstance, ModuleProgram, ViewError};
use spacetime_sats::def::model::{IndexAlgorithm, IndexDef, TableDef, ViewDef};
use spacetime_sats::def::raw::{TableAccess, TableType};
use spacetime_sats::{Identity, TableId, Timestamp};
use std::collections::{BTreeSet, HashMap, HashSet};

/// How many distinct callers' per-caller views are materialised at most (fewer if the
/// module has so many per-caller views that their tables would not fit the system
/// tables' ids); the next caller's query of a per-caller view is then refused with
/// [`ViewsError::TooManyCallers`].
pub const MAX_MATERIALISED_CALLERS: usize = 1000;

/// Why a view could not be materialised for a caller.
#[derive(Debug, thiserror::Error)]
pub enum ViewsError {
    /// The backing table could not be created.
    #[error("cannot create the table of view `{view}`: {source}")]
    BackingTable {
        /// The view.
        view: String,
        /// The datastore's reason.
        source: DatastoreError,
    },
    /// Too many callers have per-caller views materialised.
    #[error(
        "per-caller views are materialised for {callers} callers already, the most this database keeps; they are \
         released when the database restarts"
    )]
    TooManyCallers {
        /// How many callers have them.
        callers: usize,
    },
}

/// One materialisation: a view's rows for one caller (or for everyone).
#[derive(Debug)]
struct Materialised {
    /// The view's position in the module's views.
    view: usize,
    /// The caller (ignored by an anonymous view).
    caller: Identity,
    /// Its backing table.
    table: TableId,
    /// The tables its last evaluation read; `None` until one succeeded (then every
    /// change retries it).
    reads: Option<BTreeSet<TableId>>,
    /// Whether a transaction changed what it read since its last evaluation, which
    /// was skipped because its caller was not connected: it is evaluated again at the
    /// caller's next query ([`Views::ensure_caller`]).
    stale: bool,
}

/// The materialised views of one database.
#[derive(Debug, Default)]
pub(crate) struct Views {
    /// The instance views run on; `None` for a module without views.
    instance: Option<ModuleInstance>,
    /// Every materialisation.
    materialised: Vec<Materialised>,
    /// The callers whose per-caller views are materialised.
    callers: HashSet<Identity>,
    /// Every backing table.
    backing: HashSet<TableId>,
}

/// The backing table of `view` for `caller`: the view's columns, a btree index on each
/// (so subscriptions can join on any column), public or private as the view is.
fn backing_def(view: &ViewDef, caller: Identity) -> TableDef {
    let name = view.backing_table_name(caller);
    let indexes = view
        .columns
        .iter()
        .map(|c| {
            let index = format!("{name}_{}_idx_btree", c.name);
            IndexDef {
                name: index.clone(),
                source_name: index,
                accessor_name: None,
                algorithm: IndexAlgorithm::BTree {
                    columns: vec![c.col_id],
                },
            }
        })
        .collect();
    TableDef {
        accessor_name: name.clone(),
        name,
        product_type_ref: view.product_type_ref,
        row_type: view.row_type.clone(),
        columns: view.columns.clone(),
        primary_key: None,
        indexes,
        unique_constraints: Vec::new(),
        sequences: Vec::new(),
        schedule: None,
        table_type: TableType::System,
        access: if view.is_public {
            TableAccess::Public
        } else {
            TableAccess::Private
        },
        is_event: false,
        default_values: Vec::new(),
    }
}

impl Views {
    /// The views of `program`, not yet materialised: an instance of their own if it
    /// declares any. Call [`Views::start`] once the tables hold their rows.
    ///
    /// # Errors
    /// The host's reason if the instance cannot be created.
    pub(crate) fn new(
        program: &ModuleProgram,
        identity: Identity,
        logs: std::sync::Arc<dyn spacetime_host::LogSink>,
    ) -> Result<Self, spacetime_host::LoadError> {
        let instance = if program.module_def().views.is_empty() {
            None
        } else {
            Some(program.instantiate(identity, logs)?)
        };
        Ok(Self {
            instance,
            ..Self::default()
        })
    }

    /// `tx` without changes to backing tables, which are never logged: a module can
    /// name a view's table in a write (the ABI resolves it like any table), and such a
    /// change is not durable state; the view's next evaluation overwrites it.
    pub(crate) fn durable_part<'t>(&self, tx: &'t TxData) -> std::borrow::Cow<'t, TxData> {
        if tx.tables.iter().all(|t| !self.backing.contains(&t.table_id)) {
            return std::borrow::Cow::Borrowed(tx);
        }
        let tables = (tx.tables.iter())
            .filter(|t| !self.backing.contains(&t.table_id))
            .cloned()
            .collect();
        std::borrow::Cow::Owned(TxData { tables })
    }

    /// Materialises every anonymous view, and every per-caller view for `callers`
    /// (those of a previous module, after an update), in `ds`, whose backing tables do
    /// not exist yet.
    ///
    /// # Errors
    /// A backing table could not be created.
    pub(crate) fn start(
        &mut self,
        ds: &mut Datastore,
        callers: impl IntoIterator<Item = Identity>,
    ) -> Result<(), ViewsError> {
        for index in self.view_indices(true) {
            self.materialise(ds, index, Identity::ZERO)?;
        }
        for caller in callers {
            self.ensure_caller(ds, caller)?;
        }
        Ok(())
    }

    /// The callers whose per-caller views are materialised.
    pub(crate) fn callers(&self) -> Vec<Identity> {
        self.callers.iter().copied().collect()
    }

    /// Materialises the per-caller views for `caller`, if not done already, so a query
    /// of `caller` finds them.
    ///
    /// # Errors
    /// A backing table could not be created, or too many callers have views.
    pub(crate) fn ensure_caller(&mut self, ds: &mut Datastore, caller: Identity) -> Result<(), ViewsError> {
        let per_caller = self.view_indices(false);
        if per_caller.is_empty() {
            return Ok(());
        }
        if self.callers.contains(&caller) {
            let stale: Vec<usize> = (self.materialised.iter().enumerate())
                .filter(|(_, m)| m.stale && m.caller == caller && !self.is_anonymous(m.view))
                .map(|(i, _)| i)
                .collect();
            if !stale.is_empty() {
                // Nobody is subscribed to these rows (their caller was not connected),
                // so the changes need not be published.
                let fresh = self.evaluate(ds, &stale);
                let mut tx = ds.begin_mut_tx();
                apply(&mut tx, fresh);
                tx.commit();
            }
            return Ok(());
        }
        // Backing tables are system tables, whose ids end below the first user table's.
        let table_room = (FIRST_USER_TABLE_ID - 1) as usize;
        if self.callers.len() >= MAX_MATERIALISED_CALLERS || self.backing.len() + per_caller.len() > table_room {
            return Err(ViewsError::TooManyCallers {
                callers: self.callers.len(),
            });
        }
        for index in per_caller {
            self.materialise(ds, index, caller)?;
        }
        self.callers.insert(caller);
        Ok(())
    }

    /// Whether view `index` is anonymous.
    fn is_anonymous(&self, index: usize) -> bool {
        self.instance
            .as_ref()
            .is_some_and(|i| i.program().module_def().views[index].is_anonymous)
    }

    /// The positions of the module's anonymous (or else per-caller) views.
    fn view_indices(&self, anonymous: bool) -> Vec<usize> {
        let Some(instance) = &self.instance else {
            return Vec::new();
        };
        let views = &instance.program().module_def().views;
        (0..views.len())
            .filter(|&i| views[i].is_anonymous == anonymous)
            .collect()
    }

    /// Creates the backing table of view `index` for `caller` and fills it.
    fn materialise(&mut self, ds: &mut Datastore, index: usize, caller: Identity) -> Result<(), ViewsError> {
        let Some(instance) = &self.instance else {
            return Ok(());
        };
        let def = instance.program().module_def();
        let view = &def.views[index];
        let table = ds
            .create_table(&backing_def(view, caller), &def.typespace)
            .map_err(|source| ViewsError::BackingTable {
                view: view.name.clone(),
                source,
            })?;
        self.backing.insert(table);
        self.materialised.push(Materialised {
            view: index,
            caller,
            table,
            reads: None,
            stale: false,
        });
        let position = self.materialised.len() - 1;
        let fresh = self.evaluate(ds, &[position]);
        let mut tx = ds.begin_mut_tx();
        apply(&mut tx, fresh);
        tx.commit();
        Ok(())
    }

    /// Re-evaluates the materialisations whose read set `tx` touched and applies their
    /// changes to `ds`; returns those changes (empty if none). A per-caller view whose
    /// caller is not `connected` is only marked stale.
    pub(crate) fn refresh(&mut self, ds: &mut Datastore, tx: &TxData, connected: impl Fn(Identity) -> bool) -> TxData {
        if self.materialised.is_empty() {
            return TxData::default();
        }
        let touched: BTreeSet<TableId> = tx
            .tables
            .iter()
            .map(|t| t.table_id)
            .filter(|t| !self.backing.contains(t))
            .collect();
        if touched.is_empty() {
            return TxData::default();
        }
        let mut due = Vec::new();
        for i in 0..self.materialised.len() {
            let m = &self.materialised[i];
            if m.reads.as_ref().is_some_and(|r| r.is_disjoint(&touched)) {
                continue;
            }
            if self.is_anonymous(m.view) || connected(m.caller) {
                due.push(i);
            } else {
                self.materialised[i].stale = true;
            }
        }
        if due.is_empty() {
            return TxData::default();
        }
        let fresh = self.evaluate(ds, &due);
        let mut view_tx = ds.begin_mut_tx();
        apply(&mut view_tx, fresh);
        view_tx.commit()
    }

    /// Evaluates the materialisations at `positions` on the committed state: for each
    /// that succeeded, its backing table and new rows. Read sets are updated here; a
    /// failure is logged and leaves the old rows.
    fn evaluate(&mut self, ds: &mut Datastore, positions: &[usize]) -> Vec<(TableId, Vec<Box<[u8]>>)> {
        let Some(instance) = &mut self.instance else {
            return Vec::new();
        };
        let now = Timestamp::now();
        let mut out = Vec::with_capacity(positions.len());
        for &position in positions {
            let m = &mut self.materialised[position];
            let view = instance.program().module_def().views[m.view].clone();
            match instance.call_view(ds, &view, m.caller, now) {
                Ok(outcome) => {
                    m.reads = Some(outcome.reads);
                    m.stale = false;
                    out.push((m.table, outcome.rows));
                }
                Err(e) => report(instance, &e),
            }
        }
        out
    }
}

/// Logs a failed evaluation to the module log (the module's fault, not the server's).
fn report(instance: &ModuleInstance, e: &ViewError) {
    instance.log_host(LogLevel::Error, format!("{e}; its previous rows are kept"));
}

/// Replaces the rows of each backing table with its new rows, changing only the rows
/// that differ (so an unchanged row produces no delta).
fn apply(tx: &mut spacetime_datastore::MutTx<'_>, fresh: Vec<(TableId, Vec<Box<[u8]>>)>) {
    for (table, rows) in fresh {
        let old: HashSet<Box<[u8]>> = match tx.scan(table) {
            Ok(scan) => scan.map(|r| Box::from(r.bytes())).collect(),
            Err(_) => continue,
        };
        let new: HashSet<&[u8]> = rows.iter().map(|r| &**r).collect();
        for gone in old.iter().filter(|r| !new.contains(&***r)) {
            if let Err(e) = tx.delete_row(table, gone) {
                log::error!("view table {table:?}: cannot delete a row: {e}");
            }
        }
        // In the order the view gave them; a row returned twice is one row.
        for row in rows.iter().filter(|r| !old.contains(*r)) {
            if let Err(e) = tx.insert_bsatn(table, row) {
                log::error!("view table {table:?}: cannot insert a row: {e}");
            }
        }
    }
}

/// A transaction's changes with the view changes `views` added: what subscribers are
/// sent for one commit.
pub(crate) fn merged(tx: &TxData, views: TxData) -> TxData {
    if views.tables.is_empty() {
        return tx.clone();
    }
    let mut by_id: HashMap<TableId, spacetime_datastore::TableChanges> =
        tx.tables.iter().map(|t| (t.table_id, t.clone())).collect();
    for t in views.tables {
        by_id.insert(t.table_id, t);
    }
    let mut tables: Vec<_> = by_id.into_values().collect();
    tables.sort_by_key(|t| t.table_id);
    TxData { tables }
}
