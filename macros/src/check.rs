//! The rules that span several attributes or items, one named check each. Single-argument
//! rules (syntax, duplicates, unknown keys) are enforced while parsing in `attr.rs`.
//!
//! Rules that need types (is this column an integer? is this argument a `SpacetimeType`?)
//! cannot be decided here; the generated code asserts them with traits whose
//! `#[diagnostic::on_unimplemented]` messages say how to fix the problem.

use crate::ctxt::Ctxt;
use crate::model::{Container, Data, Reducer, Table, View};
use quote::ToTokens;
use syn::{GenericParam, Generics, Type};

/// Checks a table.
pub fn check_table(cx: &Ctxt, table: &Table<'_>) {
    check_no_generics(cx, &table.original.generics, "tables");
    check_one_primary_key(cx, table);
    check_default_combination(cx, table);
    check_index_columns(cx, table);
    check_index_accessors(cx, table);
    check_direct_indexes_unique(cx, table);
    check_schedule(cx, table);
}

/// A direct index maps each value to one row, so its column must be unique.
fn check_direct_indexes_unique(cx: &Ctxt, table: &Table<'_>) {
    for index in table
        .indexes
        .iter()
        .filter(|ix| ix.algo == crate::attr::Algo::Direct && !ix.is_unique)
    {
        let column = index.columns.first().map(|c| c.ident.to_string()).unwrap_or_default();
        cx.error_at(
            index.span,
            format_args!(
                "a direct index must be on a unique column: add `#[unique]` (or `#[primary_key]`) to `{column}`, \
                 or use a `btree` index"
            ),
        );
    }
}

/// Checks a reducer.
pub fn check_reducer(cx: &Ctxt, reducer: &Reducer<'_>) {
    check_no_generics(cx, &reducer.original.sig.generics, "reducers");
    check_reducer_context(cx, reducer);
    if let Some(asyncness) = &reducer.original.sig.asyncness {
        cx.error_spanned_by(
            asyncness,
            "reducers cannot be `async`: remove `async`; a reducer runs to completion in its transaction",
        );
    }
}

/// Checks a view's signature: a free, non-generic, synchronous function taking
/// `&ViewContext` or `&AnonymousViewContext` first and returning a value. Whether the
/// context and return types are the right ones is checked by the trait bounds of the
/// generated code, which see through aliases.
pub fn check_view(cx: &Ctxt, view: &View<'_>) {
    let sig = &view.original.sig;
    check_no_generics(cx, &sig.generics, "views");
    if let Some(asyncness) = &sig.asyncness {
        cx.error_spanned_by(
            asyncness,
            "views cannot be `async`: remove `async`; a view reads the database and returns its rows",
        );
    }
    match view.ctx {
        None => cx.error_spanned_by(
            sig,
            format_args!(
                "a view's first parameter must be `ctx: &ViewContext` or `ctx: &AnonymousViewContext`: write `fn {}(ctx: &ViewContext, ..)`",
                view.ident
            ),
        ),
        Some(ctx) if view.ctx_type().is_none() => cx.error_spanned_by(
            &ctx.ty,
            format_args!(
                "a view's first parameter must be `&ViewContext` or `&AnonymousViewContext`, but this is `{}`: take the context by shared reference",
                ctx.ty.to_token_stream()
            ),
        ),
        Some(_) => {}
    }
    for param in &view.params {
        if is_view_context(param.ty) {
            cx.error_spanned_by(
                param.ty,
                "the context must be the first parameter of a view: move it before the other parameters",
            );
        }
    }
    if view.ret.is_none() {
        cx.error_spanned_by(
            sig,
            "views must return `Vec<T>`, `Option<T>` or `impl Query<T>` where `T` is a `SpacetimeType`: add `-> Vec<MyRow>`",
        );
    }
}

/// Whether `ty` names a view context (by its last path segment), behind a reference or not.
fn is_view_context(ty: &Type) -> bool {
    let ty = match ty {
        Type::Reference(r) => &*r.elem,
        other => other,
    };
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "ViewContext" || s.ident == "AnonymousViewContext"))
}

/// Checks a derived type.
pub fn check_container(cx: &Ctxt, container: &Container<'_>) {
    if let Data::Enum(variants) = &container.data {
        if variants.len() > 256 {
            cx.error_spanned_by(
                container.ident,
                "a SpacetimeType enum has at most 256 variants (its tag is one byte)",
            );
        }
    }
}

/// Type and const parameters cannot be described in a module definition (lifetimes can).
fn check_no_generics(cx: &Ctxt, generics: &Generics, what: &str) {
    for param in &generics.params {
        match param {
            GenericParam::Lifetime(_) => {}
            GenericParam::Type(t) => cx.error_spanned_by(
                t,
                format_args!(
                    "type parameters are not allowed on {what}: use a concrete type instead of `{}`",
                    t.ident
                ),
            ),
            GenericParam::Const(c) => cx.error_spanned_by(
                c,
                format_args!(
                    "const parameters are not allowed on {what}: use a concrete value instead of `{}`",
                    c.ident
                ),
            ),
        }
    }
}

