//! How the table describes itself to the module definition: the `TableInternal` impl
//! (name, access, constraints, indexes, sequences, schedule, defaults, and the table id
//! resolved once at run time) and the describer export the host calls to register it.

use super::{option_str, Names};
use crate::attr::Access;
use crate::gen::{describer_symbol, private};
use crate::model::Table;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// `impl TableInternal for {table}__TableHandle`.
pub(super) fn internal_impl(t: &Table<'_>, names: &Names) -> TokenStream {
    let p = private();
    let handle = &names.handle;
    let table_name = &t.table_name;
    let index_descs = super::indexes::descs(t);
    let unique_cols: Vec<u16> = t.unique_columns().map(|c| c.index).collect();
    let sequences: Vec<u16> = t.sequences().map(|c| c.index).collect();
    let primary_key = match t.primary_key() {
        Some(c) => {
            let i = c.index;
            quote!(#p::Some(#i))
        }
        None => quote!(#p::None),
    };
    let access = match t.access {
        Access::Public => quote!(#p::TableAccess::Public),
        Access::Private => quote!(#p::TableAccess::Private),
    };
    let is_event = t.event;
    let canonical_name = option_str(t.canonical_name.as_deref());
    let schedule = match super::schedule(t) {
        Some((reducer, at, _)) => {
            let at_index = at.index;
            quote!(#p::Some(#p::ScheduleDesc {
                reducer_name: <#reducer as #p::FunctionName>::NAME,
                scheduled_at_column: #at_index,
            }))
        }
        None => quote!(#p::None),
    };
    let defaults = default_values(t);
    quote! {
        #[automatically_derived]
        impl #p::TableInternal for #handle {
            const TABLE_NAME: &'static str = #table_name;
            const TABLE_ACCESS: #p::TableAccess = #access;
            const UNIQUE_COLUMNS: &'static [u16] = &[#(#unique_cols),*];
            const INDEXES: &'static [#p::IndexDesc] = &[#(#index_descs),*];
            const PRIMARY_KEY: #p::Option<u16> = #primary_key;
            const SEQUENCES: &'static [u16] = &[#(#sequences),*];
            const SCHEDULE: #p::Option<#p::ScheduleDesc> = #schedule;
            const IS_EVENT: bool = #is_event;
            const CANONICAL_NAME: #p::Option<&'static str> = #canonical_name;

            fn table_id() -> #p::TableId {
                static TABLE_ID: #p::OnceLock<#p::TableId> = #p::OnceLock::new();
                *TABLE_ID.get_or_init(|| #p::resolve_table_id(#table_name))
            }

            fn default_values() -> #p::Vec<(u16, #p::Vec<u8>)> {
                #p::Vec::from([#(#defaults),*])
            }
        }
    }
}

/// The `(column, BSATN value)` of each `#[default(…)]` column, spanned at the default's
/// expression so that a value of the wrong type is reported there.
fn default_values<'t>(t: &'t Table<'_>) -> impl Iterator<Item = TokenStream> + 't {
    let p = private();
    t.columns.iter().filter_map(move |c| {
        let expr = c.attrs.default.as_ref()?;
        let index = c.index;
        let ty = c.ty;
        // A `String` column takes a string literal, as a `&'static str`.
        let value_ty = if is_string(ty) {
            quote!(&'static str)
        } else {
            quote!(#ty)
        };
        Some(quote_spanned!(expr.span()=> (#index, #p::to_vec::<#value_ty>(&{ let __v: #value_ty = #expr; __v }))))
    })
}

fn is_string(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(tp) if tp.path.segments.last().is_some_and(|s| s.ident == "String"))
}

/// The export the host calls before `__describe_module__`, which registers the table.
pub(super) fn describer(t: &Table<'_>, names: &Names) -> TokenStream {
    let p = private();
    let handle = &names.handle;
    let symbol = describer_symbol(&t.table_name);
    quote! {
        #[unsafe(export_name = #symbol)]
        extern "C" fn __register_describer() {
            #p::register_table::<#handle>()
        }
    }
}
