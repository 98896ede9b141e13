//! Parses the attributes — `#[table(..)]`, the column attributes, `#[reducer(..)]` and
//! `#[sats(..)]` — into typed structs.
//!
//! Policy: parsers return values, not `Result`. A malformed or unknown argument records a
//! spanned error in the [`Ctxt`] that says how to fix it, and is skipped, so every mistake
//! is reported in the same compile. Duplicates are caught by [`Attr`] itself.

use crate::ctxt::Ctxt;
use crate::symbol::{self, Symbol};
use heck::ToSnakeCase;
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Meta, MetaList, MetaNameValue, Path, Token};

/// SpacetimeDB 2.14's `#[table(outbox(..))]` and `#[reducer(on_result(..))]`, recognised so
/// that their error names the feature rather than an unknown argument.
const UNSUPPORTED_OUTBOX: &str =
    "outbox tables (SpacetimeDB 2.14's reducer calls into other databases) are not supported by Spacetime";

/// An attribute argument that may be given at most once.
pub struct Attr<T> {
    name: Symbol,
    value: Option<T>,
}

impl<T> Attr<T> {
    pub fn none(name: Symbol) -> Self {
        Attr { name, value: None }
    }

    /// Sets the value; a second set reports "duplicate" at `obj` and keeps the first.
    pub fn set<O: ToTokens>(&mut self, cx: &Ctxt, obj: O, value: T) {
        if self.value.is_some() {
            cx.error_spanned_by(obj, format_args!("duplicate `{}` argument: remove this one", self.name));
        } else {
            self.value = Some(value);
        }
    }

    pub fn get(self) -> Option<T> {
        self.value
    }
}

/// Splits an attribute's argument tokens into `Meta`s, reporting a syntax error.
fn parse_metas(cx: &Ctxt, tokens: TokenStream) -> Vec<Meta> {
    match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(metas) => metas.into_iter().collect(),
        Err(e) => {
            cx.syn_error(e);
            Vec::new()
        }
    }
}

fn path_name(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

fn unknown(cx: &Ctxt, path: &Path, what: &str, expected: &[Symbol]) {
    cx.error_spanned_by(
        path,
        format_args!(
            "unknown {what} argument `{}`; expected {}",
            path_name(path),
            symbol::one_of(expected)
        ),
    );
}

/// The identifier in `key = ident`.
fn ident_value(cx: &Ctxt, nv: &MetaNameValue, example: &str) -> Option<Ident> {
    match &nv.value {
        Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => p.path.get_ident().cloned(),
        other => {
            cx.error_spanned_by(
                other,
                format_args!("`{}` takes an identifier, e.g. `{example}`", path_name(&nv.path)),
            );
            None
        }
    }
}

/// The string in `key = "text"`.
fn str_value(nv: &MetaNameValue) -> Option<&LitStr> {
    match &nv.value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s),
        _ => None,
    }
}

fn require_path_only(cx: &Ctxt, meta: &Meta, example: &str) -> bool {
    match meta {
        Meta::Path(_) => true,
        _ => {
            cx.error_spanned_by(
                meta,
                format_args!("`{}` takes no value; write just `{example}`", path_name(meta.path())),
            );
            false
        }
    }
}

/// Who may read a table.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Private,
}

/// The algorithm of an index.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    BTree,
    Hash,
    /// An array-indexed index on one unique small unsigned or plain-enum column.
    Direct,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::BTree => "btree",
            Algo::Hash => "hash",
            Algo::Direct => "direct",
        }
    }
}

/// `index(accessor = .., [name = ".."], btree(columns = [..]) | hash(columns = [..]))`.
pub struct IndexArg {
    pub accessor: Ident,
    pub canonical_name: Option<LitStr>,
    pub algo: Algo,
    pub columns: Vec<Ident>,
}

/// `scheduled(reducer, [at = column])`.
pub struct ScheduledArg {
    pub span: Span,
    pub reducer: Path,
    pub at: Option<Ident>,
}

