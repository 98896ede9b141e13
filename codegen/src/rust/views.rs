//! The view structs the Rust templates render: every name cased, every type spelled.

use super::layout::{self, STRUCT_LIT_WIDTH, STRUCT_VARIANT_WIDTH};
use super::names::{module, pascal, rust_type, snake, type_name};
use super::HEADER;
use crate::model::{Module, ProcedureModel, ReducerModel, TableModel, TypeKind, TypeModel, ViewModel};
use askama::Template;

/// A struct field or function parameter.
pub(super) struct Field {
    pub name: String,
    pub ty: String,
}

/// An enum variant.
pub(super) struct Variant {
    pub name: String,
    pub payload: Option<String>,
    pub tag: usize,
    /// The decoder's match pattern: the tag, or `_` for the last variant.
    pub pattern: String,
}

#[derive(Template)]
#[template(path = "rust/type.rs.jinja", escape = "none")]
pub(super) struct TypeFile {
    pub header: &'static str,
    pub module: String,
    pub name: String,
    pub source_name: String,
    pub derives: &'static str,
    pub is_struct: bool,
    pub fields: Vec<Field>,
    pub variants: Vec<Variant>,
    /// The statement that reads a sum type's tag, laid out.
    pub decode_tag: String,
}

impl TypeFile {
    pub fn new(m: &Module, ty: &TypeModel) -> Self {
        let name = type_name(ty);
        let (is_struct, fields, variants) = match &ty.kind {
            TypeKind::Product(fields) => {
                let fields = fields
                    .iter()
                    .map(|(n, t)| Field {
                        name: snake(n),
                        ty: rust_type(m, t, "super::"),
                    })
                    .collect();
                (true, fields, Vec::new())
            }
            TypeKind::Sum(variants) => {
                let last = variants.len().saturating_sub(1);
                let variants = variants
                    .iter()
                    .enumerate()
                    .map(|(tag, (n, t))| Variant {
                        name: pascal(n),
                        payload: t.as_ref().map(|t| rust_type(m, t, "super::")),
                        tag,
                        pattern: if tag == last { "_".into() } else { tag.to_string() },
                    })
                    .collect();
                (false, Vec::new(), variants)
            }
        };
        let simple_enum = !is_struct && variants.iter().all(|v: &Variant| v.payload.is_none());
        let derives = match (simple_enum, ty.contains_float) {
            (true, _) => "Clone, Copy, PartialEq, Eq, Hash, Debug",
            (false, false) => "Clone, PartialEq, Eq, Hash, Debug",
            (false, true) => "Clone, PartialEq, Debug",
        };
        let source_name = ty.source_name();
        let decode_tag = layout::call(
            2,
            "let tag = __sdk::bsatn::decode_tag",
            &["input".into(), format!("\"{name}\""), variants.len().to_string()],
            "?;",
        );
        Self {
            header: HEADER,
            decode_tag,
            module: module(&name, "type"),
            name,
            source_name,
            derives,
            is_struct,
            fields,
            variants,
        }
    }
}

/// A unique column of a table: `find` by it.
pub(super) struct Unique {
    /// The handle type.
    pub handle: String,
    /// The wire column name (for docs) and the index name in the cache.
    pub column: String,
    /// The signature of the table handle's method that returns this handle, laid out.
    pub accessor: String,
    /// The signature of `find`, laid out.
    pub find: String,
    /// The statement that registers the unique index in the cache, laid out.
    pub register: String,
    /// The handle's `imp` field, laid out.
    pub imp_field: String,
}

#[derive(Template)]
#[template(path = "rust/table.rs.jinja", escape = "none")]
pub(super) struct TableFile {
    pub header: &'static str,
    /// `table`, or `view` for a view's read-only handle (in docs).
    pub kind: &'static str,
    pub module: String,
    pub wire_name: String,
    pub method: String,
    pub row: String,
    pub handle: String,
    pub access_trait: String,
    pub insert_id: String,
    pub delete_id: String,
    pub update_id: String,
    pub is_event: bool,
    pub primary_key: Option<String>,
    /// The signatures of `ctx.db.<table>()`, declared and defined, laid out.
    pub access_decl: String,
    pub access_def: String,
    /// The statement that registers the table in the cache, laid out.
    pub register: String,
    /// The statement that sets the primary key in the cache, laid out.
    pub register_primary_key: Option<String>,
    pub uniques: Vec<Unique>,
}

