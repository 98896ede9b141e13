//! [`ReducerContext`], what every reducer receives, the database views [`Local`] and
//! [`LocalReadOnly`] that `#[table]` adds accessors to, and the `Ctx*` traits through which
//! helper functions can be generic over the context, as in SpacetimeDB.

use crate::auth::AuthCtx;
use crate::env::Environment;
use crate::rng::StdbRng;
use crate::sys;
use core::cell::{Cell, OnceCell};
use rand::distributions::{Distribution, Standard};
use spacetime_sats::special::UuidError;
use spacetime_sats::{ConnectionId, Identity, Timestamp, Uuid};

/// The database, as the `db` field of [`ReducerContext`]: `#[table]` adds one accessor
/// method per table (`ctx.db.my_table()`).
#[non_exhaustive]
pub struct Local {}

/// The database, read only: `#[table]` adds one accessor per table
/// (`ctx.db_read_only().my_table()`) whose handle can count rows and look them up by index,
/// but not change them or scan the whole table.
#[non_exhaustive]
pub struct LocalReadOnly {}

/// What a reducer receives: who called it, when, and access to the database.
///
/// Reducers run one at a time, each in its own transaction.
#[non_exhaustive]
pub struct ReducerContext {
    /// The database's environment values, read in this transaction.
    pub env: Environment,
    sender: Identity,
    /// When the reducer call started. Every call at the same timestamp sees the same
    /// random numbers.
    pub timestamp: Timestamp,
    connection_id: Option<ConnectionId>,
    sender_auth: AuthCtx,
    /// The tables: `ctx.db.my_table()` for a table declared with `accessor = my_table`.
    pub db: Local,
    pub(crate) rng: OnceCell<StdbRng>,
    // The counter of `new_uuid_v7`: 31 bits, so UUIDs made in one call sort in order.
    counter_uuid: Cell<u32>,
}

impl ReducerContext {
    pub(crate) fn new(sender: Identity, connection_id: Option<ConnectionId>, timestamp: Timestamp) -> Self {
        Self {
            env: Environment::default(),
            sender,
            timestamp,
            connection_id,
            sender_auth: AuthCtx::from_connection_id_opt(connection_id),
            db: Local {},
            rng: OnceCell::new(),
            counter_uuid: Cell::new(0),
        }
    }

    /// A context for native tests of reducer logic that does not touch the host.
    #[doc(hidden)]
    pub fn __dummy() -> Self {
        Self::new(Identity::ZERO, None, Timestamp::UNIX_EPOCH)
    }

    /// The identity of the caller: the client, or the database itself for `init` and
    /// scheduled reducers.
    pub fn sender(&self) -> Identity {
        self.sender
    }

    /// The connection of the caller; `None` for `init`, scheduled and other calls the
    /// host makes on its own.
    pub fn connection_id(&self) -> Option<ConnectionId> {
        self.connection_id
    }

    /// How the caller authenticated: whether the database itself made the call, and the
    /// claims of the client's token.
    pub fn sender_auth(&self) -> &AuthCtx {
        &self.sender_auth
    }

    /// The identity of this database.
    pub fn database_identity(&self) -> Identity {
        Identity::from_byte_array(sys::identity())
    }

    /// The identity of this database.
    #[deprecated(note = "use `ReducerContext::database_identity` instead")]
    pub fn identity(&self) -> Identity {
        self.database_identity()
    }

    /// A random (version 4) [`Uuid`] from [`ReducerContext::rng`].
    ///
    /// # Errors
    /// None in practice; the `Result` matches SpacetimeDB's signature.
    ///
    /// # Examples
    /// ```no_run
    /// # fn demo(ctx: &spacetimedb::ReducerContext) -> Result<(), Box<dyn std::error::Error>> {
    /// let id = ctx.new_uuid_v4()?;
    /// log::info!("minted {id}");
    /// # Ok(()) }
    /// ```
    pub fn new_uuid_v4(&self) -> Result<Uuid, UuidError> {
        Ok(crate::rng::uuid_v4(self.rng()))
    }