/// The arguments of one `#[table(..)]`.
pub struct TableArgs {
    pub accessor: Option<Ident>,
    pub canonical_name: Option<LitStr>,
    pub access: Access,
    pub indexes: Vec<IndexArg>,
    pub scheduled: Option<ScheduledArg>,
    pub event: bool,
}

impl TableArgs {
    pub fn parse(cx: &Ctxt, tokens: TokenStream, struct_ident: &Ident) -> TableArgs {
        let mut accessor = Attr::none(symbol::ACCESSOR);
        let mut name = Attr::none(symbol::NAME);
        let mut access = Attr::none(symbol::PUBLIC);
        let mut scheduled = Attr::none(symbol::SCHEDULED);
        let mut event = Attr::none(symbol::EVENT);
        let mut indexes = Vec::new();
        // A 1.x-style `name = ident`; reported after the loop, when we know whether an
        // accessor was given too.
        let mut name_ident: Option<(Meta, String)> = None;
        for meta in parse_metas(cx, tokens) {
            let path = meta.path();
            if *path == symbol::PUBLIC || *path == symbol::PRIVATE {
                if require_path_only(cx, &meta, &path_name(path)) {
                    let value = if *path == symbol::PUBLIC {
                        Access::Public
                    } else {
                        Access::Private
                    };
                    if access.value.is_some() {
                        cx.error_spanned_by(
                            path,
                            "the access level is already given: use either `public` or `private`, once",
                        );
                    } else {
                        access.set(cx, path, value);
                    }
                }
            } else if *path == symbol::ACCESSOR {
                match &meta {
                    Meta::NameValue(nv) => {
                        if let Some(ident) = ident_value(cx, nv, "accessor = my_table") {
                            accessor.set(cx, path, ident);
                        }
                    }
                    _ => cx.error_spanned_by(&meta, "expected `accessor = my_table`"),
                }
            } else if *path == symbol::NAME {
                match &meta {
                    Meta::NameValue(nv) => match (str_value(nv), &nv.value) {
                        (Some(lit), _) => name.set(cx, path, lit.clone()),
                        (None, Expr::Path(p)) => {
                            name_ident = Some((meta.clone(), p.path.to_token_stream().to_string()));
                        }
                        (None, other) => {
                            cx.error_spanned_by(other, "`name` takes a string literal, e.g. `name = \"my_table\"`")
                        }
                    },
                    _ => cx.error_spanned_by(&meta, "expected `name = \"my_table\"`"),
                }
            } else if *path == symbol::INDEX {
                match &meta {
                    Meta::List(list) => {
                        if let Some(index) = IndexArg::parse(cx, list) {
                            indexes.push(index);
                        }
                    }
                    _ => cx.error_spanned_by(&meta, "expected `index(accessor = my_index, btree(columns = [a, b]))`"),
                }
            } else if *path == symbol::SCHEDULED {
                match &meta {
                    Meta::List(list) => {
                        if let Some(arg) = ScheduledArg::parse(cx, list) {
                            scheduled.set(cx, path, arg);
                        }
                    }
                    _ => cx.error_spanned_by(
                        &meta,
                        "expected `scheduled(my_reducer)` naming the reducer each row calls",
                    ),
                }
            } else if *path == symbol::EVENT {
                if require_path_only(cx, &meta, "event") {
                    event.set(cx, path, ());
                }
            } else {
                if *path == symbol::OUTBOX {
                    cx.error_spanned_by(path, UNSUPPORTED_OUTBOX);
                } else {
                    unknown(cx, path, "table", symbol::TABLE_ARGS);
                }
            }
        }
        let accessor = accessor.get();
        let canonical_name = name.get();
        if let Some((meta, ident)) = &name_ident {
            let msg = if accessor.is_some() {
                format!("`name` takes a string literal: to set the table's canonical name, write `name = \"{ident}\"`")
            } else {
                format!(
                    "`name` takes a string literal, the table's canonical name; the table's accessor is `accessor`\n\
                     if you are migrating from SpacetimeDB 1.x, replace `name = {ident}` with `accessor = {ident}`"
                )
            };
            cx.error_spanned_by(meta, msg);
        }
        if accessor.is_none() && name_ident.is_none() {
            let snake = struct_ident.to_string().to_snake_case();
            match &canonical_name {
                Some(lit) => cx.error_spanned_by(
                    lit,
                    format_args!(
                        "missing `accessor`: `accessor` is required and `name` is optional\n\
                         if you are migrating from SpacetimeDB 1.x, replace `name = {:?}` with `accessor = {}`",
                        lit.value(),
                        lit.value()
                    ),
                ),
                None => cx.error_at(
                    Span::call_site(),
                    format_args!(
                        "missing table accessor: add `accessor = {snake}`, as in `#[table(accessor = {snake})]`"
                    ),
                ),
            }
        }
        TableArgs {
            accessor,
            canonical_name,
            access: access.get().unwrap_or(Access::Private),
            indexes,
            scheduled: scheduled.get(),
            event: event.get().is_some(),
        }
    }
}