impl TableFile {
    /// The handle of a view: a table's, read-only (as every client table is) and without
    /// indexes besides its primary key.
    pub fn for_view(m: &Module, view: &ViewModel) -> Self {
        Self {
            kind: "view",
            ..Self::new(m, &view.as_table())
        }
    }

    pub fn new(m: &Module, table: &TableModel) -> Self {
        let stem = pascal(&table.accessor_name);
        let row = format!("super::{}", type_name(m.row_type(table)));
        let uniques: Vec<Unique> = table
            .unique_columns
            .iter()
            .map(|&i| {
                let c = &table.columns[i];
                let field = snake(&c.field_name);
                let ty = rust_type(m, &c.ty, "super::");
                let method = snake(&c.accessor_name);
                let handle = format!("{stem}{}Unique", pascal(&c.accessor_name));
                Unique {
                    accessor: layout::signature(
                        1,
                        &format!("pub fn {method}"),
                        &["&self".into()],
                        &format!(" -> {handle}<'ctx>"),
                        " {",
                    ),
                    handle,
                    column: c.field_name.clone(),
                    find: layout::signature(
                        1,
                        "pub fn find",
                        &["&self".into(), format!("col_val: &{ty}")],
                        &format!(" -> Option<{row}>"),
                        " {",
                    ),
                    imp_field: layout::generic_field(
                        1,
                        "imp",
                        "__sdk::UniqueConstraintHandle",
                        &["super::RemoteModule".into(), row.clone(), ty],
                    ),
                    register: layout::call_with_closure(
                        1,
                        "table.add_unique_index",
                        &[format!("\"{}\"", c.field_name)],
                        &format!("row: &{row}"),
                        &format!("&row.{field}"),
                    ),
                }
            })
            .collect();
        let primary_key = table
            .primary_key
            .filter(|_| !table.is_event)
            .map(|i| snake(&table.columns[i].field_name));
        let register_primary_key = primary_key.as_ref().map(|pk| {
            layout::call_with_closure(
                1,
                "table.set_primary_key",
                &[],
                &format!("row: &{row}"),
                &format!("&row.{pk}"),
            )
        });
        let wire = format!("\"{}\"", table.wire_name);
        let register = match (table.is_event, primary_key.is_some() || !uniques.is_empty()) {
            (true, _) => layout::call(1, &format!("cache.register_event_table::<{row}>"), &[wire], ";"),
            (false, true) => layout::let_method_call(1, "table", "cache", &format!(".register_table::<{row}>"), &wire),
            (false, false) => layout::call(1, &format!("cache.register_table::<{row}>"), &[wire], ";"),
        };
        let method = snake(&table.accessor_name);
        let handle = format!("{stem}TableHandle");
        let access = |end| {
            layout::signature(
                1,
                &format!("fn {method}"),
                &["&self".into()],
                &format!(" -> {handle}<'_>"),
                end,
            )
        };
        Self {
            access_decl: access(";"),
            access_def: access(" {"),
            register,
            header: HEADER,
            kind: "table",
            module: module(&table.accessor_name, "table"),
            wire_name: table.wire_name.clone(),
            method,
            row,
            handle,
            access_trait: format!("{stem}TableAccess"),
            insert_id: format!("{stem}InsertCallbackId"),
            delete_id: format!("{stem}DeleteCallbackId"),
            update_id: format!("{stem}UpdateCallbackId"),
            is_event: table.is_event,
            primary_key,
            register_primary_key,
            uniques,
        }
    }

    /// The names `mod.rs` re-exports.
    fn exports(&self) -> Vec<String> {
        let mut names = vec![self.access_trait.clone(), self.handle.clone(), self.insert_id.clone()];
        if !self.is_event {
            names.push(self.delete_id.clone());
        }
        if self.primary_key.is_some() {
            names.push(self.update_id.clone());
        }
        names.extend(self.uniques.iter().map(|u| u.handle.clone()));
        names
    }
}

#[derive(Template)]
#[template(path = "rust/reducer.rs.jinja", escape = "none")]
pub(super) struct ReducerFile {
    pub header: &'static str,
    pub module: String,
    pub wire_name: String,
    pub method: String,
    pub trait_name: String,
    /// Clippy warns on more than seven arguments; a reducer's arity is the module's choice.
    pub many_params: bool,
    /// The signatures of the call method and of its `_then` form, laid out, each as a
    /// declaration (`;`) and as a definition (` {`).
    pub call_decl: String,
    pub call_def: String,
    pub then_decl: String,
    pub then_def: String,
    /// The statement that builds the `Reducer` value from the parameters, laid out.
    pub build: String,
}

