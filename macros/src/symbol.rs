//! The keywords of the attributes, each defined once so the parser never compares
//! against string literals scattered through the code.

use std::fmt;
use syn::{Ident, Path};

/// An attribute keyword.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Symbol(pub &'static str);

macro_rules! symbols {
    ($($name:ident = $text:literal;)*) => {$(
        pub const $name: Symbol = Symbol($text);
    )*};
}

symbols! {
    ACCESSOR = "accessor";
    AT = "at";
    AUTO_INC = "auto_inc";
    BTREE = "btree";
    CLIENT_CONNECTED = "client_connected";
    CLIENT_DISCONNECTED = "client_disconnected";
    COLUMN = "column";
    COLUMNS = "columns";
    CRATE = "crate";
    DEFAULT = "default";
    DIRECT = "direct";
    EVENT = "event";
    HASH = "hash";
    INDEX = "index";
    INIT = "init";
    NAME = "name";
    ON_RESULT = "on_result";
    OUTBOX = "outbox";
    PRIMARY_KEY = "primary_key";
    PRIVATE = "private";
    PUBLIC = "public";
    SATS = "sats";
    SCHEDULED = "scheduled";
    UNIQUE = "unique";
    UPDATE = "update";
}

/// The arguments `#[table(..)]` accepts, for "expected one of" messages.
pub const TABLE_ARGS: &[Symbol] = &[ACCESSOR, NAME, PUBLIC, PRIVATE, INDEX, SCHEDULED, EVENT];
/// The arguments `#[reducer(..)]` accepts.
pub const REDUCER_ARGS: &[Symbol] = &[INIT, CLIENT_CONNECTED, CLIENT_DISCONNECTED, UPDATE, NAME];
/// The arguments `#[view(..)]` accepts.
pub const VIEW_ARGS: &[Symbol] = &[ACCESSOR, NAME, PUBLIC, PRIMARY_KEY];
/// The arguments `index(..)` accepts.
pub const INDEX_ARGS: &[Symbol] = &[ACCESSOR, NAME, BTREE, HASH, DIRECT];

/// "`a`, `b` or `c`".
pub fn one_of(options: &[Symbol]) -> String {
    let quoted: Vec<String> = options.iter().map(|s| format!("`{}`", s.0)).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

impl PartialEq<Symbol> for Ident {
    fn eq(&self, sym: &Symbol) -> bool {
        self == sym.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, sym: &Symbol) -> bool {
        self.is_ident(sym.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}