impl IndexArg {
    fn parse(cx: &Ctxt, list: &MetaList) -> Option<IndexArg> {
        let mut accessor = Attr::none(symbol::ACCESSOR);
        let mut name = Attr::none(symbol::NAME);
        let mut algo = Attr::none(symbol::BTREE);
        for meta in parse_metas(cx, list.tokens.clone()) {
            let path = meta.path();
            if *path == symbol::ACCESSOR {
                match &meta {
                    Meta::NameValue(nv) => {
                        if let Some(ident) = ident_value(cx, nv, "accessor = my_index") {
                            accessor.set(cx, path, ident);
                        }
                    }
                    _ => cx.error_spanned_by(&meta, "expected `accessor = my_index`"),
                }
            } else if *path == symbol::NAME {
                match &meta {
                    Meta::NameValue(nv) => match (str_value(nv), &nv.value) {
                        (Some(lit), _) => name.set(cx, path, lit.clone()),
                        (None, Expr::Path(p)) => {
                            let ident = p.path.to_token_stream().to_string();
                            cx.error_spanned_by(
                                &meta,
                                format_args!(
                                    "`name` takes a string literal, the index's canonical name\n\
                                     if you are migrating from SpacetimeDB 1.x, replace `name = {ident}` with `accessor = {ident}`"
                                ),
                            );
                        }
                        (None, other) => {
                            cx.error_spanned_by(other, "`name` takes a string literal, e.g. `name = \"my_index\"`")
                        }
                    },
                    _ => cx.error_spanned_by(&meta, "expected `name = \"my_index\"`"),
                }
            } else if *path == symbol::BTREE || *path == symbol::HASH {
                let kind = if *path == symbol::BTREE {
                    Algo::BTree
                } else {
                    Algo::Hash
                };
                match &meta {
                    Meta::List(inner) => {
                        if let Some(columns) = parse_columns(cx, inner, kind) {
                            if algo.value.is_some() {
                                cx.error_spanned_by(path, "the index algorithm is already given: use one of `btree(..)`, `hash(..)` or `direct(..)`");
                            } else {
                                algo.set(cx, path, (kind, columns));
                            }
                        }
                    }
                    _ => cx.error_spanned_by(&meta, format_args!("expected `{}(columns = [a, b])`", kind.name())),
                }
            } else if *path == symbol::DIRECT {
                match &meta {
                    Meta::List(inner) => {
                        if let Some(column) = parse_direct_column(cx, inner) {
                            if algo.value.is_some() {
                                cx.error_spanned_by(path, "the index algorithm is already given: use one of `btree(..)`, `hash(..)` or `direct(..)`");
                            } else {
                                algo.set(cx, path, (Algo::Direct, vec![column]));
                            }
                        }
                    }
                    _ => cx.error_spanned_by(&meta, "expected `direct(column = a)`"),
                }
            } else {
                unknown(cx, path, "index", symbol::INDEX_ARGS);
            }
        }
        let accessor = accessor.get();
        let algo = algo.get();
        if accessor.is_none() {
            cx.error_spanned_by(&list.path, "missing index accessor: add `accessor = my_index`");
        }
        if algo.is_none() {
            cx.error_spanned_by(
                &list.path,
                "missing index algorithm: add `btree(columns = [a, b])`, `hash(columns = [a, b])` or `direct(column = a)`",
            );
        }
        let (algo, columns) = algo?;
        Some(IndexArg {
            accessor: accessor?,
            canonical_name: name.get(),
            algo,
            columns,
        })
    }
}

