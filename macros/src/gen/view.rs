//! `#[view]`: a marker type named like the function, its `ViewInfo` impl with the
//! dispatch function (which turns an `impl Query<T>` result into the `RawQuery<T>` the host
//! runs), the compile-time checks of the parameter and primary-key types (the
//! context and return types are checked once, by the bounds of `ViewInfo`'s associated
//! types, at the user's tokens), and the describer export (named after the accessor, so views sort
//! among tables and reducers as SpacetimeDB's do).

use super::{describer_symbol, private};
use crate::model::View;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// Generates the items of `v`; `None` when the model lacks what generation needs (the
/// missing accessor or context was reported already).
pub fn expand(v: &View<'_>) -> Option<TokenStream> {
    let p = private();
    let name = v.name.as_ref()?;
    let ctx_ty = v.ctx_type()?;
    let ret_ty = v.ret?;
    let ident = v.ident;
    let vis = &v.original.vis;

    let arg_checks = v.params.iter().map(|param| {
        let ty = param.ty;
        quote_spanned!(ty.span()=> #p::assert_view_arg::<#ty>();)
    });
    let key_check = v
        .primary_key
        .as_ref()
        .and_then(|pk| pk.ident.as_ref())
        .zip(v.row_type())
        .map(|(column, row)| {
            quote_spanned! {column.span()=>
                const _: () = {
                    fn __assert_view_primary_key(__row: &#row) {
                        #p::assert_view_primary_key_column(&__row.#column);
                    }
                };
            }
        });

    let arg_tys: Vec<_> = v.params.iter().map(|param| param.ty).collect();
    let arg_vars: Vec<_> = (0..v.params.len()).map(|i| format_ident!("__arg{}", i)).collect();
    let arg_names = v.params.iter().map(|param| match &param.name {
        Some(n) => quote!(#p::Some(#n)),
        None => quote!(#p::None),
    });
    let optional = |value: Option<&String>| match value {
        Some(n) => quote!(#p::Some(#n)),
        None => quote!(#p::None),
    };
    let canonical = optional(v.canonical_name.as_ref());
    let primary_key = optional(v.primary_key.as_ref().map(|pk| &pk.name));
    let symbol = describer_symbol(name);
    let call = quote_spanned!(ident.span()=> #ident(__ctx, #(#arg_vars),*));
    // `impl Query<T>` is opaque: its SQL text becomes the `RawQuery<T>` the host reads.
    let (ret_ty, call) = match v.query_row_type() {
        Some(row) => (
            quote!(#p::RawQuery<#row>),
            quote!(#p::RawQuery::new(#p::Query::into_sql(#call))),
        ),
        None => (quote!(#ret_ty), call),
    };

    Some(quote! {
        #[allow(non_camel_case_types, dead_code)]
        #[doc(hidden)]
        #vis struct #ident {
            _never: #p::Infallible,
        }

        const _: () = {
            #(#arg_checks)*
        };

        #key_check

        const _: () = {
            fn __invoke(__ctx: &#ctx_ty, __args: &[u8]) -> #p::Vec<u8> {
                let (#(#arg_vars,)*) = #p::decode_view_args::<(#(#arg_tys,)*)>(#name, __args);
                #p::encode_view_result::<#ident>(#call)
            }

            #[automatically_derived]
            impl #p::ViewInfo for #ident {
                const NAME: &'static str = #name;
                const CANONICAL_NAME: #p::Option<&'static str> = #canonical;
                const ARG_NAMES: &'static [#p::Option<&'static str>] = &[#(#arg_names),*];
                const PRIMARY_KEY: #p::Option<&'static str> = #primary_key;
                type Context = #ctx_ty;
                type Args = (#(#arg_tys,)*);
                type Ret = #ret_ty;
                const INVOKE: #p::ViewFn<#ctx_ty> = __invoke;
            }

            #[unsafe(export_name = #symbol)]
            extern "C" fn __register_describer() {
                #p::register_view::<#ident>()
            }
        };
    })
}
