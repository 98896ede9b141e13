//! `#[derive(SpacetimeType)]`: the `SpacetimeType` impl (registering the type under its
//! name), the BSATN `Encode` and `Decode` impls, and for enums without payloads the
//! `FilterableValue` and `DirectIndexKey` impls that make them index keys.
//! `#[derive(Serialize)]` and `#[derive(Deserialize)]` generate only the `Encode` or the
//! `Decode` impl.

use super::private;
use crate::model::{Container, Data};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_quote, Generics};

/// Adds `bound` to every type parameter of `generics`.
fn with_bound(generics: &Generics, bound: TokenStream) -> Generics {
    let mut generics = generics.clone();
    let params: Vec<_> = generics.type_params().map(|p| p.ident.clone()).collect();
    let where_clause = generics.make_where_clause();
    for ident in params {
        where_clause.predicates.push(parse_quote!(#ident: #bound));
    }
    generics
}

/// Which of the derives to generate: `SpacetimeType` generates all three parts, while
/// `Serialize` and `Deserialize` (SpacetimeDB's names for the BSATN traits) generate one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Derive {
    SpacetimeType,
    Serialize,
    Deserialize,
}

pub fn expand(c: &Container<'_>, derive: Derive) -> TokenStream {
    let p = match &c.krate {
        Some(krate) => quote!(#krate::__private),
        None => private(),
    };
    let ident = c.ident;
    let name = &c.name;

    let make_ty = match &c.data {
        Data::Struct { fields, named } => {
            let elems = fields.iter().map(|f| {
                let ty = f.ty;
                let make = quote_spanned!(ty.span()=> <#ty as #p::SpacetimeType>::make_type(__ts));
                match (f.ident, named) {
                    (Some(ident), true) => {
                        let name = ident.to_string();
                        let name = name.strip_prefix("r#").unwrap_or(&name);
                        quote!(#p::ProductTypeElement::named(#name, #make))
                    }
                    _ => quote!(#p::ProductTypeElement::unnamed(#make)),
                }
            });
            quote!(#p::AlgebraicType::Product(#p::ProductType::new(#p::Vec::from([#(#elems),*]))))
        }
        Data::Enum(variants) => {
            let vars = variants.iter().map(|v| {
                let name = v.ident.to_string();
                let make = match &v.payload {
                    Some((_, ty)) => quote_spanned!(ty.span()=> <#ty as #p::SpacetimeType>::make_type(__ts)),
                    None => quote!(#p::AlgebraicType::unit()),
                };
                quote!(#p::SumTypeVariant::named(#name, #make))
            });
            quote!(#p::AlgebraicType::Sum(#p::SumType::new(#p::Vec::from([#(#vars),*]))))
        }
    };

    let (encode_body, decode_body) = match &c.data {
        Data::Struct { fields, named } => {
            let members: Vec<syn::Member> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| match (f.ident, named) {
                    (Some(ident), true) => syn::Member::Named(ident.clone()),
                    _ => syn::Member::Unnamed(syn::Index::from(i)),
                })
                .collect();
            let encode = quote!(#(#p::Encode::encode(&self.#members, __out);)*);
            let decode = if fields.is_empty() {
                match &c.original.data {
                    syn::Data::Struct(syn::DataStruct {
                        fields: syn::Fields::Unit,
                        ..
                    }) => quote!(#p::Ok(Self)),
                    syn::Data::Struct(syn::DataStruct {
                        fields: syn::Fields::Unnamed(_),
                        ..
                    }) => quote!(#p::Ok(Self())),
                    _ => quote!(#p::Ok(Self {})),
                }
            } else {
                quote!(#p::Ok(Self { #(#members: #p::Decode::decode(__input)?,)* }))
            };
            (encode, decode)
        }
        Data::Enum(variants) => {
            let count = variants.len();
            let encode_arms = variants.iter().enumerate().map(|(tag, v)| {
                let vident = v.ident;
                let tag = tag as u8;
                match &v.payload {
                    Some((member, _)) => quote!(Self::#vident { #member: __payload } => { __out.push(#tag); #p::Encode::encode(__payload, __out); }),
                    None => quote!(Self::#vident => __out.push(#tag),),
                }
            });
            let decode_arms = variants.iter().enumerate().map(|(tag, v)| {
                let vident = v.ident;
                let tag = tag as u8;
                match &v.payload {
                    Some((member, _)) => {
                        quote!(#tag => #p::Ok(Self::#vident { #member: #p::Decode::decode(__input)? }),)
                    }
                    None => quote!(#tag => #p::Ok(Self::#vident),),
                }
            });
            let encode = if count == 0 {
                quote!(match *self {})
            } else {
                quote!(match self { #(#encode_arms)* })
            };
            let decode = quote! {
                match #p::decode_tag(__input, #name, #count)? {
                    #(#decode_arms)*
                    __tag => #p::Err(#p::DecodeError::InvalidTag { tag: __tag, type_name: #name, num_variants: #count }),
                }
            };
            (encode, decode)
        }
    };

    let st_generics = with_bound(&c.original.generics, quote!(#p::SpacetimeType + 'static));
    let (st_impl, ty_generics, st_where) = st_generics.split_for_impl();
    let enc_generics = with_bound(&c.original.generics, quote!(#p::Encode));
    let (enc_impl, _, enc_where) = enc_generics.split_for_impl();
    let dec_generics = with_bound(&c.original.generics, quote!(#p::Decode));
    let (dec_impl, _, dec_where) = dec_generics.split_for_impl();

    let filterable = match &c.data {
        Data::Enum(variants)
            if variants.iter().all(|v| v.payload.is_none()) && c.original.generics.params.is_empty() =>
        {
            quote! {
                #[automatically_derived]
                impl #p::Private for #ident {}
                #[automatically_derived]
                impl #p::FilterableValue for #ident { type Column = #ident; }
                #[automatically_derived]
                impl #p::Private for &#ident {}
                #[automatically_derived]
                impl #p::FilterableValue for &#ident { type Column = #ident; }
                #[automatically_derived]
                impl #p::DirectIndexKey for #ident {}
            }
        }
        _ => TokenStream::new(),
    };

    let spacetime_type = quote! {
        #[automatically_derived]
        impl #st_impl #p::SpacetimeType for #ident #ty_generics #st_where {
            fn make_type<__S: #p::TypespaceBuilder>(__ts: &mut __S) -> #p::AlgebraicType {
                #p::TypespaceBuilder::add(
                    __ts,
                    #p::TypeId::of::<Self>(),
                    #p::Some(#name),
                    |__ts| #make_ty,
                )
            }
        }

        #filterable
    };
    let encode = quote! {
        #[automatically_derived]
        impl #enc_impl #p::Encode for #ident #ty_generics #enc_where {
            fn encode(&self, __out: &mut #p::Vec<u8>) {
                #encode_body
            }
        }
    };
    let decode = quote! {
        #[automatically_derived]
        impl #dec_impl #p::Decode for #ident #ty_generics #dec_where {
            fn decode(__input: &mut &[u8]) -> #p::Result<Self, #p::DecodeError> {
                #decode_body
            }
        }
    };
    let parts = match derive {
        Derive::SpacetimeType => quote!(#spacetime_type #encode #decode),
        Derive::Serialize => encode,
        Derive::Deserialize => decode,
    };
    quote! {
        const _: () = {
            #parts
        };
    }
}
