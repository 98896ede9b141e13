//! `#[client_visibility_filter]` on a `const` of type `Filter`: registers the filter's SQL
//! as a row-level security rule of the module definition. The SQL is checked by the
//! server at publish (a filter that does not parse or check refuses the publish), not here.

use crate::gen::private;
use proc_macro2::TokenStream;
use quote::quote;

pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(
            args,
            "`#[client_visibility_filter]` takes no arguments: write it on a `const F: Filter = Filter::Sql(\"…\");`",
        ));
    }
    let item: syn::ItemConst = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[client_visibility_filter]` goes on a `const`, e.g. \
             `const MINE: Filter = Filter::Sql(\"SELECT * FROM item WHERE owner = :sender\");`",
        )
    })?;
    let ident = &item.ident;
    let p = private();
    // One symbol per filter, named after the const, so the host runs the registrations in
    // name order (as upstream's crate does); two filters of one name fail to link.
    let symbol = format!("__preinit__20_register_row_level_security_{ident}");
    Ok(quote! {
        #item

        const _: () = {
            #[unsafe(export_name = #symbol)]
            extern "C" fn __register_row_level_security() {
                #p::register_row_level_security(#ident.sql_text())
            }
        };
    })
}
