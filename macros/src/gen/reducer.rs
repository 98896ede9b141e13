//! `#[reducer]`: a marker type named like the function (so schedules can name the
//! reducer), its `FnInfo` impl with the dispatch function, the compile-time signature
//! checks, and the describer export.

use super::{describer_symbol, private};
use crate::attr::LifecycleKind;
use crate::model::Reducer;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

pub fn expand(r: &Reducer<'_>) -> TokenStream {
    let p = private();
    let ident = r.ident;
    let vis = &r.original.vis;
    let name = &r.name;

    let ctx_check = r.ctx.map(|ctx| {
        let ty = &ctx.ty;
        quote_spanned!(ty.span()=> #p::assert_reducer_context_arg::<#ty>();)
    });
    let arg_checks = r.params.iter().map(|param| {
        let ty = param.ty;
        quote_spanned!(ty.span()=> #p::assert_reducer_arg::<#ty>();)
    });
    let ret_check = r
        .ret
        .map(|ty| quote_spanned!(ty.span()=> #p::assert_reducer_return::<#ty>();));

    let arg_tys: Vec<_> = r.params.iter().map(|param| param.ty).collect();
    let arg_vars: Vec<_> = (0..r.params.len()).map(|i| format_ident!("__arg{}", i)).collect();
    let arg_names = r.params.iter().map(|param| match &param.name {
        Some(n) => quote!(#p::Some(#n)),
        None => quote!(#p::None),
    });
    let lifecycle = match r.lifecycle {
        Some(LifecycleKind::Init) => quote!(#p::Some(#p::Lifecycle::Init)),
        Some(LifecycleKind::ClientConnected) => quote!(#p::Some(#p::Lifecycle::OnConnect)),
        Some(LifecycleKind::ClientDisconnected) => quote!(#p::Some(#p::Lifecycle::OnDisconnect)),
        Some(LifecycleKind::Update) | None => quote!(#p::None),
    };
    let canonical = match &r.canonical_name {
        Some(n) => quote!(#p::Some(#n)),
        None => quote!(#p::None),
    };
    let symbol = describer_symbol(name);
    let call = quote_spanned!(ident.span()=> #ident(__ctx, #(#arg_vars),*));

    quote! {
        #[allow(non_camel_case_types, dead_code)]
        #[doc(hidden)]
        #vis struct #ident {
            _never: #p::Infallible,
        }

        const _: () = {
            #ctx_check
            #(#arg_checks)*
            #ret_check
        };

        const _: () = {
            fn __invoke(__ctx: &#p::ReducerContext, __args: &[u8]) -> #p::ReducerResult {
                let (#(#arg_vars,)*) = #p::decode_args::<(#(#arg_tys,)*)>(#name, __args)?;
                #p::IntoReducerResult::into_result(#call)
            }

            #[automatically_derived]
            impl #p::FunctionName for #ident {
                const NAME: &'static str = #name;
            }

            #[automatically_derived]
            impl #p::FnInfo for #ident {
                const NAME: &'static str = #name;
                const CANONICAL_NAME: #p::Option<&'static str> = #canonical;
                const LIFECYCLE: #p::Option<#p::Lifecycle> = #lifecycle;
                const ARG_NAMES: &'static [#p::Option<&'static str>] = &[#(#arg_names),*];
                const INVOKE: #p::ReducerFn = __invoke;
                type Args = (#(#arg_tys,)*);
            }

            #[unsafe(export_name = #symbol)]
            extern "C" fn __register_describer() {
                #p::register_reducer::<#ident>()
            }
        };
    }
}
