//! [`ValidationError`] and [`ValidationErrors`]: every way a raw module definition can be
//! wrong, each message naming the table, reducer, column or type and how to fix it.

use crate::def::raw::Lifecycle;
use std::fmt;

/// The three namespaces whose names must be unique within themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// Tables, views, indexes, constraints, sequences and schedules.
    Global,
    /// Named types.
    Type,
    /// Reducers, procedures and views.
    Function,
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Global => "tables, indexes, constraints, sequences and schedules",
            Self::Type => "types",
            Self::Function => "reducers, procedures and views",
        })
    }
}

/// One problem in a module definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A name is not a valid identifier.
    #[error("{what} `{name}` is not a valid identifier: {reason}; rename it")]
    InvalidIdentifier {
        /// What carries the name (`table`, `column person.name`, …).
        what: String,
        /// The rejected name.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// Two items of one namespace share a name.
    #[error(
        "the name `{name}` is used more than once among {namespace}; names there must be unique, so rename one of them"
    )]
    DuplicateName {
        /// The namespace.
        namespace: Namespace,
        /// The repeated name.
        name: String,
    },
    /// A user table's name starts with `st_`.
    #[error("table `{table}`: names starting with `st_` are reserved for system tables; rename the table")]
    ReservedTableName {
        /// The table.
        table: String,
    },
    /// A table's row type reference does not point at a product.
    #[error("table `{table}`: its row type &{type_ref} is not a product type in the typespace; the row type must be a struct")]
    InvalidRowType {
        /// The table.
        table: String,
        /// The bad reference.
        type_ref: u32,
    },
    /// A column has no name.
    #[error("table `{table}`: column {col} has no name; every column of a table must be named")]
    UnnamedColumn {
        /// The table.
        table: String,
        /// The column position.
        col: u16,
    },
    /// A definition refers to a column the table does not have.
    #[error("table `{table}`: {def} refers to column {col}, but the table has only {num_columns} columns")]
    ColumnNotFound {
        /// The table.
        table: String,
        /// What refers to it (`index x`, `primary key`, …).
        def: String,
        /// The missing column position.
        col: u16,
        /// How many columns there are.
        num_columns: usize,
    },
    /// A column list repeats a column.
    #[error("table `{table}`: {def} lists column {col} more than once; list each column once")]
    DuplicateColumns {
        /// The table.
        table: String,
        /// The definition.
        def: String,
        /// The repeated column position.
        col: u16,
    },
    /// The primary key has more than one column.
    #[error("table `{table}`: the primary key has {count} columns, but at most one column can be the primary key")]
    MultiColumnPrimaryKey {
        /// The table.
        table: String,
        /// How many columns were given.
        count: usize,
    },
    /// The primary key column has no unique constraint.
    #[error("table `{table}`: primary key column `{column}` has no unique constraint on it alone; add one (the Rust bindings do for `#[primary_key]`)")]
    PrimaryKeyNotUnique {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A unique constraint has no index over exactly its columns.
    #[error("table `{table}`: unique constraint `{constraint}` on columns [{columns}] has no index over exactly those columns; add one")]
    UniqueConstraintWithoutIndex {
        /// The table.
        table: String,
        /// The constraint.
        constraint: String,
        /// The constrained columns' names.
        columns: String,
    },
    /// A direct index is on a column type that cannot be a direct key.
    #[error("table `{table}`: direct index `{index}` is on column `{column}` of type {ty}; direct indexes need a u8, u16, u32, u64 or plain-enum column, so use a btree index instead")]
    DirectIndexOnBadType {
        /// The table.
        table: String,
        /// The index.
        index: String,
        /// The column.
        column: String,
        /// The column's type.
        ty: String,
    },
    /// A V10 index has no `source_name`.
    #[error("table `{table}`: index {position} has no source name, which module definitions V10 require; rebuild the module with current bindings")]
    UnnamedIndex {
        /// The table.
        table: String,
        /// The index's position in the table's list.
        position: usize,
    },
    /// A sequence is on a non-integer column.
    #[error(
        "table `{table}`: sequence `{sequence}` is on column `{column}` of type {ty}; auto_inc needs an integer column"
    )]
    SequenceNotInteger {
        /// The table.
        table: String,
        /// The sequence.
        sequence: String,
        /// The column.
        column: String,
        /// The column's type.
        ty: String,
    },
    /// A column has two sequences.
    #[error("table `{table}`: column `{column}` has more than one sequence; keep one auto_inc per column")]
    DuplicateSequence {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A sequence's bounds are out of order.
    #[error("table `{table}`: sequence `{sequence}` needs min_value <= start <= max_value, but has min_value {min}, start {start}, max_value {max}")]
    SequenceRange {
        /// The table.
        table: String,
        /// The sequence.
        sequence: String,
        /// The minimum, or `default`.
        min: String,
        /// The start, or `default`.
        start: String,
        /// The maximum, or `default`.
        max: String,
    },
    /// A sequence's increment is zero.
    #[error("table `{table}`: sequence `{sequence}` has increment 0; use a non-zero increment")]
    SequenceZeroIncrement {
        /// The table.
        table: String,
        /// The sequence.
        sequence: String,
    },
    /// A schedule names a table that does not exist.
    #[error("schedule for table `{table}`: there is no such table")]
    ScheduleTableNotFound {
        /// The table name as given.
        table: String,
    },
    /// A table has more than one schedule.
    #[error("table `{table}` has more than one schedule; a table can be scheduled once")]
    DuplicateSchedule {
        /// The table.
        table: String,
    },
    /// A scheduled table lacks its `ScheduleAt` column or `u64` primary key.
    #[error("scheduled table `{table}`: {problem}; a scheduled table needs a `u64` primary key (e.g. `#[primary_key] #[auto_inc] scheduled_id: u64`) and a `ScheduleAt` column named by the schedule")]
    ScheduleColumns {
        /// The table.
        table: String,
        /// What is wrong.
        problem: String,
    },
    /// A schedule's function does not exist.
    #[error("scheduled table `{table}` calls `{function}`, but there is no reducer of that name; define it or fix the name in `scheduled(...)`")]
    ScheduledFunctionNotFound {
        /// The table.
        table: String,
        /// The function name.
        function: String,
    },
    /// A scheduled reducer does not take exactly the row.
    #[error("scheduled table `{table}` calls reducer `{function}`, which must take exactly one argument of the table's row type, but takes ({actual})")]
    ScheduledFunctionParams {
        /// The table.
        table: String,
        /// The reducer.
        function: String,
        /// Its parameter types.
        actual: String,
    },
    /// A lifecycle entry names a reducer that does not exist.
    #[error("lifecycle {lifecycle:?} names reducer `{function}`, which does not exist; define it or fix the name")]
    LifecycleWithoutReducer {
        /// The lifecycle kind.
        lifecycle: Lifecycle,
        /// The function name.
        function: String,
    },
    /// Two reducers claim one lifecycle kind.
    #[error("more than one reducer is marked {lifecycle:?}; keep one")]
    DuplicateLifecycle {
        /// The lifecycle kind.
        lifecycle: Lifecycle,
    },
    /// A type is used where a client could not name it.
    #[error("{location} has type {ty}, which clients cannot use inline; declare it as a named type (`#[derive(SpacetimeType)]`) and use that")]
    NotClientUsable {
        /// Where (`column person.x`, `reducer add argument 0 (x)`, …).
        location: String,
        /// The type.
        ty: String,
    },
    /// A type's elements are not sorted by name and it does not declare a custom ordering.
    #[error("type `{type_name}` does not declare a custom ordering, so its fields or variants must be sorted by name; sort them or set custom_ordering")]
    IncorrectOrdering {
        /// The type.
        type_name: String,
    },
    /// A type definition refers to a missing typespace slot.
    #[error("type `{type_name}` refers to &{type_ref}, which is not in the typespace")]
    InvalidTypeRef {
        /// The type.
        type_name: String,
        /// The bad reference.
        type_ref: u32,
    },
    /// A type refers to a typespace slot that does not exist.
    #[error(
        "{location} refers to type &{type_ref}, but the typespace has {len} entries; every type reference must \
         name one of them (the module's type registration is broken)"
    )]
    DanglingTypeRef {
        /// Where the reference is: a typespace entry, or a reducer's or procedure's signature.
        location: String,
        /// The bad reference.
        type_ref: u32,
        /// How many entries the typespace has.
        len: usize,
    },
    /// A reducer or procedure parameter has no name.
    #[error("{kind} `{reducer}`: parameter {position} has no name; every {kind} parameter must be named")]
    UnnamedParam {
        /// `reducer` or `procedure`.
        kind: &'static str,
        /// The reducer or procedure.
        reducer: String,
        /// The parameter's position.
        position: usize,
    },
    /// A reducer's declared return types are not `Result<(), String>`.
    #[error("reducer `{reducer}` returns Result<{ok}, {err}>, but reducers must return () or Result<(), String>")]
    InvalidReducerReturnType {
        /// The reducer.
        reducer: String,
        /// The ok type.
        ok: String,
        /// The error type.
        err: String,
    },
    /// An environment declaration is malformed.
    #[error("environment key `{key}`: {problem}; keys are POSIX environment names (ASCII letters, digits and `_`, not starting with a digit, at most 256 bytes), each declared once")]
    EnvironmentKey {
        /// The key as declared.
        key: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A procedure's return type cannot be sent to a client.
    #[error("procedure `{procedure}` returns {ty}, which clients cannot decode; return a `SpacetimeType` built from columns' types")]
    InvalidProcedureReturnType {
        /// The procedure.
        procedure: String,
        /// The type.
        ty: String,
    },
    /// A column default does not decode at the column's type.
    #[error(
        "table `{table}`: the default value of column {col} is not a valid BSATN value of the column's type: {reason}"
    )]
    DefaultValueMalformed {
        /// The table.
        table: String,
        /// The column.
        col: u16,
        /// The decode error.
        reason: String,
    },
    /// A column has two defaults.
    #[error("table `{table}`: column {col} has more than one default value; keep one")]
    DuplicateDefaultValue {
        /// The table.
        table: String,
        /// The column.
        col: u16,
    },
    /// A V9 default names a table that does not exist.
    #[error("a column default refers to table `{table}`, which does not exist")]
    DefaultTableNotFound {
        /// The table name.
        table: String,
    },
    /// Two HTTP handlers have the same name.
    #[error("HTTP handler `{name}` is defined twice; give each handler its own name")]
    DuplicateHttpHandler {
        /// The name.
        name: String,
    },
    /// A route's path breaks the router's rules.
    #[error("HTTP route {path:?}: {problem}")]
    HttpRoutePath {
        /// The path.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A route names a handler the module does not define.
    #[error("HTTP route {path:?} names handler `{handler}`, which is not an HTTP handler of the module; mark it `#[spacetimedb::http::handler]`")]
    HttpRouteWithoutHandler {
        /// The path.
        path: String,
        /// The handler name.
        handler: String,
    },
    /// Two routes claim the same path and method.
    #[error("HTTP route {path:?}: {second} overlaps the route for {first} on the same path; paths are matched exactly, so keep one handler per method and path")]
    HttpRouteConflict {
        /// The path.
        path: String,
        /// The first route's method.
        first: String,
        /// The second route's method.
        second: String,
    },
    /// A view that cannot be served, and why.
    #[error("view `{view}`: {problem}")]
    InvalidView {
        /// The view's source name.
        view: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The definition uses a feature this server does not support.
    #[error("{what} `{name}`: {what}s are not supported by this server; remove it from the module")]
    Unsupported {
        /// The feature (`procedure`, `view`, `HTTP handler`, …).
        what: &'static str,
        /// The item's name.
        name: String,
    },
    /// The definition is the pre-1.0 layout.
    #[error("{0}")]
    V8(&'static str),
}

/// Every problem found in a module definition. `Display` lists them all, one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "invalid module definition ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n- {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl ValidationErrors {
    /// The problems, in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }
}

impl From<ValidationError> for ValidationErrors {
    fn from(e: ValidationError) -> Self {
        Self(vec![e])
    }
}
