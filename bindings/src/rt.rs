//! The module runtime: the describers that `#[table]` and `#[reducer]` register, the
//! builder that turns them into a `RawModuleDef::V10`, and the exports the host calls
//! (`__describe_module__`, `__call_reducer__`, `__call_procedure__`; the view entry points
//! and registration are in `view.rs`).
//!
//! Order is part of the contract. Each table and reducer exports
//! `__preinit__20_register_describer_<name>`; the host calls the `__preinit__*` exports
//! sorted by name, so describers run in that order. Sections of the definition are
//! created the first time something is added to them, and a named type's typespace slot is
//! reserved before its fields are described. A reducer's id is its position in the
//! `Reducers` section, which is also the index into the dispatch table.

mod view;

// Where SpacetimeDB's crate has them, for hand-written `EnvironmentValue` impls.
pub use crate::env::{register_environment, EnvironmentValue, RequiredEnvironmentValue, StringEnvironmentValue};

pub use view::{
    __call_view__, __call_view_anon__, assert_view_arg, assert_view_primary_key_column, decode_view_args,
    describe_view, encode_view_result, register_view, ViewArg, ViewContextArg, ViewDispatch, ViewFn, ViewInfo,
    ViewPrimaryKeyColumn, ViewReturn,
};

use crate::table::{IndexAlgo, Table};
use crate::{sys, ProcedureContext, ReducerContext};
use spacetime_sats::bsatn::{Decode, DecodeError, Encode};
use spacetime_sats::def::raw::{
    CaseConversionPolicy, ExplicitNameEntry, ExplicitNames, FunctionVisibility, Lifecycle, MethodOrAny, NameMapping,
    RawColumnDefaultValueV10, RawConstraintDataV9, RawConstraintDefV10, RawDirectIndexColumn,
    RawEnvironmentDeclarationV10, RawHttpHandlerDefV10, RawHttpRouteDefV10, RawIndexAlgorithm, RawIndexColumns,
    RawIndexDefV10, RawLifeCycleReducerDefV10, RawModuleDef, RawModuleDefV10, RawModuleDefV10Section,
    RawProcedureDefV10, RawReducerDefV10, RawRowLevelSecurityDefV9, RawScheduleDefV10, RawScopedTypeNameV10,
    RawSequenceDefV10, RawTableDefV10, RawTypeDefV10, RawUniqueConstraintDataV9, RawViewDefV10,
    RawViewPrimaryKeyDefV10, TableType,
};
use spacetime_sats::{
    AlgebraicType, AlgebraicTypeRef, ConnectionId, Identity, ProductType, ProductTypeElement, SpacetimeType, Timestamp,
    Typespace, TypespaceBuilder,
};
use std::any::TypeId;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

/// What a reducer returns to the host: `Ok` or the error message.
pub type ReducerResult = Result<(), Box<str>>;

/// The dispatch entry of a reducer: decodes the BSATN arguments and runs it.
pub type ReducerFn = fn(&ReducerContext, &[u8]) -> ReducerResult;

/// The dispatch entry of a procedure: decodes the BSATN arguments, runs it and returns
/// the BSATN of its value.
pub type ProcedureFn = fn(&mut ProcedureContext, &[u8]) -> Vec<u8>;

/// A function that adds one item to the module definition.
pub type Describer = fn(&mut ModuleBuilder);

static DESCRIBERS: Mutex<Vec<Describer>> = Mutex::new(Vec::new());
static REDUCERS: Mutex<Vec<ReducerFn>> = Mutex::new(Vec::new());
static PROCEDURES: Mutex<Vec<ProcedureFn>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock traps the instance, which the host then replaces;
    // a poisoned lock can therefore only be seen by native tests, where the data is fine.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Adds `describer` to the list `__describe_module__` runs.
pub fn register_describer(describer: Describer) {
    lock(&DESCRIBERS).push(describer);
}

/// Builds a `RawModuleDefV10` the way SpacetimeDB's Rust bindings do, section by section
/// in first-use order, and collects the reducer dispatch table alongside.
#[derive(Default)]
pub struct ModuleBuilder {
    sections: Vec<RawModuleDefV10Section>,
    type_map: BTreeMap<TypeId, AlgebraicTypeRef>,
    reducers: Vec<ReducerFn>,
    procedures: Vec<ProcedureFn>,
    views: ViewDispatch,
}

