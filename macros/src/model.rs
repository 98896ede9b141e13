//! The macro inputs as Spacetime sees them: tables with their columns and indexes,
//! reducers and views with their parameters, and derived types with their fields or variants.
//!
//! Every item keeps an `original` reference into the `syn` tree so that checks and
//! generation can span errors and reuse the user's tokens. Building the model records
//! problems that make an item unrepresentable (a table that is not a struct, an index on a
//! column that does not exist); the rules between attributes live in `check.rs`.

use crate::attr::{
    Access, Algo, ColumnAttrs, LifecycleKind, ReducerArgs, SatsAttrs, TableArgs, ViewArgs, ViewPrimaryKey,
};
use crate::ctxt::Ctxt;
use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{DeriveInput, Ident, ItemFn, LitStr, Path, Type, Visibility};

/// A `#[derive(SpacetimeType)]` type.
pub struct Container<'a> {
    pub original: &'a DeriveInput,
    pub ident: &'a Ident,
    /// The name in the module definition: `#[sats(name)]` or the Rust name.
    pub name: String,
    /// `#[sats(crate = path)]`: the path of the bindings' `spacetimedb_lib` module.
    pub krate: Option<syn::Path>,
    pub data: Data<'a>,
}

pub enum Data<'a> {
    /// A struct; `named` is false for a tuple or unit struct.
    Struct {
        fields: Vec<Field<'a>>,
        named: bool,
    },
    Enum(Vec<Variant<'a>>),
}

pub struct Field<'a> {
    /// The field name; `None` in a tuple struct.
    pub ident: Option<&'a Ident>,
    pub ty: &'a Type,
}

pub struct Variant<'a> {
    pub ident: &'a Ident,
    /// The payload of a newtype variant, `V(T)` or `V { field: T }`: how to name the one
    /// field and its type. `None` for a unit variant.
    pub payload: Option<(syn::Member, &'a Type)>,
}

impl<'a> Container<'a> {
    pub fn from_ast(cx: &Ctxt, input: &'a DeriveInput) -> Option<Container<'a>> {
        let attrs = SatsAttrs::parse(cx, &input.attrs);
        let name = attrs
            .name
            .as_ref()
            .map_or_else(|| input.ident.unraw().to_string(), LitStr::value);
        let data = match &input.data {
            syn::Data::Struct(s) => {
                let named = matches!(s.fields, syn::Fields::Named(_));
                let fields = s
                    .fields
                    .iter()
                    .map(|f| Field {
                        ident: f.ident.as_ref(),
                        ty: &f.ty,
                    })
                    .collect();
                Data::Struct { fields, named }
            }
            syn::Data::Enum(e) => {
                let mut variants = Vec::new();
                for v in &e.variants {
                    let payload = match &v.fields {
                        syn::Fields::Unit => None,
                        syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                            Some((syn::Member::from(0), &f.unnamed[0].ty))
                        }
                        syn::Fields::Named(f) if f.named.len() == 1 => {
                            let field = &f.named[0];
                            field.ident.clone().map(|ident| (syn::Member::Named(ident), &field.ty))
                        }
                        syn::Fields::Unnamed(f) => {
                            cx.error_spanned_by(
                                f,
                                format_args!(
                                    "variant `{}` has {} fields, but a SpacetimeType enum variant holds at most one value; \
                                     group them into a struct or tuple: `{}(({}))`",
                                    v.ident,
                                    f.unnamed.len(),
                                    v.ident,
                                    f.unnamed.iter().map(|f| f.ty.to_token_stream().to_string()).collect::<Vec<_>>().join(", ")
                                ),
                            );
                            continue;
                        }
                        syn::Fields::Named(f) => {
                            cx.error_spanned_by(
                                f,
                                format_args!(
                                    "struct variant `{0}` has {1} fields, but a SpacetimeType enum variant holds at most one \
                                     value; move the fields into a struct `{0}Data` deriving SpacetimeType and write \
                                     `{0}({0}Data)`",
                                    v.ident,
                                    f.named.len()
                                ),
                            );
                            continue;
                        }
                    };
                    variants.push(Variant {
                        ident: &v.ident,
                        payload,
                    });
                }
                Data::Enum(variants)
            }
            syn::Data::Union(u) => {
                cx.error_spanned_by(
                    u.union_token,
                    "unions cannot derive SpacetimeType: use a struct or an enum",
                );
                return None;
            }
        };
        Some(Container {
            original: input,
            ident: &input.ident,
            name,
            krate: attrs.krate,
            data,
        })
    }
}

