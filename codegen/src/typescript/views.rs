//! The view structs the TypeScript templates render: every name cased, every type spelled,
//! every import decided.

use super::names::{camel, codec, file, named_types, pascal, ts_type, type_name};
use super::HEADER;
use crate::model::{
    IndexKind, Module, ProcedureModel, ReducerModel, TableModel, TypeKind, TypeModel, TypeUse, ViewModel,
};
use askama::Template;

/// A field of an object type, or a parameter.
pub(super) struct Field {
    pub name: String,
    pub ty: String,
    pub codec: String,
}

impl Field {
    fn new(m: &Module, name: &str, ty: &TypeUse) -> Self {
        Self {
            name: camel(name),
            ty: ts_type(m, ty),
            codec: codec(m, ty),
        }
    }
}

/// A variant of a sum type.
pub(super) struct Variant {
    pub name: String,
    pub ty: Option<String>,
    pub codec: Option<String>,
}

/// `import { X } from './x_type.js';`
pub(super) struct Import {
    pub name: String,
    pub file: String,
}

/// The imports of the named types `uses` mentions, except `own`, sorted and unique.
fn imports(m: &Module, uses: &[&TypeUse], own: Option<usize>) -> Vec<Import> {
    let mut named = Vec::new();
    for u in uses {
        named_types(u, &mut named);
    }
    named.sort_unstable();
    named.dedup();
    let mut out: Vec<Import> = named
        .into_iter()
        .filter(|i| Some(*i) != own)
        .map(|i| {
            let name = type_name(&m.types[i]);
            Import {
                file: file(&name, "type"),
                name,
            }
        })
        .collect();
    out.sort_by(|a, b| a.file.cmp(&b.file));
    out
}

#[derive(Template)]
#[template(path = "typescript/type.ts.jinja", escape = "none")]
pub(super) struct TypeFile {
    pub header: &'static str,
    pub file: String,
    pub name: String,
    pub source_name: String,
    pub imports: Vec<Import>,
    pub is_struct: bool,
    pub fields: Vec<Field>,
    pub variants: Vec<Variant>,
}

impl TypeFile {
    pub fn new(m: &Module, index: usize) -> Self {
        let ty: &TypeModel = &m.types[index];
        let name = type_name(ty);
        let (is_struct, fields, variants, uses): (bool, Vec<Field>, Vec<Variant>, Vec<&TypeUse>) = match &ty.kind {
            TypeKind::Product(fields) => (
                true,
                fields.iter().map(|(n, t)| Field::new(m, n, t)).collect(),
                Vec::new(),
                fields.iter().map(|(_, t)| t).collect(),
            ),
            TypeKind::Sum(variants) => (
                false,
                Vec::new(),
                variants
                    .iter()
                    .map(|(n, t)| Variant {
                        name: n.clone(),
                        ty: t.as_ref().map(|t| ts_type(m, t)),
                        codec: t.as_ref().map(|t| codec(m, t)),
                    })
                    .collect(),
                variants.iter().filter_map(|(_, t)| t.as_ref()).collect(),
            ),
        };
        let source_name = ty.source_name();
        Self {
            header: HEADER,
            file: file(&name, "type"),
            imports: imports(m, &uses, Some(index)),
            name,
            source_name,
            is_struct,
            fields,
            variants,
        }
    }
}

/// An index accessor of a table handle: `find` for a unique column, `filter` for an indexed one.
pub(super) struct IndexAccessor {
    pub accessor: String,
    pub field: String,
    pub column: String,
    pub key_ty: String,
    pub key_codec: String,
}

/// A multi-column btree index of a table handle: `filter` by a prefix of its columns.
pub(super) struct PrefixIndex {
    pub accessor: String,
    /// The index's name in the module.
    pub name: String,
    /// The union of the tuples `filter` accepts.
    pub prefix_ty: String,
    /// `'level', 'score'`: the row fields, in key order.
    pub fields: String,
    /// The key columns' codecs, in key order.
    pub codecs: String,
}

/// Table handle members an index accessor must not shadow.
const HANDLE_MEMBERS: &[&str] = &[
    "count",
    "iter",
    "onInsert",
    "removeOnInsert",
    "onDelete",
    "removeOnDelete",
    "onUpdate",
    "removeOnUpdate",
    "runtime",
    "unique",
    "btree",
    "btreePrefix",
    "constructor",
];

/// Whether the SDK's `Range` can bound values of `ty` (those it knows the order of).
fn ordered(ty: &TypeUse) -> bool {
    matches!(ty, TypeUse::Bool | TypeUse::Primitive(_) | TypeUse::String)
}

