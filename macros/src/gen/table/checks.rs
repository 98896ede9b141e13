//! The compile-time checks of a table that need types, which the macro cannot see: every
//! column type can be stored, a direct index's key is an unsigned integer, and a scheduled
//! table's reducer takes its row, its primary key is a `u64` and its `at` column a
//! `ScheduleAt`. Each is spanned at the type it is about, so rustc's message points there.

use crate::attr::Algo;
use crate::gen::private;
use crate::model::Table;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The checks, as statements for a `const _: () = { … };` block.
pub(super) fn checks(t: &Table<'_>) -> TokenStream {
    let p = private();
    let column_checks = t.columns.iter().map(|c| {
        let ty = c.ty;
        quote_spanned!(ty.span()=> #p::assert_table_column::<#ty>();)
    });
    let direct_checks = t.indexes.iter().filter(|ix| ix.algo == Algo::Direct).filter_map(|ix| {
        let col = ix
            .columns
            .first()
            .and_then(|c| c.position)
            .and_then(|pos| t.column(pos))?;
        let ty = col.ty;
        Some(quote_spanned!(ty.span()=> #p::assert_direct_index_key::<#ty>();))
    });
    let schedule_checks = match super::schedule(t) {
        Some((reducer, at, pk)) => {
            let (row, pk_ty, at_ty) = (t.ident, pk.ty, at.ty);
            quote! {
                #p::scheduled_typecheck::<#row, #reducer, _>();
                #p::assert_scheduled_table_primary_key::<#pk_ty>();
                #p::assert_schedule_at_column::<#at_ty>();
            }
        }
        None => TokenStream::new(),
    };
    quote! {
        #(#column_checks)*
        #(#direct_checks)*
        #schedule_checks
    }
}
