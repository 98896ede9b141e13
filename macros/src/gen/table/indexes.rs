//! The indexes of a table: one method per index on the table handle and on the read-only
//! handle (named after the column for a unique index, after the accessor otherwise), the
//! zero-sized marker type per index that resolves its id, and the index descriptions the
//! module definition lists.

use super::{option_str, Names};
use crate::attr::Algo;
use crate::gen::private;
use crate::model::{Index, Table};
use proc_macro2::TokenStream;
use quote::quote;
use syn::Ident;

/// Whether an index method belongs to the table handle or the read-only one.
#[derive(Clone, Copy)]
enum Flavor {
    ReadWrite,
    ReadOnly,
}

/// The inherent impls of both handles: their index methods, and `count` on the
/// read-only one (the table handle has it through `Table`).
pub(super) fn handle_impls(t: &Table<'_>, names: &Names) -> TokenStream {
    let p = private();
    let Names {
        handle,
        view_handle,
        markers,
    } = names;
    let methods = t
        .indexes
        .iter()
        .zip(markers)
        .map(|(ix, marker)| index_method(t, ix, marker, handle, Flavor::ReadWrite));
    let view_methods = t
        .indexes
        .iter()
        .zip(markers)
        .map(|(ix, marker)| index_method(t, ix, marker, handle, Flavor::ReadOnly));
    quote! {
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
    }
}

/// The marker types of all indexes.
pub(super) fn markers(t: &Table<'_>, names: &Names) -> TokenStream {
    let defs = t
        .indexes
        .iter()
        .zip(&names.markers)
        .map(|(ix, marker)| index_marker(t, ix, marker, &names.handle));
    quote!(#(#defs)*)
}

/// The `IndexDesc` of each index, for `TableInternal::INDEXES`.
pub(super) fn descs<'t>(t: &'t Table<'_>) -> impl Iterator<Item = TokenStream> + 't {
    let p = private();
    t.indexes.iter().map(move |ix| {
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
    })
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
