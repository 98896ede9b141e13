//! The view structs the Python templates render: every name cased, every type spelled,
//! every import decided.

use super::names::{module, named_in, pascal, py_codec, py_type, snake, type_module, type_name};
use super::{GENERATED_TYPE_NAMES, HEADER};
use crate::model::{Module, ProcedureModel, ReducerModel, TableModel, TypeKind, TypeModel, TypeUse, ViewModel};
use askama::Template;

/// A dataclass field or a parameter: its name, annotation and codec.
pub(super) struct Field {
    pub name: String,
    pub ty: String,
    pub codec: String,
}

impl Field {
    fn new(m: &Module, name: &str, ty: &TypeUse, local: Option<usize>) -> Self {
        Self {
            name: snake(name),
            ty: py_type(m, ty),
            codec: py_codec(m, ty, local),
        }
    }
}

/// A variant of a sum type: its class (or enum member) and payload.
pub(super) struct Variant {
    pub source_name: String,
    pub class: String,
    pub member: String,
    pub tag: usize,
    pub payload: Option<Field>,
}

/// Another generated type a file refers to: imported by name for annotations (under
/// `TYPE_CHECKING`) and as a module for its codec.
pub(super) struct Import {
    pub module: String,
    pub name: String,
}

fn imports(m: &Module, types: &[usize], local: Option<usize>) -> Vec<Import> {
    let mut imports: Vec<Import> = types
        .iter()
        .filter(|&&i| Some(i) != local)
        .map(|&i| Import {
            module: type_module(&m.types[i]),
            name: type_name(&m.types[i]),
        })
        .collect();
    imports.sort_by(|a, b| a.module.cmp(&b.module));
    imports
}

#[derive(Template)]
#[template(path = "python/type.py.jinja", escape = "none")]
pub(super) struct TypeFile {
    pub header: &'static str,
    pub module: String,
    pub name: String,
    pub source_name: String,
    pub kind: &'static str,
    pub fields: Vec<Field>,
    pub variants: Vec<Variant>,
    pub imports: Vec<Import>,
}

impl TypeFile {
    pub fn new(m: &Module, index: usize) -> Self {
        let ty: &TypeModel = &m.types[index];
        let name = type_name(ty);
        let mut used = Vec::new();
        let (kind, fields, variants) = match &ty.kind {
            TypeKind::Product(fields) => {
                fields.iter().for_each(|(_, t)| named_in(t, &mut used));
                let fields = fields.iter().map(|(n, t)| Field::new(m, n, t, Some(index))).collect();
                ("struct", fields, Vec::new())
            }
            TypeKind::Sum(variants) => {
                let simple = variants.iter().all(|(_, t)| t.is_none());
                let variants: Vec<Variant> = variants
                    .iter()
                    .enumerate()
                    .map(|(tag, (n, t))| {
                        if let Some(t) = t {
                            named_in(t, &mut used);
                        }
                        Variant {
                            source_name: n.clone(),
                            class: format!("{name}{}", pascal(n)),
                            member: pascal(n),
                            tag,
                            payload: t.as_ref().map(|t| Field::new(m, "value", t, Some(index))),
                        }
                    })
                    .collect();
                (if simple { "enum" } else { "sum" }, Vec::new(), variants)
            }
        };
        let source_name = ty.source_name();
        Self {
            header: HEADER,
            module: type_module(ty),
            imports: imports(m, &used, Some(index)),
            name,
            source_name,
            kind,
            fields,
            variants,
        }
    }
}

/// A unique column of a table: a property with `find`.
pub(super) struct Unique {
    pub property: String,
    pub column: String,
    pub field: String,
    pub ty: String,
    pub codec: String,
}

/// Methods of the SDK's table handles, which a unique column's property must not shadow.
const HANDLE_METHODS: &[&str] = &[
    "count",
    "iter",
    "table_name",
    "on_insert",
    "remove_on_insert",
    "on_delete",
    "remove_on_delete",
    "on_update",
    "remove_on_update",
];

