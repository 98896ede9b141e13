//! SpacetimeDB 2.14's module environment: `#[env]` on the struct that declares the keys a
//! module reads, and `#[derive(EnvironmentValue)]` on an enum whose variants are the
//! strings a key may hold.
//!
//! `#[env]` keeps the struct (without its `#[env(values(..))]` field attributes) and
//! generates the `<Struct>Access` trait, one accessor per key, implemented for
//! `Environment`, and the export that registers the `Environment` section. Each stage is
//! a function: [`parse_struct`] builds the [`EnvDecl`] model (all checks happen there),
//! [`generate`] reads only the model.

use crate::gen::private;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::collections::BTreeSet;
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::{Fields, Ident, ItemStruct, LitStr, Token, Type};

/// The longest key, in bytes.
const MAX_KEY_LEN: usize = 256;
/// The longest accepted value string, in UTF-8 bytes.
const MAX_LITERAL_LEN: usize = 8192;
/// The most variants an environment value enum may have.
const MAX_VARIANTS: usize = 256;
/// The export that registers the declaration. Fixed, so that a second `#[env]` in one
/// module is a duplicate-symbol error; it sorts after every `register_describer_*`, which
/// puts the `Environment` section where SpacetimeDB's bindings put it.
const REGISTER_SYMBOL: &str = "__preinit__20_register_environment_there_can_only_be_one";

/// One key of the declaration.
struct Key {
    ident: Ident,
    /// The key as the host sees it: the field name without `r#`.
    name: String,
    ty: Type,
    /// `#[env(values(..))]`: the strings a `String` field may hold.
    values: Option<Vec<LitStr>>,
}

/// A parsed `#[env]` struct.
struct EnvDecl {
    /// The struct as it is emitted: `#[env]` field attributes removed.
    item: ItemStruct,
    keys: Vec<Key>,
}

/// Expands `#[env] struct ..`.
pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(
            args,
            "`#[env]` takes no arguments: write `#[spacetimedb::env]`",
        ));
    }
    let item: ItemStruct = syn::parse2(item)
        .map_err(|e| syn::Error::new(e.span(), format!("`#[env]` goes on a struct with named fields: {e}")))?;
    Ok(generate(&parse_struct(item)?))
}

fn parse_struct(mut item: ItemStruct) -> syn::Result<EnvDecl> {
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "an environment declaration cannot be generic: its fields are the keys the module reads",
        ));
    }
    if matches!(item.fields, Fields::Unnamed(_)) {
        return Err(syn::Error::new_spanned(
            &item.fields,
            "an environment declaration needs named fields, one per key: `struct Env { API_KEY: String }`",
        ));
    }
    let mut keys = Vec::new();
    for field in &mut item.fields {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        let name = ident.unraw().to_string();
        if name.len() > MAX_KEY_LEN || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(syn::Error::new_spanned(
                &ident,
                format!("environment keys must be POSIX names (ASCII letters, digits and `_`) of at most {MAX_KEY_LEN} bytes"),
            ));
        }
        let mut values = None;
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("env")) {
            attr.parse_nested_meta(|meta| {
                if !meta.path.is_ident("values") || values.is_some() {
                    return Err(meta.error("expected one `values(\"a\", \"b\", ..)` constraint"));
                }
                let content;
                syn::parenthesized!(content in meta.input);
                let listed = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
                if listed.is_empty() {
                    return Err(meta.error("`values(..)` needs at least one string"));
                }
                if let Some(long) = listed.iter().find(|v| v.value().len() > MAX_LITERAL_LEN) {
                    return Err(syn::Error::new_spanned(
                        long,
                        format!("an environment value is at most {MAX_LITERAL_LEN} UTF-8 bytes"),
                    ));
                }
                values = Some(listed.into_iter().collect());
                Ok(())
            })?;
        }
        field.attrs.retain(|a| !a.path().is_ident("env"));
        keys.push(Key {
            ident,
            name,
            ty: field.ty.clone(),
            values,
        });
    }
    Ok(EnvDecl { item, keys })
}