/// A column of a table.
pub struct Column<'a> {
    pub index: u16,
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: ColumnAttrs,
}

/// A column named by an index or a schedule, resolved to its position if it exists.
pub struct ColumnRef {
    pub ident: Ident,
    pub position: Option<u16>,
}

/// An index of a table, after implicit unique indexes are added.
pub struct Index {
    pub accessor: Ident,
    pub canonical_name: Option<String>,
    pub algo: Algo,
    pub columns: Vec<ColumnRef>,
    /// Whether this index serves a unique column (its handle is a `UniqueColumn`).
    pub is_unique: bool,
    pub span: Span,
}

/// The schedule of a scheduled table.
pub struct Schedule {
    pub span: Span,
    pub reducer: Path,
    /// The `ScheduleAt` column: `at = ..`, or `scheduled_at`.
    pub at: Option<ColumnRef>,
}

/// A `#[table]` on a struct.
pub struct Table<'a> {
    pub original: &'a DeriveInput,
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub accessor: Ident,
    /// The table's source name: the accessor without `r#`.
    pub table_name: String,
    pub canonical_name: Option<String>,
    pub access: Access,
    pub event: bool,
    pub columns: Vec<Column<'a>>,
    pub indexes: Vec<Index>,
    pub schedule: Option<Schedule>,
}