#[derive(Template)]
#[template(path = "python/table.py.jinja", escape = "none")]
pub(super) struct TableFile {
    pub header: &'static str,
    /// `table`, or `view` for a view's handle (in docs).
    pub kind: &'static str,
    pub module: String,
    pub wire_name: String,
    pub attribute: String,
    pub row: String,
    pub row_module: String,
    pub handle: String,
    pub base: &'static str,
    pub primary_key: Option<Unique>,
    pub uniques: Vec<Unique>,
    pub is_event: bool,
    pub imports: Vec<Import>,
}

impl TableFile {
    /// The handle of a view: a table's (client tables are read-only anyway), with `find`
    /// by its primary key and `on_update` when it has one.
    pub fn for_view(m: &Module, view: &ViewModel) -> Self {
        Self {
            kind: "view",
            ..Self::new(m, &view.as_table())
        }
    }

    pub fn new(m: &Module, table: &TableModel) -> Self {
        let unique = |i: usize| {
            let c = &table.columns[i];
            let mut property = snake(&c.accessor_name);
            if HANDLE_METHODS.contains(&property.as_str()) {
                property.push('_');
            }
            Unique {
                property,
                column: c.field_name.clone(),
                field: snake(&c.field_name),
                ty: py_type(m, &c.ty),
                codec: py_codec(m, &c.ty, None),
            }
        };
        let primary_key = table.primary_key.filter(|_| !table.is_event).map(unique);
        let base = match (table.is_event, primary_key.is_some()) {
            (true, _) => "EventTableHandle",
            (false, true) => "TableWithPrimaryKeyHandle",
            (false, false) => "TableHandle",
        };
        let row_type = m.row_type(table);
        // The unique columns' types appear in the properties' annotations.
        let mut used = Vec::new();
        for &i in &table.unique_columns {
            named_in(&table.columns[i].ty, &mut used);
        }
        Self {
            header: HEADER,
            kind: "table",
            module: module(&table.accessor_name, "table"),
            wire_name: table.wire_name.clone(),
            attribute: snake(&table.accessor_name),
            row: type_name(row_type),
            row_module: type_module(row_type),
            handle: format!("{}TableHandle", pascal(&table.accessor_name)),
            base,
            primary_key,
            uniques: if table.is_event {
                Vec::new()
            } else {
                table.unique_columns.iter().map(|&i| unique(i)).collect()
            },
            is_event: table.is_event,
            imports: imports(m, &used, Some(table.row_type)),
        }
    }
}

#[derive(Template)]
#[template(path = "python/reducer.py.jinja", escape = "none")]
pub(super) struct ReducerFile {
    pub header: &'static str,
    pub module: String,
    pub wire_name: String,
    pub method: String,
    pub mixin: String,
    pub args: String,
    pub params: Vec<Field>,
    pub imports: Vec<Import>,
}

impl ReducerFile {
    pub fn new(m: &Module, reducer: &ReducerModel) -> Self {
        let mut used = Vec::new();
        reducer.params.iter().for_each(|(_, t)| named_in(t, &mut used));
        let stem = pascal(&reducer.accessor_name);
        Self {
            header: HEADER,
            module: module(&reducer.accessor_name, "reducer"),
            wire_name: reducer.wire_name.clone(),
            method: snake(&reducer.accessor_name),
            mixin: format!("{stem}Reducer"),
            args: format!("{stem}Args"),
            params: reducer.params.iter().map(|(n, t)| Field::new(m, n, t, None)).collect(),
            imports: imports(m, &used, None),
        }
    }
}

#[derive(Template)]
#[template(path = "python/procedure.py.jinja", escape = "none")]
pub(super) struct ProcedureFile {
    pub header: &'static str,
    pub module: String,
    pub wire_name: String,
    pub method: String,
    pub mixin: String,
    pub args: String,
    pub params: Vec<Field>,
    /// The return value's annotation and codec.
    pub ret: Field,
    pub imports: Vec<Import>,
}