/// The type of the callback of a reducer's `_then` method.
const THEN_CALLBACK: &str =
    "callback: impl FnOnce(&ReducerEventContext, Result<Result<(), String>, __sdk::InternalError>) + Send + 'static";

impl ReducerFile {
    pub fn new(m: &Module, reducer: &ReducerModel) -> Self {
        let params: Vec<Field> = reducer
            .params
            .iter()
            .map(|(n, t)| Field {
                name: snake(n),
                ty: rust_type(m, t, "super::"),
            })
            .collect();
        let method = snake(&reducer.accessor_name);
        let variant = pascal(&reducer.accessor_name);
        let mut call_params = vec!["&self".to_owned()];
        call_params.extend(params.iter().map(|p| format!("{}: {}", p.name, p.ty)));
        let mut then_params = call_params.clone();
        then_params.push(THEN_CALLBACK.into());
        let ret = " -> __sdk::Result<()>";
        let call = |end| layout::signature(1, &format!("fn {method}"), &call_params, ret, end);
        let then = |end| layout::signature(1, &format!("fn {method}_then"), &then_params, ret, end);
        let names: Vec<String> = params.iter().map(|p| p.name.clone()).collect();
        Self {
            header: HEADER,
            module: module(&reducer.accessor_name, "reducer"),
            wire_name: reducer.wire_name.clone(),
            trait_name: format!("{variant}Reducer"),
            many_params: params.len() + 1 > 7,
            call_decl: call(";"),
            call_def: call(" {"),
            then_decl: then(";"),
            then_def: then(" {"),
            build: layout::braced(
                2,
                &format!("let reducer = super::Reducer::{variant}"),
                &names,
                ";",
                STRUCT_LIT_WIDTH,
            ),
            method,
        }
    }
}

#[derive(Template)]
#[template(path = "rust/procedure.rs.jinja", escape = "none")]
pub(super) struct ProcedureFile {
    pub header: &'static str,
    pub module: String,
    pub wire_name: String,
    pub method: String,
    pub trait_name: String,
    pub ret: String,
    /// Clippy warns on more than seven arguments; a procedure's arity is the module's choice.
    pub many_params: bool,
    /// The signatures of the call method and of its `_then` form, laid out, each as a
    /// declaration (`;`) and as a definition (` {`).
    pub call_decl: String,
    pub call_def: String,
    pub then_decl: String,
    pub then_def: String,
    /// The statements that encode the parameters into `args`, laid out.
    pub encode: String,
    /// The SDK calls that send it, for the future and for the callback form, laid out.
    /// They name the method by its path, so no method chain's width decides the layout.
    pub call: String,
    pub call_then: String,
}

impl ProcedureFile {
    pub fn new(m: &Module, procedure: &ProcedureModel) -> Self {
        let params: Vec<Field> = procedure
            .params
            .iter()
            .map(|(n, t)| Field {
                name: snake(n),
                ty: rust_type(m, t, "super::"),
            })
            .collect();
        let method = snake(&procedure.accessor_name);
        let ret = rust_type(m, &procedure.return_type, "super::");
        let mut call_params = vec!["&self".to_owned()];
        call_params.extend(params.iter().map(|p| format!("{}: {}", p.name, p.ty)));
        let mut then_params = call_params.clone();
        then_params.push(format!(
            "callback: impl FnOnce(&ProcedureEventContext, __sdk::Result<{ret}>) + Send + 'static"
        ));
        let call_ret = format!(" -> __sdk::ProcedureCall<{ret}>");
        let call = |end| layout::signature(1, &format!("fn {method}"), &call_params, &call_ret, end);
        let then = |end| {
            layout::signature(
                1,
                &format!("fn {method}_then"),
                &then_params,
                " -> __sdk::Result<()>",
                end,
            )
        };
        let wire = format!("\"{}\"", procedure.wire_name);
        Self {
            header: HEADER,
            module: module(&procedure.accessor_name, "procedure"),
            wire_name: procedure.wire_name.clone(),
            trait_name: format!("{}Procedure", pascal(&procedure.accessor_name)),
            ret,
            many_params: params.len() + 1 > 7,
            call_decl: call(";"),
            call_def: call(" {"),
            then_decl: then(";"),
            then_def: then(" {"),
            encode: encode_args(&params),
            call: layout::call(
                2,
                "__sdk::DbContextImpl::call_procedure",
                &["&self.imp".into(), wire.clone(), "args".into()],
                "",
            ),
            call_then: layout::call(
                2,
                "__sdk::DbContextImpl::call_procedure_then",
                &["&self.imp".into(), wire, "args".into(), "callback".into()],
                "",
            ),
            method,
        }
    }
}