/// `columns = [a, b]` inside `btree(..)` or `hash(..)`.
fn parse_columns(cx: &Ctxt, list: &MetaList, algo: Algo) -> Option<Vec<Ident>> {
    let example = format!("{}(columns = [a, b])", algo.name());
    let mut columns = Attr::none(symbol::COLUMNS);
    for meta in parse_metas(cx, list.tokens.clone()) {
        match &meta {
            Meta::NameValue(nv) if nv.path == symbol::COLUMNS => match &nv.value {
                Expr::Array(array) => {
                    let mut idents = Vec::new();
                    for elem in &array.elems {
                        match elem {
                            Expr::Path(p) if p.path.get_ident().is_some() => idents.extend(p.path.get_ident().cloned()),
                            other => cx.error_spanned_by(other, "expected a column name (a field of the struct)"),
                        }
                    }
                    if idents.is_empty() {
                        cx.error_spanned_by(
                            array,
                            format_args!("an index needs at least one column, e.g. `{example}`"),
                        );
                    }
                    columns.set(cx, &nv.path, idents);
                }
                other => cx.error_spanned_by(
                    other,
                    format_args!("expected a list of columns in brackets, e.g. `{example}`"),
                ),
            },
            _ => unknown(cx, meta.path(), &format!("`{}`", algo.name()), &[symbol::COLUMNS]),
        }
    }
    let columns = columns.get();
    if columns.is_none() {
        cx.error_spanned_by(
            &list.path,
            format_args!("missing the indexed columns, e.g. `{example}`"),
        );
    }
    columns
}

/// `column = a` (or `column = [a]`, as SpacetimeDB writes it) inside `direct(..)`.
fn parse_direct_column(cx: &Ctxt, list: &MetaList) -> Option<Ident> {
    let mut column = Attr::none(symbol::COLUMN);
    for meta in parse_metas(cx, list.tokens.clone()) {
        match &meta {
            Meta::NameValue(nv) if nv.path == symbol::COLUMN => {
                let ident = match &nv.value {
                    Expr::Path(p) => p.path.get_ident().cloned(),
                    Expr::Array(array) if array.elems.len() == 1 => match &array.elems[0] {
                        Expr::Path(p) => p.path.get_ident().cloned(),
                        _ => None,
                    },
                    _ => None,
                };
                match ident {
                    Some(ident) => column.set(cx, &nv.path, ident),
                    None => cx.error_spanned_by(&nv.value, "expected one column name, e.g. `direct(column = a)`"),
                }
            }
            _ => unknown(cx, meta.path(), "`direct`", &[symbol::COLUMN]),
        }
    }
    let column = column.get();
    if column.is_none() {
        cx.error_spanned_by(&list.path, "missing the indexed column, e.g. `direct(column = a)`");
    }
    column
}

