//! [`ViewContext`] and [`AnonymousViewContext`], what a `#[view]` receives: the database
//! read only ([`LocalReadOnly`], whose table handles count rows and look them up by index
//! but have no `insert` or `delete`, so a view that writes does not compile), the
//! environment, the query builder (`ctx.from`, for a view returning a query), and for a
//! per-caller view the caller's identity.

#[allow(deprecated)]
use crate::context::DbContext;
use crate::context::{CtxDbRead, CtxWithSender, LocalReadOnly};
use crate::env::Environment;
use crate::query_builder::QueryBuilder;
use crate::ReducerContext;
use spacetime_sats::Identity;

/// What a view that does not depend on its caller receives. The server evaluates such a
/// view once for all clients.
#[non_exhaustive]
pub struct AnonymousViewContext {
    /// The database's environment values.
    pub env: Environment,
    /// The tables, read only: `ctx.db.my_table()`.
    pub db: LocalReadOnly,
    /// The tables, to build a query from: `ctx.from.my_table()`.
    pub from: QueryBuilder,
}

impl Default for AnonymousViewContext {
    fn default() -> Self {
        Self {
            env: Environment::default(),
            db: LocalReadOnly {},
            from: QueryBuilder {},
        }
    }
}

/// What a per-caller view receives: [`ViewContext::sender`] is the client reading it. The
/// server evaluates such a view for each client that subscribes to it.
#[non_exhaustive]
pub struct ViewContext {
    /// The database's environment values.
    pub env: Environment,
    sender: Identity,
    /// The tables, read only: `ctx.db.my_table()`.
    pub db: LocalReadOnly,
    /// The tables, to build a query from: `ctx.from.my_table()`.
    pub from: QueryBuilder,
}

impl ViewContext {
    /// A context for the caller `sender`.
    pub fn new(sender: Identity) -> Self {
        Self {
            env: Environment::default(),
            sender,
            db: LocalReadOnly {},
            from: QueryBuilder {},
        }
    }

    /// The identity of the client reading the view.
    pub fn sender(&self) -> Identity {
        self.sender
    }

    /// The same database without the caller, to call an anonymous view's function.
    pub fn as_anonymous(&self) -> AnonymousViewContext {
        AnonymousViewContext::default()
    }
}

impl ReducerContext {
    /// A read-only context without the caller, to call an anonymous view's function
    /// from a reducer (it runs in the reducer's transaction).
    pub fn as_anonymous_read_only(&self) -> AnonymousViewContext {
        AnonymousViewContext::default()
    }

    /// A read-only context for this reducer's caller, to call a per-caller view's
    /// function from a reducer.
    pub fn as_read_only(&self) -> ViewContext {
        ViewContext::new(self.sender())
    }
}

impl CtxDbRead for ViewContext {
    fn db_read_only(&self) -> &LocalReadOnly {
        &self.db
    }
}

impl CtxDbRead for AnonymousViewContext {
    fn db_read_only(&self) -> &LocalReadOnly {
        &self.db
    }
}

impl CtxWithSender for ViewContext {
    fn sender(&self) -> Identity {
        self.sender
    }
}

#[allow(deprecated)]
impl DbContext for ViewContext {
    type DbView = LocalReadOnly;

    fn db(&self) -> &LocalReadOnly {
        &self.db
    }

    fn db_read_only(&self) -> &LocalReadOnly {
        &self.db
    }
}

#[allow(deprecated)]
impl DbContext for AnonymousViewContext {
    type DbView = LocalReadOnly;

    fn db(&self) -> &LocalReadOnly {
        &self.db
    }

    fn db_read_only(&self) -> &LocalReadOnly {
        &self.db
    }
}
