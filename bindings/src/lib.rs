//! The library Spacetime modules depend on: tables, reducers and the `spacetime_10.x` ABI.
//!
//! A module is a `cdylib` crate built for `wasm32-unknown-unknown`. It declares tables
//! with [`#[table]`](macro@table), the functions clients call with
//! [`#[reducer]`](macro@reducer), and its own types with
//! [`#[derive(SpacetimeType)]`](derive@SpacetimeType). The host describes the module by
//! calling `__describe_module__` and runs reducers through `__call_reducer__`; both are
//! exported by this crate.
//!
//! # Brief overview
//! - [`ViewContext`], [`AnonymousViewContext`]: what a view gets: the database read only,
//!   the query builder ([`query_builder`], `ctx.from`) and, per caller, the caller.
//! - [`Environment`] (`ctx.env`): the database's environment values.
//! - [`ProcedureContext`]: what a procedure gets: the caller, outbound HTTP
//!   ([`http::HttpClient`]) and transactions ([`ProcedureContext::with_tx`]).
//! - [`ReducerContext`]: what a reducer gets: the caller ([`ReducerContext::sender`]), the
//!   time, the database ([`ReducerContext::db`]) and a deterministic RNG.
//! - [`Table`]: `insert`, `try_insert`, `delete`, `iter`, `count` and `clear` on a table
//!   handle (`ctx.db.my_table()`).
//! - [`UniqueColumn`], [`RangedIndex`], [`PointIndex`]: lookups by unique column, btree
//!   index (points, prefixes and ranges) and hash index.
//! - [`log`]: `log::info!` and friends reach the database log;
//!   [`log_stopwatch::LogStopwatch`] logs how long a stretch of code took.
//! - [`AuthCtx`] ([`ReducerContext::sender_auth`]): whether the database made the call
//!   itself, and the claims of the caller's token.
//! - [`LocalReadOnly`] and the `Ctx*` traits ([`CtxDbWrite`], [`CtxWithSender`], …): for
//!   helpers that are generic over the context.
//!
//! The API is that of SpacetimeDB's `spacetimedb` 2.10.1 crate, so a module written for it
//! builds unchanged and describes itself identically. Procedures ([`macro@procedure`],
//! [`ProcedureContext`], [`http`]) and views ([`macro@view`], [`ViewContext`],
//! [`AnonymousViewContext`]) are supported, and so is 2.14's module environment
//! ([`macro@env`], [`Environment`], `ctx.env`), and, with the `unstable` feature, HTTP
//! handlers (`spacetimedb::http::{handler, router}`) and
//! `volatile_nonatomic_schedule_immediate!`. Views may take parameters and may return a
//! query built with [`query_builder`] (`ctx.from`), as 2.14's do.
//!
//! # Examples
//! ```no_run
//! use spacetimedb::{reducer, table, Identity, ReducerContext, Table};
//!
//! #[table(accessor = person, public)]
//! pub struct Person {
//!     #[primary_key]
//!     identity: Identity,
//!     name: String,
//! }
//!
//! #[reducer]
//! pub fn add(ctx: &ReducerContext, name: String) -> Result<(), String> {
//!     if name.is_empty() {
//!         return Err("names must not be empty".into());
//!     }
//!     ctx.db.person().insert(Person { identity: ctx.sender(), name });
//!     Ok(())
//! }
//! ```
#![deny(missing_docs)]

// The macros name `::spacetimedb::…`; this lets the crate's own tests use them too.
extern crate self as spacetimedb;

mod auth;
mod context;
mod env;
pub mod filter;
pub mod http;
#[cfg(feature = "unstable")]
mod http_handler;
mod json;
pub mod log_stopwatch;
#[doc(hidden)]
pub mod logger;
mod procedure;
pub mod query_builder;
mod rls;
mod rng;
#[doc(hidden)]
pub mod rt;
/// The type system: [`sats::u256`] and [`sats::i256`] for 256-bit columns, and the types
/// behind [`SpacetimeType`], laid out at the paths SpacetimeDB's `spacetimedb::sats` uses.
pub mod sats;
mod ser_de;
pub mod sys;
#[doc(hidden)]
pub mod table;
mod view;

