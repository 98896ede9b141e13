//! The table handle, `{table}__TableHandle`, and its read-only counterpart,
//! `{table}__ViewHandle`: the zero-sized types `ctx.db.{accessor}()` returns (through an
//! accessor trait on `Local`, or on `LocalReadOnly` for the read-only one), and the
//! `Table` impl that ties the handle to the row type, its constraint errors and its
//! generated columns.

use super::Names;
use crate::gen::private;
use crate::model::Table;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Ident;

/// The accessor traits: `{accessor}` on `Local` for the table handle, `{table}__view` on
/// `LocalReadOnly` for the read-only one.
pub(super) fn accessor_traits(t: &Table<'_>, names: &Names) -> TokenStream {
    let p = private();
    let span = t.accessor.span();
    let view_trait = format_ident!("{}__view", t.table_name);
    let read_write = accessor_trait(t, &t.accessor, quote_spanned!(span=> #p::Local), &names.handle);
    let read_only = accessor_trait(
        t,
        &view_trait,
        quote_spanned!(span=> #p::LocalReadOnly),
        &names.view_handle,
    );
    quote!(#read_write #read_only)
}

/// The trait `name` whose method `{accessor}` returns `&handle`, implemented for
/// `receiver`; spanned at the accessor name, so that a clash with another table's accessor
/// points there.
fn accessor_trait(t: &Table<'_>, name: &Ident, receiver: TokenStream, handle: &Ident) -> TokenStream {
    let (vis, accessor) = (t.vis, &t.accessor);
    quote_spanned! {accessor.span()=>
        #[allow(non_camel_case_types, dead_code)]
        #vis trait #name {
            #[allow(non_camel_case_types, dead_code)]
            fn #accessor(&self) -> &#handle;
        }
        impl #name for #receiver {
            fn #accessor(&self) -> &#handle {
                &#handle {}
            }
        }
    }
}

/// The two handle types.
pub(super) fn handle_types(t: &Table<'_>, names: &Names) -> TokenStream {
    let vis = t.vis;
    let Names {
        handle, view_handle, ..
    } = names;
    quote! {
        #[allow(non_camel_case_types)]
        #[non_exhaustive]
        #vis struct #handle {}

        #[allow(non_camel_case_types)]
        #[non_exhaustive]
        #vis struct #view_handle {}
    }
}

/// `impl Table for {table}__TableHandle`: the row type, which constraint errors an insert
/// can return (`Infallible` when the table has no unique column or no sequence), and how
/// an insert's generated column values are written back into the row.
pub(super) fn table_impl(t: &Table<'_>, names: &Names) -> TokenStream {
    let p = private();
    let row = t.ident;
    let handle = &names.handle;
    let unique_err = if t.unique_columns().next().is_none() {
        quote!(#p::Infallible)
    } else {
        quote!(#p::UniqueConstraintViolation)
    };
    let auto_inc_err = if t.sequences().next().is_none() {
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
    quote! {
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
    }
}
