//! The steps of an automatic migration, in the order they apply, each with the plain
//! words a publisher reads before confirming.

use std::fmt;

/// One change an automatic migration makes. Steps name tables, columns and reducers
/// by their canonical names, so a plan outlives the definitions it was made from (it
/// crosses threads and the HTTP API).
///
/// The variants are declared in apply order: every removal before any addition, so an
/// index (or constraint, sequence, schedule) redefined under the same name is first
/// dropped, then made again.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Drop an index.
    RemoveIndex {
        /// The table.
        table: String,
        /// The index.
        index: String,
    },
    /// Drop a unique constraint (rows are no longer checked against it).
    RemoveUniqueConstraint {
        /// The table.
        table: String,
        /// The constraint.
        constraint: String,
    },
    /// Stop filling a column from a sequence.
    RemoveSequence {
        /// The table.
        table: String,
        /// The column the sequence filled.
        column: String,
    },
    /// The table's rows no longer call a reducer when due.
    RemoveSchedule {
        /// The table.
        table: String,
        /// The reducer its rows called.
        reducer: String,
    },
    /// Drop a table; refused when applied if it holds rows.
    RemoveTable {
        /// The table.
        table: String,
    },
    /// A view the new module lacks: its rows are dropped and queries naming it fail.
    RemoveView {
        /// The view.
        view: String,
    },
    /// A route of the module's HTTP router the new module lacks: requests for it get
    /// the router's 404.
    RemoveRoute {
        /// The method (`GET`, …, or `any`).
        method: String,
        /// The path below `/v1/database/:name/route`.
        path: String,
        /// The handler it called.
        handler: String,
    },
    /// Columns change type in a way every stored value still decodes as (enums gained
    /// variants at the end); no row is rewritten.
    ChangeColumnTypes {
        /// The table.
        table: String,
        /// Each changed column with its old and new type.
        columns: Vec<(String, String, String)>,
    },
    /// An event table's columns change; it stores no rows, so anything goes.
    ReschemaEventTable {
        /// The table.
        table: String,
    },
    /// New columns at the end of a table; every existing row gets their defaults.
    /// Clients built against the old row type cannot decode the new rows, so this
    /// step comes with [`Step::DisconnectAllClients`].
    AddColumns {
        /// The table.
        table: String,
        /// Each new column with its type and its default value, as text.
        columns: Vec<(String, String, String)>,
    },
    /// Create a table, with its indexes, constraints and sequences.
    AddTable {
        /// The table.
        table: String,
    },
    /// Build an index over the existing rows.
    AddIndex {
        /// The table.
        table: String,
        /// The index.
        index: String,
    },
    /// Check that the existing rows are unique on some columns, then enforce it;
    /// refused when applied, naming a duplicate, if they are not.
    AddUniqueConstraint {
        /// The table.
        table: String,
        /// The constraint.
        constraint: String,
        /// Its columns.
        columns: Vec<String>,
    },
    /// Fill a column from a sequence, starting after the largest value it holds.
    AddSequence {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// The table's rows call a reducer when due.
    AddSchedule {
        /// The table.
        table: String,
        /// The reducer its rows call.
        reducer: String,
    },
    /// The table becomes public or private.
    ChangeAccess {
        /// The table.
        table: String,
        /// Whether it is now public.
        public: bool,
    },
    /// The table's primary key moves to another column (or goes, or comes).
    ChangePrimaryKey {
        /// The table.
        table: String,
        /// The old key column.
        old: Option<String>,
        /// The new key column.
        new: Option<String>,
    },
    /// A view the old module lacks, materialised from the tables once the update is in.
    AddView {
        /// The view.
        view: String,
    },
    /// A view whose definition changed (row type, kind, access, key); it holds no
    /// data of its own, so it is evaluated again from the tables.
    ChangeView {
        /// The view.
        view: String,
        /// What changed, in plain words.
        change: String,
    },
    /// A route the old module's router lacks.
    AddRoute {
        /// The method (`GET`, …, or `any`).
        method: String,
        /// The path below `/v1/database/:name/route`.
        path: String,
        /// The handler it calls.
        handler: String,
    },
    /// A route that now calls another handler.
    ChangeRoute {
        /// The method (`GET`, …, or `any`).
        method: String,
        /// The path below `/v1/database/:name/route`.
        path: String,
        /// The handler it called.
        old: String,
        /// The handler it calls now.
        new: String,
    },
    /// A reducer the old module lacks.
    AddReducer {
        /// The reducer.
        reducer: String,
    },
    /// A reducer the new module lacks; calls to it now fail as unknown.
    RemoveReducer {
        /// The reducer.
        reducer: String,
    },
    /// A reducer whose parameters, lifecycle role or visibility changed; callers
    /// built against the old bindings may send arguments it no longer accepts.
    ChangeReducer {
        /// The reducer.
        reducer: String,
        /// What changed, in plain words.
        change: String,
    },
    /// A section of the module definition this planner does not track (row-level
    /// security filters, and sections newer servers add) changed; it needs no data
    /// change and is reported.
    ChangeOther {
        /// What changed, in plain words.
        what: String,
    },
    /// Disconnect every client after the update: some step changes rows in a way
    /// their bindings cannot decode.
    DisconnectAllClients,
}