pub use auth::{AuthCtx, JwtClaims};
#[allow(deprecated)]
pub use context::{
    CtxDbRead, CtxDbWrite, CtxWithRng, CtxWithSender, CtxWithSenderAuth, CtxWithTimestamp, DbContext, Local,
    LocalReadOnly, ReducerContext,
};
pub use env::Environment;
pub use filter::FilterableValue;
pub use log;
pub use procedure::{CtxWithHttp, CtxWithTxManagement, ProcedureContext, TxContext};
pub use query_builder::{Query, QueryBuilder, RawQuery};
pub use rand;
pub use rng::StdbRng;
pub use rt::{ReducerResult, ViewPrimaryKeyColumn};
pub use ser_de::{Deserialize, DeserializeOwned, Serialize};
pub use spacetime_sats::def::raw::CaseConversionPolicy;
pub use spacetime_sats::ids::TableId;
pub use spacetime_sats::AlgebraicValue;
pub use spacetime_sats::{ConnectionId, Identity, ScheduleAt, SpacetimeType, TimeDuration, Timestamp, Uuid};
pub use sys::Errno;
pub use table::{
    AutoIncOverflow, PointIndex, PointIndexReadOnly, RangedIndex, RangedIndexReadOnly, Table, TryInsertError,
    UniqueColumn, UniqueColumnReadOnly, UniqueConstraintViolation,
};
pub use view::{AnonymousViewContext, ViewContext};

/// The items SpacetimeDB modules reach as `spacetimedb::spacetimedb_lib`: the type system,
/// as in [`sats`]. `#[sats(crate = spacetimedb::spacetimedb_lib)]` names it.
pub mod spacetimedb_lib {
    pub use crate::sats::*;

    #[doc(hidden)]
    pub use crate::__private;

    /// The module-definition types a hand-written `EnvironmentValue` impl names, at
    /// SpacetimeDB's path.
    pub mod db {
        /// See [`db`](super::db).
        pub mod raw_def {
            /// See [`db`](super::super::db).
            pub mod v10 {
                pub use spacetime_sats::def::raw::{RawEnvVarTypeV10, RawEnvironmentDeclarationV10};
            }
        }
    }
}

/// Declares a table whose rows are the annotated struct.
///
/// ```no_run
/// use spacetimedb::{table, Identity, Timestamp};
///
/// #[table(accessor = message, public,
///         index(accessor = by_sender_and_time, btree(columns = [sender, sent])))]
/// pub struct Message {
///     #[primary_key]
///     #[auto_inc]
///     id: u64,
///     sender: Identity,
///     sent: Timestamp,
///     #[index(btree)]
///     topic: String,
///     text: String,
/// }
/// ```
///
/// # Table arguments
/// - `accessor = ident` (required): the table's name and its accessor, `ctx.db.ident()`.
/// - `name = "text"`: a canonical name for clients and SQL, if it differs.
/// - `public` | `private`: whether clients may read it; private is the default.
/// - `index(accessor = ident, btree(columns = [a, b]))` or `hash(columns = [..])`: a
///   (possibly multi-column) index, reached as `ctx.db.t().ident()`; `direct(column = a)`
///   for an array-indexed index on one unique `u8`…`u64` or plain-enum column.
/// - `scheduled(reducer, at = column)`: each row schedules a call of `reducer` with the
///   row. The table needs `#[primary_key] #[auto_inc] scheduled_id: u64` and a
///   [`ScheduleAt`] column, `scheduled_at` unless `at` names another.
/// - `event`: an event table, whose rows are published but never stored.
///
/// Several `#[table]` attributes on one struct declare several tables with that row type.
///
/// # Column attributes
/// - `#[primary_key]`: at most one per table; implies `#[unique]` and enables
///   [`UniqueColumn::update`].
/// - `#[unique]`: a unique constraint, with a btree index unless an index covers the column.
/// - `#[auto_inc]`: inserting 0 stores the next value of a sequence; integer columns only.
/// - `#[index(btree)]` | `#[index(hash)]` | `#[index(direct)]`: a one-column index named
///   after the field (`direct` needs the column to be unique).
/// - `#[default(expr)]`: the value of the column for rows that existed before it was added.
///
/// # Generated items
/// For `accessor = t`: a trait `t` giving `ctx.db.t()`, and the handle type
/// `t__TableHandle`, which implements [`Table`] and has one method per index; a trait
/// `t__view` giving `ctx.db_read_only().t()`, whose `t__ViewHandle` counts rows and looks
/// them up through read-only index handles.
#[doc(inline)]
pub use spacetime_macros::table;