fn generate(decl: &EnvDecl) -> TokenStream {
    let p = private();
    let item = &decl.item;
    let vis = &item.vis;
    let access = format_ident!("{}Access", item.ident.unraw());
    let declarations = decl.keys.iter().map(|key| {
        let (name, ty) = (&key.name, &key.ty);
        let constraint = match &key.values {
            None => quote!(<#ty as #p::EnvironmentValue>::constraint()),
            Some(values) => quote!(<#ty as #p::StringEnvironmentValue>::with_constraint(
                #p::string_values(&[#(#values),*])
            )),
        };
        quote! {
            #p::RawEnvironmentDeclarationV10 {
                name: #p::String::from(#name),
                ty: #constraint,
                optional: <#ty as #p::EnvironmentValue>::OPTIONAL,
            }
        }
    });
    // `get` stays `Environment::get`, the untyped read.
    let accessors: Vec<&Key> = decl.keys.iter().filter(|k| k.name != "get").collect();
    let signatures = accessors.iter().map(|key| {
        let (ident, ty) = (&key.ident, &key.ty);
        let doc = format!("The environment value `{}`.", key.name);
        quote! {
            #[doc = #doc]
            fn #ident(&self) -> #ty;
        }
    });
    let methods = accessors.iter().map(|key| {
        let (ident, name, ty) = (&key.ident, &key.name, &key.ty);
        quote! {
            fn #ident(&self) -> #ty {
                <#ty as #p::EnvironmentValue>::get(self, #name)
            }
        }
    });
    quote! {
        #[allow(non_snake_case)]
        #item

        /// The typed accessors of this module's environment keys, on `ctx.env`.
        #[allow(non_snake_case)]
        #vis trait #access {
            #(#signatures)*
        }

        #[allow(non_snake_case)]
        impl #access for #p::Environment {
            #(#methods)*
        }

        const _: () = {
            fn __declarations() -> #p::Vec<#p::RawEnvironmentDeclarationV10> {
                ::std::vec![#(#declarations),*]
            }

            #[unsafe(export_name = #REGISTER_SYMBOL)]
            extern "C" fn __register_environment() {
                #p::register_environment(__declarations)
            }
        };
    }
}

