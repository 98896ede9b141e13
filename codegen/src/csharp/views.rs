//! The view structs the C# templates render: every name cased, every type spelled, every
//! BSATN read and write expression built.

use super::names::{camel, is_simple_enum, member, pascal, type_name, Spell};
use super::HEADER;
use crate::model::{Module, ReducerModel, TableModel, TypeKind, TypeModel, TypeUse};
use crate::CodegenError;
use askama::Template;

/// Members every generated row, type and argument class has, which properties must avoid.
const CLASS_MEMBERS: &[&str] = &["Read", "Write", "Equals", "GetHashCode", "ToString", "GetType", "ReducerName", "WriteArgs"];

/// Members of the SDK's table handle, which index fields must avoid.
const HANDLE_MEMBERS: &[&str] = &[
    "Count", "Iter", "OnInsert", "OnDelete", "OnUpdate", "RemoteTableName", "CreateCache", "MakeUniqueIndex",
    "MakeBTreeIndex", "RowEventHandler", "UpdateEventHandler", "Equals", "GetHashCode", "ToString", "GetType",
];

fn unsupported(location: String) -> impl Fn(String) -> CodegenError {
    move |what| CodegenError::Unsupported { location: location.clone(), what, lang: "C#" }
}

/// A property of a generated class, with its constructor parameter and codec.
pub(super) struct Property {
    /// The field's name in the module.
    pub source: String,
    pub name: String,
    pub param: String,
    pub ty: String,
    pub read: String,
    pub write: String,
    pub default: Option<String>,
}

fn properties(spell: &Spell, class: &str, fields: &[(String, TypeUse)], owner: &str) -> Result<Vec<Property>, CodegenError> {
    fields
        .iter()
        .map(|(n, t)| {
            let fail = unsupported(format!("field `{n}` of `{owner}`"));
            let name = member(n, class, CLASS_MEMBERS);
            Ok(Property {
                source: n.clone(),
                param: camel(n),
                ty: spell.cs_type(t).map_err(&fail)?,
                read: spell.read(t, "r").map_err(&fail)?,
                write: spell.write(t, &name, "w").map_err(&fail)?,
                default: spell.default_value(t).map_err(&fail)?,
                name,
            })
        })
        .collect()
}

/// A variant of a sum type with payloads: a nested class.
pub(super) struct Variant {
    pub name: String,
    pub tag: usize,
    /// The payload's type, codec, for a variant with one.
    pub payload: Option<Property>,
}

#[derive(Template)]
#[template(path = "csharp/type.cs.jinja", escape = "none")]
pub(super) struct TypeFile {
    pub header: &'static str,
    pub namespace: String,
    pub name: String,
    pub source_name: String,
    pub is_product: bool,
    pub is_simple_enum: bool,
    pub fields: Vec<Property>,
    pub variants: Vec<Variant>,
    pub variant_count: usize,
}

impl TypeFile {
    pub fn new(m: &Module, namespace: &str, ty: &TypeModel) -> Result<Self, CodegenError> {
        let name = type_name(ty);
        let source_name = ty.scope.iter().chain([&ty.name]).cloned().collect::<Vec<_>>().join("::");
        let mut view = Self {
            header: HEADER,
            namespace: namespace.to_owned(),
            is_product: false,
            is_simple_enum: is_simple_enum(ty),
            fields: Vec::new(),
            variants: Vec::new(),
            variant_count: 0,
            name,
            source_name,
        };
        match &ty.kind {
            TypeKind::Product(fields) => {
                view.is_product = true;
                let members = fields.iter().map(|(n, _)| member(n, &view.name, CLASS_MEMBERS)).collect();
                let spell = Spell { module: m, namespace, members, qualify_all: false };
                view.fields = properties(&spell, &view.name, fields, &view.source_name)?;
            }
            TypeKind::Sum(variants) => {
                view.variant_count = variants.len();
                // Variant classes are members of the type, so a payload type named like a
                // variant must be written with its namespace.
                let members = variants.iter().map(|(n, _)| pascal(n)).chain(["Value".to_owned()]).collect();
                let spell = Spell { module: m, namespace, members, qualify_all: false };
                for (tag, (n, payload)) in variants.iter().enumerate() {
                    let payload = match payload {
                        Some(t) => {
                            let mut props = properties(&spell, "", &[("value".to_owned(), t.clone())], &view.source_name)?;
                            props.pop()
                        }
                        None => None,
                    };
                    view.variants.push(Variant { name: pascal(n), tag, payload });
                }
            }
        }
        Ok(view)
    }
}