/// Declares a reducer: a function clients call, run in its own transaction.
///
/// The signature is `fn(ctx: &ReducerContext, args..)` returning `()` or
/// `Result<(), E: Display>`; the arguments must be [`SpacetimeType`]s. An `Err` or a panic
/// rolls the transaction back; the error text is reported to the caller.
///
/// ```no_run
/// use spacetimedb::{reducer, ReducerContext};
///
/// #[reducer]
/// pub fn greet(ctx: &ReducerContext, name: String) -> Result<(), String> {
///     if name.is_empty() {
///         return Err("name must not be empty".to_string());
///     }
///     log::info!("hello, {name}, from {}", ctx.sender());
///     Ok(())
/// }
/// ```
///
/// # Arguments
/// - `init`: runs when the database is first published (or cleared); an error fails the publish.
/// - `client_connected`: runs when a client connects; an error rejects the connection.
/// - `client_disconnected`: runs when a client disconnects.
/// - `name = "text"`: a canonical name for clients, if it differs from the function name.
///
/// Lifecycle reducers cannot be called by clients.
#[doc(inline)]
pub use spacetime_macros::reducer;

/// Derives [`SpacetimeType`] (and the BSATN encoding) for a struct or enum, so it can be
/// a column, a reducer argument or part of another such type.
///
/// Struct fields become product elements in declaration order. Enum variants must be unit
/// variants or have exactly one unnamed field; their tag is their position.
/// `#[sats(name = "Scope.Name")]` renames the type in the module definition.
///
/// ```no_run
/// use spacetimedb::SpacetimeType;
///
/// #[derive(SpacetimeType)]
/// pub enum Shape {
///     Circle(f32),
///     Empty,
/// }
/// ```
#[doc(inline)]
pub use spacetime_macros::SpacetimeType;

/// Derives [`Serialize`](trait@Serialize) (the BSATN encoding) alone, for a type that is
/// encoded but is not a column or argument. `SpacetimeType` already includes it.
#[doc(inline)]
pub use spacetime_macros::Serialize;

/// Derives [`Deserialize`](trait@Deserialize) (BSATN decoding) alone. `SpacetimeType`
/// already includes it.
#[doc(inline)]
pub use spacetime_macros::Deserialize;

/// A [`Duration`](core::time::Duration) written as text and checked at compile time:
/// `duration!("1500ms")`, `duration!("2h 30m")`. Units: `ns`, `us`, `ms`, `s`, `m`, `h`, `d`.
#[doc(inline)]
pub use spacetime_macros::duration;

/// Declares a module-wide setting on a `const` named after it.
///
/// The one setting is `CASE_CONVERSION_POLICY` ([`CaseConversionPolicy`]): how canonical
/// names (what clients and SQL see) derive from the names in the source. The default is
/// `SnakeCase`; `None` keeps names as written.
///
/// ```no_run
/// use spacetimedb::CaseConversionPolicy;
///
/// #[spacetimedb::settings]
/// const CASE_CONVERSION_POLICY: CaseConversionPolicy = CaseConversionPolicy::None;
/// ```
///
/// An unknown name is a compile error listing the known ones; setting one twice is a link
/// error (the same symbol is exported twice).
#[doc(inline)]
pub use spacetime_macros::settings;