/// The dispatch tables a described module calls through, indexed by function id.
#[derive(Default)]
pub struct Dispatch {
    /// Reducers, by position in the `Reducers` section.
    pub reducers: Vec<ReducerFn>,
    /// Procedures, by position in the `Procedures` section.
    pub procedures: Vec<ProcedureFn>,
    /// Views, by kind and `index`.
    pub views: ViewDispatch,
}

macro_rules! section_accessor {
    ($($fn_name:ident => $variant:ident($ty:ty) = $empty:expr;)*) => {$(
        fn $fn_name(&mut self) -> &mut $ty {
            let idx = match self.sections.iter().position(|s| matches!(s, RawModuleDefV10Section::$variant(_))) {
                Some(idx) => idx,
                None => {
                    self.sections.push(RawModuleDefV10Section::$variant($empty));
                    self.sections.len() - 1
                }
            };
            match &mut self.sections[idx] {
                RawModuleDefV10Section::$variant(inner) => inner,
                _ => unreachable!("the section at this position was just found or pushed"),
            }
        }
    )*};
}

impl ModuleBuilder {
    section_accessor! {
        typespace_mut => Typespace(Typespace) = Typespace::default();
        types_mut => Types(Vec<RawTypeDefV10>) = Vec::new();
        tables_mut => Tables(Vec<RawTableDefV10>) = Vec::new();
        reducers_mut => Reducers(Vec<RawReducerDefV10>) = Vec::new();
        procedures_mut => Procedures(Vec<RawProcedureDefV10>) = Vec::new();
        schedules_mut => Schedules(Vec<RawScheduleDefV10>) = Vec::new();
        lifecycle_mut => LifeCycleReducers(Vec<RawLifeCycleReducerDefV10>) = Vec::new();
        explicit_names_mut => ExplicitNames(ExplicitNames) = ExplicitNames { entries: Vec::new() };
        row_level_security_mut => RowLevelSecurity(Vec<RawRowLevelSecurityDefV9>) = Vec::new();
        views_mut => Views(Vec<RawViewDefV10>) = Vec::new();
        view_primary_keys_mut => ViewPrimaryKeys(Vec<RawViewPrimaryKeyDefV10>) = Vec::new();
        environment_mut => Environment(Vec<RawEnvironmentDeclarationV10>) = Vec::new();
        http_handlers_mut => HttpHandlers(Vec<RawHttpHandlerDefV10>) = Vec::new();
        http_routes_mut => HttpRoutes(Vec<RawHttpRouteDefV10>) = Vec::new();
    }

    /// Adds HTTP handler `name` (its id is its position in the section).
    pub fn add_http_handler(&mut self, name: &str) {
        self.http_handlers_mut().push(RawHttpHandlerDefV10 {
            source_name: name.to_owned(),
        });
    }

    /// Adds a route binding `method` requests for `path` to handler `handler`.
    pub fn add_http_route(&mut self, handler: &str, method: MethodOrAny, path: String) {
        self.http_routes_mut().push(RawHttpRouteDefV10 {
            handler_function: handler.to_owned(),
            method,
            path,
        });
    }

    /// Sets the module's case conversion policy, replacing an earlier one; the section goes
    /// where it is set (first, as settings describe before everything else).
    pub fn set_case_conversion_policy(&mut self, policy: CaseConversionPolicy) {
        self.sections
            .retain(|s| !matches!(s, RawModuleDefV10Section::CaseConversionPolicy(_)));
        self.sections.push(RawModuleDefV10Section::CaseConversionPolicy(policy));
    }

    /// Adds a client-callable reducer, or a private lifecycle reducer when `lifecycle` is set.
    pub fn add_reducer(&mut self, name: &str, params: ProductType, lifecycle: Option<Lifecycle>, invoke: ReducerFn) {
        let visibility = match lifecycle {
            Some(lifecycle_spec) => {
                self.lifecycle_mut().push(RawLifeCycleReducerDefV10 {
                    lifecycle_spec,
                    function_name: name.to_owned(),
                });
                FunctionVisibility::Private
            }
            None => FunctionVisibility::ClientCallable,
        };
        self.reducers_mut().push(RawReducerDefV10 {
            source_name: name.to_owned(),
            params,
            visibility,
            ok_return_type: AlgebraicType::unit(),
            err_return_type: AlgebraicType::String,
        });
        self.reducers.push(invoke);
    }

