//! The traits generated bindings implement to describe their module to the SDK.

use crate::cache::ClientCache;
use crate::connection::DbContextImpl;
use std::fmt::Debug;

/// Implemented by the generated `RemoteModule` type: ties together the module's reducer
/// enum, its table, reducer and procedure accessors, and its tables (views included).
pub trait SpacetimeModule: Sized + Send + Sync + 'static {
    /// The generated `Reducer` enum.
    type Reducer: Reducer;
    /// The generated `RemoteTables` (what `ctx.db` is).
    type DbView: FromDbContextImpl<Self> + Send + Sync + 'static;
    /// The generated `RemoteReducers` (what `ctx.reducers` is).
    type Reducers: FromDbContextImpl<Self> + Send + Sync + 'static;
    /// The generated `RemoteProcedures` (what `ctx.procedures` is).
    type Procedures: FromDbContextImpl<Self> + Send + Sync + 'static;

    /// The wire names of every table in the bindings, for `subscribe_to_all_tables`.
    const ALL_TABLE_NAMES: &'static [&'static str];

    /// Registers each table (row type, primary key, unique columns) in a new cache.
    fn register_tables(cache: &mut ClientCache<Self>);
}

/// Implemented by the generated `Reducer` enum: one variant per reducer, holding its
/// arguments.
pub trait Reducer: Clone + Debug + Send + 'static {
    /// The reducer's wire name.
    fn reducer_name(&self) -> &'static str;
    /// The BSATN of the arguments, as one product.
    fn args_bsatn(&self) -> Vec<u8>;
}

/// Implemented by generated accessor types that wrap the connection.
pub trait FromDbContextImpl<M: SpacetimeModule> {
    /// Wraps `imp`.
    fn from_imp(imp: DbContextImpl<M>) -> Self;
}
