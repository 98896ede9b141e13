//! The view structs the Rust templates render: every name cased, every type spelled.

use super::names::{module, pascal, rust_type, snake, type_name};
use super::HEADER;
use crate::model::{Module, ReducerModel, TableModel, TypeKind, TypeModel};
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
        Self {
            header: HEADER,
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
    /// The accessor method on the table handle.
    pub method: String,
    /// The handle type.
    pub handle: String,
    /// The wire column name (for docs) and the index name in the cache.
    pub column: String,
    pub field: String,
    pub ty: String,
}

#[derive(Template)]
#[template(path = "rust/table.rs.jinja", escape = "none")]
pub(super) struct TableFile {
    pub header: &'static str,
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
    pub uniques: Vec<Unique>,
    pub has_constraints: bool,
}

impl TableFile {
    pub fn new(m: &Module, table: &TableModel) -> Self {
        let stem = pascal(&table.accessor_name);
        let row = format!("super::{}", type_name(m.row_type(table)));
        let uniques: Vec<Unique> = table
            .unique_columns
            .iter()
            .map(|&i| {
                let c = &table.columns[i];
                Unique {
                    method: snake(&c.accessor_name),
                    handle: format!("{stem}{}Unique", pascal(&c.accessor_name)),
                    column: c.field_name.clone(),
                    field: snake(&c.field_name),
                    ty: rust_type(m, &c.ty, "super::"),
                }
            })
            .collect();
        let primary_key = table
            .primary_key
            .filter(|_| !table.is_event)
            .map(|i| snake(&table.columns[i].field_name));
        Self {
            header: HEADER,
            module: module(&table.accessor_name, "table"),
            wire_name: table.wire_name.clone(),
            method: snake(&table.accessor_name),
            row,
            handle: format!("{stem}TableHandle"),
            access_trait: format!("{stem}TableAccess"),
            insert_id: format!("{stem}InsertCallbackId"),
            delete_id: format!("{stem}DeleteCallbackId"),
            update_id: format!("{stem}UpdateCallbackId"),
            is_event: table.is_event,
            has_constraints: primary_key.is_some() || !uniques.is_empty(),
            primary_key,
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
    pub variant: String,
    pub params: Vec<Field>,
    /// Clippy warns on more than seven arguments; a reducer's arity is the module's choice.
    pub many_params: bool,
}

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
        Self {
            header: HEADER,
            module: module(&reducer.accessor_name, "reducer"),
            wire_name: reducer.wire_name.clone(),
            method: snake(&reducer.accessor_name),
            trait_name: format!("{}Reducer", pascal(&reducer.accessor_name)),
            variant: pascal(&reducer.accessor_name),
            many_params: params.len() + 1 > 7,
            params,
        }
    }
}

/// A `pub use` line of `mod.rs`.
pub(super) struct Export {
    pub module: String,
    pub names: String,
}

/// A variant of the `Reducer` enum.
pub(super) struct ReducerVariant {
    pub name: String,
    pub wire_name: String,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "rust/mod.rs.jinja", escape = "none")]
pub(super) struct ModFile {
    pub header: &'static str,
    pub modules: Vec<String>,
    pub exports: Vec<Export>,
    pub reducers: Vec<ReducerVariant>,
    /// The modules of the tables, for `register_tables`.
    pub table_modules: Vec<String>,
    pub table_names: Vec<String>,
}

impl ModFile {
    pub fn new(m: &Module) -> Self {
        let mut exports = Vec::new();
        for table in &m.tables {
            let view = TableFile::new(m, table);
            exports.push(Export {
                names: view.exports().join(", "),
                module: view.module,
            });
        }
        for ty in &m.types {
            let view = TypeFile::new(m, ty);
            exports.push(Export {
                names: view.name,
                module: view.module,
            });
        }
        for reducer in &m.reducers {
            let view = ReducerFile::new(m, reducer);
            exports.push(Export {
                names: view.trait_name,
                module: view.module,
            });
        }
        exports.sort_by(|a, b| a.module.cmp(&b.module));
        for e in &mut exports {
            if e.names.contains(',') {
                e.names = format!("{{{}}}", e.names);
            }
        }
        let reducers = m
            .reducers
            .iter()
            .map(|r| ReducerVariant {
                name: pascal(&r.accessor_name),
                wire_name: r.wire_name.clone(),
                fields: r
                    .params
                    .iter()
                    .map(|(n, t)| Field {
                        name: snake(n),
                        ty: rust_type(m, t, ""),
                    })
                    .collect(),
            })
            .collect();
        Self {
            header: HEADER,
            modules: exports.iter().map(|e| e.module.clone()).collect(),
            exports,
            reducers,
            table_modules: m.tables.iter().map(|t| module(&t.accessor_name, "table")).collect(),
            table_names: m.tables.iter().map(|t| t.wire_name.clone()).collect(),
        }
    }
}
