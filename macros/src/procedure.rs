//! `#[procedure]`: parses the function and its `name = ".."` argument, checks the shape
//! (a free, non-generic, non-async function taking `&mut ProcedureContext` first), and
//! generates a marker type named like the function, its `ProcedureInfo` impl with the
//! dispatch function, the compile-time type checks and the describer export.

use crate::gen::{describer_symbol, private};
use crate::model::Param;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, Meta};

/// Expands `#[procedure(args)] item`.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let errors =
                syn::Error::new(e.span(), format!("`#[procedure]` goes on a function: {e}")).to_compile_error();
            return quote!(#item #errors);
        }
    };
    match generate(args, &function) {
        Ok(generated) => quote!(#function #generated),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#function #errors)
        }
    }
}

/// The canonical name from `name = "..."`, the only argument.
fn parse_args(args: TokenStream) -> syn::Result<Option<LitStr>> {
    let metas = syn::parse::Parser::parse2(
        syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
        args,
    )?;
    let mut name = None;
    for meta in metas {
        match &meta {
            Meta::NameValue(nv) if nv.path.is_ident("name") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s), ..
                }) => name = Some(s.clone()),
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "`name` takes a string literal, e.g. `name = \"my_procedure\"`",
                    ))
                }
            },
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "unknown `#[procedure]` argument; the only one is `name = \"..\"`",
                ))
            }
        }
    }
    Ok(name)
}

fn generate(args: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let canonical = parse_args(args)?;
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            asyncness,
            "procedures cannot be `async`: remove `async`; a procedure blocks on `ctx.http` and `with_tx`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&sig.generics, "procedures cannot be generic"));
    }
    let mut typed = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Typed(t) => typed.push(t),
            syn::FnArg::Receiver(r) => {
                return Err(syn::Error::new_spanned(
                    r,
                    "a procedure is a free function: remove `self` and take `ctx: &mut ProcedureContext` first",
                ))
            }
        }
    }
    let mut typed = typed.into_iter();
    let Some(ctx) = typed.next() else {
        return Err(syn::Error::new_spanned(
            sig,
            format!(
                "a procedure's first parameter must be `ctx: &mut ProcedureContext`: write `fn {}(ctx: &mut ProcedureContext, ..)`",
                sig.ident
            ),
        ));
    };
    let params: Vec<Param<'_>> = typed
        .map(|t| Param {
            name: match &*t.pat {
                syn::Pat::Ident(p) => Some(p.ident.unraw().to_string()),
                _ => None,
            },
            ty: &t.ty,
        })
        .collect();

    let p = private();
    let ident = &sig.ident;
    let vis = &function.vis;
    let name = ident.unraw().to_string();
    let ctx_ty = &ctx.ty;
    let ctx_check = quote_spanned!(ctx_ty.span()=> #p::assert_procedure_context_arg::<#ctx_ty>(););
    let arg_checks = params.iter().map(|param| {
        let ty = param.ty;
        quote_spanned!(ty.span()=> #p::assert_reducer_arg::<#ty>();)
    });
    let ret_ty = match &sig.output {
        syn::ReturnType::Default => quote!(()),
        syn::ReturnType::Type(_, ty) => quote!(#ty),
    };
    let ret_check = quote_spanned!(sig.output.span()=> #p::assert_procedure_return::<#ret_ty>(););
    let arg_tys: Vec<_> = params.iter().map(|param| param.ty).collect();
    let arg_vars: Vec<_> = (0..params.len()).map(|i| format_ident!("__arg{}", i)).collect();
    let arg_names = params.iter().map(|param| match &param.name {
        Some(n) => quote!(#p::Some(#n)),
        None => quote!(#p::None),
    });
    let canonical = match &canonical {
        Some(n) => quote!(#p::Some(#n)),
        None => quote!(#p::None),
    };
    let symbol = describer_symbol(&name);
    let call = quote_spanned!(ident.span()=> #ident(__ctx, #(#arg_vars),*));

    Ok(quote! {
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
            fn __invoke(__ctx: &mut #p::ProcedureContext, __args: &[u8]) -> #p::Vec<u8> {
                let (#(#arg_vars,)*) = #p::decode_procedure_args::<(#(#arg_tys,)*)>(#name, __args);
                let __value: #ret_ty = #call;
                #p::to_vec(&__value)
            }

            #[automatically_derived]
            impl #p::FunctionName for #ident {
                const NAME: &'static str = #name;
            }

            #[automatically_derived]
            impl #p::ProcedureInfo for #ident {
                const NAME: &'static str = #name;
                const CANONICAL_NAME: #p::Option<&'static str> = #canonical;
                const ARG_NAMES: &'static [#p::Option<&'static str>] = &[#(#arg_names),*];
                const INVOKE: #p::ProcedureFn = __invoke;
                type Args = (#(#arg_tys,)*);
                type Ret = #ret_ty;
            }

            #[unsafe(export_name = #symbol)]
            extern "C" fn __register_describer() {
                #p::register_procedure::<#ident>()
            }
        };
    })
}
