//! The view structs the C# templates render: every name cased, every type spelled, every
//! BSATN read and write expression built.

use super::names::{camel, is_simple_enum, member, pascal, type_name, Spell};
use super::HEADER;
use crate::model::{
    IndexKind, Module, Primitive, ProcedureModel, ReducerModel, TableModel, TypeKind, TypeModel, TypeUse, ViewModel,
};
use crate::CodegenError;
use askama::Template;

/// Members every generated row, type and argument class has, which properties must avoid.
const CLASS_MEMBERS: &[&str] = &[
    "Read",
    "Write",
    "Equals",
    "GetHashCode",
    "ToString",
    "GetType",
    "ReducerName",
    "WriteArgs",
];

/// Members of the SDK's table handle, which index fields must avoid.
const HANDLE_MEMBERS: &[&str] = &[
    "Count",
    "Iter",
    "OnInsert",
    "OnDelete",
    "OnUpdate",
    "RemoteTableName",
    "CreateCache",
    "MakeUniqueIndex",
    "MakeBTreeIndex",
    "MakeBTreePrefixIndex",
    "RowEventHandler",
    "UpdateEventHandler",
    "Equals",
    "GetHashCode",
    "ToString",
    "GetType",
];

fn unsupported(location: String) -> impl Fn(String) -> CodegenError {
    move |what| CodegenError::Unsupported {
        location: location.clone(),
        what,
        lang: "C#",
    }
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
    /// Whether the module's type is an option, which C# holds as `null` for none; the
    /// property's docs say so.
    pub nullable: bool,
}