    /// Adds a client-callable procedure returning `return_type`.
    pub fn add_procedure(&mut self, name: &str, params: ProductType, return_type: AlgebraicType, invoke: ProcedureFn) {
        self.procedures_mut().push(RawProcedureDefV10 {
            source_name: name.to_owned(),
            params,
            return_type,
            visibility: FunctionVisibility::ClientCallable,
        });
        self.procedures.push(invoke);
    }

    /// Adds a public view taking context `C`; its `index` is its position among the views
    /// of its kind.
    pub fn add_view<C: ViewContextArg>(
        &mut self,
        name: &str,
        params: ProductType,
        return_type: AlgebraicType,
        invoke: ViewFn<C>,
    ) {
        let index = C::push_dispatch(&mut self.views, invoke);
        self.views_mut().push(RawViewDefV10 {
            source_name: name.to_owned(),
            index,
            is_public: true,
            is_anonymous: C::ANONYMOUS,
            params,
            return_type,
        });
    }

    /// Declares `column` the primary key of the rows of view `view`.
    pub fn add_view_primary_key(&mut self, view: &str, column: &str) {
        self.view_primary_keys_mut().push(RawViewPrimaryKeyDefV10 {
            view_source_name: view.to_owned(),
            columns: vec![column.to_owned()],
        });
    }

    /// Appends the module's environment declarations, creating the section even when
    /// there are none.
    pub fn add_environment(&mut self, declarations: Vec<RawEnvironmentDeclarationV10>) {
        self.environment_mut().extend(declarations);
    }

    /// Appends `entries` to the `ExplicitNames` section, creating it even when empty.
    pub fn add_explicit_names(&mut self, entries: impl IntoIterator<Item = ExplicitNameEntry>) {
        self.explicit_names_mut().entries.extend(entries);
    }

    /// Adds the table `T`: its row type, schedule, table entry and explicit names.
    pub fn add_table<T: Table>(&mut self) {
        let row_ref = match T::Row::make_type(self) {
            AlgebraicType::Ref(r) => r,
            other => panic!(
                "the row type of table `{}` must be a named type, but it is {other:?}",
                T::TABLE_NAME
            ),
        };
        if let Some(schedule) = T::SCHEDULE {
            self.schedules_mut().push(RawScheduleDefV10 {
                source_name: None,
                table_name: T::TABLE_NAME.to_owned(),
                schedule_at_col: schedule.scheduled_at_column,
                function_name: schedule.reducer_name.to_owned(),
            });
        }
        let unique = |col: u16| RawConstraintDefV10 {
            source_name: None,
            data: RawConstraintDataV9::Unique(RawUniqueConstraintDataV9 { columns: vec![col] }),
        };
        let index = |desc: &crate::table::IndexDesc| RawIndexDefV10 {
            source_name: Some(desc.source_name.to_owned()),
            accessor_name: Some(desc.accessor_name.to_owned()),
            algorithm: match desc.algo {
                IndexAlgo::BTree(cols) => RawIndexAlgorithm::BTree(RawIndexColumns { columns: cols.to_vec() }),
                IndexAlgo::Hash(cols) => RawIndexAlgorithm::Hash(RawIndexColumns { columns: cols.to_vec() }),
                IndexAlgo::Direct(column) => RawIndexAlgorithm::Direct(RawDirectIndexColumn { column }),
            },
        };
        let sequence = |col: u16| RawSequenceDefV10 {
            source_name: None,
            column: col,
            start: None,
            min_value: None,
            max_value: None,
            increment: 1,
        };
        let table = RawTableDefV10 {
            source_name: T::TABLE_NAME.to_owned(),
            product_type_ref: row_ref,
            primary_key: T::PRIMARY_KEY.into_iter().collect(),
            indexes: T::INDEXES.iter().map(index).collect(),
            constraints: T::UNIQUE_COLUMNS.iter().copied().map(unique).collect(),
            sequences: T::SEQUENCES.iter().copied().map(sequence).collect(),
            table_type: TableType::User,
            table_access: T::TABLE_ACCESS,
            default_values: T::default_values()
                .into_iter()
                .map(|(col_id, value)| RawColumnDefaultValueV10 { col_id, value })
                .collect(),
            is_event: T::IS_EVENT,
        };
        self.tables_mut().push(table);

        let table_name = T::CANONICAL_NAME.map(|canonical| {
            ExplicitNameEntry::Table(NameMapping {
                source_name: T::TABLE_NAME.to_owned(),
                canonical_name: canonical.to_owned(),
            })
        });
        let index_names = T::INDEXES.iter().filter_map(|desc| {
            desc.canonical_name.map(|canonical| {
                ExplicitNameEntry::Index(NameMapping {
                    source_name: desc.source_name.to_owned(),
                    canonical_name: canonical.to_owned(),
                })
            })
        });
        self.add_explicit_names(table_name.into_iter().chain(index_names));
    }

