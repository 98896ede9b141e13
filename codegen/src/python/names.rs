//! Python spellings: casing with heck, keyword escaping, and the two ways a type is
//! written: its annotation (`list[Point]`) and its codec expression
//! (`_sdk.ArrayCodec(_point_type.CODEC)`).

use crate::model::{Module, Primitive, TypeModel, TypeUse};
use heck::{ToSnakeCase, ToUpperCamelCase};

/// Python's keywords, plus names a generated field or parameter must not take
/// (`self` would clash with the method receiver of a dataclass constructor).
const RESERVED: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "self", "try", "while", "with", "yield",
];

fn escape(name: String) -> String {
    if RESERVED.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// A field, attribute, method or parameter name.
pub(super) fn snake(name: &str) -> String {
    escape(name.to_snake_case())
}

/// A module (file) stem, e.g. `point_type`.
pub(super) use crate::file_stem as module;

/// A class name.
pub(super) fn pascal(name: &str) -> String {
    escape(name.to_upper_camel_case())
}

/// The Python name of a named type: its scopes and name, joined.
pub(super) fn type_name(ty: &TypeModel) -> String {
    pascal(&ty.joined("_"))
}

/// The file stem of a named type.
pub(super) fn type_module(ty: &TypeModel) -> String {
    module(&type_name(ty), "type")
}

/// How `ty` is written in an annotation.
pub(super) fn py_type(module: &Module, ty: &TypeUse) -> String {
    match ty {
        TypeUse::Bool => "bool".into(),
        TypeUse::Primitive(Primitive::F32 | Primitive::F64) => "float".into(),
        TypeUse::Primitive(_) => "int".into(),
        TypeUse::String => "str".into(),
        TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => "bytes".into(),
        TypeUse::Array(t) => format!("list[{}]", py_type(module, t)),
        // Python has one `None`, so an option of an option wraps its present values in
        // `Some`; the innermost option stays a plain `T | None`.
        TypeUse::Option(t) if matches!(**t, TypeUse::Option(_)) => format!("_sdk.Some[{}] | None", py_type(module, t)),
        TypeUse::Option(t) => format!("{} | None", py_type(module, t)),
        TypeUse::Result(ok, err) => format!("_sdk.Ok[{}] | _sdk.Err[{}]", py_type(module, ok), py_type(module, err)),
        TypeUse::Unit => "None".into(),
        TypeUse::Identity => "_sdk.Identity".into(),
        TypeUse::ConnectionId => "_sdk.ConnectionId".into(),
        TypeUse::Timestamp => "_sdk.Timestamp".into(),
        TypeUse::TimeDuration => "_sdk.TimeDuration".into(),
        TypeUse::Uuid => "_sdk.Uuid".into(),
        TypeUse::ScheduleAt => "_sdk.ScheduleAt".into(),
        TypeUse::Named(i) => type_name(&module.types[*i]),
    }
}

/// The codec of `ty`; a named type's codec is `CODEC` of its module, reached through the
/// module alias `_<stem>` unless it is `local` (the file being generated).
pub(super) fn py_codec(module: &Module, ty: &TypeUse, local: Option<usize>) -> String {
    match ty {
        TypeUse::Bool => "_sdk.BOOL".into(),
        // The SDK names its integer and float codecs after the SATS primitives: `U8`, `F64`, …
        TypeUse::Primitive(p) => format!("_sdk.{}", format!("{p:?}").to_uppercase()),
        TypeUse::String => "_sdk.STRING".into(),
        TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => "_sdk.BYTES".into(),
        TypeUse::Array(t) => format!("_sdk.ArrayCodec({})", py_codec(module, t, local)),
        TypeUse::Option(t) if matches!(**t, TypeUse::Option(_)) => {
            format!("_sdk.NestedOptionCodec({})", py_codec(module, t, local))
        }
        TypeUse::Option(t) => format!("_sdk.OptionCodec({})", py_codec(module, t, local)),
        TypeUse::Result(ok, err) => {
            format!(
                "_sdk.ResultCodec({}, {})",
                py_codec(module, ok, local),
                py_codec(module, err, local)
            )
        }
        TypeUse::Unit => "_sdk.UNIT".into(),
        TypeUse::Identity => "_sdk.IDENTITY".into(),
        TypeUse::ConnectionId => "_sdk.CONNECTION_ID".into(),
        TypeUse::Timestamp => "_sdk.TIMESTAMP".into(),
        TypeUse::TimeDuration => "_sdk.TIME_DURATION".into(),
        TypeUse::Uuid => "_sdk.UUID".into(),
        TypeUse::ScheduleAt => "_sdk.SCHEDULE_AT".into(),
        TypeUse::Named(i) if local == Some(*i) => "CODEC".into(),
        TypeUse::Named(i) => format!("_{}.CODEC", type_module(&module.types[*i])),
    }
}

/// The named types `ty` mentions, directly or inside containers.
pub(super) fn named_in(ty: &TypeUse, out: &mut Vec<usize>) {
    match ty {
        TypeUse::Array(t) | TypeUse::Option(t) => named_in(t, out),
        TypeUse::Result(a, b) => {
            named_in(a, out);
            named_in(b, out);
        }
        TypeUse::Named(i) if !out.contains(i) => out.push(*i),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing_and_keywords() {
        assert_eq!(snake("aU8"), "a_u8");
        assert_eq!(snake("from"), "from_");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("type"), "type", "a soft keyword is a valid name");
        assert_eq!(pascal("every_type"), "EveryType");
        assert_eq!(pascal("none"), "None_");
        assert_eq!(module("EveryType", "type"), "every_type_type");
    }

    #[test]
    fn codecs_of_primitives() {
        let m = Module {
            types: Vec::new(),
            tables: Vec::new(),
            views: Vec::new(),
            reducers: Vec::new(),
            procedures: Vec::new(),
        };
        assert_eq!(py_codec(&m, &TypeUse::Primitive(Primitive::I128), None), "_sdk.I128");
        assert_eq!(py_codec(&m, &TypeUse::Primitive(Primitive::F32), None), "_sdk.F32");
        assert_eq!(
            py_codec(&m, &TypeUse::Array(Box::new(TypeUse::Primitive(Primitive::U8))), None),
            "_sdk.BYTES"
        );
        assert_eq!(py_type(&m, &TypeUse::Option(Box::new(TypeUse::String))), "str | None");
    }

    #[test]
    fn nested_options_wrap_their_outer_levels_in_some() {
        let m = Module {
            types: Vec::new(),
            tables: Vec::new(),
            views: Vec::new(),
            reducers: Vec::new(),
            procedures: Vec::new(),
        };
        let opt = |t: TypeUse| TypeUse::Option(Box::new(t));
        let thrice = opt(opt(opt(TypeUse::Primitive(Primitive::I32))));
        assert_eq!(py_type(&m, &thrice), "_sdk.Some[_sdk.Some[int | None] | None] | None");
        assert_eq!(
            py_codec(&m, &thrice, None),
            "_sdk.NestedOptionCodec(_sdk.NestedOptionCodec(_sdk.OptionCodec(_sdk.I32)))"
        );
    }
}
