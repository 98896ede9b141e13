//! The validated module definition every layer shares.
//!
//! Built once from a [`RawModuleDef`](super::raw::RawModuleDef) by `TryFrom`, which
//! collects every problem before failing. After that it is immutable: the server, SQL,
//! subscriptions and codegen read it and never re-check the raw form.

use super::raw::{
    CaseConversionPolicy, FunctionVisibility, HttpMethod, Lifecycle, MethodOrAny, TableAccess, TableType,
};
use crate::{AlgebraicType, AlgebraicTypeRef, AlgebraicValue, ColId, ProductType, ReducerId, Typespace};

/// A validated module definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleDef {
    /// All types of the module; `Ref`s in the definitions below point into it.
    pub typespace: Typespace,
    /// Named types, in definition order.
    pub types: Vec<TypeDef>,
    /// Tables, in definition order. A table's position here is stable for a given
    /// definition; the server assigns `TableId`s from it.
    pub tables: Vec<TableDef>,
    /// Reducers, in definition order; a reducer's position is its [`ReducerId`].
    pub reducers: Vec<ReducerDef>,
    /// Procedures, in definition order; a procedure's position is the id the host
    /// passes to the module's `__call_procedure__`. They share the function namespace
    /// with reducers (no procedure has a reducer's name).
    pub procedures: Vec<ProcedureDef>,
    /// The environment keys the module reads with `env_get` (2.14's `Environment`
    /// section), in definition order; empty for older modules. Values are set per
    /// database (`spacetime publish --env`, `spacetime env`), not in the module.
    pub environment: Vec<EnvironmentDef>,
    /// HTTP handlers (unstable in SpacetimeDB), in definition order; a handler's
    /// position is the id the host passes to the module's `__call_http_handler__`.
    pub http_handlers: Vec<HttpHandlerDef>,
    /// The routes of the module's HTTP router, served under `/v1/database/:name/route`.
    /// No two overlap (same path, and the same method or `Any` on either).
    pub http_routes: Vec<HttpRouteDef>,
    /// Views, in definition order: read-only functions the server materialises and
    /// serves like read-only tables. They share the global namespace with tables.
    pub views: Vec<ViewDef>,
    /// How canonical names were derived.
    pub case_conversion_policy: CaseConversionPolicy,
    /// Row-level security filters (kept, not enforced, as upstream).
    pub row_level_security: Vec<String>,
}

/// A named type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeDef {
    /// The enclosing scopes of the name.
    pub scope: Vec<String>,
    /// The type's own name.
    pub name: String,
    /// The typespace entry it names.
    pub ty: AlgebraicTypeRef,
    /// Whether the element order is the author's (else sorted by name).
    pub custom_ordering: bool,
}

/// A validated table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// The canonical name: what SQL, clients and the HTTP API use.
    pub name: String,
    /// The source name (the Rust accessor); ABI lookups accept it too.
    pub accessor_name: String,
    /// The row type's typespace entry.
    pub product_type_ref: AlgebraicTypeRef,
    /// The row type, resolved: one named element per column.
    pub row_type: ProductType,
    /// The columns, in row order; `columns[i].col_id == ColId(i)`.
    pub columns: Vec<ColumnDef>,
    /// The primary key column.
    pub primary_key: Option<ColId>,
    /// Indexes.
    pub indexes: Vec<IndexDef>,
    /// Unique constraints; each has a supporting index.
    pub unique_constraints: Vec<UniqueConstraintDef>,
    /// Sequences (auto_inc columns).
    pub sequences: Vec<SequenceDef>,
    /// The schedule, if this is a scheduled table.
    pub schedule: Option<ScheduleDef>,
    /// System or user.
    pub table_type: TableType,
    /// Public or private.
    pub access: TableAccess,
    /// Whether rows are events that are never stored.
    pub is_event: bool,
    /// Column defaults, decoded at the column types.
    pub default_values: Vec<(ColId, AlgebraicValue)>,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// The column's position in the row.
    pub col_id: ColId,
    /// The canonical column name (snake_cased under the SnakeCase policy): what SQL and
    /// clients see.
    pub name: String,
    /// The column name as the module wrote it.
    pub accessor_name: String,
    /// The column type as declared (may be a `Ref`).
    pub ty: AlgebraicType,
}

/// An index of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    /// The canonical index name, `{table}_{col1}_{col2}_idx_{btree|hash|direct}` (from the
    /// canonical table and column names) unless `ExplicitNames` renames it.
    pub name: String,
    /// The name the module gave the index (V10 `source_name`, which the Rust bindings
    /// generate from the accessor names); `index_id_from_name` must accept it as well as
    /// `name`. Equal to `name` for V9.
    pub source_name: String,
    /// The accessor the module uses for it.
    pub accessor_name: Option<String>,
    /// Which columns and how.
    pub algorithm: IndexAlgorithm,
}