    /// Consumes the builder into the definition and the reducer dispatch table.
    pub fn finish(self) -> (RawModuleDefV10, Vec<ReducerFn>) {
        let (def, dispatch) = self.finish_all();
        (def, dispatch.reducers)
    }

    /// Consumes the builder into the definition and every dispatch table.
    pub fn finish_all(self) -> (RawModuleDefV10, Dispatch) {
        (
            RawModuleDefV10 {
                sections: self.sections,
            },
            Dispatch {
                reducers: self.reducers,
                procedures: self.procedures,
                views: self.views,
            },
        )
    }
}

impl TypespaceBuilder for ModuleBuilder {
    fn add(
        &mut self,
        type_id: TypeId,
        name: Option<&'static str>,
        make_ty: impl FnOnce(&mut Self) -> AlgebraicType,
    ) -> AlgebraicType {
        if let Some(r) = self.type_map.get(&type_id) {
            return AlgebraicType::Ref(*r);
        }
        // Reserve the slot first, so that the type's own ref precedes those of the types it
        // contains, and so that a recursive reference finds it.
        let slot = self.typespace_mut().add(AlgebraicType::unit());
        self.type_map.insert(type_id, slot);
        if let Some(name) = name {
            let source_name = scoped_type_name(name);
            self.types_mut().push(RawTypeDefV10 {
                source_name,
                ty: slot,
                custom_ordering: true,
            });
        }
        let ty = make_ty(self);
        self.typespace_mut().types[slot.0 as usize] = ty;
        AlgebraicType::Ref(slot)
    }
}

/// Splits a `#[sats(name = "A.B.C")]` (or `A::B::C`) name into scope `[A, B]` and name `C`.
pub fn scoped_type_name(name: &str) -> RawScopedTypeNameV10 {
    let mut scope: Vec<String> = name.split("::").flat_map(|s| s.split('.')).map(str::to_owned).collect();
    let source_name = scope.pop().unwrap_or_default();
    RawScopedTypeNameV10 { scope, source_name }
}

/// Runs every registered describer, in registration order.
pub fn build_module() -> (RawModuleDef, Vec<ReducerFn>) {
    let (def, dispatch) = build_module_all();
    (def, dispatch.reducers)
}

/// As [`build_module`], with every dispatch table.
fn build_module_all() -> (RawModuleDef, Dispatch) {
    let describers = lock(&DESCRIBERS).clone();
    let mut builder = ModuleBuilder::default();
    for describe in describers {
        describe(&mut builder);
    }
    let (def, dispatch) = builder.finish_all();
    (RawModuleDef::V10(def), dispatch)
}

/// The source name of a reducer or procedure, for a scheduled table naming it.
#[doc(hidden)]
pub trait FunctionName {
    /// The function's source name.
    const NAME: &'static str;
}

/// The static description of a procedure that `#[procedure]` generates.
#[doc(hidden)]
pub trait ProcedureInfo {
    /// The procedure's source name: its function name.
    const NAME: &'static str;
    /// The explicit canonical name, from `name = ".."`.
    const CANONICAL_NAME: Option<&'static str> = None;
    /// The parameter names after the context.
    const ARG_NAMES: &'static [Option<&'static str>];
    /// The dispatch entry.
    const INVOKE: ProcedureFn;
    /// The argument types, as a tuple.
    type Args: Args;
    /// The return type.
    type Ret: SpacetimeType;
}

