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

/// Stands in for the V8 definition (SpacetimeDB 0.x), which this server does not read.
///
/// Decoding one always fails with [`V8_UNSUPPORTED`]: its layout is never parsed, so a
/// `RawModuleDef::V8BackCompat` can only be built in code, and it encodes as the bare tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawModuleDefV8Placeholder {}

/// Why a `RawModuleDef::V8BackCompat` (tag 0) cannot be loaded, and how to fix it.
pub const V8_UNSUPPORTED: &str = "this module describes itself with the pre-1.0 module definition \
     (RawModuleDef::V8BackCompat, tag 0), which this server does not support: rebuild the module \
     against SpacetimeDB 2.x (`spacetimedb = \"2\"`) or the Spacetime bindings, then publish it again";

impl crate::bsatn::Encode for RawModuleDefV8Placeholder {
    fn encode(&self, _: &mut Vec<u8>) {}
}

impl crate::bsatn::Decode for RawModuleDefV8Placeholder {
    fn decode(_: &mut &[u8]) -> Result<Self, crate::bsatn::DecodeError> {
        Err(crate::bsatn::DecodeError::Invalid(V8_UNSUPPORTED.to_owned()))
    }
}

impl crate::SpacetimeType for RawModuleDefV8Placeholder {
    fn make_type<S: crate::TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::unit()
    }
}

sats_struct! {
    /// The V10 module definition: optional, unordered sections.
    pub struct RawModuleDefV10 {
        /// The sections, each at most once.
        pub sections: Vec<RawModuleDefV10Section>,
    }
}

sats_enum! {
    unknown_tag = "the module was built with a newer SpacetimeDB than this server understands; \
                   rebuild it against SpacetimeDB 2.14 (or the Spacetime bindings)";
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
        /// Tag 11: functions that handle HTTP requests.
        HttpHandlers(Vec<RawHttpHandlerDefV10>),
        /// Tag 12: routes from HTTP paths to handlers.
        HttpRoutes(Vec<RawHttpRouteDefV10>),
        /// Tag 13: primary keys of procedural views.
        ViewPrimaryKeys(Vec<RawViewPrimaryKeyDefV10>),
        /// Tag 14: nested modules mounted under a namespace.
        Submodules(Vec<RawSubmoduleV10>),
        /// Tag 15 (2.14): the environment values the module reads (`env_get`).
        Environment(Vec<RawEnvironmentDeclarationV10>),
        /// Tag 16 (2.14): outbox tables, for calls into other databases.
        Outboxes(Vec<RawOutboxDefV10>),
    }
}

sats_enum! {
    /// The values an environment key may take.
    pub enum RawEnvVarTypeV10 {
        /// Any string.
        String,
        /// Exactly this string.
        StringLiteral(String),
        /// One of these strings.
        Union(Vec<String>),
    }
}

sats_struct! {
    /// An environment key the module reads.
    pub struct RawEnvironmentDeclarationV10 {
        /// The key: a POSIX environment name.
        pub name: String,
        /// What values it may take.
        pub ty: RawEnvVarTypeV10,
        /// Whether the module copes with it being absent.
        pub optional: bool,
    }
}

sats_struct! {
    /// An outbox table: each row inserted calls a reducer of another database.
    pub struct RawOutboxDefV10 {
        /// The outbox table's source name.
        pub table_name: String,
        /// The reducer to call on the target database.
        pub remote_reducer: String,
        /// The column holding the target database's identity.
        pub target_column: u16,
        /// The columns passed as the reducer's arguments, in order.
        pub arg_columns: Vec<u16>,
        /// A local reducer called with the delivery's result.
        pub on_result_reducer: Option<String>,
        /// The hash of the remote reducer's signature.
        pub signature_hash: RawHashV10,
    }
}

/// A 32-byte hash, encoded as SATS `U256` (its bytes, little-endian).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHashV10 {
    /// The bytes.
    pub data: [u8; 32],
}

impl crate::bsatn::Encode for RawHashV10 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.data);
    }
}

impl crate::bsatn::Decode for RawHashV10 {
    fn decode(input: &mut &[u8]) -> Result<Self, crate::bsatn::DecodeError> {
        let (head, rest) = input.split_at_checked(32).ok_or(crate::bsatn::DecodeError::Truncated {
            needed: 32,
            remaining: input.len(),
        })?;
        let mut data = [0u8; 32];
        data.copy_from_slice(head);
        *input = rest;
        Ok(Self { data })
    }
}

impl crate::SpacetimeType for RawHashV10 {
    fn make_type<S: crate::TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::U256
    }
}

sats_struct! {
    /// A function that handles HTTP requests.
    pub struct RawHttpHandlerDefV10 {
        /// The handler's source name.
        pub source_name: String,
    }
}

sats_struct! {
    /// Routes requests for a path (and method) to a handler.
    pub struct RawHttpRouteDefV10 {
        /// The handler's source name.
        pub handler_function: String,
        /// Which methods the route matches.
        pub method: MethodOrAny,
        /// The path, empty or starting with `/`.
        pub path: String,
    }
}