/// How an index is organised and over which columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexAlgorithm {
    /// Ordered: point, prefix and range scans.
    BTree {
        /// Key columns, in key order.
        columns: Vec<ColId>,
    },
    /// Hashed: point scans only.
    Hash {
        /// Key columns, in key order.
        columns: Vec<ColId>,
    },
    /// Direct (array-indexed) on one small unsigned or enum column.
    Direct {
        /// The key column.
        column: ColId,
    },
}

impl IndexAlgorithm {
    /// The key columns, in key order.
    pub fn columns(&self) -> &[ColId] {
        match self {
            Self::BTree { columns } | Self::Hash { columns } => columns,
            Self::Direct { column } => std::slice::from_ref(column),
        }
    }
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueConstraintDef {
    /// The constraint name, `{table}_{cols}_key` unless the module named it.
    pub name: String,
    /// The columns whose values are unique together.
    pub columns: Vec<ColId>,
}

/// A sequence filling an integer column.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceDef {
    /// The sequence name, `{table}_{col}_seq` unless the module named it.
    pub name: String,
    /// The column it fills when an inserted value is zero.
    pub column: ColId,
    /// The first value (defaults to `min_value`).
    pub start: i128,
    /// The smallest value (defaults to 1, or to an explicit lower `start`).
    pub min_value: i128,
    /// The largest value (defaults to the column type's maximum).
    pub max_value: i128,
    /// The step (non-zero).
    pub increment: i128,
}

/// The schedule of a scheduled table.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleDef {
    /// The schedule name, `{table}_sched` unless the module named it.
    pub name: String,
    /// The reducer each row calls, with the row as its only argument.
    pub function_name: String,
    /// The `ScheduleAt` column.
    pub at_column: ColId,
    /// The `u64` primary-key column identifying a scheduled row.
    pub id_column: ColId,
}

/// A validated reducer.
#[derive(Debug, Clone, PartialEq)]
pub struct ReducerDef {
    /// The canonical name clients call it by.
    pub name: String,
    /// The source name in the module.
    pub source_name: String,
    /// Its parameters after the context.
    pub params: ProductType,
    /// Whether clients may call it.
    pub visibility: FunctionVisibility,
    /// Its lifecycle role, if any.
    pub lifecycle: Option<Lifecycle>,
}

/// A validated procedure: a function that runs outside a transaction (opening its own
/// with `with_tx`), may make HTTP requests, and returns a value to its caller.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcedureDef {
    /// The canonical name clients call it by.
    pub name: String,
    /// The source name in the module.
    pub source_name: String,
    /// Its parameters after the context.
    pub params: ProductType,
    /// What it returns (BSATN of this type is the module's answer).
    pub return_type: AlgebraicType,
    /// Whether clients may call it (`Private` when a schedule calls it).
    pub visibility: FunctionVisibility,
}

/// A validated HTTP handler: a function the host calls with a request, outside any
/// transaction (it opens its own with `with_tx`), which returns a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpHandlerDef {
    /// The handler's name in the module (routes refer to it by this name).
    pub name: String,
}

/// A validated route: requests for exactly `path` (strict: `/foo` and `/foo/` differ;
/// `""` is the root without a slash) with a matching method go to a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRouteDef {
    /// The methods it matches.
    pub method: MethodOrAny,
    /// The path below the database's route prefix: empty, or starting with `/`.
    pub path: String,
    /// The handler's position in [`ModuleDef::http_handlers`].
    pub handler_id: u32,
}

impl HttpRouteDef {
    /// Whether a request for `path` with `method` goes to this route.
    pub fn matches(&self, method: &HttpMethod, path: &str) -> bool {
        self.path == path
            && match &self.method {
                MethodOrAny::Any => true,
                MethodOrAny::Method(m) => m == method,
            }
    }
}

/// A validated view: a read-only function of the database (and, unless anonymous, of
/// the caller) whose rows the server keeps current and serves like a read-only table.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    /// The canonical name: what SQL and clients use.
    pub name: String,
    /// The source name (the Rust accessor).
    pub source_name: String,
    /// The id the module's `__call_view__` (or, if anonymous, `__call_view_anon__`)
    /// takes: its position among views of its kind.
    pub index: u32,
    /// Whether clients other than the owner may read it.
    pub is_public: bool,
    /// Whether it ignores the caller (`AnonymousViewContext`): then it is materialised
    /// once, else once per caller who reads it.
    pub is_anonymous: bool,
    /// Whether it returns `Option<T>` (at most one row) rather than `Vec<T>`.
    pub returns_option: bool,
    /// Whether it returns a query (`impl Query<T>`, described as a product with the one
    /// element `__query__: T`): the server runs the SQL the view returns, and its rows
    /// are the view's.
    pub returns_query: bool,
    /// Its parameters after the context, in order (empty for most views). A view with
    /// parameters is materialised once per argument tuple that a query names, as
    /// `SELECT * FROM view(arg, ..)`.
    pub params: ProductType,
    /// The row type's typespace entry (`T`).
    pub product_type_ref: AlgebraicTypeRef,
    /// The row type, resolved: one named element per column.
    pub row_type: ProductType,
    /// The columns, in row order, as a table's.
    pub columns: Vec<ColumnDef>,
    /// The primary key column, if the view declares one: clients then see a row of
    /// the same key deleted and inserted in one transaction as an update.
    pub primary_key: Option<ColId>,
}