impl Step {
    /// A short stable name of the step's kind, for the HTTP API.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RemoveIndex { .. } => "remove_index",
            Self::RemoveUniqueConstraint { .. } => "remove_unique_constraint",
            Self::RemoveSequence { .. } => "remove_sequence",
            Self::RemoveSchedule { .. } => "remove_schedule",
            Self::RemoveTable { .. } => "remove_table",
            Self::RemoveView { .. } => "remove_view",
            Self::RemoveRoute { .. } => "remove_route",
            Self::ChangeColumnTypes { .. } => "change_column_types",
            Self::ReschemaEventTable { .. } => "reschema_event_table",
            Self::AddColumns { .. } => "add_columns",
            Self::AddTable { .. } => "add_table",
            Self::AddIndex { .. } => "add_index",
            Self::AddUniqueConstraint { .. } => "add_unique_constraint",
            Self::AddSequence { .. } => "add_sequence",
            Self::AddSchedule { .. } => "add_schedule",
            Self::ChangeAccess { .. } => "change_access",
            Self::ChangePrimaryKey { .. } => "change_primary_key",
            Self::AddView { .. } => "add_view",
            Self::ChangeView { .. } => "change_view",
            Self::AddRoute { .. } => "add_route",
            Self::ChangeRoute { .. } => "change_route",
            Self::AddReducer { .. } => "add_reducer",
            Self::RemoveReducer { .. } => "remove_reducer",
            Self::ChangeReducer { .. } => "change_reducer",
            Self::ChangeOther { .. } => "change_other",
            Self::DisconnectAllClients => "disconnect_all_clients",
        }
    }
}

/// A route's path as requests spell it: below the database's `/route` prefix, the root
/// without a slash shown as `/route`.
fn route_path(path: &str) -> String {
    format!("/route{path}")
}

/// `Some(x)` as `` `x` ``, `None` as "none".
fn column_or_none(column: &Option<String>) -> String {
    column.as_ref().map_or_else(|| "none".to_owned(), |c| format!("`{c}`"))
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RemoveIndex { table, index } => write!(f, "remove index `{index}` of table `{table}`"),
            Self::RemoveUniqueConstraint { table, constraint } => {
                write!(f, "remove unique constraint `{constraint}` of table `{table}`")
            }
            Self::RemoveSequence { table, column } => {
                write!(f, "stop auto-incrementing column `{column}` of table `{table}`")
            }
            Self::RemoveSchedule { table, reducer } => {
                write!(f, "rows of table `{table}` no longer schedule reducer `{reducer}`")
            }
            Self::RemoveTable { table } => write!(f, "remove table `{table}` (only if it is empty)"),
            Self::RemoveView { view } => write!(f, "remove view `{view}`"),
            Self::RemoveRoute { method, path, handler } => {
                write!(
                    f,
                    "remove HTTP route {method} `{}` (handler `{handler}`)",
                    route_path(path)
                )
            }
            Self::ChangeColumnTypes { table, columns } => {
                write!(f, "change column types of table `{table}` (stored rows stay readable):")?;
                for (i, (column, old, new)) in columns.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}`{column}` {old} -> {new}")?;
                }
                Ok(())
            }
            Self::ReschemaEventTable { table } => write!(f, "change the columns of event table `{table}`"),
            Self::AddColumns { table, columns } => {
                write!(f, "add columns to table `{table}`, existing rows get the default:")?;
                for (i, (column, ty, default)) in columns.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    write!(f, "{sep}`{column}`: {ty} = {default}")?;
                }
                Ok(())
            }
            Self::AddTable { table } => write!(f, "add table `{table}`"),
            Self::AddIndex { table, index } => write!(f, "add index `{index}` to table `{table}`"),
            Self::AddUniqueConstraint {
                table,
                constraint,
                columns,
            } => write!(
                f,
                "add unique constraint `{constraint}` on ({}) of table `{table}` (existing rows are checked)",
                columns.join(", ")
            ),
            Self::AddSequence { table, column } => write!(f, "auto-increment column `{column}` of table `{table}`"),
            Self::AddSchedule { table, reducer } => write!(f, "rows of table `{table}` schedule reducer `{reducer}`"),
            Self::ChangeAccess { table, public } => {
                let access = if *public { "public" } else { "private" };
                write!(f, "make table `{table}` {access}")
            }
            Self::ChangePrimaryKey { table, old, new } => write!(
                f,
                "change the primary key of table `{table}` from {} to {}",
                column_or_none(old),
                column_or_none(new)
            ),
            Self::AddView { view } => write!(f, "add view `{view}`"),
            Self::ChangeView { view, change } => write!(f, "change view `{view}`: {change}"),
            Self::AddRoute { method, path, handler } => {
                write!(
                    f,
                    "add HTTP route {method} `{}` (handler `{handler}`)",
                    route_path(path)
                )
            }
            Self::ChangeRoute { method, path, old, new } => write!(
                f,
                "change HTTP route {method} `{}`: handler `{old}` -> `{new}`",
                route_path(path)
            ),
            Self::AddReducer { reducer } => write!(f, "add reducer `{reducer}`"),
            Self::RemoveReducer { reducer } => write!(f, "remove reducer `{reducer}`"),
            Self::ChangeReducer { reducer, change } => write!(f, "change reducer `{reducer}`: {change}"),
            Self::ChangeOther { what } => write!(f, "{what}"),
            Self::DisconnectAllClients => write!(
                f,
                "disconnect every connected client (their bindings cannot read the new rows; needs --break-clients)"
            ),
        }
    }
}
