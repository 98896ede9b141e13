//! Views, materialised: every view's rows live in a backing table of the datastore, so
//! SQL, one-off queries and subscriptions (joins included) read a view exactly as they
//! read a table, and its changes reach subscribers as table changes.
//!
//! - An anonymous view has one backing table, named as the view, filled when the
//!   module starts (or is updated). A per-caller view has one backing table per caller
//!   who reads it (named by [`ViewDef::backing_table_name`]), filled the first time that
//!   caller queries or subscribes ([`Views::ensure_caller`]); SQL resolves the view's
//!   name to the caller's own table, so nobody reaches another caller's rows.
//! - A view with parameters is materialised once per argument tuple a query names,
//!   `SELECT * FROM v(1, 'a')` (per caller too, for a per-caller view): the engine
//!   materialises the calls a query names ([`Views::ensure_calls`]) before checking it,
//!   and SQL resolves the call to that table (`spacetime_sql::view_call`).
//! - A query-builder view returns SQL instead of rows: its rows are that query's
//!   result, and its read set the tables its function and its query read, so it is
//!   re-evaluated in full whenever one of them changes.
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
//! it first. A per-caller (or per-call) materialisation lives while someone uses it:
//! it is released once no subscription reads it (see [`lifecycle`]).

mod lifecycle;

use spacetime_datastore::{Datastore, DatastoreError, TxData, FIRST_USER_TABLE_ID};
use spacetime_host::{ChangedRows, LogLevel, ModuleInstance, ModuleProgram, ViewReads};
use spacetime_sats::def::model::{IndexAlgorithm, IndexDef, TableDef, ViewDef};
use spacetime_sats::def::raw::{TableAccess, TableType};
use spacetime_sats::{Identity, TableId, Timestamp};
use spacetime_sql::view_call::QueryRead;
use std::collections::{HashMap, HashSet};
use std::time::Instant;

/// How many calls of views with parameters (distinct view, caller and arguments) are
/// materialised at once at most (they are released like per-caller views, see
/// [`lifecycle`]); the next new call is refused with [`ViewsError::TooManyCalls`].
pub const MAX_MATERIALISED_CALLS: usize = 1000;

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
    /// Every backing-table id is taken by a materialisation a live subscription reads
    /// (or a view's shared rows), so none is left for another caller or call.
    #[error(
        "view `{view}` cannot be materialised for another caller: {held} per-caller materialisations are in use by \
         live subscriptions, the most this database holds; they are released as their subscribers unsubscribe or \
         disconnect"
    )]
    Full {
        /// The view.
        view: String,
        /// How many per-caller (or per-call) materialisations are held.
        held: usize,
    },
    /// Too many calls of views with parameters are materialised.
    #[error(
        "views with parameters are materialised for {calls} argument lists already, the most this database holds \
         at once; they are released as their subscribers unsubscribe or disconnect"
    )]
    TooManyCalls {
        /// How many calls are materialised.
        calls: usize,
    },
}

/// One materialisation: a view's rows for one caller (or for everyone).
#[derive(Debug)]
struct Materialised {
    /// The view's position in the module's views.
    view: usize,
    /// The caller (`Identity::ZERO` for an anonymous view).
    caller: Identity,
    /// The BSATN of the arguments (empty for a view without parameters).
    args: Vec<u8>,
    /// Its backing table.
    table: TableId,
    /// What its last evaluation read (tables, or index keys and ranges of them);
    /// `None` until one succeeded (then every change retries it).
    reads: Option<ViewReads>,
    /// Whether a transaction changed what it read since its last evaluation, which
    /// was skipped because its caller was not connected: it is evaluated again at the
    /// caller's next query ([`Views::ensure_caller`]).
    stale: bool,
    /// When a query or a live subscription last used it (see [`lifecycle`]).
    last_used: Instant,
    /// Whether a live subscription read it at the last sweep: once none does, it is
    /// released at the next.
    subscribed: bool,
    /// Whether its caller had a WebSocket connection at a sweep: once it has none, it
    /// is released.
    seen_connected: bool,
}

/// The materialised views of one database.
#[derive(Debug, Default)]
pub(crate) struct Views {
    /// The instance views run on; `None` for a module without views.
    instance: Option<ModuleInstance>,
    /// Every materialisation.
    materialised: Vec<Materialised>,
    /// Every backing table, pooled ones included.
    backing: HashSet<TableId>,
    /// By view, the emptied backing tables of released materialisations, for the
    /// view's next ones (see [`lifecycle`]).
    pool: HashMap<usize, Vec<TableId>>,
    /// When [`Views::sweep`] last ran.
    last_sweep: Option<Instant>,
    /// How many materialisations are calls of views with parameters.
    calls: usize,
}

