//! The table's part of the query builder: `ctx.from.{accessor}()` (the trait
//! `{accessor}__query` on `QueryBuilder`) and, for the row type, its columns
//! (`{Row}Cols`, `HasCols`), its single-column indexes as join keys (`{Row}IxCols`,
//! `HasIxCols`) and, unless the table is an event table, `CanBeLookupTable`.
//!
//! A row type shared by several `#[table]`s gets its column types once, from the last of
//! them (the one that sees no other `#[table]` left on the struct), since each impl may
//! exist only once.

use crate::gen::private;
use crate::model::Table;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

/// Whether another `#[table]` on the struct is still to expand.
fn more_tables(t: &Table<'_>) -> bool {
    t.original
        .attrs
        .iter()
        .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "table"))
}

pub(super) fn query_items(t: &Table<'_>) -> TokenStream {
    let p = private();
    let (vis, row, accessor) = (t.vis, t.ident, &t.accessor);
    let name = &t.table_name;
    let query_trait = format_ident!("{}__query", t.table_name);
    let accessor_trait = quote_spanned! {accessor.span()=>
        #[allow(non_camel_case_types, dead_code)]
        #vis trait #query_trait {
            /// This table, to build a query from.
            fn #accessor(&self) -> #p::QueryTable<#row> {
                #p::QueryTable::new(#name)
            }
        }
        impl #query_trait for #p::QueryBuilder {}
    };
    if more_tables(t) {
        return accessor_trait;
    }
    let cols = format_ident!("{}Cols", row);
    let ix_cols = format_ident!("{}IxCols", row);
    let (fields, tys): (Vec<_>, Vec<_>) = t.columns.iter().map(|c| (c.ident, c.ty)).unzip();
    let indexed: Vec<_> = (t.indexes.iter())
        .filter_map(|ix| match ix.columns.as_slice() {
            [one] => Some((&ix.accessor, t.column(one.position?)?)),
            _ => None,
        })
        .collect();
    let (ix_fields, ix_columns): (Vec<_>, Vec<_>) = indexed.into_iter().unzip();
    let ix_tys = ix_columns.iter().map(|c| c.ty);
    let ix_names = ix_columns.iter().map(|c| c.ident);
    let lookup = (!t.event).then(|| quote!(impl #p::CanBeLookupTable for #row {}));
    quote! {
        #accessor_trait

        /// The columns of a query over this row type's table.
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #cols {
            #(pub #fields: #p::Col<#row, #tys>,)*
        }

        impl #p::HasCols for #row {
            type Cols = #cols;
            fn cols(__table: &'static str) -> #cols {
                #cols {
                    #(#fields: #p::Col::new(__table, stringify!(#fields)),)*
                }
            }
        }

        /// The single-column indexes of this row type's table, the keys a query joins on.
        #[allow(non_camel_case_types, dead_code)]
        #vis struct #ix_cols {
            #(pub #ix_fields: #p::IxCol<#row, #ix_tys>,)*
        }

        impl #p::HasIxCols for #row {
            type IxCols = #ix_cols;
            fn ix_cols(__table: &'static str) -> #ix_cols {
                #ix_cols {
                    #(#ix_fields: #p::IxCol::new(__table, stringify!(#ix_names)),)*
                }
            }
        }

        #lookup
    }
}