impl<'a> Table<'a> {
    pub fn from_ast(cx: &Ctxt, args: TableArgs, input: &'a DeriveInput) -> Option<Table<'a>> {
        let fields = match &input.data {
            syn::Data::Struct(syn::DataStruct {
                fields: syn::Fields::Named(f),
                ..
            }) => &f.named,
            syn::Data::Struct(s) => {
                cx.error_spanned_by(
                    &s.fields,
                    "a table's columns are the struct's named fields: declare it as `struct Name { col: Type, .. }`",
                );
                return None;
            }
            syn::Data::Enum(e) => {
                cx.error_spanned_by(
                    e.enum_token,
                    "`#[table]` goes on a struct, not an enum: wrap the enum in a struct field",
                );
                return None;
            }
            syn::Data::Union(u) => {
                cx.error_spanned_by(u.union_token, "`#[table]` goes on a struct, not a union");
                return None;
            }
        };
        if fields.len() > usize::from(u16::MAX) {
            cx.error_spanned_by(input, "too many columns: a table has at most 65535");
            return None;
        }
        let columns: Vec<Column<'a>> = fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                Some(Column {
                    index: i as u16,
                    ident: f.ident.as_ref()?,
                    ty: &f.ty,
                    attrs: ColumnAttrs::parse(cx, &f.attrs),
                })
            })
            .collect();
        let accessor = args.accessor?;
        let table_name = accessor.unraw().to_string();
        let resolve = |ident: &Ident| ColumnRef {
            ident: ident.clone(),
            position: columns.iter().find(|c| *c.ident == *ident).map(|c| c.index),
        };

        // Declared indexes come first, then the field-level ones in field order.
        let mut indexes: Vec<Index> = args
            .indexes
            .iter()
            .map(|arg| Index {
                accessor: arg.accessor.clone(),
                canonical_name: arg.canonical_name.as_ref().map(LitStr::value),
                algo: arg.algo,
                columns: arg.columns.iter().map(resolve).collect(),
                is_unique: false,
                span: arg.accessor.span(),
            })
            .collect();
        for col in &columns {
            for &(span, algo) in &col.attrs.indexes {
                indexes.push(Index {
                    accessor: col.ident.clone(),
                    canonical_name: None,
                    algo,
                    columns: vec![resolve(col.ident)],
                    is_unique: false,
                    span,
                });
            }
        }
        // A unique column is served by the first index over exactly that column; if there
        // is none, it gets a btree index named after the column.
        for col in columns
            .iter()
            .filter(|c| c.attrs.unique.is_some() || c.attrs.primary_key.is_some())
        {
            let covering = indexes
                .iter_mut()
                .find(|ix| matches!(&*ix.columns, [only] if only.position == Some(col.index)));
            match covering {
                Some(ix) => ix.is_unique = true,
                None => indexes.push(Index {
                    accessor: col.ident.clone(),
                    canonical_name: None,
                    algo: Algo::BTree,
                    columns: vec![resolve(col.ident)],
                    is_unique: true,
                    span: col.ident.span(),
                }),
            }
        }
        // Unique handles first, keeping declaration order otherwise (a stable sort).
        indexes.sort_by_key(|ix| !ix.is_unique);

        let schedule = args.scheduled.map(|s| {
            let at = match &s.at {
                Some(at) => Some(resolve(at)),
                None => columns
                    .iter()
                    .find(|c| *c.ident == "scheduled_at")
                    .map(|c| resolve(c.ident)),
            };
            Schedule {
                span: s.span,
                reducer: s.reducer,
                at,
            }
        });

        Some(Table {
            original: input,
            ident: &input.ident,
            vis: &input.vis,
            accessor,
            table_name,
            canonical_name: args.canonical_name.as_ref().map(LitStr::value),
            access: args.access,
            event: args.event,
            columns,
            indexes,
            schedule,
        })
    }

    pub fn primary_key(&self) -> Option<&Column<'a>> {
        self.columns.iter().find(|c| c.attrs.primary_key.is_some())
    }

    pub fn unique_columns(&self) -> impl Iterator<Item = &Column<'a>> {
        self.columns
            .iter()
            .filter(|c| c.attrs.unique.is_some() || c.attrs.primary_key.is_some())
    }

    pub fn sequences(&self) -> impl Iterator<Item = &Column<'a>> {
        self.columns.iter().filter(|c| c.attrs.auto_inc.is_some())
    }

    pub fn column(&self, position: u16) -> Option<&Column<'a>> {
        self.columns.get(usize::from(position))
    }

    /// `{table}_{cols}_idx_{algo}`: the name the host resolves with `index_id_from_name`.
    pub fn index_source_name(&self, index: &Index) -> String {
        let cols: Vec<String> = index.columns.iter().map(|c| c.ident.unraw().to_string()).collect();
        format!("{}_{}_idx_{}", self.table_name, cols.join("_"), index.algo.name())
    }
}

/// A parameter of a reducer after the context.
pub struct Param<'a> {
    /// The parameter name, if the pattern is a plain identifier.
    pub name: Option<String>,
    pub ty: &'a Type,
}

/// A function's parameters split into the context and the rest, and its return type.
struct Signature<'a> {
    ctx: Option<&'a syn::PatType>,
    params: Vec<Param<'a>>,
    ret: Option<&'a Type>,
}

impl<'a> Signature<'a> {
    /// Reports a `self` parameter with `receiver_error`; `param_name` spells a parameter's
    /// name for the module definition.
    fn from_ast(cx: &Ctxt, item: &'a ItemFn, receiver_error: &str, param_name: fn(&Ident) -> String) -> Self {
        let mut typed = Vec::new();
        for input in &item.sig.inputs {
            match input {
                syn::FnArg::Typed(t) => typed.push(t),
                syn::FnArg::Receiver(r) => cx.error_spanned_by(r, receiver_error),
            }
        }
        let mut typed = typed.into_iter();
        let ctx = typed.next();
        let params = typed
            .map(|t| Param {
                name: match &*t.pat {
                    syn::Pat::Ident(p) => Some(param_name(&p.ident)),
                    _ => None,
                },
                ty: &t.ty,
            })
            .collect();
        let ret = match &item.sig.output {
            syn::ReturnType::Default => None,
            syn::ReturnType::Type(_, ty) => Some(&**ty),
        };
        Signature { ctx, params, ret }
    }
}