/// Registers the procedure `I`: its entry in `Procedures`, its dispatch function and its
/// explicit name.
pub fn register_procedure<I: ProcedureInfo>() {
    register_describer(|module| {
        let params = I::Args::schema(I::ARG_NAMES, module);
        let return_type = I::Ret::make_type(module);
        module.add_procedure(I::NAME, params, return_type, I::INVOKE);
        let name = I::CANONICAL_NAME.map(|canonical| {
            ExplicitNameEntry::Function(NameMapping {
                source_name: I::NAME.to_owned(),
                canonical_name: canonical.to_owned(),
            })
        });
        module.add_explicit_names(name);
    });
}

/// Decodes the arguments of procedure `name`.
///
/// # Panics
/// If they do not decode (the host checks them first, so this is a host bug).
pub fn decode_procedure_args<A: Args>(name: &str, input: &[u8]) -> A {
    A::decode_args(input).unwrap_or_else(|e| panic!("invalid arguments for procedure `{name}`: {e}"))
}

/// Checks that a procedure's first parameter is `&mut ProcedureContext`.
#[diagnostic::on_unimplemented(
    message = "the first argument of a procedure must be `&mut ProcedureContext`",
    label = "first argument must be `&mut ProcedureContext`"
)]
pub trait ProcedureContextArg {}
impl ProcedureContextArg for &mut ProcedureContext {}

/// Asserts at compile time that `T` is `&mut ProcedureContext`.
pub const fn assert_procedure_context_arg<T: ProcedureContextArg>() {}

/// What a procedure may return: any [`SpacetimeType`].
#[diagnostic::on_unimplemented(
    message = "the procedure return type `{Self}` does not implement `SpacetimeType`",
    note = "derive `SpacetimeType` for it, or return a built-in type"
)]
pub trait IntoProcedureResult: SpacetimeType + Encode {}
impl<T: SpacetimeType + Encode> IntoProcedureResult for T {}

/// Asserts at compile time that `T` can be a procedure's return type.
pub const fn assert_procedure_return<T: IntoProcedureResult>() {}

/// The static description of a reducer that `#[reducer]` generates.
#[doc(hidden)]
pub trait FnInfo {
    /// The reducer's source name: its function name.
    const NAME: &'static str;
    /// The explicit canonical name, from `name = ".."`.
    const CANONICAL_NAME: Option<&'static str> = None;
    /// The lifecycle event it handles, if any.
    const LIFECYCLE: Option<Lifecycle> = None;
    /// The parameter names after the context (`None` for a pattern that is not a name).
    const ARG_NAMES: &'static [Option<&'static str>];
    /// The dispatch entry.
    const INVOKE: ReducerFn;
    /// The argument types, as a tuple.
    type Args: Args;
}

/// Registers the reducer `I`: its entry in `Reducers` (and `LifeCycleReducers`), its
/// dispatch function and its explicit name.
pub fn register_reducer<I: FnInfo>() {
    register_describer(describe_reducer::<I>);
}

/// Adds the reducer `I` to `module`; what the registered describer of `I` does.
pub fn describe_reducer<I: FnInfo>(module: &mut ModuleBuilder) {
    let params = I::Args::schema(I::ARG_NAMES, module);
    module.add_reducer(I::NAME, params, I::LIFECYCLE, I::INVOKE);
    let name = I::CANONICAL_NAME.map(|canonical| {
        ExplicitNameEntry::Function(NameMapping {
            source_name: I::NAME.to_owned(),
            canonical_name: canonical.to_owned(),
        })
    });
    module.add_explicit_names(name);
}

static CASE_CONVERSION_POLICY: Mutex<Option<CaseConversionPolicy>> = Mutex::new(None);

/// Registers the module's `#[settings] const CASE_CONVERSION_POLICY`.
pub fn register_case_conversion_policy(policy: CaseConversionPolicy) {
    *lock(&CASE_CONVERSION_POLICY) = Some(policy);
    register_describer(|module| {
        if let Some(policy) = lock(&CASE_CONVERSION_POLICY).clone() {
            module.set_case_conversion_policy(policy);
        }
    });
}