impl ScheduledArg {
    fn parse(cx: &Ctxt, list: &MetaList) -> Option<ScheduledArg> {
        let mut reducer = Attr::none(symbol::SCHEDULED);
        let mut at = Attr::none(symbol::AT);
        for meta in parse_metas(cx, list.tokens.clone()) {
            match &meta {
                Meta::Path(path) => reducer.set(cx, path, path.clone()),
                Meta::NameValue(nv) if nv.path == symbol::AT => {
                    if let Some(ident) = ident_value(cx, nv, "at = my_schedule_column") {
                        at.set(cx, &nv.path, ident);
                    }
                }
                _ => unknown(cx, meta.path(), "`scheduled`", &[symbol::AT]),
            }
        }
        let reducer = reducer.get();
        if reducer.is_none() {
            cx.error_spanned_by(
                &list.path,
                "missing the scheduled reducer: write `scheduled(my_reducer)`",
            );
        }
        Some(ScheduledArg {
            span: list.path.span(),
            reducer: reducer?,
            at: at.get(),
        })
    }
}

/// The attributes of one column (struct field) of a table.
#[derive(Default)]
pub struct ColumnAttrs {
    pub primary_key: Option<Span>,
    pub unique: Option<Span>,
    pub auto_inc: Option<Span>,
    pub default: Option<Expr>,
    /// `#[index(btree)]` / `#[index(hash)]`, with the attribute's span.
    pub indexes: Vec<(Span, Algo)>,
}

impl ColumnAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> ColumnAttrs {
        let mut out = ColumnAttrs::default();
        let mut default = Attr::none(symbol::DEFAULT);
        for attr in attrs {
            let path = attr.path();
            let flag = |slot: &mut Option<Span>, sym: Symbol| {
                if !matches!(attr.meta, Meta::Path(_)) {
                    cx.error_spanned_by(
                        &attr.meta,
                        format_args!("`#[{sym}]` takes no arguments; write just `#[{sym}]`"),
                    );
                } else if slot.is_some() {
                    cx.error_spanned_by(path, format_args!("duplicate `#[{sym}]` attribute: remove this one"));
                } else {
                    *slot = Some(path.span());
                }
            };
            if *path == symbol::PRIMARY_KEY {
                flag(&mut out.primary_key, symbol::PRIMARY_KEY);
            } else if *path == symbol::UNIQUE {
                flag(&mut out.unique, symbol::UNIQUE);
            } else if *path == symbol::AUTO_INC {
                flag(&mut out.auto_inc, symbol::AUTO_INC);
            } else if *path == symbol::DEFAULT {
                match attr.parse_args::<Expr>() {
                    Ok(expr) => default.set(cx, path, expr),
                    Err(_) => cx.error_spanned_by(&attr.meta, "expected a default value, e.g. `#[default(0)]`"),
                }
            } else if *path == symbol::INDEX {
                let mut algo = Attr::none(symbol::INDEX);
                let tokens = match &attr.meta {
                    Meta::List(list) => list.tokens.clone(),
                    _ => TokenStream::new(),
                };
                for meta in parse_metas(cx, tokens) {
                    let p = meta.path();
                    if *p == symbol::BTREE && require_path_only(cx, &meta, "btree") {
                        algo.set(cx, p, Algo::BTree);
                    } else if *p == symbol::HASH && require_path_only(cx, &meta, "hash") {
                        algo.set(cx, p, Algo::Hash);
                    } else if *p == symbol::DIRECT && require_path_only(cx, &meta, "direct") {
                        algo.set(cx, p, Algo::Direct);
                    } else if *p != symbol::BTREE && *p != symbol::HASH && *p != symbol::DIRECT {
                        unknown(cx, p, "`#[index]`", &[symbol::BTREE, symbol::HASH, symbol::DIRECT]);
                    }
                }
                match algo.get() {
                    Some(a) => out.indexes.push((path.span(), a)),
                    None => cx.error_spanned_by(
                        &attr.meta,
                        "missing the index algorithm: write `#[index(btree)]`, `#[index(hash)]` or `#[index(direct)]`",
                    ),
                }
            }
        }
        out.default = default.get();
        out
    }
}