/// The backing table of `view` for `caller` and `args`: the view's columns, a btree
/// index on each (so subscriptions can join on any column), public or private as the
/// view is.
fn backing_def(view: &ViewDef, caller: Identity, args: &[u8]) -> TableDef {
    let name = view.backing_table_name(caller, args);
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
            self.materialise(ds, index, Identity::ZERO, Vec::new())?;
        }
        for caller in callers {
            self.ensure_caller(ds, caller)?;
        }
        Ok(())
    }

    /// The callers whose per-caller views are materialised.
    pub(crate) fn callers(&self) -> Vec<Identity> {
        let callers: HashSet<Identity> = (self.materialised.iter())
            .filter(|m| !self.is_anonymous(m.view) && m.args.is_empty() && !self.has_params(m.view))
            .map(|m| m.caller)
            .collect();
        callers.into_iter().collect()
    }

    /// Materialises the per-caller views for `caller`, if not done already, so a query
    /// of `caller` finds them, and evaluates those that are stale.
    ///
    /// # Errors
    /// A backing table could not be created, or no table is left for one.
    pub(crate) fn ensure_caller(&mut self, ds: &mut Datastore, caller: Identity) -> Result<(), ViewsError> {
        let now = Instant::now();
        let mut stale = Vec::new();
        for index in self.view_indices(false) {
            let found = (self.materialised.iter()).position(|m| m.view == index && m.caller == caller);
            match found {
                Some(position) => {
                    let m = &mut self.materialised[position];
                    m.last_used = now;
                    if m.stale {
                        stale.push(position);
                    }
                }
                None => self.materialise(ds, index, caller, Vec::new())?,
            }
        }
        // Nobody is subscribed to these rows (their caller was not connected), so the
        // changes need not be published.
        self.refill(ds, &stale);
        Ok(())
    }

    /// Whether view `index` is anonymous.
    fn is_anonymous(&self, index: usize) -> bool {
        self.instance
            .as_ref()
            .is_some_and(|i| i.program().module_def().views[index].is_anonymous)
    }

    /// The positions of the module's anonymous (or else per-caller) views without
    /// parameters (those with parameters are materialised per call).
    fn view_indices(&self, anonymous: bool) -> Vec<usize> {
        let Some(instance) = &self.instance else {
            return Vec::new();
        };
        let views = &instance.program().module_def().views;
        (0..views.len())
            .filter(|&i| views[i].is_anonymous == anonymous && views[i].params.elements.is_empty())
            .collect()
    }

    /// Materialises the calls of views with parameters that `caller`'s query names
    /// (`(view name, arguments)`, as `spacetime_sql::view_call::view_calls` finds them),
    /// if not done already, and evaluates those of them that are stale.
    ///
    /// # Errors
    /// A backing table could not be created, or too many calls are materialised.
    pub(crate) fn ensure_calls(
        &mut self,
        ds: &mut Datastore,
        caller: Identity,
        calls: Vec<(String, Vec<u8>)>,
    ) -> Result<(), ViewsError> {
        let mut stale = Vec::new();
        for (name, args) in calls {
            let Some(index) = self.view_position(&name) else {
                continue;
            };
            let caller = if self.is_anonymous(index) {
                Identity::ZERO
            } else {
                caller
            };
            let found =
                (self.materialised.iter()).position(|m| m.view == index && m.caller == caller && m.args == args);
            match found {
                Some(position) => {
                    let m = &mut self.materialised[position];
                    m.last_used = Instant::now();
                    if m.stale {
                        stale.push(position);
                    }
                }
                None => {
                    if self.calls >= MAX_MATERIALISED_CALLS {
                        return Err(ViewsError::TooManyCalls { calls: self.calls });
                    }
                    self.materialise(ds, index, caller, args)?;
                    self.calls += 1;
                }
            }
        }
        // Nobody is subscribed to these rows (their caller was not connected).
        self.refill(ds, &stale);
        Ok(())
    }

    /// The calls of views with parameters materialised now, as (view name, caller,
    /// arguments): carried across a module update by [`Views::restore_calls`].
    pub(crate) fn calls(&self) -> Vec<(String, Identity, Vec<u8>)> {
        let Some(instance) = &self.instance else {
            return Vec::new();
        };
        let views = &instance.program().module_def().views;
        (self.materialised.iter())
            .filter(|m| !views[m.view].params.elements.is_empty())
            .map(|m| (views[m.view].name.clone(), m.caller, m.args.clone()))
            .collect()
    }

    /// Materialises again the calls a previous module had (see [`Views::calls`]) whose
    /// view this module still has with the same parameters, so subscriptions to them
    /// survive an update.
    ///
    /// # Errors
    /// As [`Views::ensure_calls`].
    pub(crate) fn restore_calls(
        &mut self,
        ds: &mut Datastore,
        old: &spacetime_sats::def::model::ModuleDef,
        calls: Vec<(String, Identity, Vec<u8>)>,
    ) -> Result<(), ViewsError> {
        for (name, caller, args) in calls {
            let same = |index: usize| {
                let new = self.instance.as_ref().map(|i| &i.program().module_def().views[index]);
                new.zip(old.view(&name))
                    .is_some_and(|(new, old)| new.params == old.params)
            };
            if self.view_position(&name).is_some_and(same) {
                self.ensure_calls(ds, caller, vec![(name, args)])?;
            }
        }
        Ok(())
    }

    /// The position of the view named `name` in the module's views.
    fn view_position(&self, name: &str) -> Option<usize> {
        let views = &self.instance.as_ref()?.program().module_def().views;
        views.iter().position(|v| v.name == name)
    }

    /// Creates the backing table of view `index` for `caller` and `args` and fills it.
    fn materialise(
        &mut self,
        ds: &mut Datastore,
        index: usize,
        caller: Identity,
        args: Vec<u8>,
    ) -> Result<(), ViewsError> {
        let Some(instance) = &self.instance else {
            return Ok(());
        };
        let def = instance.program().module_def().clone();
        let view = &def.views[index];
        let backing = backing_def(view, caller, &args);
        // Backing tables are system tables, whose ids end below the first user table's.
        let table_room = (FIRST_USER_TABLE_ID - 1) as usize;
        if self.pool.get(&index).is_none_or(Vec::is_empty) && self.backing.len() >= table_room {
            self.release_least_used(ds, index);
        }
        let table = match self.take_pooled(ds, index, &backing.name)? {
            Some(table) => table,
            None if self.backing.len() >= table_room => {
                return Err(ViewsError::Full {
                    view: view.name.clone(),
                    held: self.on_demand(),
                })
            }
            None => {
                let table = ds
                    .create_table(&backing, &def.typespace)
                    .map_err(|source| ViewsError::BackingTable {
                        view: view.name.clone(),
                        source,
                    })?;
                self.backing.insert(table);
                table
            }
        };
        self.materialised.push(Materialised {
            view: index,
            caller,
            args,
            table,
            reads: None,
            stale: false,
            last_used: Instant::now(),
            subscribed: false,
            seen_connected: false,
        });
        let position = self.materialised.len() - 1;
        self.refill(ds, &[position]);
        Ok(())
    }

    /// Evaluates the materialisations at `positions` and applies their new rows, for
    /// rows nobody subscribes to yet: the changes are not published.
    fn refill(&mut self, ds: &mut Datastore, positions: &[usize]) {
        if positions.is_empty() {
            return;
        }
        let fresh = self.evaluate(ds, positions);
        let mut tx = ds.begin_mut_tx();
        apply(&mut tx, fresh);
        tx.commit();
    }

    /// How many views the module has.
    fn view_count(&self) -> usize {
        self.instance
            .as_ref()
            .map_or(0, |i| i.program().module_def().views.len())
    }

    /// The name of view `index`.
    fn view_name(&self, index: usize) -> String {
        (self.instance.as_ref()).map_or_else(String::new, |i| i.program().module_def().views[index].name.clone())
    }

    /// Whether view `index` takes parameters.
    fn has_params(&self, index: usize) -> bool {
        (self.instance.as_ref()).is_some_and(|i| !i.program().module_def().views[index].params.elements.is_empty())
    }

    /// Re-evaluates the materialisations whose read set `tx` touched and applies their
    /// changes to `ds`; returns those changes (empty if none). A per-caller view whose
    /// caller is not `connected` is only marked stale.
    pub(crate) fn refresh(&mut self, ds: &mut Datastore, tx: &TxData, connected: impl Fn(Identity) -> bool) -> TxData {
        if self.materialised.is_empty() {
            return TxData::default();
        }
        if tx.tables.iter().all(|t| self.backing.contains(&t.table_id)) {
            return TxData::default();
        }
        // Backing tables are in no read set: a view reads tables through the ABI,
        // which resolves a view's name to no table of its own.
        let mut changes = ChangedRows::new(ds, tx);
        let mut due = Vec::new();
        for i in 0..self.materialised.len() {
            let m = &self.materialised[i];
            if m.reads.as_ref().is_some_and(|r| !r.touched_by(&mut changes)) {
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
        let program = instance.program().clone();
        let mut out = Vec::with_capacity(positions.len());
        for &position in positions {
            let m = &mut self.materialised[position];
            let view = &program.module_def().views[m.view];
            let outcome = match instance.call_view_with(ds, view, m.caller, &m.args, now) {
                Ok(outcome) => outcome,
                Err(e) => {
                    report(instance, &e.to_string());
                    continue;
                }
            };
            let (rows, reads) = match &outcome.query {
                None => (outcome.rows, outcome.reads),
                Some(sql) => match spacetime_sql::view_call::view_query(sql, view, program.module_def(), ds) {
                    Ok((rows, read)) => {
                        let rows = rows.into_iter().map(Vec::into_boxed_slice).collect();
                        let mut reads = outcome.reads;
                        for read in read {
                            match read {
                                QueryRead::All(table) => reads.read_all(table),
                                QueryRead::Key(key) => reads.read_key(key),
                            }
                        }
                        (rows, reads)
                    }
                    Err(e) => {
                        report(
                            instance,
                            &format!("view `{}` returned the query `{sql}`, which failed: {e}", view.name),
                        );
                        continue;
                    }
                },
            };
            m.reads = Some(reads);
            m.stale = false;
            out.push((m.table, rows));
        }
        out
    }
}

/// Logs a failed evaluation to the module log (the module's fault, not the server's).
fn report(instance: &ModuleInstance, e: &str) {
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
