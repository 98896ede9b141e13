//! The Spacetime Rust client SDK: connect to a database, replicate the rows of chosen
//! queries into a local cache, react to changes with callbacks, and call reducers.
//!
//! # Brief overview
//! Generated bindings (`spacetime generate --lang rust`) define a module type and aliases
//! for the types below; an application uses them in this order:
//! 1. [`DbConnectionBuilder`] (`DbConnection::builder()`) takes the server URI, the
//!    database name, an optional token and the connection callbacks, and `build()`s a
//!    [`DbConnection`].
//! 2. The connection is driven by one of its run modes: `run_threaded()`, `run_async()`,
//!    `frame_tick()` or `advance_one_message*()`. Callbacks run only inside these calls.
//! 3. [`SubscriptionBuilder`] (`conn.subscription_builder()`) subscribes to SQL queries;
//!    matching rows fill the client cache, read through the table handles on `ctx.db`
//!    ([`Table`], [`TableWithPrimaryKey`]).
//! 4. Reducers are called through `ctx.reducers`, optionally with a completion callback;
//!    procedures through `ctx.procedures`, as futures of their return value (or with a
//!    callback, the `_then` form). Views are read-only tables on `ctx.db`.
//! 5. [`DbContext::query`] runs one SQL query once, without subscribing, and returns
//!    its rows ([`QueryRows`], decoded into a table's row type on request).
//!
//! The cache reference-counts rows, so a row matched by two query sets is inserted once
//! and removed when its last query set lets go of it; a delete and an insert of the same
//! primary key in one transaction is reported as one update; row callbacks of a reducer's
//! own transaction run before its completion callback. With
//! [`DbConnectionBuilder::with_reconnect`], a dropped connection is re-established with
//! backoff, its query sets are resubscribed, and only the rows that really changed in
//! between fire callbacks.
//!
//! [`mock::MockServer`] stands in for a server in tests of client code.
#![deny(missing_docs)]

mod builder;
mod cache;
mod callbacks;
mod connection;
mod context;
pub mod credentials;
pub mod error;
pub mod event;
pub mod mock;
mod module;
mod request;
mod subscription;
pub mod table;
mod transport;

pub use builder::DbConnectionBuilder;
pub use context::{
    DbConnection, DbContext, ErrorContext, EventContext, ProcedureEventContext, ReducerEventContext,
    SubscriptionEventContext,
};
pub use error::{Error, InternalError, Result};
pub use event::{Event, ReducerEvent, Status};
pub use request::{OneOffQuery, ProcedureCall, QueryRows, QueryTable};
pub use spacetime_protocol::Compression;
pub use spacetime_sats::{i256, u256, ConnectionId, Identity, ScheduleAt, TimeDuration, Timestamp, Uuid};
pub use subscription::{IntoQueries, SubscriptionBuilder, SubscriptionHandle};
pub use table::{EventTable, Table, TableWithPrimaryKey};
pub use transport::{subscribe_url, ReconnectPolicy};

#[doc(hidden)]
pub mod __codegen {
    //! What generated bindings refer to. Public because generated code lives in the
    //! application's crate; not part of the stable API.
    pub use crate::cache::{ClientCache, Row, TableCache};
    pub use crate::callbacks::CallbackId;
    pub use crate::connection::DbContextImpl;
    pub use crate::module::{FromDbContextImpl, Reducer, SpacetimeModule};
    pub use crate::table::{TableHandle, UniqueConstraintHandle};
    pub use crate::*;
    pub use spacetime_sats::bsatn;
}
