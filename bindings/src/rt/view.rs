//! The runtime of `#[view]`: the [`ViewInfo`] a view's macro expansion implements, its
//! registration into the `Views` (and `ViewPrimaryKeys`) sections, the compile-time
//! signature checks, and the two exports the host calls, `__call_view__` (per caller) and
//! `__call_view_anon__`.
//!
//! A view's id is its position among the views of its kind (per-caller or anonymous), the
//! `index` of its `RawViewDefV10`. A call writes a `ViewResultHeader` (`RowData`, tag 0)
//! followed by the BSATN array of rows, or (`RawSql`, tag 1) the BSATN string of a query
//! for a view returning one, and returns 2: the ABI revision in which results carry that
//! header, as SpacetimeDB's bindings return.

use super::{identity_from_limbs, lock, read_args, register_describer, Args, ModuleBuilder};
use crate::query_builder::{Query, RawQuery};
use crate::sys;
use crate::view::{AnonymousViewContext, ViewContext};
use spacetime_sats::bsatn::Encode;
use spacetime_sats::def::raw::{ExplicitNameEntry, NameMapping};
use spacetime_sats::SpacetimeType;
use std::sync::Mutex;

/// The dispatch entry of a view: decodes the BSATN arguments, runs the view and returns
/// its encoded result.
pub type ViewFn<C> = fn(&C, &[u8]) -> Vec<u8>;

/// The dispatch tables of the two kinds of view, indexed by view id.
#[derive(Default, Clone)]
pub struct ViewDispatch {
    per_caller: Vec<ViewFn<ViewContext>>,
    anonymous: Vec<ViewFn<AnonymousViewContext>>,
}

static VIEWS: Mutex<ViewDispatch> = Mutex::new(ViewDispatch {
    per_caller: Vec::new(),
    anonymous: Vec::new(),
});

/// Installs the dispatch tables `__describe_module__` built.
pub(super) fn install(views: ViewDispatch) {
    *lock(&VIEWS) = views;
}

/// The two view contexts; which one a view takes decides its kind.
#[diagnostic::on_unimplemented(
    message = "the first parameter of a view must be `&ViewContext` or `&AnonymousViewContext`, not `&{Self}`",
    label = "expected `&ViewContext` or `&AnonymousViewContext`",
    note = "take `&ViewContext` for a view that depends on the caller, `&AnonymousViewContext` for one that does not"
)]
pub trait ViewContextArg: Sized + 'static {
    /// Whether views taking this context ignore their caller.
    const ANONYMOUS: bool;
    /// Appends `invoke` to the dispatch table of this kind; returns its id.
    #[doc(hidden)]
    fn push_dispatch(dispatch: &mut ViewDispatch, invoke: ViewFn<Self>) -> u32;
}

impl ViewContextArg for ViewContext {
    const ANONYMOUS: bool = false;
    fn push_dispatch(dispatch: &mut ViewDispatch, invoke: ViewFn<Self>) -> u32 {
        dispatch.per_caller.push(invoke);
        (dispatch.per_caller.len() - 1) as u32
    }
}

impl ViewContextArg for AnonymousViewContext {
    const ANONYMOUS: bool = true;
    fn push_dispatch(dispatch: &mut ViewDispatch, invoke: ViewFn<Self>) -> u32 {
        dispatch.anonymous.push(invoke);
        (dispatch.anonymous.len() - 1) as u32
    }
}

/// What a view returns: `Vec<T>` (any number of rows), `Option<T>` (at most one) or a
/// query of `T`s (`impl Query<T>`, which the macro turns into a [`RawQuery<T>`]).
#[diagnostic::on_unimplemented(
    message = "views must return `Vec<T>`, `Option<T>` or `impl Query<T>` where `T` is a `SpacetimeType`, not `{Self}`",
    label = "expected `Vec<T>`, `Option<T>` or `impl Query<T>`",
    note = "`T` is the view's row type: a struct deriving `SpacetimeType`, or a table's row type"
)]
pub trait ViewReturn: SpacetimeType {
    /// The result the host reads: the `RowData` header, then the rows as a BSATN array.
    fn encode_result(self) -> Vec<u8>;
}

/// `ViewResultHeader::RowData`: rows follow.
const ROW_DATA_HEADER: u8 = 0;
/// `ViewResultHeader::RawSql`: the SQL text of a query the host runs follows.
const RAW_SQL_HEADER: u8 = 1;

fn encode_rows<T: Encode>(rows: &[T]) -> Vec<u8> {
    let mut out = vec![ROW_DATA_HEADER];
    (rows.len() as u32).encode(&mut out);
    for row in rows {
        row.encode(&mut out);
    }
    out
}

impl<T: SpacetimeType + Encode> ViewReturn for Vec<T> {
    fn encode_result(self) -> Vec<u8> {
        encode_rows(&self)
    }
}

impl<T: SpacetimeType + Encode> ViewReturn for Option<T> {
    fn encode_result(self) -> Vec<u8> {
        encode_rows(self.as_slice())
    }
}

impl<T: SpacetimeType> ViewReturn for RawQuery<T> {
    fn encode_result(self) -> Vec<u8> {
        let mut out = vec![RAW_SQL_HEADER];
        self.into_sql().encode(&mut out);
        out
    }
}