/// A table has at most one `#[primary_key]`: the host identifies rows for updates by it.
fn check_one_primary_key(cx: &Ctxt, table: &Table<'_>) {
    let mut pks = table
        .columns
        .iter()
        .filter_map(|c| c.attrs.primary_key.map(|span| (c, span)));
    if let Some((first, _)) = pks.next() {
        for (col, span) in pks {
            cx.error_at(
                span,
                format_args!(
                    "a table can have only one `#[primary_key]`, but `{}` already has one: remove it from `{}` \
                     (use `#[unique]` for other unique columns)",
                    first.ident, col.ident
                ),
            );
        }
    }
}

/// A default value only makes sense for a column old rows can share, so it cannot be
/// combined with uniqueness or a sequence.
fn check_default_combination(cx: &Ctxt, table: &Table<'_>) {
    for col in &table.columns {
        let Some(default) = &col.attrs.default else { continue };
        let conflict = [
            ("primary_key", col.attrs.primary_key),
            ("unique", col.attrs.unique),
            ("auto_inc", col.attrs.auto_inc),
        ]
        .into_iter()
        .find_map(|(name, span)| span.map(|_| name));
        if let Some(name) = conflict {
            cx.error_spanned_by(
                default,
                format_args!(
                    "`#[default]` cannot be combined with `#[{name}]` on `{}`: remove one of them",
                    col.ident
                ),
            );
        }
    }
}

/// Every index column must be a field of the struct.
fn check_index_columns(cx: &Ctxt, table: &Table<'_>) {
    let names: Vec<String> = table.columns.iter().map(|c| c.ident.to_string()).collect();
    for index in &table.indexes {
        for col in index.columns.iter().filter(|c| c.position.is_none()) {
            cx.error_spanned_by(
                &col.ident,
                format_args!(
                    "index `{}` names `{}`, which is not a column of `{}`; the columns are: {}",
                    index.accessor,
                    col.ident,
                    table.ident,
                    names.join(", ")
                ),
            );
        }
    }
}

/// Index accessors become methods of the table handle, so they must be distinct.
fn check_index_accessors(cx: &Ctxt, table: &Table<'_>) {
    for (i, index) in table.indexes.iter().enumerate() {
        let method = |ix: &crate::model::Index| {
            if ix.is_unique {
                ix.columns.first().map(|c| c.ident.to_string())
            } else {
                Some(ix.accessor.to_string())
            }
        };
        let this = method(index);
        if table.indexes[..i].iter().any(|other| method(other) == this) {
            cx.error_at(
                index.span,
                format_args!(
                    "the table already has an index accessor `{}`: give this index a different `accessor`",
                    this.unwrap_or_default()
                ),
            );
        }
    }
}

/// A scheduled table needs a `u64` primary key (the schedule id) and a `ScheduleAt` column.
fn check_schedule(cx: &Ctxt, table: &Table<'_>) {
    let Some(schedule) = &table.schedule else { return };
    let pk = table.primary_key();
    let at_ok = match &schedule.at {
        Some(at) if at.position.is_none() => {
            cx.error_spanned_by(
                &at.ident,
                format_args!("`at = {}` does not name a column of `{}`", at.ident, table.ident),
            );
            true
        }
        Some(_) => true,
        None => false,
    };
    match (pk, at_ok) {
        (None, false) => cx.error_at(
            schedule.span,
            "scheduled table is missing its required columns; add these fields to the struct:\n\
             #[primary_key]\n#[auto_inc]\nscheduled_id: u64,\nscheduled_at: spacetimedb::ScheduleAt,",
        ),
        (None, true) => cx.error_at(
            schedule.span,
            "scheduled tables need a `#[primary_key] #[auto_inc] scheduled_id: u64` column: add it to the struct",
        ),
        (Some(_), false) => cx.error_at(
            schedule.span,
            "scheduled tables need a `scheduled_at: spacetimedb::ScheduleAt` column; if it has another name, \
             say so with `scheduled(my_reducer, at = my_column)`",
        ),
        (Some(_), true) => {}
    }
}

/// The first parameter of a reducer is the context, taken by reference.
fn check_reducer_context(cx: &Ctxt, reducer: &Reducer<'_>) {
    match reducer.ctx {
        None => cx.error_spanned_by(
            &reducer.original.sig,
            format_args!(
                "a reducer's first parameter must be `ctx: &ReducerContext`: write `fn {}(ctx: &ReducerContext, ..)`",
                reducer.ident
            ),
        ),
        Some(ctx) if !matches!(&*ctx.ty, Type::Reference(_)) => cx.error_spanned_by(
            &ctx.ty,
            format_args!(
                "a reducer's first parameter must be `&ReducerContext`, but this is `{}`: take the context by reference",
                ctx.ty.to_token_stream()
            ),
        ),
        Some(_) => {}
    }
}