static ROW_LEVEL_SECURITY: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// Registers the SQL of a `#[client_visibility_filter]`. The first registration adds the
/// describer that writes every filter, in registration order, into the
/// `RowLevelSecurity` section.
pub fn register_row_level_security(sql: &'static str) {
    let mut rules = lock(&ROW_LEVEL_SECURITY);
    if rules.is_empty() {
        register_describer(|module| {
            let rules = lock(&ROW_LEVEL_SECURITY).clone();
            module.row_level_security_mut().extend(
                rules
                    .into_iter()
                    .map(|sql| RawRowLevelSecurityDefV9 { sql: sql.to_owned() }),
            );
        });
    }
    rules.push(sql);
}

/// Registers the table `T`.
pub fn register_table<T: Table>() {
    register_describer(ModuleBuilder::add_table::<T>);
}

/// The argument list of a reducer: a tuple of `SpacetimeType`s decoded from the BSATN
/// product of the arguments.
#[diagnostic::on_unimplemented(
    message = "the reducer arguments `{Self}` are not all `SpacetimeType`s",
    note = "every argument after the context must derive or implement `SpacetimeType`"
)]
pub trait Args: Sized {
    /// Decodes the arguments, which must fill `input` exactly.
    ///
    /// # Errors
    /// Returns a [`DecodeError`] if the bytes are not the BSATN of the arguments.
    fn decode_args(input: &[u8]) -> Result<Self, DecodeError>;
    /// The params product, named by `names` (positionally).
    fn schema<S: TypespaceBuilder>(names: &[Option<&'static str>], ts: &mut S) -> ProductType;
}

macro_rules! args_tuple {
    ($($t:ident),*) => {
        impl<$($t: SpacetimeType + Decode),*> Args for ($($t,)*) {
            #[allow(non_snake_case, unused_mut)]
            fn decode_args(mut input: &[u8]) -> Result<Self, DecodeError> {
                $(let $t = $t::decode(&mut input)?;)*
                if !input.is_empty() {
                    return Err(DecodeError::TrailingBytes(input.len()));
                }
                Ok(($($t,)*))
            }
            #[allow(unused_variables, unused_mut)]
            fn schema<TsB: TypespaceBuilder>(names: &[Option<&'static str>], ts: &mut TsB) -> ProductType {
                let mut names = names.iter().copied();
                ProductType::new(vec![$(ProductTypeElement {
                    name: names.next().flatten().map(Into::into),
                    algebraic_type: <$t as SpacetimeType>::make_type(ts),
                }),*])
            }
        }
    };
}

// Every arity from 0 to 32 arguments, as SpacetimeDB allows.
macro_rules! args_tuples {
    () => {
        args_tuple!();
    };
    ($first:ident $(, $rest:ident)*) => {
        args_tuple!($first $(, $rest)*);
        args_tuples!($($rest),*);
    };
}

args_tuples!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X, Y, Z, AA, AB, AC, AD, AE, AF);

/// Decodes the arguments of reducer `name`, naming it in the error.
///
/// # Errors
/// A message saying which reducer's arguments failed to decode and why.
pub fn decode_args<A: Args>(name: &str, input: &[u8]) -> Result<A, Box<str>> {
    A::decode_args(input).map_err(|e| format!("invalid arguments for reducer `{name}`: {e}").into())
}

/// What a reducer may return: `()` or `Result<(), E: Display>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid reducer return type",
    note = "reducers return `()` or `Result<(), E>` where `E: Display`"
)]
pub trait IntoReducerResult {
    /// The result with the error rendered as text.
    fn into_result(self) -> ReducerResult;
}

impl IntoReducerResult for () {
    fn into_result(self) -> ReducerResult {
        Ok(())
    }
}

impl<E: fmt::Display> IntoReducerResult for Result<(), E> {
    fn into_result(self) -> ReducerResult {
        self.map_err(|e| e.to_string().into())
    }
}

/// Checks that a reducer's first parameter is `&ReducerContext`.
#[diagnostic::on_unimplemented(
    message = "the first argument of a reducer must be `&ReducerContext`",
    label = "first argument must be `&ReducerContext`"
)]
pub trait ReducerContextArg {}
impl ReducerContextArg for &ReducerContext {}

/// Asserts at compile time that `T` is `&ReducerContext`.
pub const fn assert_reducer_context_arg<T: ReducerContextArg>() {}

/// Checks that a reducer argument is a `SpacetimeType`.
#[diagnostic::on_unimplemented(
    message = "the reducer argument `{Self}` does not implement `SpacetimeType`",
    note = "if you own the type, add `#[derive(SpacetimeType)]` to its definition"
)]
pub trait ReducerArg {}
impl<T: SpacetimeType> ReducerArg for T {}