/// An environment key a module declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentDef {
    /// The key: a POSIX environment name of at most 256 bytes.
    pub name: String,
    /// The values it may take; `None` for any string.
    pub allowed: Option<Vec<String>>,
    /// Whether the module copes with it being absent.
    pub optional: bool,
}

impl ModuleDef {
    /// The declared environment key `name`.
    pub fn environment_key(&self, name: &str) -> Option<&EnvironmentDef> {
        self.environment.iter().find(|e| e.name == name)
    }

    /// The procedure whose canonical or source name is `name`, with its position (the
    /// id `__call_procedure__` takes).
    pub fn procedure(&self, name: &str) -> Option<(u32, &ProcedureDef)> {
        let found = self.procedures.iter().position(|p| p.name == name);
        let found = found.or_else(|| self.procedures.iter().position(|p| p.source_name == name))?;
        Some((found as u32, &self.procedures[found]))
    }

    /// The handler a request for `path` with `method` goes to, with its id (the
    /// position `__call_http_handler__` takes); `None` if no route matches. Routes never
    /// overlap, so at most one does.
    pub fn match_http_route(&self, method: &HttpMethod, path: &str) -> Option<(u32, &HttpHandlerDef)> {
        let route = self.http_routes.iter().find(|r| r.matches(method, path))?;
        let handler = self.http_handlers.get(route.handler_id as usize)?;
        Some((route.handler_id, handler))
    }

    /// The view whose canonical or source name is `name`.
    pub fn view(&self, name: &str) -> Option<&ViewDef> {
        self.views
            .iter()
            .find(|v| v.name == name)
            .or_else(|| self.views.iter().find(|v| v.source_name == name))
    }

    /// The table whose canonical or accessor name is `name`.
    pub fn table(&self, name: &str) -> Option<&TableDef> {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .or_else(|| self.tables.iter().find(|t| t.accessor_name == name))
    }

    /// The reducer whose canonical or source name is `name`, with its id.
    pub fn reducer(&self, name: &str) -> Option<(ReducerId, &ReducerDef)> {
        let found = self.reducers.iter().position(|r| r.name == name);
        let found = found.or_else(|| self.reducers.iter().position(|r| r.source_name == name))?;
        Some((ReducerId(found as u32), &self.reducers[found]))
    }

    /// The reducer with the given lifecycle role, with its id.
    pub fn lifecycle_reducer(&self, lifecycle: Lifecycle) -> Option<(ReducerId, &ReducerDef)> {
        let found = self
            .reducers
            .iter()
            .position(|r| r.lifecycle.as_ref() == Some(&lifecycle))?;
        Some((ReducerId(found as u32), &self.reducers[found]))
    }

    /// The reducer with id `id`.
    pub fn reducer_by_id(&self, id: ReducerId) -> Option<&ReducerDef> {
        self.reducers.get(id.idx())
    }
}

impl ViewDef {
    /// The name of the table that holds this view's rows as `caller` sees them for the
    /// arguments `args` (the BSATN of its parameters; empty for a view without any): the
    /// view's own name for an anonymous view (one set of rows for everyone), else the
    /// name with the caller's identity after a `#`, then the arguments in hex between
    /// parentheses. SQL resolves such a name only through the view, so nobody reaches
    /// another caller's rows by quoting it.
    pub fn backing_table_name(&self, caller: crate::Identity, args: &[u8]) -> String {
        use std::fmt::Write;
        let mut name = self.name.clone();
        if !self.is_anonymous {
            let _ = write!(name, "#{}", caller.to_hex());
        }
        if !self.params.elements.is_empty() {
            name.push('(');
            for byte in args {
                let _ = write!(name, "{byte:02x}");
            }
            name.push(')');
        }
        name
    }
}

impl TableDef {
    /// The column whose canonical (or, failing that, accessor) name is `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .or_else(|| self.columns.iter().find(|c| c.accessor_name == name))
    }

    /// The index whose canonical or source name is `name`.
    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.name == name || i.source_name == name)
    }

    /// Whether `cols` are covered by a unique constraint.
    pub fn is_unique(&self, cols: &[ColId]) -> bool {
        self.unique_constraints.iter().any(|c| c.columns == cols)
    }
}