/// The lifecycle event a reducer handles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LifecycleKind {
    Init,
    ClientConnected,
    ClientDisconnected,
    /// Accepted for compatibility; it has no effect.
    Update,
}

/// The arguments of `#[reducer(..)]`.
pub struct ReducerArgs {
    pub lifecycle: Option<LifecycleKind>,
    pub canonical_name: Option<LitStr>,
}

impl ReducerArgs {
    pub fn parse(cx: &Ctxt, tokens: TokenStream) -> ReducerArgs {
        let mut lifecycle = Attr::none(symbol::INIT);
        let mut name = Attr::none(symbol::NAME);
        for meta in parse_metas(cx, tokens) {
            let path = meta.path();
            let kind = if *path == symbol::INIT {
                Some(LifecycleKind::Init)
            } else if *path == symbol::CLIENT_CONNECTED {
                Some(LifecycleKind::ClientConnected)
            } else if *path == symbol::CLIENT_DISCONNECTED {
                Some(LifecycleKind::ClientDisconnected)
            } else if *path == symbol::UPDATE {
                Some(LifecycleKind::Update)
            } else {
                None
            };
            if let Some(kind) = kind {
                if require_path_only(cx, &meta, &path_name(path)) {
                    if lifecycle.value.is_some() {
                        cx.error_spanned_by(path, "a reducer handles at most one lifecycle event: keep one of `init`, `client_connected`, `client_disconnected`");
                    } else {
                        lifecycle.set(cx, path, kind);
                    }
                }
            } else if *path == symbol::NAME {
                match &meta {
                    Meta::NameValue(nv) => match str_value(nv) {
                        Some(lit) => name.set(cx, path, lit.clone()),
                        None => cx
                            .error_spanned_by(&nv.value, "`name` takes a string literal, e.g. `name = \"my_reducer\"`"),
                    },
                    _ => cx.error_spanned_by(&meta, "expected `name = \"my_reducer\"`"),
                }
            } else {
                if *path == symbol::ON_RESULT {
                    cx.error_spanned_by(path, UNSUPPORTED_OUTBOX);
                } else {
                    unknown(cx, path, "reducer", symbol::REDUCER_ARGS);
                }
            }
        }
        ReducerArgs {
            lifecycle: lifecycle.get(),
            canonical_name: name.get(),
        }
    }
}

/// The arguments of `#[view(..)]`: `accessor = ident` and `public` (both required; a
/// missing one is reported while parsing), `name = ".."`, `primary_key = column` (an
/// identifier or a string).
pub struct ViewArgs {
    pub accessor: Option<Ident>,
    pub canonical_name: Option<LitStr>,
    pub primary_key: Option<ViewPrimaryKey>,
}

/// `primary_key = column` or `primary_key = "column"`; only the identifier form lets the
/// macro check that the row has the field.
pub struct ViewPrimaryKey {
    pub name: String,
    pub ident: Option<Ident>,
}