fn properties(
    spell: &Spell,
    class: &str,
    fields: &[(String, TypeUse)],
    owner: &str,
) -> Result<Vec<Property>, CodegenError> {
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
                nullable: matches!(t, TypeUse::Option(_)),
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
        let source_name = ty.source_name();
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
                let members = fields
                    .iter()
                    .map(|(n, _)| member(n, &view.name, CLASS_MEMBERS))
                    .collect();
                let spell = Spell {
                    module: m,
                    namespace,
                    members,
                    qualify_all: false,
                };
                view.fields = properties(&spell, &view.name, fields, &view.source_name)?;
            }
            TypeKind::Sum(variants) => {
                view.variant_count = variants.len();
                // Variant classes are members of the type, so a payload type named like a
                // variant must be written with its namespace.
                let members = variants
                    .iter()
                    .map(|(n, _)| pascal(n))
                    .chain(["Value".to_owned()])
                    .collect();
                let spell = Spell {
                    module: m,
                    namespace,
                    members,
                    qualify_all: false,
                };
                for (tag, (n, payload)) in variants.iter().enumerate() {
                    let payload = match payload {
                        Some(t) => {
                            let mut props =
                                properties(&spell, "", &[("value".to_owned(), t.clone())], &view.source_name)?;
                            props.pop()
                        }
                        None => None,
                    };
                    view.variants.push(Variant {
                        name: pascal(n),
                        tag,
                        payload,
                    });
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
    /// `table`, or `view` for a view's handle (in docs).
    pub kind: &'static str,
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
    /// Multi-column btree indexes, each a nested class of typed `Filter` overloads.
    pub prefix_indexes: Vec<PrefixIndex>,
}

/// A multi-column btree index: the handle's field, its class and one `Filter` per prefix.
pub(super) struct PrefixIndex {
    pub name: String,
    pub field: String,
    pub class: String,
    /// `row => row.Level, row => row.Score`: the key columns' getters, in key order.
    pub getters: String,
    pub overloads: Vec<PrefixOverload>,
}

/// One `Filter` of a multi-column btree index.
pub(super) struct PrefixOverload {
    /// What it selects, for its doc comment.
    pub summary: String,
    /// `uint level, SpacetimeDB.Range<int> score`.
    pub params: String,
    /// The SDK call that answers it.
    pub call: String,
}

/// Whether the SDK's `Range<T>` can bound values of `ty` (`T : IComparable<T>`).
fn ordered(ty: &TypeUse) -> bool {
    match ty {
        TypeUse::Bool | TypeUse::String => true,
        TypeUse::Primitive(p) => !matches!(p, Primitive::I128 | Primitive::U128 | Primitive::I256 | Primitive::U256),
        _ => false,
    }
}

/// The `Filter` overloads of an index over `cols` (parameter name, C# type, column name,
/// orderable): equal values for each leading run of columns, and the same with the last
/// one a range where its type is ordered.
fn prefix_overloads(cols: &[(String, String, String, bool)]) -> Vec<PrefixOverload> {
    let mut out = Vec::new();
    for k in 1..=cols.len() {
        let (equal, last) = (&cols[..k - 1], &cols[k - 1]);
        let equal_params = equal.iter().map(|(p, t, _, _)| format!("{t} {p}"));
        let equal_args: Vec<&str> = equal.iter().map(|(p, _, _, _)| p.as_str()).collect();
        let equal_names: Vec<String> = equal.iter().map(|(_, _, c, _)| format!("<c>{c}</c>")).collect();
        let all_args: Vec<&str> = equal_args.iter().copied().chain([last.0.as_str()]).collect();
        let all_names: Vec<String> = equal_names
            .iter()
            .cloned()
            .chain([format!("<c>{}</c>", last.2)])
            .collect();
        out.push(PrefixOverload {
            summary: format!("The cached rows with the given {}.", all_names.join(", ")),
            params: equal_params
                .clone()
                .chain([format!("{} {}", last.1, last.0)])
                .collect::<Vec<_>>()
                .join(", "),
            call: format!("index.Filter({})", all_args.join(", ")),
        });
        if last.3 {
            let given = if equal_names.is_empty() {
                String::new()
            } else {
                format!("the given {} and ", equal_names.join(", "))
            };
            out.push(PrefixOverload {
                summary: format!("The cached rows with {given}<c>{}</c> in a range.", last.2),
                params: equal_params
                    .chain([format!("SpacetimeDB.Range<{}> {}", last.1, last.0)])
                    .collect::<Vec<_>>()
                    .join(", "),
                call: format!(
                    "index.FilterRange({})",
                    [last.0.as_str()]
                        .into_iter()
                        .chain(equal_args)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    out
}

impl TableFile {
    /// The handle of a view: a table's (client tables are read-only anyway), with `Find`
    /// by its primary key and `OnUpdate` when it has one.
    pub fn for_view(m: &Module, namespace: &str, view: &ViewModel) -> Result<Self, CodegenError> {
        Ok(Self {
            kind: "view",
            ..Self::new(m, namespace, &view.as_table())?
        })
    }

    pub fn new(m: &Module, namespace: &str, table: &TableModel) -> Result<Self, CodegenError> {
        let spell = Spell {
            module: m,
            namespace,
            members: Vec::new(),
            qualify_all: true,
        };
        let row_ty = m.row_type(table);
        let row_class = type_name(row_ty);
        let row_fields: Vec<String> = match &row_ty.kind {
            TypeKind::Product(fields) => fields
                .iter()
                .map(|(n, _)| member(n, &row_class, CLASS_MEMBERS))
                .collect(),
            TypeKind::Sum(_) => Vec::new(),
        };
        let property = |i: usize| {
            row_fields
                .get(i)
                .cloned()
                .unwrap_or_else(|| pascal(&table.columns[i].field_name))
        };
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
        let btree = |i: &&crate::model::IndexModel| i.kind == IndexKind::BTree;
        let btrees = table
            .indexes
            .iter()
            .filter(btree)
            .filter_map(|i| match i.columns[..] {
                [c] if !table.unique_columns.contains(&c) => Some(index(&i.accessor_name, c)),
                _ => None,
            })
            .collect::<Result<Vec<_>, CodegenError>>()?;
        let prefix_indexes = table
            .indexes
            .iter()
            .filter(btree)
            .filter(|i| i.columns.len() > 1)
            .map(|i| {
                let field = member(&i.accessor_name, &handle, HANDLE_MEMBERS);
                let cols = i
                    .columns
                    .iter()
                    .map(|&c| {
                        let col = &table.columns[c];
                        let fail = unsupported(format!("column `{}` of table `{}`", col.field_name, table.wire_name));
                        Ok((
                            camel(&col.field_name),
                            spell.cs_type(&col.ty).map_err(fail)?,
                            col.field_name.clone(),
                            ordered(&col.ty),
                        ))
                    })
                    .collect::<Result<Vec<_>, CodegenError>>()?;
                Ok(PrefixIndex {
                    name: i.accessor_name.clone(),
                    class: format!("{field}Index"),
                    field,
                    getters: i
                        .columns
                        .iter()
                        .map(|&c| format!("row => row.{}", property(c)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    overloads: prefix_overloads(&cols),
                })
            })
            .collect::<Result<Vec<_>, CodegenError>>()?;
        Ok(Self {
            header: HEADER,
            kind: "table",
            namespace: namespace.to_owned(),
            wire_name: table.wire_name.clone(),
            field: pascal(&table.accessor_name),
            row: spell
                .cs_type(&TypeUse::Named(table.row_type))
                .map_err(unsupported(format!("table `{}`", table.wire_name)))?,
            is_event: table.is_event,
            primary_key: table.primary_key.filter(|_| !table.is_event).map(property),
            uniques,
            btrees,
            prefix_indexes,
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
        let members = reducer
            .params
            .iter()
            .map(|(n, _)| member(n, &class, CLASS_MEMBERS))
            .collect();
        let spell = Spell {
            module: m,
            namespace,
            members,
            qualify_all: false,
        };
        let params = properties(
            &spell,
            &class,
            &reducer.params,
            &format!("reducer {}", reducer.accessor_name),
        )?;
        Ok(Self {
            header: HEADER,
            namespace: namespace.to_owned(),
            wire_name: reducer.wire_name.clone(),
            class,
            params,
        })
    }
}

/// A parameter of a procedure's method: its C# name and type, and how it is written.
pub(super) struct Param {
    pub name: String,
    pub ty: String,
    pub write: String,
}

#[derive(Template)]
#[template(path = "csharp/procedure.cs.jinja", escape = "none")]
pub(super) struct ProcedureFile {
    pub header: &'static str,
    pub namespace: String,
    pub wire_name: String,
    pub method: String,
    pub params: Vec<Param>,
    /// The return type and the expression reading it from `r`.
    pub ret: String,
    pub read_ret: String,
}

impl ProcedureFile {
    pub fn new(m: &Module, namespace: &str, procedure: &ProcedureModel) -> Result<Self, CodegenError> {
        // Inside `RemoteProcedures` every procedure's method is a member that could shadow
        // a type of the same name, so types are written with their namespace.
        let spell = Spell {
            module: m,
            namespace,
            members: Vec::new(),
            qualify_all: true,
        };
        let params = procedure
            .params
            .iter()
            .map(|(n, t)| {
                let fail = unsupported(format!("parameter `{n}` of procedure `{}`", procedure.accessor_name));
                let mut name = camel(n);
                // `w` and `r`, `r1`, … name the lambdas' writer and readers.
                if name == "w"
                    || name
                        .strip_prefix('r')
                        .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
                {
                    name.push('_');
                }
                Ok(Param {
                    ty: spell.cs_type(t).map_err(&fail)?,
                    write: spell.write(t, &name, "w").map_err(&fail)?,
                    name,
                })
            })
            .collect::<Result<Vec<_>, CodegenError>>()?;
        let fail = unsupported(format!("the return type of procedure `{}`", procedure.accessor_name));
        Ok(Self {
            header: HEADER,
            namespace: namespace.to_owned(),
            wire_name: procedure.wire_name.clone(),
            method: pascal(&procedure.accessor_name),
            params,
            ret: spell.cs_type(&procedure.return_type).map_err(&fail)?,
            read_ret: spell.read(&procedure.return_type, "r").map_err(&fail)?,
        })
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
        let accessors = m.tables.iter().map(|t| &t.accessor_name);
        Self {
            header: HEADER,
            namespace: namespace.to_owned(),
            tables: accessors
                .chain(m.views.iter().map(|v| &v.accessor_name))
                .map(|accessor| TableEntry {
                    handle: format!("{}Handle", pascal(accessor)),
                    field: pascal(accessor),
                })
                .collect(),
            reducers: m.reducers.iter().map(|r| pascal(&r.accessor_name)).collect(),
        }
    }
}