/// Asserts at compile time that `T` can be a reducer argument.
pub const fn assert_reducer_arg<T: ReducerArg>() {}

/// Checks that a table column type is a `SpacetimeType`.
#[diagnostic::on_unimplemented(
    message = "the column type `{Self}` does not implement `SpacetimeType`",
    note = "if you own the type, add `#[derive(SpacetimeType)]` to its definition"
)]
pub trait TableColumn {}
impl<T: SpacetimeType> TableColumn for T {}

/// Asserts at compile time that `T` can be a column type.
pub const fn assert_table_column<T: TableColumn>() {}

/// Asserts at compile time that `T` can be returned by a reducer.
pub const fn assert_reducer_return<T: IntoReducerResult>() {}

/// Checks that a scheduled reducer takes exactly the scheduled table's row.
#[diagnostic::on_unimplemented(
    message = "the scheduled reducer must take `{Row}` as its only argument after the context",
    note = "e.g. `fn my_reducer(ctx: &ReducerContext, arg: {Row})`"
)]
pub trait ScheduledReducerArgs<Row> {}
impl<Row> ScheduledReducerArgs<Row> for (Row,) {}

/// The kind of function a scheduled table calls: a reducer.
pub struct ScheduledReducer;
/// The kind of function a scheduled table calls: a procedure.
pub struct ScheduledProcedure;

/// A reducer or procedure a scheduled table of `Row` may call; `Kind` tells them apart so
/// the two impls do not overlap.
#[diagnostic::on_unimplemented(
    message = "the scheduled function must be a reducer or procedure taking `{Row}` as its only argument after the context",
    label = "this must take exactly one `{Row}`",
    note = "e.g. `fn my_reducer(ctx: &ReducerContext, arg: {Row})` or `fn my_procedure(ctx: &mut ProcedureContext, arg: {Row})`"
)]
pub trait ScheduledFunction<Row, Kind> {}
impl<Row, I: FnInfo> ScheduledFunction<Row, ScheduledReducer> for I where I::Args: ScheduledReducerArgs<Row> {}
impl<Row, I: ProcedureInfo> ScheduledFunction<Row, ScheduledProcedure> for I where I::Args: ScheduledReducerArgs<Row> {}

/// Type-checks the reducer or procedure of a scheduled table at compile time.
pub const fn scheduled_typecheck<Row, I: ScheduledFunction<Row, Kind>, Kind>() {}

/// Checks that the primary key of a scheduled table is a `u64`.
#[diagnostic::on_unimplemented(
    message = "a scheduled table's primary key must be a `u64`",
    label = "should be `u64`, not `{Self}`"
)]
pub trait ScheduledTablePrimaryKey {}
impl ScheduledTablePrimaryKey for u64 {}

/// Asserts at compile time that `T` is a valid scheduled-table primary key.
pub const fn assert_scheduled_table_primary_key<T: ScheduledTablePrimaryKey>() {}

/// A column type a direct index can key on: a small unsigned integer or a plain enum
/// (`#[derive(SpacetimeType)]` implements it for those).
#[diagnostic::on_unimplemented(
    message = "a direct index needs a `u8`, `u16`, `u32`, `u64` or plain enum column, not `{Self}`",
    label = "should be `u8`, `u16`, `u32`, `u64` or a plain `enum`",
    note = "use a `btree` index for other column types"
)]
pub trait DirectIndexKey {}
impl DirectIndexKey for u8 {}
impl DirectIndexKey for u16 {}
impl DirectIndexKey for u32 {}
impl DirectIndexKey for u64 {}

/// Asserts at compile time that `T` can key a direct index.
pub const fn assert_direct_index_key<T: DirectIndexKey>() {}

/// Checks that a schedule column is a `ScheduleAt`.
#[diagnostic::on_unimplemented(
    message = "the schedule column must be a `ScheduleAt`",
    label = "should be `ScheduleAt`, not `{Self}`"
)]
pub trait ScheduleAtColumn {}
impl ScheduleAtColumn for spacetime_sats::ScheduleAt {}

/// Asserts at compile time that `T` can hold a schedule.
pub const fn assert_schedule_at_column<T: ScheduleAtColumn>() {}

