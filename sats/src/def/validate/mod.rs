//! Validation: `RawModuleDef` (V10 or V9) → [`ModuleDef`], collecting every problem.
//!
//! Both raw layouts are first flattened into one [`Input`] (V9 keeps its schedules inside
//! tables and its lifecycles inside reducers; V10 has sections), then one validator checks
//! it, so the rules exist once. The rules and generated names follow SpacetimeDB 2.x:
//! - identifiers are NFC, start with XID_Start or `_`, continue with XID_Continue;
//! - names are unique within three namespaces (global, types, functions);
//! - user tables must not start with `st_`;
//! - unique constraints need an index over exactly their columns, a primary key needs a
//!   unique constraint, sequences need integer columns and `min <= start <= max`;
//! - a schedule needs a `ScheduleAt` column and a `u64` primary key, and its reducer must
//!   take exactly the row;
//! - lifecycle reducers must exist, each kind at most once;
//! - table columns and reducer parameters must be client-usable, and named types without
//!   `custom_ordering` must be sorted by name;
//! - under the SnakeCase policy (V10's default) table, reducer and column names are
//!   snake_cased, type names PascalCased and sum variants camelCased, unless `ExplicitNames`
//!   overrides a table, function or index name. V9 keeps every name as written.
//!
//! Procedures are validated as reducers are (names in the function namespace, client-usable
//! parameters and return type) and may be the function of a schedule (taking exactly the
//! row, as a scheduled reducer does; it becomes private). Views are checked in
//! `view.rs`. Submodules and outbox tables are recognised and rejected by name: this
//! server does not run them.

mod environment;
mod error;
mod http;
mod names;
mod table;
mod types;
mod view;

#[cfg(test)]
mod tests;

pub use environment::{env_key_problem, MAX_ENV_KEY_BYTES};
pub use error::{Namespace, ValidationError, ValidationErrors};
pub use http::{route_path_problem, ROUTE_PATH_CHARS};
pub use names::{check_identifier, describe_type};

use super::model::{ModuleDef, ProcedureDef, ReducerDef, ScheduleDef, TableDef, TypeDef};
use super::raw::{
    CaseConversionPolicy, ExplicitNames, FunctionVisibility, Lifecycle, RawEnvironmentDeclarationV10,
    RawHttpHandlerDefV10, RawHttpRouteDefV10, RawIndexAlgorithm, RawModuleDef, RawModuleDefV10, RawProcedureDefV10,
    RawSequenceDefV10, RawViewDefV10, RawViewPrimaryKeyDefV10, TableAccess, TableType, V8_UNSUPPORTED,
};
use super::raw_v9::{RawColumnDefaultValueV9, RawMiscModuleExportV9, RawModuleDefV9};
use crate::{AlgebraicType, AlgebraicTypeRef, ColId, ProductType, Typespace};
use names::{convert, Namer};
use std::collections::HashSet;

/// Which raw layout the input came from; a few rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V9,
    V10,
}

/// An index as both layouts give it.
struct IndexIn {
    source_name: Option<String>,
    accessor_name: Option<String>,
    algorithm: RawIndexAlgorithm,
}

/// A table as both layouts give it.
struct TableIn {
    source_name: String,
    product_type_ref: AlgebraicTypeRef,
    primary_key: Vec<u16>,
    indexes: Vec<IndexIn>,
    /// Constraint name (V9 only; V10 names are always generated) and columns.
    constraints: Vec<(Option<String>, Vec<u16>)>,
    sequences: Vec<RawSequenceDefV10>,
    table_type: TableType,
    table_access: TableAccess,
    is_event: bool,
    default_values: Vec<(u16, Vec<u8>)>,
}

/// A schedule as both layouts give it.
struct ScheduleIn {
    table_name: String,
    name: Option<String>,
    at_col: u16,
    function: String,
}

