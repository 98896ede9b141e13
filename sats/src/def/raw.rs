//! The raw module definition: exactly what a module's `__describe_module__` writes.
//!
//! `Raw*` types are unvalidated wire types; convert them to
//! [`ModuleDef`](super::model::ModuleDef) before use. Field and variant order is the
//! BSATN layout and must not change; new V10 sections are appended at the end.

use super::codec::{sats_enum, sats_struct};
use crate::{AlgebraicType, AlgebraicTypeRef, ProductType, Typespace};

sats_enum! {
    /// The versioned module definition. Current modules emit `V10`.
    pub enum RawModuleDef {
        /// The pre-1.0 layout. Recognised only to reject it with a clear message.
        V8BackCompat(RawModuleDefV8Placeholder),
        /// The 1.x layout, still accepted.
        V9(super::raw_v9::RawModuleDefV9),
        /// The 2.x layout: a list of optional sections.
        V10(RawModuleDefV10),
    }
}

sats_struct! {
    /// Stands in for the V8 definition, which this server does not read: decoding one
    /// fails with a message naming the fix.
    pub struct RawModuleDefV8Placeholder {}
}

sats_struct! {
    /// The V10 module definition: optional, unordered sections.
    pub struct RawModuleDefV10 {
        /// The sections, each at most once.
        pub sections: Vec<RawModuleDefV10Section>,
    }
}

sats_enum! {
    /// One section of a [`RawModuleDefV10`]; the tag is the section kind.
    pub enum RawModuleDefV10Section {
        /// Tag 0: the types, addressed by `AlgebraicTypeRef`.
        Typespace(Typespace),
        /// Tag 1: names for typespace entries.
        Types(Vec<RawTypeDefV10>),
        /// Tag 2: tables.
        Tables(Vec<RawTableDefV10>),
        /// Tag 3: reducers; a reducer's id is its position here.
        Reducers(Vec<RawReducerDefV10>),
        /// Tag 4: procedures.
        Procedures(Vec<RawProcedureDefV10>),
        /// Tag 5: views.
        Views(Vec<RawViewDefV10>),
        /// Tag 6: schedules of scheduled tables.
        Schedules(Vec<RawScheduleDefV10>),
        /// Tag 7: which reducers are lifecycle reducers.
        LifeCycleReducers(Vec<RawLifeCycleReducerDefV10>),
        /// Tag 8: row-level security filters.
        RowLevelSecurity(Vec<RawRowLevelSecurityDefV9>),
        /// Tag 9: how canonical names derive from source names.
        CaseConversionPolicy(CaseConversionPolicy),
        /// Tag 10: explicit canonical names.
        ExplicitNames(ExplicitNames),
    }
}

sats_struct! {
    /// A type's scoped source name, e.g. scope `["A", "B"]` and name `C` for `A.B.C`.
    pub struct RawScopedTypeNameV10 {
        /// The enclosing scopes.
        pub scope: Vec<String>,
        /// The type's own name.
        pub source_name: String,
    }
}

sats_struct! {
    /// Names a typespace entry.
    pub struct RawTypeDefV10 {
        /// The type's name.
        pub source_name: RawScopedTypeNameV10,
        /// The typespace entry it names.
        pub ty: AlgebraicTypeRef,
        /// If false, the elements must be sorted by name.
        pub custom_ordering: bool,
    }
}

sats_struct! {
    /// A table.
    pub struct RawTableDefV10 {
        /// The table's source name (its accessor in Rust).
        pub source_name: String,
        /// The row type: a typespace `Product` whose elements are all named.
        pub product_type_ref: AlgebraicTypeRef,
        /// The primary key column, if any (at most one column).
        pub primary_key: Vec<u16>,
        /// Indexes.
        pub indexes: Vec<RawIndexDefV10>,
        /// Constraints.
        pub constraints: Vec<RawConstraintDefV10>,
        /// Sequences (`auto_inc` columns).
        pub sequences: Vec<RawSequenceDefV10>,
        /// System or user table.
        pub table_type: TableType,
        /// Public or private.
        pub table_access: TableAccess,
        /// Column defaults for add-column migrations.
        pub default_values: Vec<RawColumnDefaultValueV10>,
        /// Whether rows are events that are never stored.
        pub is_event: bool,
    }
}

sats_struct! {
    /// An index of a table.
    pub struct RawIndexDefV10 {
        /// The index name (Rust bindings set `{table}_{cols}_idx_{algo}`).
        pub source_name: Option<String>,
        /// The accessor the module uses for it.
        pub accessor_name: Option<String>,
        /// Which columns and how.
        pub algorithm: RawIndexAlgorithm,
    }
}

sats_struct! {
    /// The columns of a btree or hash index.
    pub struct RawIndexColumns {
        /// Column positions, in key order.
        pub columns: Vec<u16>,
    }
}

sats_struct! {
    /// The column of a direct index.
    pub struct RawDirectIndexColumn {
        /// The column position.
        pub column: u16,
    }
}

sats_enum! {
    /// How an index is organised.
    pub enum RawIndexAlgorithm {
        /// An ordered index: point, prefix and range lookups.
        BTree(RawIndexColumns),
        /// A hash index: point lookups only.
        Hash(RawIndexColumns),
        /// A direct (array-indexed) index on one small unsigned or enum column.
        Direct(RawDirectIndexColumn),
    }
}