impl ViewArgs {
    pub fn parse(cx: &Ctxt, tokens: TokenStream, function: &Ident) -> ViewArgs {
        let mut accessor = Attr::none(symbol::ACCESSOR);
        let mut name = Attr::none(symbol::NAME);
        let mut public = Attr::none(symbol::PUBLIC);
        let mut primary_key = Attr::none(symbol::PRIMARY_KEY);
        for meta in parse_metas(cx, tokens) {
            let path = meta.path();
            if *path == symbol::PUBLIC {
                if require_path_only(cx, &meta, "public") {
                    public.set(cx, path, ());
                }
            } else if *path == symbol::ACCESSOR {
                match &meta {
                    Meta::NameValue(nv) => {
                        if let Some(ident) = ident_value(cx, nv, "accessor = my_view") {
                            accessor.set(cx, path, ident);
                        }
                    }
                    _ => cx.error_spanned_by(&meta, "expected `accessor = my_view`"),
                }
            } else if *path == symbol::NAME {
                match &meta {
                    Meta::NameValue(nv) => match str_value(nv) {
                        Some(lit) => name.set(cx, path, lit.clone()),
                        None => {
                            cx.error_spanned_by(&nv.value, "`name` takes a string literal, e.g. `name = \"my_view\"`")
                        }
                    },
                    _ => cx.error_spanned_by(&meta, "expected `name = \"my_view\"`"),
                }
            } else if *path == symbol::PRIMARY_KEY {
                match &meta {
                    Meta::NameValue(nv) => match (&nv.value, str_value(nv)) {
                        (_, Some(lit)) => primary_key.set(
                            cx,
                            path,
                            ViewPrimaryKey {
                                name: lit.value(),
                                ident: None,
                            },
                        ),
                        (Expr::Path(p), None) if p.qself.is_none() && p.path.get_ident().is_some() => {
                            if let Some(ident) = p.path.get_ident() {
                                primary_key.set(
                                    cx,
                                    path,
                                    ViewPrimaryKey {
                                        name: ident.unraw().to_string(),
                                        ident: Some(ident.clone()),
                                    },
                                );
                            }
                        }
                        (other, None) => cx.error_spanned_by(
                            other,
                            "`primary_key` takes a column of the view's row, e.g. `primary_key = id`",
                        ),
                    },
                    _ => cx.error_spanned_by(&meta, "expected `primary_key = column`"),
                }
            } else {
                unknown(cx, path, "view", symbol::VIEW_ARGS);
            }
        }
        let accessor = accessor.get();
        if accessor.is_none() {
            cx.error_at(
                Span::call_site(),
                format_args!(
                    "a view needs an accessor, its name for clients: `#[view(accessor = {}, public)]`",
                    function.unraw().to_string().to_snake_case()
                ),
            );
        }
        if public.get().is_none() {
            cx.error_at(
                Span::call_site(),
                "views must be `public`: write `#[view(accessor = .., public)]`",
            );
        }
        ViewArgs {
            accessor,
            canonical_name: name.get(),
            primary_key: primary_key.get(),
        }
    }
}

/// The `#[sats(..)]` attributes of a derived type.
pub struct SatsAttrs {
    pub name: Option<LitStr>,
    /// `crate = path`: where the bindings' `spacetimedb_lib` module is, for code that
    /// reaches the bindings under another name (`crate = my_reexport::spacetimedb_lib`).
    pub krate: Option<Path>,
}

impl SatsAttrs {
    pub fn parse(cx: &Ctxt, attrs: &[syn::Attribute]) -> SatsAttrs {
        let mut name = Attr::none(symbol::NAME);
        let mut krate = Attr::none(symbol::CRATE);
        for attr in attrs.iter().filter(|a| *a.path() == symbol::SATS) {
            let tokens = match &attr.meta {
                Meta::List(list) => list.tokens.clone(),
                _ => {
                    cx.error_spanned_by(attr, "expected `#[sats(name = \"Scope.Name\")]`");
                    continue;
                }
            };
            for meta in parse_metas(cx, tokens) {
                match &meta {
                    Meta::NameValue(nv) if nv.path == symbol::NAME => match str_value(nv) {
                        Some(lit) => name.set(cx, &nv.path, lit.clone()),
                        None => cx
                            .error_spanned_by(&nv.value, "`name` takes a string literal, e.g. `name = \"Scope.Name\"`"),
                    },
                    Meta::NameValue(nv) if nv.path == symbol::CRATE => match &nv.value {
                        Expr::Path(p) if p.qself.is_none() => krate.set(cx, &nv.path, p.path.clone()),
                        other => cx.error_spanned_by(
                            other,
                            "`crate` takes a path, e.g. `crate = spacetimedb::spacetimedb_lib`",
                        ),
                    },
                    _ => unknown(cx, meta.path(), "`sats`", &[symbol::NAME, symbol::CRATE]),
                }
            }
        }
        SatsAttrs {
            name: name.get(),
            krate: krate.get(),
        }
    }
}
