//! `#[settings]` on a `const` named after a module setting: registers its value with the
//! module definition before anything else is described.

use crate::gen::private;
use proc_macro2::TokenStream;
use quote::quote;

/// The settings a module can declare.
const KNOWN_SETTINGS: &[&str] = &["CASE_CONVERSION_POLICY"];

pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(
            args,
            "`#[settings]` takes no arguments: write `#[settings]` on the `const`",
        ));
    }
    let item: syn::ItemConst = syn::parse2(item)
        .map_err(|e| syn::Error::new(e.span(), "`#[settings]` goes on a `const`, e.g. `const CASE_CONVERSION_POLICY: CaseConversionPolicy = CaseConversionPolicy::None;`"))?;
    let ident = &item.ident;
    let name = ident.to_string();
    if !KNOWN_SETTINGS.contains(&name.as_str()) {
        return Err(syn::Error::new_spanned(
            ident,
            format!(
                "unknown setting `{name}`; the known settings are: {}",
                KNOWN_SETTINGS.join(", ")
            ),
        ));
    }
    let p = private();
    // A fixed symbol per setting, so that declaring one twice fails to link. `05` sorts
    // before the describers (`20`), so the setting is the first section, as upstream.
    let symbol = format!("__preinit__05_setting_{name}");
    Ok(quote! {
        #item

        const _: () = {
            #[unsafe(export_name = #symbol)]
            extern "C" fn __register_setting() {
                #p::register_case_conversion_policy(#ident)
            }
        };
    })
}