    /// A time-ordered (version 7) [`Uuid`]: the call's timestamp in milliseconds, a counter
    /// that orders the UUIDs made in this call, and random bits from
    /// [`ReducerContext::rng`].
    ///
    /// # Errors
    /// [`UuidError::BeforeUnixEpoch`] if the call's timestamp is before 1970.
    pub fn new_uuid_v7(&self) -> Result<Uuid, UuidError> {
        crate::rng::uuid_v7(self.rng(), &self.counter_uuid, self.timestamp)
    }
}

/// Contexts that can read the database.
pub trait CtxDbRead {
    /// The tables, read only.
    fn db_read_only(&self) -> &LocalReadOnly;
}

/// Contexts that can read and write the database.
pub trait CtxDbWrite: CtxDbRead {
    /// The tables.
    fn db(&self) -> &Local;
}

/// Contexts that know who made the call.
pub trait CtxWithSender {
    /// The identity of the caller.
    fn sender(&self) -> Identity;
}

/// Contexts that know when the call started.
pub trait CtxWithTimestamp {
    /// When the call started.
    fn timestamp(&self) -> Timestamp;
}

/// Contexts that know how the caller authenticated.
pub trait CtxWithSenderAuth {
    /// The caller's authentication.
    fn sender_auth(&self) -> &AuthCtx;
}

/// Contexts with a deterministic random number generator.
pub trait CtxWithRng {
    /// The random number generator of the call.
    fn rng(&self) -> &StdbRng;
    /// A random value of type `T`.
    fn random<T>(&self) -> T
    where
        Standard: Distribution<T>;
}

/// A context with a database, generic over its view of it.
#[deprecated(note = "use the capability traits (`CtxDbRead`, `CtxDbWrite`) instead")]
pub trait DbContext {
    /// The view of the tables this context gives.
    type DbView;
    /// The tables.
    fn db(&self) -> &Self::DbView;
    /// The tables, read only.
    fn db_read_only(&self) -> &LocalReadOnly;
}

impl CtxDbRead for ReducerContext {
    fn db_read_only(&self) -> &LocalReadOnly {
        &LocalReadOnly {}
    }
}

impl CtxDbWrite for ReducerContext {
    fn db(&self) -> &Local {
        &self.db
    }
}

impl CtxWithSender for ReducerContext {
    fn sender(&self) -> Identity {
        self.sender
    }
}

impl CtxWithTimestamp for ReducerContext {
    fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
}

impl CtxWithSenderAuth for ReducerContext {
    fn sender_auth(&self) -> &AuthCtx {
        &self.sender_auth
    }
}

/// Implements [`CtxWithRng`] for `$ctx` through the inherent `rng`/`random` of `$owner`
/// (the context itself, or the one it dereferences to). Naming the owner keeps a method
/// call from resolving to the trait method being defined.
macro_rules! ctx_with_rng {
    ($($(#[$meta:meta])* $ctx:ty => $owner:ty;)*) => {$(
        $(#[$meta])*
        impl $crate::context::CtxWithRng for $ctx {
            fn rng(&self) -> &$crate::rng::StdbRng {
                <$owner>::rng(self)
            }

            fn random<T>(&self) -> T
            where
                ::rand::distributions::Standard: ::rand::distributions::Distribution<T>,
            {
                <$owner>::random(self)
            }
        }
    )*};
}
pub(crate) use ctx_with_rng;

ctx_with_rng! {
    ReducerContext => ReducerContext;
}

#[allow(deprecated)]
impl DbContext for ReducerContext {
    type DbView = Local;

    fn db(&self) -> &Local {
        &self.db
    }

    fn db_read_only(&self) -> &LocalReadOnly {
        &LocalReadOnly {}
    }
}
