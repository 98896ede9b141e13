//! Procedural macros for Spacetime modules: `#[table]`, `#[reducer]`, `#[view]`,
//! `#[procedure]` (in `procedure.rs`), `#[derive(SpacetimeType)]` (and
//! `Serialize`/`Deserialize`), `duration!`, `#[settings]`, `#[client_visibility_filter]`,
//! and 2.14's `#[env]` with `#[derive(EnvironmentValue)]` (in `env.rs`).
//!
//! Each macro works in three stages, as serde_derive does: `attr.rs` parses attributes into
//! typed structs, `model.rs` builds the item with spans back into the input, `check.rs`
//! applies the rules between attributes, and `gen/` generates code from the model alone.
//! Errors are collected in a [`ctxt::Ctxt`] and reported together; on error the original
//! item is emitted unchanged next to the `compile_error!`s, so the user's own code still
//! resolves and errors do not cascade.
//!
//! User documentation lives at the `#[doc(inline)]` re-exports in the `spacetimedb`
//! (bindings) crate; this crate documents only its internals. Rustdoc would append an entry
//! point's own doc comment to the re-export's, so each entry point carries
//! `#[allow(missing_docs)]` instead; the crate-level `deny` makes every new public item
//! either documented or exempted on purpose.
#![deny(missing_docs)]

mod attr;
mod check;
mod ctxt;
mod duration;
mod env;
mod gen;
mod http;
mod model;
mod procedure;
mod rls;
mod settings;
mod symbol;

use ctxt::Ctxt;
use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn table(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let mut input: syn::DeriveInput = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(e) => {
            let errors = e.to_compile_error();
            return quote!(#item #errors).into();
        }
    };
    add_table_helper(&mut input);
    let cx = Ctxt::new();
    let args = attr::TableArgs::parse(&cx, args.into(), &input.ident);
    let model = model::Table::from_ast(&cx, args, &input);
    if let Some(model) = &model {
        check::check_table(&cx, model);
    }
    let generated = model.as_ref().map(gen::table::expand);
    match cx.check() {
        Ok(()) => quote!(#input #generated).into(),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#input #errors).into()
        }
    }
}

/// Appends `#[derive(__TableHelper)]` unless an earlier `#[table]` on the same struct did.
///
/// The derive implements `SpacetimeType` for the row and declares the column attributes
/// (`#[primary_key]` …) as its helpers. It goes last so that every `#[table]` attribute
/// expands before it and still sees the column attributes.
fn add_table_helper(input: &mut syn::DeriveInput) {
    let present = input
        .attrs
        .iter()
        .any(|a| a.path().is_ident("derive") && quote!(#a).to_string().contains("__TableHelper"));
    if !present {
        input
            .attrs
            .push(syn::parse_quote!(#[derive(::spacetimedb::__private::__TableHelper)]));
    }
}

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn reducer(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let msg = syn::Error::new(e.span(), format!("`#[reducer]` goes on a function: {e}"));
            let errors = msg.to_compile_error();
            return quote!(#item #errors).into();
        }
    };
    let cx = Ctxt::new();
    let args = attr::ReducerArgs::parse(&cx, args.into());
    let model = model::Reducer::from_ast(&cx, args, &function);
    check::check_reducer(&cx, &model);
    let generated = gen::reducer::expand(&model);
    match cx.check() {
        Ok(()) => quote!(#function #generated).into(),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#function #errors).into()
        }
    }
}

fn derive_sats(input: TokenStream, derive: gen::sats::Derive) -> TokenStream {
    let input = match syn::parse::<syn::DeriveInput>(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error().into(),
    };
    let cx = Ctxt::new();
    let model = model::Container::from_ast(&cx, &input);
    if let Some(model) = &model {
        check::check_container(&cx, model);
    }
    let generated = model.as_ref().map(|model| gen::sats::expand(model, derive));
    match cx.check() {
        Ok(()) => quote!(#generated).into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[allow(missing_docs)]
#[proc_macro_derive(SpacetimeType, attributes(sats))]
pub fn spacetime_type(input: TokenStream) -> TokenStream {
    derive_sats(input, gen::sats::Derive::SpacetimeType)
}

#[allow(missing_docs)]
#[proc_macro_derive(Serialize, attributes(sats))]
pub fn serialize(input: TokenStream) -> TokenStream {
    derive_sats(input, gen::sats::Derive::Serialize)
}

#[allow(missing_docs)]
#[proc_macro_derive(Deserialize, attributes(sats))]
pub fn deserialize(input: TokenStream) -> TokenStream {
    derive_sats(input, gen::sats::Derive::Deserialize)
}

/// The row-type derive `#[table]` adds; not for direct use.
#[doc(hidden)]
#[proc_macro_derive(__TableHelper, attributes(sats, primary_key, unique, auto_inc, index, default))]
pub fn table_helper(input: TokenStream) -> TokenStream {
    derive_sats(input, gen::sats::Derive::SpacetimeType)
}

#[allow(missing_docs)]
#[proc_macro]
pub fn duration(input: TokenStream) -> TokenStream {
    match duration::expand(input.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn view(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let function: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let msg = syn::Error::new(e.span(), format!("`#[view]` goes on a function: {e}"));
            let errors = msg.to_compile_error();
            return quote!(#item #errors).into();
        }
    };
    let cx = Ctxt::new();
    let args = attr::ViewArgs::parse(&cx, args.into(), &function.sig.ident);
    let model = model::View::from_ast(&cx, args, &function);
    check::check_view(&cx, &model);
    let generated = gen::view::expand(&model);
    match cx.check() {
        Ok(()) => quote!(#function #generated).into(),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#function #errors).into()
        }
    }
}

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn env(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    match env::expand(args.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#item #errors).into()
        }
    }
}

#[allow(missing_docs)]
#[proc_macro_derive(EnvironmentValue, attributes(env))]
pub fn environment_value(input: TokenStream) -> TokenStream {
    match env::derive_value(input.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn procedure(args: TokenStream, item: TokenStream) -> TokenStream {
    procedure::expand(args.into(), item.into()).into()
}

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn settings(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    match settings::expand(args.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#item #errors).into()
        }
    }
}

#[allow(missing_docs)]
#[proc_macro_attribute]
pub fn client_visibility_filter(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    match rls::expand(args.into(), item.clone()) {
        Ok(tokens) => tokens.into(),
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#item #errors).into()
        }
    }
}

/// `#[spacetimedb::http::handler]`: see the bindings' `spacetimedb::http::handler`.
#[proc_macro_attribute]
pub fn http_handler(args: TokenStream, item: TokenStream) -> TokenStream {
    http::handler(args.into(), item.into()).into()
}

/// `#[spacetimedb::http::router]`: see the bindings' `spacetimedb::http::router`.
#[proc_macro_attribute]
pub fn http_router(args: TokenStream, item: TokenStream) -> TokenStream {
    http::router(args.into(), item.into()).into()
}