sats_enum! {
    /// The methods an HTTP route matches.
    pub enum MethodOrAny {
        /// Every method.
        Any,
        /// One method.
        Method(HttpMethod),
    }
}

sats_enum! {
    /// An HTTP method.
    pub enum HttpMethod {
        /// `GET`.
        Get,
        /// `HEAD`.
        Head,
        /// `POST`.
        Post,
        /// `PUT`.
        Put,
        /// `DELETE`.
        Delete,
        /// `CONNECT`.
        Connect,
        /// `OPTIONS`.
        Options,
        /// `TRACE`.
        Trace,
        /// `PATCH`.
        Patch,
        /// Any other method, by name.
        Extension(String),
    }
}

sats_struct! {
    /// The primary key of a procedural view, by column name.
    pub struct RawViewPrimaryKeyDefV10 {
        /// The view's source name.
        pub view_source_name: String,
        /// The key columns' names (at most one today).
        pub columns: Vec<String>,
    }
}

sats_struct! {
    /// A module nested in another, its names qualified by `namespace`.
    pub struct RawSubmoduleV10 {
        /// The namespace it is mounted under.
        pub namespace: String,
        /// Its definition.
        pub module: RawModuleDefV10,
    }
}

/// Finds the payload of the first section of one kind.
macro_rules! section_getter {
    ($($(#[$doc:meta])* $fn:ident => $variant:ident: $ty:ty;)*) => {
        impl RawModuleDefV10 {
            $($(#[$doc])*
            pub fn $fn(&self) -> Option<&$ty> {
                self.sections.iter().find_map(|s| match s {
                    RawModuleDefV10Section::$variant(x) => Some(x),
                    _ => None,
                })
            })*
        }
    };
}

section_getter! {
    /// The `Typespace` section.
    typespace => Typespace: Typespace;
    /// The `Types` section.
    types => Types: Vec<RawTypeDefV10>;
    /// The `Tables` section.
    tables => Tables: Vec<RawTableDefV10>;
    /// The `Reducers` section.
    reducers => Reducers: Vec<RawReducerDefV10>;
    /// The `Procedures` section.
    procedures => Procedures: Vec<RawProcedureDefV10>;
    /// The `Views` section.
    views => Views: Vec<RawViewDefV10>;
    /// The `Schedules` section.
    schedules => Schedules: Vec<RawScheduleDefV10>;
    /// The `LifeCycleReducers` section.
    lifecycle_reducers => LifeCycleReducers: Vec<RawLifeCycleReducerDefV10>;
    /// The `RowLevelSecurity` section.
    row_level_security => RowLevelSecurity: Vec<RawRowLevelSecurityDefV9>;
    /// The `ExplicitNames` section.
    explicit_names => ExplicitNames: ExplicitNames;
    /// The `HttpHandlers` section.
    http_handlers => HttpHandlers: Vec<RawHttpHandlerDefV10>;
    /// The `HttpRoutes` section.
    http_routes => HttpRoutes: Vec<RawHttpRouteDefV10>;
    /// The `ViewPrimaryKeys` section.
    view_primary_keys => ViewPrimaryKeys: Vec<RawViewPrimaryKeyDefV10>;
    /// The `Submodules` section.
    submodules => Submodules: Vec<RawSubmoduleV10>;
    /// The `Environment` section.
    environment => Environment: Vec<RawEnvironmentDeclarationV10>;
    /// The `Outboxes` section.
    outboxes => Outboxes: Vec<RawOutboxDefV10>;
}

impl RawModuleDefV10 {
    /// The case conversion policy; `SnakeCase` when the section is absent.
    pub fn case_conversion_policy(&self) -> CaseConversionPolicy {
        self.sections
            .iter()
            .find_map(|s| match s {
                RawModuleDefV10Section::CaseConversionPolicy(p) => Some(p.clone()),
                _ => None,
            })
            .unwrap_or(CaseConversionPolicy::SnakeCase)
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

/// The columns of a btree or hash index.
///
/// Upstream declares these as struct variants (`BTree { columns }`), whose SATS type is
/// the lone field's type, so this wrapper is transparent: BSATN and SATS type are those
/// of `Vec<u16>`, and its SATS-JSON is a bare array (`{"BTree": [0, 1]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawIndexColumns {
    /// Column positions, in key order.
    pub columns: Vec<u16>,
}

/// The column of a direct index; transparent like [`RawIndexColumns`] (`{"Direct": 2}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDirectIndexColumn {
    /// The column position.
    pub column: u16,
}

macro_rules! transparent {
    ($name:ident, $field:ident: $ty:ty) => {
        impl crate::bsatn::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                self.$field.encode(out)
            }
        }

        impl crate::bsatn::Decode for $name {
            fn decode(input: &mut &[u8]) -> Result<Self, crate::bsatn::DecodeError> {
                <$ty as crate::bsatn::Decode>::decode(input).map(|$field| Self { $field })
            }
        }

        impl crate::SpacetimeType for $name {
            fn make_type<S: crate::TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
                <$ty as crate::SpacetimeType>::make_type(ts)
            }
        }
    };
}

transparent!(RawIndexColumns, columns: Vec<u16>);
transparent!(RawDirectIndexColumn, column: u16);

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