/// A reducer as both layouts give it.
struct ReducerIn {
    source_name: String,
    params: ProductType,
    visibility: FunctionVisibility,
    returns: Option<(AlgebraicType, AlgebraicType)>,
    lifecycle: Option<Lifecycle>,
}

/// A named type as both layouts give it.
struct TypeIn {
    scope: Vec<String>,
    name: String,
    ty: AlgebraicTypeRef,
    custom_ordering: bool,
}

/// Either raw layout, flattened.
struct Input {
    version: Version,
    typespace: Typespace,
    types: Vec<TypeIn>,
    tables: Vec<TableIn>,
    reducers: Vec<ReducerIn>,
    procedures: Vec<RawProcedureDefV10>,
    views: Vec<RawViewDefV10>,
    view_primary_keys: Vec<RawViewPrimaryKeyDefV10>,
    environment: Vec<RawEnvironmentDeclarationV10>,
    http_handlers: Vec<RawHttpHandlerDefV10>,
    http_routes: Vec<RawHttpRouteDefV10>,
    schedules: Vec<ScheduleIn>,
    lifecycles: Vec<(Lifecycle, String)>,
    row_level_security: Vec<String>,
    policy: CaseConversionPolicy,
    explicit_names: Option<ExplicitNames>,
    v9_defaults: Vec<RawColumnDefaultValueV9>,
    unsupported: Vec<ValidationError>,
}

fn unsupported(what: &'static str, names: impl IntoIterator<Item = String>) -> Vec<ValidationError> {
    names
        .into_iter()
        .map(|name| ValidationError::Unsupported { what, name })
        .collect()
}

impl From<RawModuleDefV10> for Input {
    fn from(def: RawModuleDefV10) -> Self {
        fn list<T: Clone>(section: Option<&Vec<T>>) -> Vec<T> {
            section.cloned().unwrap_or_default()
        }
        let mut unsupported_items = Vec::new();
        unsupported_items.extend(unsupported(
            "submodule",
            list(def.submodules()).into_iter().map(|s| s.namespace),
        ));
        unsupported_items.extend(unsupported(
            "outbox table",
            list(def.outboxes()).into_iter().map(|o| o.table_name),
        ));
        let tables = list(def.tables())
            .into_iter()
            .map(|t| TableIn {
                source_name: t.source_name,
                product_type_ref: t.product_type_ref,
                primary_key: t.primary_key,
                indexes: t
                    .indexes
                    .into_iter()
                    .map(|i| IndexIn {
                        source_name: i.source_name,
                        accessor_name: i.accessor_name,
                        algorithm: i.algorithm,
                    })
                    .collect(),
                constraints: t
                    .constraints
                    .into_iter()
                    .map(|c| {
                        let super::raw::RawConstraintDataV9::Unique(u) = c.data;
                        (None, u.columns)
                    })
                    .collect(),
                sequences: t.sequences,
                table_type: t.table_type,
                table_access: t.table_access,
                is_event: t.is_event,
                default_values: t.default_values.into_iter().map(|d| (d.col_id, d.value)).collect(),
            })
            .collect();
        Input {
            version: Version::V10,
            typespace: def.typespace().cloned().unwrap_or_default(),
            types: list(def.types())
                .into_iter()
                .map(|t| TypeIn {
                    scope: t.source_name.scope,
                    name: t.source_name.source_name,
                    ty: t.ty,
                    custom_ordering: t.custom_ordering,
                })
                .collect(),
            tables,
            reducers: list(def.reducers())
                .into_iter()
                .map(|r| ReducerIn {
                    source_name: r.source_name,
                    params: r.params,
                    visibility: r.visibility,
                    returns: Some((r.ok_return_type, r.err_return_type)),
                    lifecycle: None,
                })
                .collect(),
            procedures: list(def.procedures()),
            views: list(def.views()),
            view_primary_keys: list(def.view_primary_keys()),
            environment: list(def.environment()),
            http_handlers: list(def.http_handlers()),
            http_routes: list(def.http_routes()),
            schedules: list(def.schedules())
                .into_iter()
                .map(|s| ScheduleIn {
                    table_name: s.table_name,
                    name: None,
                    at_col: s.schedule_at_col,
                    function: s.function_name,
                })
                .collect(),
            lifecycles: list(def.lifecycle_reducers())
                .into_iter()
                .map(|l| (l.lifecycle_spec, l.function_name))
                .collect(),
            row_level_security: list(def.row_level_security()).into_iter().map(|r| r.sql).collect(),
            policy: def.case_conversion_policy(),
            explicit_names: def.explicit_names().cloned(),
            v9_defaults: Vec::new(),
            unsupported: unsupported_items,
        }
    }
}