/// Declares a view: a read-only function of the database whose rows clients read and
/// subscribe to like a table's. The server keeps each view current as the tables it reads
/// change.
///
/// The signature is `fn(ctx: &ViewContext, args..) -> R` for a view that depends on its
/// caller ([`ViewContext::sender`]; evaluated per client) or
/// `fn(ctx: &AnonymousViewContext, args..) -> R` for one that does not (evaluated once),
/// where `R` is `Vec<T>` or `Option<T>` and `T` a [`SpacetimeType`] struct (the view's row).
/// `ctx.db` is read only: table handles count rows and look them up by index, and have no
/// `insert` or `delete`. Parameters after the context (`args..`) are as in SpacetimeDB 2.14
/// (2.10.1 refuses them at compile time): clients call such a view with arguments, `SELECT *
/// FROM my_view(1, 'a')`, and the server keeps one set of rows per argument list. A view may
/// also return a query of its rows, `-> impl Query<T>` (or `RawQuery<T>`), built from
/// `ctx.from` ([`query_builder`]): the server runs the query and keeps its result current.
///
/// ```no_run
/// use spacetimedb::{table, view, AnonymousViewContext, Identity, SpacetimeType, ViewContext};
///
/// #[table(accessor = player)]
/// pub struct Player {
///     #[primary_key]
///     identity: Identity,
///     #[index(btree)]
///     level: u32,
/// }
///
/// #[derive(SpacetimeType)]
/// pub struct PlayerCount {
///     count: u64,
/// }
///
/// #[view(accessor = my_player, public)]
/// fn my_player(ctx: &ViewContext) -> Option<Player> {
///     ctx.db.player().identity().find(ctx.sender())
/// }
///
/// #[view(accessor = player_count, public)]
/// fn player_count(ctx: &AnonymousViewContext) -> Option<PlayerCount> {
///     Some(PlayerCount { count: ctx.db.player().count() })
/// }
///
/// #[view(accessor = top_players, public)]
/// fn top_players(ctx: &AnonymousViewContext) -> Vec<Player> {
///     ctx.db.player().level().filter(90u32..).collect()
/// }
/// ```
///
/// # Arguments
/// - `accessor = ident` (required): the view's name, as clients and SQL see it.
/// - `public` (required): views are public.
/// - `name = "text"`: a canonical name, if it differs from the accessor.
/// - `primary_key = column`: a column of the row that identifies it, so clients see a
///   changed row as an update.
#[doc(inline)]
pub use spacetime_macros::view;

/// Declares a procedure: a function clients call that runs outside any transaction, may
/// make HTTP requests (`ctx.http`), opens transactions with
/// [`ProcedureContext::with_tx`], and returns a value to its caller.
///
/// The signature is `fn(ctx: &mut ProcedureContext, args..) -> T` where the arguments and
/// `T` are [`SpacetimeType`]s. `name = "text"` gives it a canonical name.
///
/// ```no_run
/// use spacetimedb::{procedure, ProcedureContext};
///
/// #[procedure]
/// pub fn fetch_len(ctx: &mut ProcedureContext, url: String) -> u64 {
///     match ctx.http.get(url) {
///         Ok(response) => response.into_body().into_bytes().len() as u64,
///         Err(e) => {
///             log::warn!("fetch failed: {e}");
///             0
///         }
///     }
/// }
/// ```
#[doc(inline)]
pub use spacetime_macros::procedure;

/// Declares the module's environment: the keys it reads from the database's environment
/// values (set per database at publish, `spacetime publish --env KEY=VALUE`), and for
/// each a typed accessor on [`Environment`] (`ctx.env.KEY()`).
///
/// Fields are `String`, enums deriving [`EnvironmentValue`](derive@EnvironmentValue), or
/// an `Option` of either (an optional key). `#[env(values("a", "b"))]` limits a `String`
/// field to those values. The macro generates a trait `<Struct>Access` holding the
/// accessors; import it where the declaration is out of scope. A module has at most one
/// `#[env]`; `get` is reserved for [`Environment::get`].
///
/// ```no_run
/// #![allow(non_snake_case)]
/// #[derive(spacetimedb::EnvironmentValue)]
/// pub enum LogLevel {
///     #[env(value = "debug")]
///     Debug,
///     #[env(value = "info")]
///     Info,
/// }
///
/// #[spacetimedb::env]
/// pub struct Env {
///     pub API_KEY: String,
///     pub LOG_LEVEL: Option<LogLevel>,
/// }
///
/// #[spacetimedb::reducer]
/// fn read(ctx: &spacetimedb::ReducerContext) {
///     let _key: String = ctx.env.API_KEY();
///     let _level: Option<LogLevel> = ctx.env.LOG_LEVEL();
/// }
/// ```
#[doc(inline)]
pub use spacetime_macros::env;

/// Derives an environment value type from an enum of unit variants: each variant accepts
/// its name, or the string of its `#[env(value = "..")]`. The module definition lists the
/// accepted strings; a value outside them panics, naming the key only.
#[doc(inline)]
pub use spacetime_macros::EnvironmentValue;

