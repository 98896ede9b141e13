//! TypeScript spellings: casing with heck, and how each SATS type is written as a
//! TypeScript type and as a codec expression of the SDK's `t` combinators.

use crate::model::{Module, Primitive, TypeModel, TypeUse};
use heck::{ToLowerCamelCase, ToUpperCamelCase};

/// Globals the generated code uses by name; a module type with one of these names gets a
/// `_` suffix so it does not shadow them.
const SHADOWED: &[&str] = &["Array", "Uint8Array", "Promise", "Record", "Symbol"];

/// A field, method or accessor name: camelCase (property names may be reserved words).
pub(super) fn camel(name: &str) -> String {
    name.to_lower_camel_case()
}

/// A type or class name: PascalCase, never one of the globals the bindings use.
pub(super) fn pascal(name: &str) -> String {
    let n = name.to_upper_camel_case();
    if SHADOWED.contains(&n.as_str()) {
        format!("{n}_")
    } else {
        n
    }
}

/// A file stem, without extension.
pub(super) use crate::file_stem as file;

/// The TypeScript name of a named type: its scopes and name, joined.
pub(super) fn type_name(ty: &TypeModel) -> String {
    pascal(&ty.joined("_"))
}

fn is_option(ty: &TypeUse) -> bool {
    matches!(ty, TypeUse::Option(_))
}

/// How `ty` is written as a TypeScript type.
pub(super) fn ts_type(module: &Module, ty: &TypeUse) -> String {
    match ty {
        TypeUse::Bool => "boolean".into(),
        TypeUse::Primitive(p) => match p {
            Primitive::I8
            | Primitive::U8
            | Primitive::I16
            | Primitive::U16
            | Primitive::I32
            | Primitive::U32
            | Primitive::F32
            | Primitive::F64 => "number",
            Primitive::I64 | Primitive::U64 | Primitive::I128 | Primitive::U128 | Primitive::I256 | Primitive::U256 => {
                "bigint"
            }
        }
        .into(),
        TypeUse::String => "string".into(),
        TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => "Uint8Array".into(),
        TypeUse::Array(t) => format!("Array<{}>", ts_type(module, t)),
        TypeUse::Option(t) if is_option(t) => format!("__sdk.NestedOption<{}>", ts_type(module, t)),
        TypeUse::Option(t) => format!("{} | undefined", ts_type(module, t)),
        TypeUse::Result(ok, err) => format!("__sdk.Result<{}, {}>", ts_type(module, ok), ts_type(module, err)),
        TypeUse::Unit => "__sdk.Unit".into(),
        TypeUse::Identity => "__sdk.Identity".into(),
        TypeUse::ConnectionId => "__sdk.ConnectionId".into(),
        TypeUse::Timestamp => "__sdk.Timestamp".into(),
        TypeUse::TimeDuration => "__sdk.TimeDuration".into(),
        TypeUse::Uuid => "__sdk.Uuid".into(),
        TypeUse::ScheduleAt => "__sdk.ScheduleAt".into(),
        TypeUse::Named(i) => type_name(&module.types[*i]),
    }
}

/// How `ty` is written as a codec expression. Named types are referenced lazily, so type
/// files may import each other in any order (and types may be recursive).
pub(super) fn codec(module: &Module, ty: &TypeUse) -> String {
    match ty {
        TypeUse::Bool => "__sdk.t.bool()".into(),
        TypeUse::Primitive(p) => {
            let f = match p {
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
                Primitive::I256 => "i256",
                Primitive::U256 => "u256",
                Primitive::F32 => "f32",
                Primitive::F64 => "f64",
            };
            format!("__sdk.t.{f}()")
        }
        TypeUse::String => "__sdk.t.string()".into(),
        TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => "__sdk.t.bytes()".into(),
        TypeUse::Array(t) => format!("__sdk.t.array({})", codec(module, t)),
        TypeUse::Option(t) if is_option(t) => format!("__sdk.t.nestedOption({})", codec(module, t)),
        TypeUse::Option(t) => format!("__sdk.t.option({})", codec(module, t)),
        TypeUse::Result(ok, err) => format!("__sdk.t.result({}, {})", codec(module, ok), codec(module, err)),
        TypeUse::Unit => "__sdk.t.unit()".into(),
        TypeUse::Identity => "__sdk.t.identity()".into(),
        TypeUse::ConnectionId => "__sdk.t.connectionId()".into(),
        TypeUse::Timestamp => "__sdk.t.timestamp()".into(),
        TypeUse::TimeDuration => "__sdk.t.timeDuration()".into(),
        TypeUse::Uuid => "__sdk.t.uuid()".into(),
        TypeUse::ScheduleAt => "__sdk.t.scheduleAt()".into(),
        TypeUse::Named(i) => format!("__sdk.t.lazy(() => {})", type_name(&module.types[*i])),
    }
}

/// The named types `ty` mentions, as indexes into [`Module::types`].
pub(super) fn named_types(ty: &TypeUse, out: &mut Vec<usize>) {
    match ty {
        TypeUse::Named(i) => out.push(*i),
        TypeUse::Array(t) | TypeUse::Option(t) => named_types(t, out),
        TypeUse::Result(a, b) => {
            named_types(a, out);
            named_types(b, out);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing_and_shadowed_globals() {
        assert_eq!(camel("a_u_8"), "aU8");
        assert_eq!(camel("send_message"), "sendMessage");
        assert_eq!(pascal("every_type"), "EveryType");
        assert_eq!(pascal("array"), "Array_");
        assert_eq!(pascal("never"), "Never");
        assert_eq!(file("EveryType", "type"), "every_type_type");
    }
}