/// Checks that a view parameter is a `SpacetimeType`.
#[diagnostic::on_unimplemented(
    message = "the view argument `{Self}` does not implement `SpacetimeType`",
    note = "if you own the type, add `#[derive(SpacetimeType)]` to its definition"
)]
pub trait ViewArg {}
impl<T: SpacetimeType> ViewArg for T {}

/// Asserts at compile time that `T` can be a view parameter.
pub const fn assert_view_arg<T: ViewArg>() {}

/// The static description of a view that `#[view]` generates.
#[doc(hidden)]
pub trait ViewInfo {
    /// The view's source name: its accessor.
    const NAME: &'static str;
    /// The explicit canonical name, from `name = ".."`.
    const CANONICAL_NAME: Option<&'static str> = None;
    /// The parameter names after the context.
    const ARG_NAMES: &'static [Option<&'static str>];
    /// The primary key column of the rows, from `primary_key = ..`.
    const PRIMARY_KEY: Option<&'static str> = None;
    /// `ViewContext` or `AnonymousViewContext`.
    type Context: ViewContextArg;
    /// The argument types, as a tuple.
    type Args: Args;
    /// `Vec<Row>` or `Option<Row>`.
    type Ret: ViewReturn;
    /// The dispatch entry.
    const INVOKE: ViewFn<Self::Context>;
}

/// Encodes what view `I` returned. Going through `I` (rather than `ViewReturn` directly)
/// leaves a wrong return type reported once, at `ViewInfo::Ret`.
pub fn encode_view_result<I: ViewInfo>(rows: I::Ret) -> Vec<u8> {
    rows.encode_result()
}

/// Registers the view `I`.
pub fn register_view<I: ViewInfo>() {
    register_describer(describe_view::<I>);
}

/// Adds the view `I` to `module`: its `Views` entry, its primary key, its dispatch
/// function and its explicit name, in that order.
pub fn describe_view<I: ViewInfo>(module: &mut ModuleBuilder) {
    let params = I::Args::schema(I::ARG_NAMES, module);
    let return_type = I::Ret::make_type(module);
    module.add_view::<I::Context>(I::NAME, params, return_type, I::INVOKE);
    if let Some(column) = I::PRIMARY_KEY {
        module.add_view_primary_key(I::NAME, column);
    }
    let name = I::CANONICAL_NAME.map(|canonical| {
        ExplicitNameEntry::Function(NameMapping {
            source_name: I::NAME.to_owned(),
            canonical_name: canonical.to_owned(),
        })
    });
    module.add_explicit_names(name);
}

/// Decodes the arguments of view `name`.
///
/// # Panics
/// If they do not decode (the host encodes them from the view's own parameter types, so
/// this is a host bug).
pub fn decode_view_args<A: Args>(name: &str, input: &[u8]) -> A {
    A::decode_args(input).unwrap_or_else(|e| panic!("invalid arguments for view `{name}`: {e}"))
}

/// The return code of a view call whose result starts with a `ViewResultHeader`.
const VIEW_RESULT_WITH_HEADER: i16 = 2;

fn dispatch_entry<C>(table: &[ViewFn<C>], id: usize, kind: &str) -> ViewFn<C> {
    match table.get(id) {
        Some(f) => *f,
        None => panic!(
            "no {kind} view with id {id}: the module defines {} (was __describe_module__ called?)",
            table.len()
        ),
    }
}

fn write_result(sink: sys::raw::BytesSink, result: &[u8]) -> i16 {
    sys::write_bytes_sink(sink, result).unwrap_or_else(|e| panic!("writing the view's result failed: {e}"));
    VIEW_RESULT_WITH_HEADER
}

/// Runs the per-caller view `id` for the caller `sender` and writes its result to `sink`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn __call_view__(
    id: usize,
    sender_0: u64,
    sender_1: u64,
    sender_2: u64,
    sender_3: u64,
    args: sys::raw::BytesSource,
    sink: sys::raw::BytesSink,
) -> i16 {
    let view = dispatch_entry(&lock(&VIEWS).per_caller, id, "per-caller");
    let ctx = ViewContext::new(identity_from_limbs([sender_0, sender_1, sender_2, sender_3]));
    let args = read_args(args);
    write_result(sink, &view(&ctx, &args))
}

/// Runs the anonymous view `id` and writes its result to `sink`.
#[unsafe(no_mangle)]
pub extern "C" fn __call_view_anon__(id: usize, args: sys::raw::BytesSource, sink: sys::raw::BytesSink) -> i16 {
    let view = dispatch_entry(&lock(&VIEWS).anonymous, id, "anonymous");
    let ctx = AnonymousViewContext::default();
    let args = read_args(args);
    write_result(sink, &view(&ctx, &args))
}

/// A type a view's `primary_key` column may have: one that can key an index lookup.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the primary key of a view",
    label = "view primary key columns must use an index-filterable key type",
    note = "view primary keys must be an integer, bool, String, Identity, Uuid, Timestamp, ConnectionId or a payload-free enum deriving SpacetimeType"
)]
pub trait ViewPrimaryKeyColumn {}
impl<T> ViewPrimaryKeyColumn for T where for<'a> &'a T: crate::FilterableValue<Column = T> {}

/// Asserts at compile time that `column` (a field of a view's row) can be its primary key.
pub fn assert_view_primary_key_column<T: ViewPrimaryKeyColumn>(_column: &T) {}