impl From<RawModuleDefV9> for Input {
    fn from(def: RawModuleDefV9) -> Self {
        let mut schedules = Vec::new();
        let mut v9_defaults = Vec::new();
        let mut unsupported_items = Vec::new();
        let mut procedures = Vec::new();
        for export in def.misc_exports {
            match export {
                RawMiscModuleExportV9::ColumnDefaultValue(d) => v9_defaults.push(d),
                RawMiscModuleExportV9::Procedure(p) => procedures.push(RawProcedureDefV10 {
                    source_name: p.name,
                    params: p.params,
                    return_type: p.return_type,
                    visibility: FunctionVisibility::ClientCallable,
                }),
                RawMiscModuleExportV9::View(v) => unsupported_items.extend(unsupported("view", [v.name])),
            }
        }
        let tables = def
            .tables
            .into_iter()
            .map(|t| {
                if let Some(s) = t.schedule {
                    schedules.push(ScheduleIn {
                        table_name: t.name.clone(),
                        name: s.name,
                        at_col: s.scheduled_at_column,
                        function: s.reducer_name,
                    });
                }
                TableIn {
                    source_name: t.name,
                    product_type_ref: t.product_type_ref,
                    primary_key: t.primary_key,
                    indexes: t
                        .indexes
                        .into_iter()
                        .map(|i| IndexIn {
                            source_name: i.name,
                            accessor_name: i.accessor_name,
                            algorithm: i.algorithm,
                        })
                        .collect(),
                    constraints: t
                        .constraints
                        .into_iter()
                        .map(|c| {
                            let super::raw::RawConstraintDataV9::Unique(u) = c.data;
                            (c.name, u.columns)
                        })
                        .collect(),
                    sequences: t
                        .sequences
                        .into_iter()
                        .map(|s| RawSequenceDefV10 {
                            source_name: s.name,
                            column: s.column,
                            start: s.start,
                            min_value: s.min_value,
                            max_value: s.max_value,
                            increment: s.increment,
                        })
                        .collect(),
                    table_type: t.table_type,
                    table_access: t.table_access,
                    is_event: false,
                    default_values: Vec::new(),
                }
            })
            .collect();
        Input {
            version: Version::V9,
            typespace: def.typespace,
            types: def
                .types
                .into_iter()
                .map(|t| TypeIn {
                    scope: t.name.scope,
                    name: t.name.name,
                    ty: t.ty,
                    custom_ordering: t.custom_ordering,
                })
                .collect(),
            tables,
            reducers: def
                .reducers
                .into_iter()
                .map(|r| ReducerIn {
                    source_name: r.name,
                    params: r.params,
                    visibility: FunctionVisibility::ClientCallable,
                    returns: None,
                    lifecycle: r.lifecycle,
                })
                .collect(),
            procedures,
            views: Vec::new(),
            view_primary_keys: Vec::new(),
            environment: Vec::new(),
            http_handlers: Vec::new(),
            http_routes: Vec::new(),
            schedules,
            lifecycles: Vec::new(),
            row_level_security: def.row_level_security.into_iter().map(|r| r.sql).collect(),
            policy: CaseConversionPolicy::None,
            explicit_names: None,
            v9_defaults,
            unsupported: unsupported_items,
        }
    }
}

