//! Rust spellings: casing with heck, keyword escaping, and type mapping.

use crate::model::{Module, Primitive, TypeModel, TypeUse};
use heck::{ToSnakeCase, ToUpperCamelCase};

/// Rust's keywords (strict and reserved, all editions): such names get the `r#` prefix.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro", "match", "mod",
    "move", "mut", "override", "priv", "pub", "ref", "return", "static", "struct", "super", "trait", "true", "try",
    "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names that cannot be raw identifiers either.
const NOT_RAW: &[&str] = &["crate", "self", "super", "Self"];

fn escape(name: String) -> String {
    if NOT_RAW.contains(&name.as_str()) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// A field, method, parameter or module name.
pub(super) fn snake(name: &str) -> String {
    escape(name.to_snake_case())
}

/// A file (module) stem: never escaped, as `r#` cannot appear in file names.
pub(super) use crate::file_stem as module;

/// A type, trait or variant name.
pub(super) fn pascal(name: &str) -> String {
    escape(name.to_upper_camel_case())
}

/// The Rust name of a named type: its scopes and name, joined.
pub(super) fn type_name(ty: &TypeModel) -> String {
    pascal(&ty.joined("_"))
}

/// How `ty` is written; named types are prefixed with `path` (`super::` inside the
/// per-item files, nothing in `mod.rs`).
pub(super) fn rust_type(module: &Module, ty: &TypeUse, path: &str) -> String {
    match ty {
        TypeUse::Bool => "bool".into(),
        TypeUse::Primitive(p) => match p {
            Primitive::I8 => "i8",
            Primitive::U8 => "u8",
            Primitive::I16 => "i16",
            Primitive::U16 => "u16",
            Primitive::I32 => "i32",
            Primitive::U32 => "u32",
            Primitive::I64 => "i64",
            Primitive::U64 => "u64",
            Primitive::I128 => "i128",
            Primitive::U128 => "u128",
            Primitive::I256 => "__sdk::i256",
            Primitive::U256 => "__sdk::u256",
            Primitive::F32 => "f32",
            Primitive::F64 => "f64",
        }
        .into(),
        TypeUse::String => "String".into(),
        TypeUse::Array(t) => format!("Vec<{}>", rust_type(module, t, path)),
        TypeUse::Option(t) => format!("Option<{}>", rust_type(module, t, path)),
        TypeUse::Result(ok, err) => format!(
            "Result<{}, {}>",
            rust_type(module, ok, path),
            rust_type(module, err, path)
        ),
        TypeUse::Unit => "()".into(),
        TypeUse::Identity => "__sdk::Identity".into(),
        TypeUse::ConnectionId => "__sdk::ConnectionId".into(),
        TypeUse::Timestamp => "__sdk::Timestamp".into(),
        TypeUse::TimeDuration => "__sdk::TimeDuration".into(),
        TypeUse::Uuid => "__sdk::Uuid".into(),
        TypeUse::ScheduleAt => "__sdk::ScheduleAt".into(),
        TypeUse::Named(i) => format!("{path}{}", type_name(&module.types[*i])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing_and_keywords() {
        assert_eq!(snake("aU8"), "a_u8");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(pascal("every_type"), "EveryType");
        assert_eq!(pascal("red"), "Red");
        assert_eq!(module("EveryType", "type"), "every_type_type");
        assert_eq!(module("type", "table"), "type_table");
    }
}