fn identity_from_limbs(limbs: [u64; 4]) -> Identity {
    let mut bytes = [0u8; 32];
    for (chunk, limb) in bytes.chunks_exact_mut(8).zip(limbs) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    Identity::from_byte_array(bytes)
}

fn connection_id_from_limbs(limbs: [u64; 2]) -> Option<ConnectionId> {
    let mut bytes = [0u8; 16];
    for (chunk, limb) in bytes.chunks_exact_mut(8).zip(limbs) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    ConnectionId::from_le_byte_array(bytes).none_if_zero()
}

fn read_args(args: sys::raw::BytesSource) -> Vec<u8> {
    let mut buf = Vec::new();
    if args != sys::raw::BytesSource::INVALID {
        sys::read_bytes_source(args, &mut buf)
            .unwrap_or_else(|e| panic!("reading the arguments from the host failed: {e}"));
    }
    buf
}

/// Describes the module into `sink` and prepares the reducer dispatch table.
#[unsafe(no_mangle)]
pub extern "C" fn __describe_module__(sink: sys::raw::BytesSink) {
    let (def, dispatch) = build_module_all();
    *lock(&REDUCERS) = dispatch.reducers;
    *lock(&PROCEDURES) = dispatch.procedures;
    view::install(dispatch.views);
    let bytes = spacetime_sats::bsatn::to_vec(&def);
    sys::write_bytes_sink(sink, &bytes).unwrap_or_else(|e| panic!("writing the module definition failed: {e}"));
}

/// Runs reducer `id` (its position in the `Reducers` section) for `sender` at `timestamp`.
/// Returns 0 on success, or 1 with the error message written to `error`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn __call_reducer__(
    id: usize,
    sender_0: u64,
    sender_1: u64,
    sender_2: u64,
    sender_3: u64,
    conn_id_0: u64,
    conn_id_1: u64,
    timestamp: u64,
    args: sys::raw::BytesSource,
    error: sys::raw::BytesSink,
) -> i16 {
    let sender = identity_from_limbs([sender_0, sender_1, sender_2, sender_3]);
    let connection_id = connection_id_from_limbs([conn_id_0, conn_id_1]);
    let timestamp = Timestamp::from_micros_since_unix_epoch(timestamp as i64);
    let ctx = ReducerContext::new(sender, connection_id, timestamp);
    let reducer = {
        let reducers = lock(&REDUCERS);
        match reducers.get(id) {
            Some(f) => *f,
            None => panic!(
                "no reducer with id {id}: the module defines {} (was __describe_module__ called?)",
                reducers.len()
            ),
        }
    };
    let args = read_args(args);
    match reducer(&ctx, &args) {
        Ok(()) => 0,
        Err(message) => {
            sys::write_bytes_sink(error, message.as_bytes())
                .unwrap_or_else(|e| panic!("writing the reducer's error message failed: {e}"));
            sys::Errno::HOST_CALL_FAILURE.code() as i16
        }
    }
}

/// Runs procedure `id` (its position in the `Procedures` section) for `sender` at
/// `timestamp` and writes the BSATN of its value to `result_sink`. Returns 0; a failure
/// traps.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn __call_procedure__(
    id: usize,
    sender_0: u64,
    sender_1: u64,
    sender_2: u64,
    sender_3: u64,
    conn_id_0: u64,
    conn_id_1: u64,
    timestamp: u64,
    args: sys::raw::BytesSource,
    result_sink: sys::raw::BytesSink,
) -> i16 {
    let sender = identity_from_limbs([sender_0, sender_1, sender_2, sender_3]);
    let connection_id = connection_id_from_limbs([conn_id_0, conn_id_1]);
    let timestamp = Timestamp::from_micros_since_unix_epoch(timestamp as i64);
    let mut ctx = ProcedureContext::new(sender, connection_id, timestamp);
    let procedure = {
        let procedures = lock(&PROCEDURES);
        match procedures.get(id) {
            Some(f) => *f,
            None => panic!(
                "no procedure with id {id}: the module defines {} (was __describe_module__ called?)",
                procedures.len()
            ),
        }
    };
    let args = read_args(args);
    let value = procedure(&mut ctx, &args);
    sys::write_bytes_sink(result_sink, &value)
        .unwrap_or_else(|e| panic!("writing the procedure's return value failed: {e}"));
    0
}