/// The validator's state: the (converted) typespace, the namer and the errors so far.
struct Validator<'a> {
    version: Version,
    ts: &'a Typespace,
    /// The typespace as the module wrote it, for accessor (source) names of columns.
    source_ts: &'a Typespace,
    namer: Namer,
    global: HashSet<String>,
    errors: Vec<ValidationError>,
}

impl Validator<'_> {
    /// Records `err`.
    fn err(&mut self, err: ValidationError) {
        self.errors.push(err);
    }

    /// Checks `name` as an identifier, recording the error; returns whether it passed.
    fn ident(&mut self, what: impl FnOnce() -> String, name: &str) -> bool {
        match check_identifier(&what(), name) {
            Ok(()) => true,
            Err(e) => {
                self.err(e);
                false
            }
        }
    }

    /// Adds `name` to the global namespace, recording a duplicate.
    fn add_global(&mut self, name: &str) {
        if !self.global.insert(name.to_owned()) {
            self.err(ValidationError::DuplicateName {
                namespace: Namespace::Global,
                name: name.to_owned(),
            });
        }
    }

    /// Records every type reference, in the typespace or in a function's signature, that
    /// names no typespace entry: the model promises its readers (datastore, SQL, codegen)
    /// that every reference resolves, and checks of single items do not visit them all.
    fn check_refs(&mut self, ts: &Typespace, reducers: &[ReducerIn], procedures: &[RawProcedureDefV10]) {
        let mut uses: Vec<(String, &AlgebraicType)> = (ts.types.iter().enumerate())
            .map(|(i, ty)| (format!("typespace entry &{i}"), ty))
            .collect();
        for r in reducers {
            let location = format!("reducer `{}`", r.source_name);
            uses.extend(r.params.elements.iter().map(|e| (location.clone(), &e.algebraic_type)));
        }
        for p in procedures {
            let location = format!("procedure `{}`", p.source_name);
            uses.extend(p.params.elements.iter().map(|e| (location.clone(), &e.algebraic_type)));
            uses.push((location, &p.return_type));
        }
        for (location, ty) in uses {
            for type_ref in types::dangling_refs(ty, ts) {
                self.err(ValidationError::DanglingTypeRef {
                    location: location.clone(),
                    type_ref,
                    len: ts.types.len(),
                });
            }
        }
    }

    /// Validates a named type. Row types of tables skip the member check: their columns
    /// are checked one by one with better locations.
    fn validate_type(
        &mut self,
        t: TypeIn,
        seen: &mut HashSet<(Vec<String>, String)>,
        row_types: &HashSet<AlgebraicTypeRef>,
    ) -> Option<TypeDef> {
        let display = t.scope.iter().chain([&t.name]).cloned().collect::<Vec<_>>().join("::");
        match self.ts.get(t.ty) {
            None => self.err(ValidationError::InvalidTypeRef {
                type_name: display.clone(),
                type_ref: t.ty.0,
            }),
            Some(ty) => {
                if !t.custom_ordering && !types::has_default_ordering(ty) {
                    self.err(ValidationError::IncorrectOrdering {
                        type_name: display.clone(),
                    });
                }
                let members = if row_types.contains(&t.ty) {
                    Vec::new()
                } else {
                    types::unusable_members(ty)
                };
                for (member, member_ty) in members {
                    self.errors.push(ValidationError::NotClientUsable {
                        location: format!("`{member}` of type `{display}`"),
                        ty: describe_type(member_ty),
                    });
                }
            }
        }
        let casing = self.namer.type_casing();
        let name = convert(&t.name, casing);
        let scope: Vec<String> = t.scope.iter().map(|s| convert(s, casing)).collect();
        let mut ok = self.ident(|| "type name".to_owned(), &name);
        for s in &scope {
            ok &= self.ident(|| format!("scope of type `{display}`"), s);
        }
        if !seen.insert((scope.clone(), name.clone())) {
            let full = scope.iter().chain([&name]).cloned().collect::<Vec<_>>().join("::");
            self.err(ValidationError::DuplicateName {
                namespace: Namespace::Type,
                name: full,
            });
        }
        ok.then_some(TypeDef {
            scope,
            name,
            ty: t.ty,
            custom_ordering: t.custom_ordering,
        })
    }

    fn validate_reducer(&mut self, r: ReducerIn) -> ReducerDef {
        let name = self.namer.function(&r.source_name);
        if self.ident(|| "reducer".to_owned(), &r.source_name) && name != r.source_name {
            self.ident(|| format!("canonical name of reducer `{}`", r.source_name), &name);
        }
        self.check_params("reducer", &r.source_name, &r.params);
        if let Some((ok, err)) = &r.returns {
            if !ok.is_unit() || *err != AlgebraicType::String {
                self.err(ValidationError::InvalidReducerReturnType {
                    reducer: r.source_name.clone(),
                    ok: describe_type(ok),
                    err: describe_type(err),
                });
            }
        }
        let visibility = if r.lifecycle.is_some() {
            FunctionVisibility::Private
        } else {
            r.visibility
        };
        ReducerDef {
            name,
            source_name: r.source_name,
            params: r.params,
            visibility,
            lifecycle: r.lifecycle,
        }
    }

    /// Checks that every parameter of function `name` is named and client-usable.
    fn check_params(&mut self, kind: &'static str, name: &str, params: &ProductType) {
        for (position, param) in params.elements.iter().enumerate() {
            let Some(param_name) = param.name() else {
                self.err(ValidationError::UnnamedParam {
                    kind,
                    reducer: name.to_owned(),
                    position,
                });
                continue;
            };
            let canonical = convert(param_name, self.namer.field_casing());
            self.ident(|| format!("parameter of {kind} `{name}`"), &canonical);
            if !types::is_client_usable(&param.algebraic_type) {
                self.err(ValidationError::NotClientUsable {
                    location: format!("parameter `{param_name}` of {kind} `{name}`"),
                    ty: describe_type(&param.algebraic_type),
                });
            }
        }
    }

    fn validate_procedure(&mut self, p: RawProcedureDefV10) -> ProcedureDef {
        let name = self.namer.function(&p.source_name);
        if self.ident(|| "procedure".to_owned(), &p.source_name) && name != p.source_name {
            self.ident(|| format!("canonical name of procedure `{}`", p.source_name), &name);
        }
        self.check_params("procedure", &p.source_name, &p.params);
        if !types::is_client_usable(&p.return_type) {
            self.err(ValidationError::InvalidProcedureReturnType {
                procedure: p.source_name.clone(),
                ty: describe_type(&p.return_type),
            });
        }
        ProcedureDef {
            name,
            source_name: p.source_name,
            params: p.params,
            return_type: p.return_type,
            visibility: p.visibility,
        }
    }

    /// Attaches the schedule to its table and marks its reducer private.
    fn validate_schedule(
        &mut self,
        s: ScheduleIn,
        tables: &mut [TableDef],
        reducers: &mut [ReducerDef],
        procedures: &mut [ProcedureDef],
    ) {
        let canonical = self.namer.table(&s.table_name);
        let Some(table) = tables
            .iter_mut()
            .find(|t| t.name == canonical || t.accessor_name == s.table_name)
        else {
            self.err(ValidationError::ScheduleTableNotFound { table: s.table_name });
            return;
        };
        let name = match (self.version, s.name) {
            (Version::V9, Some(name)) => name,
            _ => names::schedule_name(&table.name),
        };
        self.add_global(&name);
        let at_ok = table
            .row_type
            .elements
            .get(usize::from(s.at_col))
            .is_some_and(|e| matches!(&e.algebraic_type, AlgebraicType::Sum(sum) if sum.is_schedule_at()));
        let id_column = table.primary_key.filter(|pk| {
            table
                .row_type
                .elements
                .get(pk.idx())
                .is_some_and(|e| e.algebraic_type == AlgebraicType::U64)
        });
        let mut problems = Vec::new();
        if !at_ok {
            problems.push(format!("column {} is not a `ScheduleAt`", s.at_col));
        }
        if id_column.is_none() {
            problems.push("its primary key is missing or not a `u64`".to_owned());
        }
        if !problems.is_empty() {
            self.err(ValidationError::ScheduleColumns {
                table: table.name.clone(),
                problem: problems.join(" and "),
            });
        }
        let function_name = self.namer.function(&s.function);
        match reducers.iter_mut().find(|r| r.name == function_name) {
            None if procedures.iter().any(|p| p.name == function_name) => {
                let row = AlgebraicType::Ref(table.product_type_ref);
                if let Some(procedure) = procedures.iter_mut().find(|p| p.name == function_name) {
                    if !matches!(&*procedure.params.elements, [only] if only.algebraic_type == row) {
                        let actual = procedure
                            .params
                            .elements
                            .iter()
                            .map(|e| describe_type(&e.algebraic_type));
                        self.err(ValidationError::ScheduledFunctionParams {
                            table: table.name.clone(),
                            function: procedure.name.clone(),
                            actual: actual.collect::<Vec<_>>().join(", "),
                        });
                    }
                    procedure.visibility = FunctionVisibility::Private;
                }
            }
            None => self.err(ValidationError::ScheduledFunctionNotFound {
                table: table.name.clone(),
                function: s.function,
            }),
            Some(reducer) => {
                let row = AlgebraicType::Ref(table.product_type_ref);
                if !matches!(&*reducer.params.elements, [only] if only.algebraic_type == row) {
                    let actual = reducer
                        .params
                        .elements
                        .iter()
                        .map(|e| describe_type(&e.algebraic_type))
                        .collect::<Vec<_>>();
                    self.err(ValidationError::ScheduledFunctionParams {
                        table: table.name.clone(),
                        function: reducer.name.clone(),
                        actual: actual.join(", "),
                    });
                }
                reducer.visibility = FunctionVisibility::Private;
            }
        }
        if table.schedule.is_some() {
            self.err(ValidationError::DuplicateSchedule {
                table: table.name.clone(),
            });
            return;
        }
        if let (true, Some(id_column)) = (at_ok, id_column) {
            table.schedule = Some(ScheduleDef {
                name,
                function_name,
                at_column: ColId(s.at_col),
                id_column,
            });
        }
    }

    fn attach_lifecycles(&mut self, lifecycles: Vec<(Lifecycle, String)>, reducers: &mut [ReducerDef]) {
        for (lifecycle, function) in lifecycles {
            let canonical = self.namer.function(&function);
            match reducers.iter_mut().find(|r| r.name == canonical) {
                None => self.err(ValidationError::LifecycleWithoutReducer { lifecycle, function }),
                Some(reducer) if reducer.lifecycle.is_some() => {
                    self.err(ValidationError::DuplicateLifecycle { lifecycle })
                }
                Some(reducer) => {
                    reducer.lifecycle = Some(lifecycle);
                    reducer.visibility = FunctionVisibility::Private;
                }
            }
        }
        for kind in [Lifecycle::Init, Lifecycle::OnConnect, Lifecycle::OnDisconnect] {
            if reducers.iter().filter(|r| r.lifecycle.as_ref() == Some(&kind)).count() > 1 {
                self.err(ValidationError::DuplicateLifecycle { lifecycle: kind });
            }
        }
    }
}