/// The prefixes a btree index over columns of the TypeScript types `tys` accepts: each
/// leading run of columns with equal values, the last one also as a `Range` where the SDK
/// can order its values.
fn prefix_type(tys: &[(String, bool)]) -> String {
    let mut out = Vec::new();
    for k in 1..=tys.len() {
        let equal: Vec<&str> = tys[..k - 1].iter().map(|(t, _)| t.as_str()).collect();
        let (last, is_ordered) = &tys[k - 1];
        out.push(format!(
            "[{}]",
            equal
                .iter()
                .copied()
                .chain([last.as_str()])
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if *is_ordered {
            let range = format!("__sdk.Range<{last}>");
            out.push(format!(
                "[{}]",
                equal
                    .iter()
                    .copied()
                    .chain([range.as_str()])
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    out.join(" | ")
}

#[derive(Template)]
#[template(path = "typescript/table.ts.jinja", escape = "none")]
pub(super) struct TableFile {
    pub header: &'static str,
    /// `table`, or `view` for a view's read-only handle (in docs).
    pub kind: &'static str,
    pub file: String,
    pub wire_name: String,
    pub accessor: String,
    pub def_name: String,
    pub handle: String,
    pub base: &'static str,
    pub row: String,
    pub row_file: String,
    pub imports: Vec<Import>,
    pub primary_key: Option<String>,
    pub unique_fields: String,
    pub is_event: bool,
    pub uniques: Vec<IndexAccessor>,
    pub filters: Vec<IndexAccessor>,
    pub prefix_indexes: Vec<PrefixIndex>,
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
        let row = type_name(m.row_type(table));
        let accessor_of = |i: usize| {
            let c = &table.columns[i];
            let name = camel(&c.accessor_name);
            let accessor = if HANDLE_MEMBERS.contains(&name.as_str()) {
                format!("{name}Index")
            } else {
                name
            };
            IndexAccessor {
                accessor,
                field: camel(&c.field_name),
                column: c.field_name.clone(),
                key_ty: ts_type(m, &c.ty),
                key_codec: codec(m, &c.ty),
            }
        };
        // Event tables are never cached, so they have nothing to look up.
        let indexes = if table.is_event { &[][..] } else { &table.indexes[..] };
        // Columns with a single-column btree or hash index of their own get `filter`.
        let mut indexed: Vec<usize> = indexes
            .iter()
            .filter(|i| matches!(i.kind, IndexKind::BTree | IndexKind::Hash))
            .filter_map(|i| match i.columns[..] {
                [c] => Some(c),
                _ => None,
            })
            .collect();
        indexed.sort_unstable();
        indexed.dedup();
        let (uniques, filters): (Vec<IndexAccessor>, Vec<IndexAccessor>) = if table.is_event {
            (Vec::new(), Vec::new())
        } else {
            let filter_cols = indexed.iter().copied().filter(|i| !table.unique_columns.contains(i));
            (
                table.unique_columns.iter().map(|&i| accessor_of(i)).collect(),
                filter_cols.map(accessor_of).collect(),
            )
        };
        let mut taken: Vec<String> = uniques.iter().chain(&filters).map(|a| a.accessor.clone()).collect();
        let multi: Vec<&crate::model::IndexModel> = indexes
            .iter()
            .filter(|i| i.kind == IndexKind::BTree && i.columns.len() > 1)
            .collect();
        let prefix_indexes = multi
            .iter()
            .map(|index| {
                let mut accessor = camel(&index.accessor_name);
                if HANDLE_MEMBERS.contains(&accessor.as_str()) || taken.contains(&accessor) {
                    accessor.push_str("Index");
                }
                taken.push(accessor.clone());
                let cols = index.columns.iter().map(|&c| &table.columns[c]);
                PrefixIndex {
                    accessor,
                    name: index.accessor_name.clone(),
                    prefix_ty: prefix_type(
                        &cols
                            .clone()
                            .map(|c| (ts_type(m, &c.ty), ordered(&c.ty)))
                            .collect::<Vec<_>>(),
                    ),
                    fields: cols
                        .clone()
                        .map(|c| format!("'{}'", camel(&c.field_name)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    codecs: cols.map(|c| codec(m, &c.ty)).collect::<Vec<_>>().join(", "),
                }
            })
            .collect();
        let key_uses: Vec<&TypeUse> = table
            .unique_columns
            .iter()
            .filter(|_| !table.is_event)
            .chain(&indexed)
            .chain(multi.iter().flat_map(|i| &i.columns))
            .map(|&i| &table.columns[i].ty)
            .collect();
        let row_index = table.row_type;
        let primary_key = table
            .primary_key
            .filter(|_| !table.is_event)
            .map(|i| camel(&table.columns[i].field_name));
        let unique_fields = if table.is_event {
            String::new()
        } else {
            uniques
                .iter()
                .map(|u| format!("'{}'", u.field))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Self {
            header: HEADER,
            kind: "table",
            file: file(&table.accessor_name, "table"),
            wire_name: table.wire_name.clone(),
            accessor: camel(&table.accessor_name),
            def_name: format!("{}Table", camel(&table.accessor_name)),
            handle: format!("{stem}TableHandle"),
            base: if primary_key.is_some() {
                "TableHandleWithUpdate"
            } else {
                "TableHandle"
            },
            row_file: file(&row, "type"),
            imports: imports(m, &key_uses, Some(row_index)),
            row,
            primary_key,
            unique_fields,
            is_event: table.is_event,
            uniques,
            filters,
            prefix_indexes,
        }
    }
}

#[derive(Template)]
#[template(path = "typescript/reducer.ts.jinja", escape = "none")]
pub(super) struct ReducerFile {
    pub header: &'static str,
    pub file: String,
    pub wire_name: String,
    pub args: String,
    pub imports: Vec<Import>,
    pub params: Vec<Field>,
}

impl ReducerFile {
    pub fn new(m: &Module, reducer: &ReducerModel) -> Self {
        let uses: Vec<&TypeUse> = reducer.params.iter().map(|(_, t)| t).collect();
        Self {
            header: HEADER,
            file: file(&reducer.accessor_name, "reducer"),
            wire_name: reducer.wire_name.clone(),
            args: format!("{}Args", pascal(&reducer.accessor_name)),
            imports: imports(m, &uses, None),
            params: reducer.params.iter().map(|(n, t)| Field::new(m, n, t)).collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "typescript/procedure.ts.jinja", escape = "none")]
pub(super) struct ProcedureFile {
    pub header: &'static str,
    pub file: String,
    pub wire_name: String,
    pub args: String,
    pub returns: String,
    pub return_ty: String,
    pub return_codec: String,
    pub imports: Vec<Import>,
    pub params: Vec<Field>,
}

impl ProcedureFile {
    pub fn new(m: &Module, procedure: &ProcedureModel) -> Self {
        let uses: Vec<&TypeUse> = procedure
            .params
            .iter()
            .map(|(_, t)| t)
            .chain([&procedure.return_type])
            .collect();
        let stem = pascal(&procedure.accessor_name);
        Self {
            header: HEADER,
            file: file(&procedure.accessor_name, "procedure"),
            wire_name: procedure.wire_name.clone(),
            args: format!("{stem}Args"),
            returns: format!("{stem}Return"),
            return_ty: ts_type(m, &procedure.return_type),
            return_codec: codec(m, &procedure.return_type),
            imports: imports(m, &uses, None),
            params: procedure.params.iter().map(|(n, t)| Field::new(m, n, t)).collect(),
        }
    }
}

/// A table as `index.ts` wires it.
pub(super) struct IndexTable {
    /// `table` or `view` (in docs).
    pub kind: &'static str,
    pub file: String,
    pub accessor: String,
    pub wire_name: String,
    pub def_name: String,
    pub handle: String,
}

/// A reducer method of `RemoteReducers`.
pub(super) struct IndexReducer {
    pub file: String,
    pub method: String,
    pub wire_name: String,
    pub args: String,
    pub has_params: bool,
}

/// A procedure method of `RemoteProcedures`.
pub(super) struct IndexProcedure {
    pub file: String,
    pub method: String,
    pub wire_name: String,
    pub args: String,
    pub returns: String,
    pub return_ty: String,
    pub has_params: bool,
}

#[derive(Template)]
#[template(path = "typescript/index.ts.jinja", escape = "none")]
pub(super) struct IndexFile {
    pub header: &'static str,
    pub type_files: Vec<String>,
    pub tables: Vec<IndexTable>,
    pub reducers: Vec<IndexReducer>,
    pub procedures: Vec<IndexProcedure>,
}

impl IndexFile {
    pub fn new(m: &Module) -> Self {
        let mut type_files: Vec<String> = m.types.iter().map(|t| file(&type_name(t), "type")).collect();
        type_files.sort();
        Self {
            header: HEADER,
            type_files,
            tables: m
                .tables
                .iter()
                .map(|t| (t.clone(), "table"))
                .chain(m.views.iter().map(|v| (v.as_table(), "view")))
                .map(|(t, kind)| IndexTable {
                    kind,
                    file: file(&t.accessor_name, "table"),
                    accessor: camel(&t.accessor_name),
                    wire_name: t.wire_name.clone(),
                    def_name: format!("{}Table", camel(&t.accessor_name)),
                    handle: format!("{}TableHandle", pascal(&t.accessor_name)),
                })
                .collect(),
            reducers: m
                .reducers
                .iter()
                .map(|r| IndexReducer {
                    file: file(&r.accessor_name, "reducer"),
                    method: camel(&r.accessor_name),
                    wire_name: r.wire_name.clone(),
                    args: format!("{}Args", pascal(&r.accessor_name)),
                    has_params: !r.params.is_empty(),
                })
                .collect(),
            procedures: m
                .procedures
                .iter()
                .map(|p| IndexProcedure {
                    file: file(&p.accessor_name, "procedure"),
                    method: camel(&p.accessor_name),
                    wire_name: p.wire_name.clone(),
                    args: format!("{}Args", pascal(&p.accessor_name)),
                    returns: format!("{}Return", pascal(&p.accessor_name)),
                    return_ty: ts_type(m, &p.return_type),
                    has_params: !p.params.is_empty(),
                })
                .collect(),
        }
    }
}
