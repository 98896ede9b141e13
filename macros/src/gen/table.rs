//! `#[table]`: the accessor traits on `Local` and `LocalReadOnly`, the table handle with one
//! method per index and its read-only counterpart (`{accessor}__ViewHandle`), the `Table`
//! and `TableInternal` impls, the index marker types, the compile-time checks that need
//! types, and the describer export.

use super::{describer_symbol, private};
use crate::attr::{Access, Algo};
use crate::model::{Index, Table};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

pub fn expand(t: &Table<'_>) -> TokenStream {
    let p = private();
    let vis = t.vis;
    let row = t.ident;
    let accessor = &t.accessor;
    let handle = format_ident!("{}__TableHandle", t.table_name);
    let table_name = &t.table_name;

    let accessor_trait = quote_spanned! {accessor.span()=>
        #[allow(non_camel_case_types, dead_code)]
        #vis trait #accessor {
            #[allow(non_camel_case_types, dead_code)]
            fn #accessor(&self) -> &#handle;
        }
        impl #accessor for #p::Local {
            fn #accessor(&self) -> &#handle {
                &#handle {}
            }
        }
    };

    let view_handle = format_ident!("{}__ViewHandle", t.table_name);
    let view_trait = format_ident!("{}__view", t.table_name);
    let view_accessor_trait = quote_spanned! {accessor.span()=>
        #[allow(non_camel_case_types, dead_code)]
        #vis trait #view_trait {
            #[allow(non_camel_case_types, dead_code)]
            fn #accessor(&self) -> &#view_handle;
        }
        impl #view_trait for #p::LocalReadOnly {
            fn #accessor(&self) -> &#view_handle {
                &#view_handle {}
            }
        }
    };

    let markers: Vec<Ident> = t
        .indexes
        .iter()
        .map(|ix| format_ident!("__index_{}", ix.accessor))
        .collect();
    let methods = t
        .indexes
        .iter()
        .zip(&markers)
        .map(|(ix, marker)| index_method(t, ix, marker, &handle, Flavor::ReadWrite));
    let view_methods = t
        .indexes
        .iter()
        .zip(&markers)
        .map(|(ix, marker)| index_method(t, ix, marker, &handle, Flavor::ReadOnly));
    let marker_defs = t
        .indexes
        .iter()
        .zip(&markers)
        .map(|(ix, marker)| index_marker(t, ix, marker, &handle));
    let index_descs = t.indexes.iter().map(|ix| {
        let source_name = t.index_source_name(ix);
        let accessor_name = ix.accessor.to_string();
        let accessor_name = accessor_name.strip_prefix("r#").unwrap_or(&accessor_name);
        let cols = ix.columns.iter().filter_map(|c| c.position);
        let algo = match ix.algo {
            Algo::BTree => quote!(#p::IndexAlgo::BTree(&[#(#cols),*])),
            Algo::Hash => quote!(#p::IndexAlgo::Hash(&[#(#cols),*])),
            Algo::Direct => quote!(#p::IndexAlgo::Direct(#(#cols)*)),
        };
        let canonical = option_str(ix.canonical_name.as_deref());
        quote!(#p::IndexDesc { source_name: #source_name, accessor_name: #accessor_name, canonical_name: #canonical, algo: #algo })
    });

    let unique_cols: Vec<u16> = t.unique_columns().map(|c| c.index).collect();
    let sequences: Vec<u16> = t.sequences().map(|c| c.index).collect();
    let primary_key = match t.primary_key() {
        Some(c) => {
            let i = c.index;
            quote!(#p::Some(#i))
        }
        None => quote!(#p::None),
    };
    let access = match t.access {
        Access::Public => quote!(#p::TableAccess::Public),
        Access::Private => quote!(#p::TableAccess::Private),
    };
    let is_event = t.event;
    let canonical_name = option_str(t.canonical_name.as_deref());
    let unique_err = if unique_cols.is_empty() {
        quote!(#p::Infallible)
    } else {
        quote!(#p::UniqueConstraintViolation)
    };
    let auto_inc_err = if sequences.is_empty() {
        quote!(#p::Infallible)
    } else {
        quote!(#p::AutoIncOverflow)
    };

    // Spanned at the column type: for a non-integer `#[auto_inc]` column, this is where the
    // `SequenceTrigger` diagnostic points.
    let integrate = t.sequences().map(|c| {
        let (field, ty) = (c.ident, c.ty);
        quote_spanned!(ty.span()=> <#ty as #p::SequenceTrigger>::maybe_decode_into(&mut __row.#field, &mut __generated);)
    });

    let defaults = t.columns.iter().filter_map(|c| {
        let expr = c.attrs.default.as_ref()?;
        let index = c.index;
        let ty = c.ty;
        // A `String` column takes a string literal, as a `&'static str`.
        let value_ty = if is_string(ty) {
            quote!(&'static str)
        } else {
            quote!(#ty)
        };
        Some(quote_spanned!(expr.span()=> (#index, #p::to_vec::<#value_ty>(&{ let __v: #value_ty = #expr; __v }))))
    });

    let (schedule, schedule_checks) = match (&t.schedule, t.primary_key()) {
        (Some(s), Some(pk)) => {
            let reducer = &s.reducer;
            let at = s.at.as_ref().and_then(|at| at.position.and_then(|pos| t.column(pos)));
            match at {
                Some(at_col) => {
                    let at_index = at_col.index;
                    let at_ty = at_col.ty;
                    let pk_ty = pk.ty;
                    let desc = quote!(#p::Some(#p::ScheduleDesc {
                        reducer_name: <#reducer as #p::FnInfo>::NAME,
                        scheduled_at_column: #at_index,
                    }));
                    let checks = quote! {
                        #p::scheduled_typecheck::<#row, #reducer>();
                        #p::assert_scheduled_table_primary_key::<#pk_ty>();
                        #p::assert_schedule_at_column::<#at_ty>();
                    };
                    (desc, checks)
                }
                None => (quote!(#p::None), TokenStream::new()),
            }
        }
        _ => (quote!(#p::None), TokenStream::new()),
    };

    let column_checks = t.columns.iter().map(|c| {
        let ty = c.ty;
        quote_spanned!(ty.span()=> #p::assert_table_column::<#ty>();)
    });
    let direct_checks = t.indexes.iter().filter(|ix| ix.algo == Algo::Direct).filter_map(|ix| {
        let col = ix
            .columns
            .first()
            .and_then(|c| c.position)
            .and_then(|pos| t.column(pos))?;
        let ty = col.ty;
        Some(quote_spanned!(ty.span()=> #p::assert_direct_index_key::<#ty>();))
    });

    let symbol = describer_symbol(table_name);

    quote! {
        #accessor_trait
        #view_accessor_trait

        #[allow(non_camel_case_types)]
        #[non_exhaustive]
        #vis struct #handle {}

        #[allow(non_camel_case_types)]
        #[non_exhaustive]
        #vis struct #view_handle {}

        const _: () = {
            #(#column_checks)*
            #(#direct_checks)*
            #schedule_checks
        };

        const _: () = {
            #[automatically_derived]
            impl #handle {
                #(#methods)*
            }

            #[automatically_derived]
            impl #view_handle {
                /// The number of rows, including this transaction's changes.
                pub fn count(&self) -> u64 {
                    #p::Table::count(&#handle {})
                }

                #(#view_methods)*
            }

            #(#marker_defs)*

            #[automatically_derived]
            impl #p::Table for #handle {
                type Row = #row;
                type UniqueConstraintViolation = #unique_err;
                type AutoIncOverflow = #auto_inc_err;

                #[allow(unused_mut, unused_variables)]
                fn integrate_generated_columns(__row: &mut #row, mut __generated: &[u8]) {
                    #(#integrate)*
                }
            }

            #[automatically_derived]
            impl #p::TableInternal for #handle {
                const TABLE_NAME: &'static str = #table_name;
                const TABLE_ACCESS: #p::TableAccess = #access;
                const UNIQUE_COLUMNS: &'static [u16] = &[#(#unique_cols),*];
                const INDEXES: &'static [#p::IndexDesc] = &[#(#index_descs),*];
                const PRIMARY_KEY: #p::Option<u16> = #primary_key;
                const SEQUENCES: &'static [u16] = &[#(#sequences),*];
                const SCHEDULE: #p::Option<#p::ScheduleDesc> = #schedule;
                const IS_EVENT: bool = #is_event;
                const CANONICAL_NAME: #p::Option<&'static str> = #canonical_name;

                fn table_id() -> #p::TableId {
                    static TABLE_ID: #p::OnceLock<#p::TableId> = #p::OnceLock::new();
                    *TABLE_ID.get_or_init(|| #p::resolve_table_id(#table_name))
                }

                fn default_values() -> #p::Vec<(u16, #p::Vec<u8>)> {
                    #p::Vec::from([#(#defaults),*])
                }
            }

            #[unsafe(export_name = #symbol)]
            extern "C" fn __register_describer() {
                #p::register_table::<#handle>()
            }
        };
    }
}

fn option_str(s: Option<&str>) -> TokenStream {
    let p = private();
    match s {
        Some(s) => quote!(#p::Some(#s)),
        None => quote!(#p::None),
    }
}

fn is_string(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "String"))
}

/// Whether an index method belongs to the table handle or the read-only one.
#[derive(Clone, Copy)]
enum Flavor {
    ReadWrite,
    ReadOnly,
}

/// The handle method of an index: named after the column for a unique index, after the
/// accessor otherwise.
fn index_method(t: &Table<'_>, ix: &Index, marker: &Ident, handle: &Ident, flavor: Flavor) -> TokenStream {
    let p = private();
    let cols: Vec<_> = ix
        .columns
        .iter()
        .filter_map(|c| c.position.and_then(|pos| t.column(pos)))
        .collect();
    if ix.is_unique {
        let Some(col) = cols.first() else {
            return TokenStream::new();
        };
        let (name, ty) = (col.ident, col.ty);
        let (handle_ty, doc) = match flavor {
            Flavor::ReadWrite => (
                quote!(#p::UniqueColumn),
                format!("The unique index on `{name}`: find, delete and (for the primary key) update rows by it."),
            ),
            Flavor::ReadOnly => (
                quote!(#p::UniqueColumnReadOnly),
                format!("The unique index on `{name}`: find rows by it."),
            ),
        };
        quote! {
            #[doc = #doc]
            pub fn #name(&self) -> #handle_ty<#handle, #ty, #marker> {
                #handle_ty::__NEW
            }
        }
    } else {
        let name = &ix.accessor;
        let tys = cols.iter().map(|c| c.ty);
        let names: Vec<String> = cols.iter().map(|c| c.ident.to_string()).collect();
        let doc = format!("The {} index `{name}` on ({}).", ix.algo.name(), names.join(", "));
        let handle_ty = match (ix.algo, flavor) {
            (Algo::BTree | Algo::Direct, Flavor::ReadWrite) => quote!(#p::RangedIndex),
            (Algo::BTree | Algo::Direct, Flavor::ReadOnly) => quote!(#p::RangedIndexReadOnly),
            (Algo::Hash, Flavor::ReadWrite) => quote!(#p::PointIndex),
            (Algo::Hash, Flavor::ReadOnly) => quote!(#p::PointIndexReadOnly),
        };
        quote! {
            #[doc = #doc]
            pub fn #name(&self) -> #handle_ty<#handle, (#(#tys,)*), #marker> {
                #handle_ty::__NEW
            }
        }
    }
}

/// The zero-sized type that identifies an index and resolves its id.
fn index_marker(t: &Table<'_>, ix: &Index, marker: &Ident, handle: &Ident) -> TokenStream {
    let p = private();
    let source_name = t.index_source_name(ix);
    let num_cols = ix.columns.len();
    let kind = match ix.algo {
        Algo::BTree | Algo::Direct => quote!(#p::IndexIsRanged),
        Algo::Hash => quote!(#p::IndexIsPointed),
    };
    let mut out = quote! {
        #[allow(non_camel_case_types)]
        #[doc(hidden)]
        pub struct #marker {}
        impl #kind for #marker {}
        impl #p::Index for #marker {
            const NUM_COLS_INDEXED: usize = #num_cols;
            fn index_id() -> #p::IndexId {
                static INDEX_ID: #p::OnceLock<#p::IndexId> = #p::OnceLock::new();
                *INDEX_ID.get_or_init(|| #p::resolve_index_id(#source_name))
            }
        }
    };
    if ix.is_unique {
        let col = ix
            .columns
            .first()
            .and_then(|c| c.position)
            .and_then(|pos| t.column(pos));
        if let Some(col) = col {
            let (field, ty, row) = (col.ident, col.ty, t.ident);
            out.extend(quote! {
                impl #p::Column for #marker {
                    type Table = #handle;
                    type ColType = #ty;
                    fn get_field(__row: &#row) -> &#ty {
                        &__row.#field
                    }
                }
            });
            if col.attrs.primary_key.is_some() {
                out.extend(quote!(impl #p::PrimaryKey for #marker {}));
            }
        }
    }
    out
}