sats_struct! {
    /// A constraint of a table.
    pub struct RawConstraintDefV10 {
        /// The constraint name; generated when absent.
        pub source_name: Option<String>,
        /// What it constrains.
        pub data: RawConstraintDataV9,
    }
}

sats_enum! {
    /// The kinds of constraint.
    pub enum RawConstraintDataV9 {
        /// The columns' values are unique across the table.
        Unique(RawUniqueConstraintDataV9),
    }
}

sats_struct! {
    /// The columns of a unique constraint.
    pub struct RawUniqueConstraintDataV9 {
        /// Column positions.
        pub columns: Vec<u16>,
    }
}

sats_struct! {
    /// A sequence that fills a column on insert when the value is zero.
    pub struct RawSequenceDefV10 {
        /// The sequence name; generated when absent.
        pub source_name: Option<String>,
        /// The column it fills.
        pub column: u16,
        /// The first value.
        pub start: Option<i128>,
        /// The smallest value.
        pub min_value: Option<i128>,
        /// The largest value.
        pub max_value: Option<i128>,
        /// The step.
        pub increment: i128,
    }
}

sats_enum! {
    /// Whether a table belongs to the system or the module.
    pub enum TableType {
        /// A system table.
        System,
        /// A module's table.
        User,
    }
}

sats_enum! {
    /// Who may read a table.
    pub enum TableAccess {
        /// Every client.
        Public,
        /// Only the database owner (and the module).
        Private,
    }
}

sats_struct! {
    /// A column's default value.
    pub struct RawColumnDefaultValueV10 {
        /// The column position.
        pub col_id: u16,
        /// The BSATN of the value at the column's type.
        pub value: Vec<u8>,
    }
}

sats_struct! {
    /// A reducer.
    pub struct RawReducerDefV10 {
        /// The reducer's source name.
        pub source_name: String,
        /// Its parameters after the context.
        pub params: ProductType,
        /// Whether clients may call it.
        pub visibility: FunctionVisibility,
        /// The success type (always `()` today).
        pub ok_return_type: AlgebraicType,
        /// The error type (always `String` today).
        pub err_return_type: AlgebraicType,
    }
}

sats_struct! {
    /// A procedure: a non-transactional function that returns a value.
    pub struct RawProcedureDefV10 {
        /// The procedure's source name.
        pub source_name: String,
        /// Its parameters after the context.
        pub params: ProductType,
        /// What it returns.
        pub return_type: AlgebraicType,
        /// Whether clients may call it.
        pub visibility: FunctionVisibility,
    }
}

sats_struct! {
    /// A view: a read-only function whose result clients can subscribe to.
    pub struct RawViewDefV10 {
        /// The view's source name.
        pub source_name: String,
        /// Its position among views of its kind.
        pub index: u32,
        /// Whether clients may read it.
        pub is_public: bool,
        /// Whether it ignores the caller.
        pub is_anonymous: bool,
        /// Its parameters.
        pub params: ProductType,
        /// What it returns.
        pub return_type: AlgebraicType,
    }
}

sats_struct! {
    /// Ties a scheduled table to the function its rows call.
    pub struct RawScheduleDefV10 {
        /// The schedule's name; generated (`{table}_sched`) when absent.
        pub source_name: Option<String>,
        /// The scheduled table.
        pub table_name: String,
        /// The `ScheduleAt` column.
        pub schedule_at_col: u16,
        /// The reducer or procedure to call with the row.
        pub function_name: String,
    }
}

sats_struct! {
    /// Marks a reducer as a lifecycle reducer.
    pub struct RawLifeCycleReducerDefV10 {
        /// When it runs.
        pub lifecycle_spec: Lifecycle,
        /// The reducer.
        pub function_name: String,
    }
}

sats_struct! {
    /// A row-level security filter.
    pub struct RawRowLevelSecurityDefV9 {
        /// The filter's SQL.
        pub sql: String,
    }
}

sats_enum! {
    /// When a lifecycle reducer runs.
    pub enum Lifecycle {
        /// When the database is first published (or cleared).
        Init,
        /// When a client connects; an error rejects the connection.
        OnConnect,
        /// When a client disconnects.
        OnDisconnect,
    }
}

sats_enum! {
    /// Who may call a function.
    pub enum FunctionVisibility {
        /// Only the host (lifecycle and scheduled functions).
        Private,
        /// Any client.
        ClientCallable,
    }
}

sats_enum! {
    /// How canonical names derive from source names.
    pub enum CaseConversionPolicy {
        /// Canonical names are the source names.
        None,
        /// Canonical names are snake_cased (the default).
        SnakeCase,
    }
}

sats_struct! {
    /// Explicit canonical names that override the case conversion policy.
    pub struct ExplicitNames {
        /// The mappings.
        pub entries: Vec<ExplicitNameEntry>,
    }
}

sats_enum! {
    /// One explicit name.
    pub enum ExplicitNameEntry {
        /// For a table.
        Table(NameMapping),
        /// For a reducer, procedure or view.
        Function(NameMapping),
        /// For an index.
        Index(NameMapping),
    }
}

sats_struct! {
    /// A source name and the canonical name it maps to.
    pub struct NameMapping {
        /// The name in the module's source.
        pub source_name: String,
        /// The name clients and SQL see.
        pub canonical_name: String,
    }
}