/// Declares a row-level security filter on a `const` of type [`Filter`]: clients other
/// than the database owner see only the rows of the filtered table that match one of its
/// filters, in SQL, one-off queries and subscriptions.
///
/// ```no_run
/// use spacetimedb::{client_visibility_filter, Filter, Identity};
///
/// #[spacetimedb::table(accessor = note, public)]
/// pub struct Note {
///     owner: Identity,
///     text: String,
/// }
///
/// #[client_visibility_filter]
/// const MY_NOTES: Filter = Filter::Sql("SELECT * FROM note WHERE owner = :sender");
/// ```
///
/// The server checks the SQL at publish and refuses a filter that does not parse or
/// check, or that is on a private table, saying why.
#[doc(inline)]
pub use spacetime_macros::client_visibility_filter;

pub use rls::Filter;

/// What the generated code uses. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::env::{
        register_environment, string_values, EnvironmentValue, RequiredEnvironmentValue, StringEnvironmentValue,
    };
    pub use crate::filter::{FilterableValue, Private};
    #[cfg(feature = "unstable")]
    pub use crate::http_handler::{
        assert_http_handler_context_arg, assert_http_handler_request_arg, assert_http_handler_return,
        register_http_handler, register_http_router, schedule_immediate, Handler, HandlerContext, HttpHandlerFn,
        Router,
    };
    pub use crate::query_builder::{
        CanBeLookupTable, Col, HasCols, HasIxCols, IxCol, Query, QueryBuilder, RawQuery, Table as QueryTable,
    };
    pub use crate::rt::{
        assert_direct_index_key, assert_procedure_context_arg, assert_procedure_return, assert_reducer_arg,
        assert_reducer_context_arg, assert_reducer_return, assert_schedule_at_column,
        assert_scheduled_table_primary_key, assert_table_column, decode_args, decode_procedure_args,
        register_case_conversion_policy, register_procedure, register_reducer, register_row_level_security,
        register_table, scheduled_typecheck, Args, DirectIndexKey, FnInfo, FunctionName, IntoReducerResult,
        ProcedureContextArg, ProcedureFn, ProcedureInfo, ReducerArg, ReducerContextArg, ReducerFn, ReducerResult,
        TableColumn,
    };
    pub use crate::rt::{
        assert_view_arg, assert_view_primary_key_column, decode_view_args, encode_view_result, register_view, ViewFn,
        ViewInfo, ViewReturn,
    };
    pub use crate::table::{
        AutoIncOverflow, Column, Index, IndexAlgo, IndexDesc, IndexIsPointed, IndexIsRanged, PointIndex,
        PointIndexReadOnly, PrimaryKey, RangedIndex, RangedIndexReadOnly, ScheduleDesc, SequenceTrigger, Table,
        TableInternal, UniqueColumn, UniqueColumnReadOnly, UniqueConstraintViolation,
    };
    pub use crate::{
        AnonymousViewContext, Environment, Local, LocalReadOnly, ProcedureContext, ReducerContext, ViewContext,
    };
    pub use core::any::TypeId;
    pub use core::convert::Infallible;
    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Err, Ok};
    pub use core::time::Duration;
    pub use spacetime_macros::__TableHelper;
    pub use spacetime_sats::bsatn::{decode_tag, to_vec, Decode, DecodeError, Encode};
    pub use spacetime_sats::def::raw::{Lifecycle, TableAccess};
    pub use spacetime_sats::def::raw::{RawEnvVarTypeV10, RawEnvironmentDeclarationV10};
    pub use spacetime_sats::ids::{IndexId, TableId};
    pub use spacetime_sats::{
        AlgebraicType, ProductType, ProductTypeElement, SpacetimeType, SumType, SumTypeVariant, TypespaceBuilder,
    };
    pub use std::string::String;
    pub use std::sync::OnceLock;
    pub use std::vec::Vec;

    /// Resolves a table id by name, for the generated `table_id`.
    ///
    /// # Panics
    /// If the host does not know the table, which means the module definition and the
    /// database disagree.
    pub fn resolve_table_id(name: &str) -> TableId {
        crate::sys::table_id_from_name(name).unwrap_or_else(|e| panic!("the host does not know table `{name}`: {e}"))
    }

    /// Resolves an index id by name, for the generated index markers.
    ///
    /// # Panics
    /// If the host does not know the index.
    pub fn resolve_index_id(name: &str) -> IndexId {
        crate::sys::index_id_from_name(name).unwrap_or_else(|e| panic!("the host does not know index `{name}`: {e}"))
    }
}