/// A unique column of a table: `Find` by it.
pub(super) struct Unique {
    pub field: String,
    pub column: String,
    pub key_ty: String,
    pub property: String,
}

#[derive(Template)]
#[template(path = "csharp/table.cs.jinja", escape = "none")]
pub(super) struct TableFile {
    pub header: &'static str,
    pub namespace: String,
    pub wire_name: String,
    pub handle: String,
    pub field: String,
    pub row: String,
    pub is_event: bool,
    pub primary_key: Option<String>,
    pub uniques: Vec<Unique>,
    /// Btree indexes, with `Filter` instead of `Find`.
    pub btrees: Vec<Unique>,
}

impl TableFile {
    pub fn new(m: &Module, namespace: &str, table: &TableModel, btree: &[(String, usize)]) -> Result<Self, CodegenError> {
        let spell = Spell { module: m, namespace, members: Vec::new(), qualify_all: true };
        let row_ty = m.row_type(table);
        let row_class = type_name(row_ty);
        let row_fields: Vec<String> = match &row_ty.kind {
            TypeKind::Product(fields) => fields.iter().map(|(n, _)| member(n, &row_class, CLASS_MEMBERS)).collect(),
            TypeKind::Sum(_) => Vec::new(),
        };
        let property = |i: usize| row_fields.get(i).cloned().unwrap_or_else(|| pascal(&table.columns[i].field_name));
        let handle = format!("{}Handle", pascal(&table.accessor_name));
        let index = |accessor: &str, i: usize| {
            let c = &table.columns[i];
            let fail = unsupported(format!("column `{}` of table `{}`", c.field_name, table.wire_name));
            Ok(Unique {
                field: member(accessor, &handle, HANDLE_MEMBERS),
                column: c.field_name.clone(),
                key_ty: spell.cs_type(&c.ty).map_err(fail)?,
                property: property(i),
            })
        };
        let uniques = table
            .unique_columns
            .iter()
            .map(|&i| index(&table.columns[i].accessor_name, i))
            .collect::<Result<Vec<_>, CodegenError>>()?;
        let btrees = btree
            .iter()
            .filter(|(_, i)| *i < table.columns.len())
            .map(|(accessor, i)| index(accessor, *i))
            .collect::<Result<Vec<_>, CodegenError>>()?;
        Ok(Self {
            header: HEADER,
            namespace: namespace.to_owned(),
            wire_name: table.wire_name.clone(),
            field: pascal(&table.accessor_name),
            row: spell.cs_type(&TypeUse::Named(table.row_type)).map_err(unsupported(format!("table `{}`", table.wire_name)))?,
            is_event: table.is_event,
            primary_key: table.primary_key.filter(|_| !table.is_event).map(property),
            uniques,
            btrees,
            handle,
        })
    }
}

#[derive(Template)]
#[template(path = "csharp/reducer.cs.jinja", escape = "none")]
pub(super) struct ReducerFile {
    pub header: &'static str,
    pub namespace: String,
    pub wire_name: String,
    pub class: String,
    pub params: Vec<Property>,
}

impl ReducerFile {
    pub fn new(m: &Module, namespace: &str, reducer: &ReducerModel) -> Result<Self, CodegenError> {
        let class = pascal(&reducer.accessor_name);
        let members = reducer.params.iter().map(|(n, _)| member(n, &class, CLASS_MEMBERS)).collect();
        let spell = Spell { module: m, namespace, members, qualify_all: false };
        let params = properties(&spell, &class, &reducer.params, &format!("reducer {}", reducer.accessor_name))?;
        Ok(Self { header: HEADER, namespace: namespace.to_owned(), wire_name: reducer.wire_name.clone(), class, params })
    }
}

/// A table as the client file registers it.
pub(super) struct TableEntry {
    pub handle: String,
    pub field: String,
}

#[derive(Template)]
#[template(path = "csharp/client.cs.jinja", escape = "none")]
pub(super) struct ClientFile {
    pub header: &'static str,
    pub namespace: String,
    pub tables: Vec<TableEntry>,
    pub reducers: Vec<String>,
}

impl ClientFile {
    pub fn new(m: &Module, namespace: &str) -> Self {
        Self {
            header: HEADER,
            namespace: namespace.to_owned(),
            tables: m
                .tables
                .iter()
                .map(|t| TableEntry { handle: format!("{}Handle", pascal(&t.accessor_name)), field: pascal(&t.accessor_name) })
                .collect(),
            reducers: m.reducers.iter().map(|r| pascal(&r.accessor_name)).collect(),
        }
    }
}