/// The statements of a procedure call that encode its parameters, in order, into `args`.
fn encode_args(params: &[Field]) -> String {
    if params.is_empty() {
        return "        let args = Vec::new();".into();
    }
    let mut out = String::from("        let mut args = Vec::new();");
    for p in params {
        out.push_str(&format!(
            "\n        __sdk::bsatn::Encode::encode(&{}, &mut args);",
            p.name
        ));
    }
    out
}

/// A variant of the `Reducer` enum.
pub(super) struct ReducerVariant {
    pub name: String,
    pub wire_name: String,
    /// The variant's arm in `reducer_name`, laid out.
    pub name_arm: String,
    /// The variant's declaration, laid out.
    pub declaration: String,
    /// The `args_bsatn` match pattern binding its fields, laid out; `None` without fields.
    pub pattern: Option<String>,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "rust/mod.rs.jinja", escape = "none")]
pub(super) struct ModFile {
    pub header: &'static str,
    pub modules: Vec<String>,
    /// The `pub use` statements, laid out.
    pub exports: Vec<String>,
    pub reducers: Vec<ReducerVariant>,
    /// The modules of the tables and views, for `register_tables`.
    pub table_modules: Vec<String>,
    /// Whether the module has procedures a client may call.
    pub has_procedures: bool,
    /// The `ALL_TABLE_NAMES` constant, laid out.
    pub table_names: String,
}

impl ModFile {
    pub fn new(m: &Module) -> Self {
        // (module, names it re-exports), one per generated file but this one.
        let mut exports: Vec<(String, Vec<String>)> = Vec::new();
        let tables: Vec<TableFile> = m
            .tables
            .iter()
            .map(|t| TableFile::new(m, t))
            .chain(m.views.iter().map(|v| TableFile::for_view(m, v)))
            .collect();
        for view in &tables {
            exports.push((view.module.clone(), view.exports()));
        }
        for procedure in &m.procedures {
            let view = ProcedureFile::new(m, procedure);
            exports.push((view.module, vec![view.trait_name]));
        }
        for ty in &m.types {
            let view = TypeFile::new(m, ty);
            exports.push((view.module, vec![view.name]));
        }
        for reducer in &m.reducers {
            let view = ReducerFile::new(m, reducer);
            exports.push((view.module, vec![view.trait_name]));
        }
        exports.sort_by(|a, b| a.0.cmp(&b.0));
        let reducers = m
            .reducers
            .iter()
            .map(|r| {
                let name = pascal(&r.accessor_name);
                let fields: Vec<Field> = r
                    .params
                    .iter()
                    .map(|(n, t)| Field {
                        name: snake(n),
                        ty: rust_type(m, t, ""),
                    })
                    .collect();
                let declarations: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.name, f.ty)).collect();
                let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
                let wildcard = if names.is_empty() { "" } else { " { .. }" };
                ReducerVariant {
                    name_arm: layout::match_arm(3, &format!("Self::{name}{wildcard}"), &format!("\"{}\"", r.wire_name)),
                    declaration: layout::braced(1, &name, &declarations, ",", STRUCT_VARIANT_WIDTH),
                    pattern: (!names.is_empty())
                        .then(|| layout::braced(3, &format!("Self::{name}"), &names, " => {", STRUCT_LIT_WIDTH)),
                    name,
                    wire_name: r.wire_name.clone(),
                    fields,
                }
            })
            .collect();
        let table_names: Vec<String> = tables.iter().map(|t| format!("\"{}\"", t.wire_name)).collect();
        Self {
            header: HEADER,
            modules: exports.iter().map(|(module, _)| module.clone()).collect(),
            exports: exports
                .iter()
                .map(|(module, names)| layout::pub_use(module, names))
                .collect(),
            reducers,
            table_modules: tables.iter().map(|t| t.module.clone()).collect(),
            has_procedures: !m.procedures.is_empty(),
            table_names: layout::array_statement(1, "const ALL_TABLE_NAMES: &'static [&'static str] =", &table_names),
        }
    }
}
