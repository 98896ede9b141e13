//! `#[view]`: a SpacetimeDB 2.x module feature that Spacetime does not
//! run (the server rejects them at publish). The attributes exist so that a module written
//! for SpacetimeDB fails to compile with one error that names the feature and the
//! alternative, instead of an unresolved-macro error.

use proc_macro2::{Span, TokenStream};

/// A feature this crate recognises but does not support.
pub struct Unsupported {
    pub attribute: &'static str,
    pub what: &'static str,
    pub instead: &'static str,
}

pub const VIEW: Unsupported = Unsupported {
    attribute: "view",
    what: "views",
    instead:
        "write the rows a client should see into a public table from a reducer, or let clients subscribe to a query",
};

/// The error, at the name of the function or `const` it is on. The item is dropped: it
/// names types (contexts, `Filter`) that do not exist here and would only add errors.
pub fn expand(feature: &Unsupported, item: TokenStream) -> TokenStream {
    let span = match (
        syn::parse2::<syn::ItemFn>(item.clone()),
        syn::parse2::<syn::ItemConst>(item),
    ) {
        (Ok(f), _) => f.sig.ident.span(),
        (_, Ok(c)) => c.ident.span(),
        _ => Span::call_site(),
    };
    let message = format!(
        "`#[{}]` is not supported: Spacetime does not run SpacetimeDB {} (the server rejects them at publish); {}",
        feature.attribute, feature.what, feature.instead
    );
    syn::Error::new(span, message).to_compile_error()
}