fn validate(input: Input) -> Result<ModuleDef, ValidationErrors> {
    let namer = Namer::new(&input.policy, input.explicit_names.as_ref());
    let mut typespace = input.typespace.clone();
    if input.version == Version::V10 {
        types::convert_typespace(&mut typespace, namer.field_casing(), namer.variant_casing());
    }
    let mut v = Validator {
        version: input.version,
        ts: &typespace,
        source_ts: &input.typespace,
        namer,
        global: HashSet::new(),
        errors: input.unsupported,
    };

    v.check_refs(&input.typespace, &input.reducers, &input.procedures);
    let mut seen_types = HashSet::new();
    let row_types = input.tables.iter().map(|t| t.product_type_ref).collect();
    let type_defs: Vec<TypeDef> = input
        .types
        .into_iter()
        .filter_map(|t| v.validate_type(t, &mut seen_types, &row_types))
        .collect();

    let mut tables: Vec<TableDef> = input.tables.into_iter().filter_map(|t| v.validate_table(t)).collect();

    let mut reducers: Vec<ReducerDef> = input.reducers.into_iter().map(|r| v.validate_reducer(r)).collect();
    let mut procedures: Vec<ProcedureDef> = input.procedures.into_iter().map(|p| v.validate_procedure(p)).collect();
    let environment = v.validate_environment(input.environment);
    let views = v.validate_views(input.views, input.view_primary_keys);
    let http_handlers = v.validate_http_handlers(input.http_handlers);
    let http_routes = v.validate_http_routes(input.http_routes, &http_handlers);
    let mut function_names = HashSet::new();
    for name in reducers
        .iter()
        .map(|r| &r.name)
        .chain(procedures.iter().map(|p| &p.name))
        .chain(views.iter().map(|v| &v.name))
    {
        if !function_names.insert(name.clone()) {
            v.err(ValidationError::DuplicateName {
                namespace: Namespace::Function,
                name: name.clone(),
            });
        }
    }
    v.attach_lifecycles(input.lifecycles, &mut reducers);
    for s in input.schedules {
        v.validate_schedule(s, &mut tables, &mut reducers, &mut procedures);
    }
    for d in input.v9_defaults {
        match tables.iter_mut().find(|t| t.accessor_name == d.table) {
            None => v.err(ValidationError::DefaultTableNotFound { table: d.table }),
            Some(table) => v.attach_default(table, d.col_id, &d.value),
        }
    }

    let Validator { mut errors, .. } = v;
    if !errors.is_empty() {
        let mut seen = HashSet::new();
        errors.retain(|e| seen.insert(e.to_string()));
        return Err(ValidationErrors(errors));
    }
    Ok(ModuleDef {
        typespace,
        types: type_defs,
        tables,
        reducers,
        procedures,
        environment,
        views,
        http_handlers,
        http_routes,
        case_conversion_policy: input.policy,
        row_level_security: input.row_level_security,
    })
}

impl TryFrom<RawModuleDefV10> for ModuleDef {
    type Error = ValidationErrors;

    fn try_from(def: RawModuleDefV10) -> Result<Self, Self::Error> {
        validate(def.into())
    }
}

impl TryFrom<RawModuleDefV9> for ModuleDef {
    type Error = ValidationErrors;

    fn try_from(def: RawModuleDefV9) -> Result<Self, Self::Error> {
        validate(def.into())
    }
}

impl TryFrom<RawModuleDef> for ModuleDef {
    type Error = ValidationErrors;

    fn try_from(def: RawModuleDef) -> Result<Self, Self::Error> {
        match def {
            RawModuleDef::V8BackCompat(_) => Err(ValidationError::V8(V8_UNSUPPORTED).into()),
            RawModuleDef::V9(def) => def.try_into(),
            RawModuleDef::V10(def) => def.try_into(),
        }
    }
}

impl ModuleDef {
    /// Validates a raw module definition of any supported version.
    ///
    /// # Errors
    /// Every problem found, each naming the item and the fix.
    pub fn from_raw(def: RawModuleDef) -> Result<Self, ValidationErrors> {
        def.try_into()
    }
}