/// Expands `#[derive(EnvironmentValue)]` on an enum of unit variants.
pub fn derive_value(input: TokenStream) -> syn::Result<TokenStream> {
    let input: syn::DeriveInput = syn::parse2(input)?;
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "an environment value enum cannot be generic",
        ));
    }
    if let Some(attr) = input.attrs.iter().find(|a| a.path().is_ident("env")) {
        return Err(syn::Error::new_spanned(
            attr,
            "`#[env(value = \"..\")]` goes on the enum's variants, not on the enum",
        ));
    }
    let syn::Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`EnvironmentValue` derives on an enum of unit variants, one per accepted string",
        ));
    };
    if data.variants.is_empty() || data.variants.len() > MAX_VARIANTS {
        return Err(syn::Error::new_spanned(
            &input.ident,
            format!("an environment value enum has 1 to {MAX_VARIANTS} variants"),
        ));
    }
    let mut idents = Vec::new();
    let mut values = Vec::new();
    let mut seen = BTreeSet::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                &variant.fields,
                "environment value variants carry no data: remove the fields",
            ));
        }
        let mut value: Option<LitStr> = None;
        for attr in variant.attrs.iter().filter(|a| a.path().is_ident("env")) {
            attr.parse_nested_meta(|meta| {
                if !meta.path.is_ident("value") || value.is_some() {
                    return Err(meta.error("expected one `value = \"literal\"` mapping"));
                }
                value = Some(meta.value()?.parse()?);
                Ok(())
            })?;
            if value.is_none() {
                return Err(syn::Error::new_spanned(attr, "expected `#[env(value = \"literal\")]`"));
            }
        }
        let value = value.unwrap_or_else(|| LitStr::new(&variant.ident.unraw().to_string(), variant.ident.span()));
        if value.value().len() > MAX_LITERAL_LEN {
            return Err(syn::Error::new_spanned(
                &value,
                format!("an environment value is at most {MAX_LITERAL_LEN} UTF-8 bytes"),
            ));
        }
        if !seen.insert(value.value()) {
            return Err(syn::Error::new_spanned(
                &value,
                "two variants map to the same string: give each a distinct `#[env(value = \"..\")]`",
            ));
        }
        idents.push(&variant.ident);
        values.push(value);
    }
    let p = private();
    let ident = &input.ident;
    Ok(quote! {
        #[automatically_derived]
        impl #p::EnvironmentValue for #ident {
            const OPTIONAL: bool = false;

            fn constraint() -> #p::RawEnvVarTypeV10 {
                #p::string_values(&[#(#values),*])
            }

            fn from_environment(value: #p::Option<#p::String>, key: &str) -> Self {
                match value.as_deref() {
                    #(#p::Some(#values) => Self::#idents,)*
                    #p::Some(_) => ::core::panic!("environment value does not match its declared enum: {}", key),
                    #p::None => ::core::panic!("required environment key is missing: {}", key),
                }
            }
        }

        #[automatically_derived]
        impl #p::RequiredEnvironmentValue for #ident {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parses(item: TokenStream) -> bool {
        expand(TokenStream::new(), item).is_ok()
    }

    #[test]
    fn env_rejects_bad_keys_shapes_and_constraints() {
        assert!(!parses(quote!(
            struct Env {
                #[env(values())]
                A: String,
            }
        )));
        assert!(!parses(quote!(
            struct Env {
                #[env(values("a"), values("b"))]
                A: String,
            }
        )));
        assert!(!parses(quote!(
            struct Env {
                #[env(other)]
                A: String,
            }
        )));
        assert!(!parses(quote!(
            struct Env {
                KEY_WITH_DASH_é: String,
            }
        )));
        assert!(!parses(quote!(
            struct Env(String);
        )));
        assert!(!parses(quote!(
            struct Env<T> {
                A: T,
            }
        )));
        assert!(expand(
            quote!(x),
            quote!(
                struct Env {
                    A: String,
                }
            )
        )
        .is_err());
    }

    #[test]
    fn env_skips_get_and_keeps_raw_names() {
        let decl = parse_struct(syn::parse_quote! {
            pub struct Env {
                A: String,
                #[env(values("x", "y"))] B: Option<String>,
                get: Option<String>,
                r#type: String,
            }
        })
        .unwrap();
        let names: Vec<_> = decl.keys.iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["A", "B", "get", "type"]);
        assert!(
            decl.item.fields.iter().all(|f| f.attrs.is_empty()),
            "#[env] attributes are removed"
        );
        let out = generate(&decl).to_string();
        assert!(!out.contains("fn get"), "`get` gets no accessor: {out}");
        assert!(out.contains("fn r#type"), "{out}");
    }

    #[test]
    fn derive_rejects_bad_enums() {
        for input in [
            quote!(
                struct Value;
            ),
            quote!(
                enum Value {}
            ),
            quote!(
                enum Value<T> {
                    Item(T),
                }
            ),
            quote!(
                enum Value {
                    Item(String),
                }
            ),
            quote!(
                enum Value {
                    #[env()]
                    Item,
                }
            ),
            quote!(
                enum Value {
                    #[env(value = "x", value = "y")]
                    Item,
                }
            ),
            quote!(
                enum Value {
                    #[env(value = "Same")]
                    First,
                    Same,
                }
            ),
            quote!(
                #[env(value = "x")]
                enum Value {
                    Item,
                }
            ),
        ] {
            assert!(derive_value(input.clone()).is_err(), "accepted {input}");
        }
        assert!(derive_value(quote!(
            enum Value {
                #[env(value = "in progress")]
                InProgress,
                r#type,
            }
        ))
        .is_ok());
    }
}
