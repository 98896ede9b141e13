//! `#[spacetimedb::http::handler]` and `#[spacetimedb::http::router]` (unstable upstream).
//!
//! A handler is `fn(&mut HandlerContext, Request) -> Response`. The function is renamed
//! `__spacetimedb_http_handler_<name>` and a `Handler` constant takes its name, so routes
//! refer to it by the name the author wrote; it registers at
//! `__preinit__20_register_http_handler_<name>`. The router is a function of no arguments
//! returning `Router`, registered at `__preinit__30_register_http_router` (after every
//! handler), as SpacetimeDB's macros do.

use crate::gen::private;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::ItemFn;

/// Expands `#[handler] item`.
pub fn handler(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "handler", generate_handler)
}

/// Expands `#[router] item`.
pub fn router(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "router", generate_router)
}

fn expand(
    args: TokenStream,
    item: TokenStream,
    what: &str,
    generate: fn(&ItemFn) -> syn::Result<TokenStream>,
) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let errors = syn::Error::new(e.span(), format!("`#[{what}]` goes on a function: {e}")).to_compile_error();
            return quote!(#item #errors);
        }
    };
    if !args.is_empty() {
        let errors = syn::Error::new_spanned(&args, format!("`#[{what}]` takes no arguments")).to_compile_error();
        return quote!(#item #errors);
    }
    match generate(&function) {
        Ok(generated) => generated,
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#function #errors)
        }
    }
}

fn check_plain(function: &ItemFn, what: &str) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new_spanned(asyncness, format!("{what} cannot be `async`")));
    }
    if sig.generics.type_params().next().is_some() || sig.generics.const_params().next().is_some() {
        return Err(syn::Error::new_spanned(
            &sig.generics,
            format!("{what} cannot be generic"),
        ));
    }
    Ok(())
}

fn generate_handler(function: &ItemFn) -> syn::Result<TokenStream> {
    check_plain(function, "HTTP handlers")?;
    let sig = &function.sig;
    let mut types = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Typed(t) => types.push(&t.ty),
            syn::FnArg::Receiver(r) => {
                return Err(syn::Error::new_spanned(
                    r,
                    "an HTTP handler is a free function: remove `self`",
                ))
            }
        }
    }
    let [ctx_ty, request_ty] = types[..] else {
        return Err(syn::Error::new_spanned(
            sig,
            "HTTP handlers take exactly two arguments: `ctx: &mut HandlerContext, request: Request`",
        ));
    };
    let syn::ReturnType::Type(_, ret_ty) = &sig.output else {
        return Err(syn::Error::new_spanned(
            sig,
            "HTTP handlers must return `spacetimedb::http::Response`",
        ));
    };
    let p = private();
    let ident = &sig.ident;
    let name = ident.unraw().to_string();
    let vis = &function.vis;
    let inner = format_ident!("__spacetimedb_http_handler_{}", name, span = ident.span());
    let mut inner_fn = function.clone();
    inner_fn.sig.ident = inner.clone();
    let symbol = format!("__preinit__20_register_http_handler_{name}");
    let checks = [
        quote_spanned!(ctx_ty.span()=> #p::assert_http_handler_context_arg::<#ctx_ty>();),
        quote_spanned!(request_ty.span()=> #p::assert_http_handler_request_arg::<#request_ty>();),
        quote_spanned!(ret_ty.span()=> #p::assert_http_handler_return::<#ret_ty>();),
    ];
    Ok(quote! {
        #[allow(non_snake_case)]
        #inner_fn

        #[allow(non_upper_case_globals)]
        #vis const #ident: #p::Handler = #p::Handler::new(#name);

        const _: () = {
            #(#checks)*
        };

        const _: () = {
            #[unsafe(export_name = #symbol)]
            extern "C" fn __register_http_handler() {
                #p::register_http_handler(#name, #inner as #p::HttpHandlerFn)
            }
        };
    })
}

fn generate_router(function: &ItemFn) -> syn::Result<TokenStream> {
    check_plain(function, "the HTTP router function")?;
    let sig = &function.sig;
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            "the HTTP router function takes no arguments: `fn router() -> Router`",
        ));
    }
    let p = private();
    let ident = &sig.ident;
    let check = quote_spanned!(sig.output.span()=> let _: fn() -> #p::Router = #ident;);
    Ok(quote! {
        #function

        const _: () = {
            fn __assert_router() {
                #check
            }

            #[unsafe(export_name = "__preinit__30_register_http_router")]
            extern "C" fn __register_http_router() {
                #p::register_http_router(#ident)
            }
        };
    })
}