impl ProcedureFile {
    pub fn new(m: &Module, procedure: &ProcedureModel) -> Self {
        let mut used = Vec::new();
        procedure.params.iter().for_each(|(_, t)| named_in(t, &mut used));
        named_in(&procedure.return_type, &mut used);
        let stem = pascal(&procedure.accessor_name);
        Self {
            header: HEADER,
            module: module(&procedure.accessor_name, "procedure"),
            wire_name: procedure.wire_name.clone(),
            method: snake(&procedure.accessor_name),
            mixin: format!("{stem}Procedure"),
            args: format!("{stem}ProcedureArgs"),
            params: procedure
                .params
                .iter()
                .map(|(n, t)| Field::new(m, n, t, None))
                .collect(),
            ret: Field::new(m, "return", &procedure.return_type, None),
            imports: imports(m, &used, None),
        }
    }
}

/// A table as `__init__.py` wires it up.
pub(super) struct TableEntry {
    /// `table` or `view`.
    pub kind: &'static str,
    pub module: String,
    pub handle: String,
    pub attribute: String,
    pub wire_name: String,
}

/// A `from .x import a, b` line.
pub(super) struct Export {
    pub module: String,
    pub names: Vec<String>,
}

#[derive(Template)]
#[template(path = "python/init.py.jinja", escape = "none")]
pub(super) struct InitFile {
    pub header: &'static str,
    pub exports: Vec<Export>,
    pub tables: Vec<TableEntry>,
    pub mixins: Vec<String>,
    pub procedure_mixins: Vec<String>,
    pub reducer_args: Vec<String>,
    pub all: Vec<String>,
}

impl InitFile {
    pub fn new(m: &Module) -> Self {
        let mut exports = Vec::new();
        let mut tables = Vec::new();
        let handles = m
            .tables
            .iter()
            .map(|t| TableFile::new(m, t))
            .chain(m.views.iter().map(|v| TableFile::for_view(m, v)));
        for view in handles {
            exports.push(Export {
                module: view.module.clone(),
                names: vec![view.handle.clone()],
            });
            tables.push(TableEntry {
                kind: view.kind,
                module: view.module,
                handle: view.handle,
                attribute: view.attribute,
                wire_name: view.wire_name,
            });
        }
        for (i, _) in m.types.iter().enumerate() {
            let view = TypeFile::new(m, i);
            let mut names = vec![view.name.clone()];
            if view.kind == "sum" {
                names.extend(view.variants.iter().map(|v| v.class.clone()));
            }
            exports.push(Export {
                module: view.module,
                names,
            });
        }
        let mut mixins = Vec::new();
        let mut reducer_args = Vec::new();
        for reducer in &m.reducers {
            let view = ReducerFile::new(m, reducer);
            exports.push(Export {
                module: view.module,
                names: vec![view.args.clone(), view.mixin.clone()],
            });
            mixins.push(view.mixin);
            reducer_args.push(view.args);
        }
        let mut procedure_mixins = Vec::new();
        for procedure in &m.procedures {
            let view = ProcedureFile::new(m, procedure);
            exports.push(Export {
                module: view.module,
                names: vec![view.args.clone(), view.mixin.clone()],
            });
            procedure_mixins.push(view.mixin);
        }
        exports.sort_by(|a, b| a.module.cmp(&b.module));
        let mut all: Vec<String> = exports.iter().flat_map(|e| e.names.iter().cloned()).collect();
        all.extend(GENERATED_TYPE_NAMES.iter().map(|n| n.to_string()));
        all.sort();
        Self {
            header: HEADER,
            exports,
            tables,
            mixins,
            procedure_mixins,
            reducer_args,
            all,
        }
    }
}