/// A `#[reducer]` function.
pub struct Reducer<'a> {
    pub original: &'a ItemFn,
    pub ident: &'a Ident,
    pub name: String,
    pub canonical_name: Option<String>,
    pub lifecycle: Option<LifecycleKind>,
    /// The first parameter, which must be `&ReducerContext`.
    pub ctx: Option<&'a syn::PatType>,
    pub params: Vec<Param<'a>>,
    pub ret: Option<&'a Type>,
}

impl<'a> Reducer<'a> {
    pub fn from_ast(cx: &Ctxt, args: ReducerArgs, item: &'a ItemFn) -> Reducer<'a> {
        let Signature { ctx, params, ret } = Signature::from_ast(
            cx,
            item,
            "a reducer is a free function: remove `self` and take `ctx: &ReducerContext` first",
            |ident| ident.unraw().to_string(),
        );
        Reducer {
            original: item,
            ident: &item.sig.ident,
            name: item.sig.ident.unraw().to_string(),
            canonical_name: args.canonical_name.as_ref().map(LitStr::value),
            lifecycle: args.lifecycle,
            ctx,
            params,
            ret,
        }
    }
}

/// A `#[view]` function.
pub struct View<'a> {
    pub original: &'a ItemFn,
    pub ident: &'a Ident,
    /// The view's name: its accessor (`None` when missing, already reported).
    pub name: Option<String>,
    pub canonical_name: Option<String>,
    pub primary_key: Option<ViewPrimaryKey>,
    /// The first parameter, which must be `&ViewContext` or `&AnonymousViewContext`.
    pub ctx: Option<&'a syn::PatType>,
    /// The parameters after the context. Their names are written as the source spells
    /// them (`r#type` stays raw), as SpacetimeDB's macro describes view parameters.
    pub params: Vec<Param<'a>>,
    pub ret: Option<&'a Type>,
}

impl<'a> View<'a> {
    pub fn from_ast(cx: &Ctxt, args: ViewArgs, item: &'a ItemFn) -> View<'a> {
        let Signature { ctx, params, ret } = Signature::from_ast(
            cx,
            item,
            "a view is a free function: remove `self` and take `ctx: &ViewContext` or `ctx: &AnonymousViewContext` first",
            Ident::to_string,
        );
        View {
            original: item,
            ident: &item.sig.ident,
            name: args.accessor.map(|a| a.unraw().to_string()),
            canonical_name: args.canonical_name.as_ref().map(LitStr::value),
            primary_key: args.primary_key,
            ctx,
            params,
            ret,
        }
    }

    /// The context type without its reference, when the context is a shared reference.
    pub fn ctx_type(&self) -> Option<&'a Type> {
        match self.ctx.map(|ctx| &*ctx.ty) {
            Some(Type::Reference(r)) if r.mutability.is_none() => Some(&r.elem),
            _ => None,
        }
    }

    /// The row type `T` of a `Vec<T>`, `Option<T>`, `RawQuery<T>` or `impl Query<T>` return
    /// type.
    pub fn row_type(&self) -> Option<&'a Type> {
        if let Some(row) = self.query_row_type() {
            return Some(row);
        }
        let Type::Path(path) = self.ret? else {
            return None;
        };
        let last = path.path.segments.last()?;
        if !["Vec", "Option", "RawQuery"].iter().any(|name| last.ident == name) {
            return None;
        }
        first_type_argument(&last.arguments)
    }

    /// `T`, when the view returns `impl Query<T>`: its result is then a query, which the
    /// generated code turns into a `RawQuery<T>`.
    pub fn query_row_type(&self) -> Option<&'a Type> {
        let Type::ImplTrait(bounds) = self.ret? else {
            return None;
        };
        bounds.bounds.iter().find_map(|bound| match bound {
            syn::TypeParamBound::Trait(t) => {
                let last = t.path.segments.last()?;
                (last.ident == "Query").then(|| first_type_argument(&last.arguments))?
            }
            _ => None,
        })
    }
}

/// The first type argument of `Name<T, ..>`.
fn first_type_argument(arguments: &syn::PathArguments) -> Option<&Type> {
    match arguments {
        syn::PathArguments::AngleBracketed(args) => match args.args.first()? {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        },
        _ => None,
    }
}
