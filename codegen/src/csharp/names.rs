//! C# spellings: casing with heck, keyword escaping, type mapping, and the BSATN read and
//! write expressions of each type (generated code composes `SpacetimeDB.BsatnReader` and
//! `BsatnWriter` calls; nested containers become nested lambdas).

use crate::model::{Module, Primitive, TypeKind, TypeModel, TypeUse};
use heck::{ToLowerCamelCase, ToUpperCamelCase};

/// C#'s reserved keywords: such parameter names get the `@` prefix.
const KEYWORDS: &[&str] = &[
    "abstract",
    "as",
    "base",
    "bool",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "checked",
    "class",
    "const",
    "continue",
    "decimal",
    "default",
    "delegate",
    "do",
    "double",
    "else",
    "enum",
    "event",
    "explicit",
    "extern",
    "false",
    "finally",
    "fixed",
    "float",
    "for",
    "foreach",
    "goto",
    "if",
    "implicit",
    "in",
    "int",
    "interface",
    "internal",
    "is",
    "lock",
    "long",
    "namespace",
    "new",
    "null",
    "object",
    "operator",
    "out",
    "override",
    "params",
    "private",
    "protected",
    "public",
    "readonly",
    "ref",
    "return",
    "sbyte",
    "sealed",
    "short",
    "sizeof",
    "stackalloc",
    "static",
    "string",
    "struct",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "uint",
    "ulong",
    "unchecked",
    "unsafe",
    "ushort",
    "using",
    "virtual",
    "void",
    "volatile",
    "while",
];

/// A type, property, method or variant name.
pub(super) fn pascal(name: &str) -> String {
    let p = name.to_upper_camel_case();
    if p.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{p}")
    } else {
        p
    }
}

/// A parameter or local name.
pub(super) fn camel(name: &str) -> String {
    let c = name.to_lower_camel_case();
    if KEYWORDS.contains(&c.as_str()) {
        format!("@{c}")
    } else if c.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{c}")
    } else {
        c
    }
}

/// A property name that differs from its class's name and from the members every
/// generated class has.
pub(super) fn member(name: &str, class: &str, reserved: &[&str]) -> String {
    let p = pascal(name);
    if p == class || reserved.contains(&p.as_str()) {
        format!("{p}_")
    } else {
        p
    }
}

/// Whether `name` is a dotted C# namespace (`SpacetimeDB.Types`).
pub(super) fn is_namespace(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
                && !KEYWORDS.contains(&part)
        })
}

/// The C# name of a named type: its scopes and name, joined.
pub(super) fn type_name(ty: &TypeModel) -> String {
    pascal(&ty.joined("_"))
}

/// Whether a named type is an enum without payloads, generated as a C# `enum`.
pub(super) fn is_simple_enum(ty: &TypeModel) -> bool {
    matches!(&ty.kind, TypeKind::Sum(variants) if variants.iter().all(|(_, p)| p.is_none()))
}

/// Spells types inside one generated class.
pub(super) struct Spell<'a> {
    pub module: &'a Module,
    pub namespace: &'a str,
    /// Names that mean a member inside the class, so a named type of the same name must be
    /// written with its namespace.
    pub members: Vec<String>,
    /// Write every named type with its namespace (inside handles, where fields shadow types).
    pub qualify_all: bool,
}

impl Spell<'_> {
    fn named(&self, i: usize) -> String {
        let name = type_name(&self.module.types[i]);
        if self.qualify_all || self.members.contains(&name) {
            format!("global::{}.{name}", self.namespace)
        } else {
            name
        }
    }

    /// Whether values of `ty` are C# value types (so an option of them is `T?`).
    pub fn is_value_type(&self, ty: &TypeUse) -> bool {
        match ty {
            TypeUse::Bool
            | TypeUse::Primitive(_)
            | TypeUse::Unit
            | TypeUse::Identity
            | TypeUse::ConnectionId
            | TypeUse::Timestamp
            | TypeUse::TimeDuration
            | TypeUse::Uuid => true,
            TypeUse::Named(i) => is_simple_enum(&self.module.types[*i]),
            TypeUse::String | TypeUse::Array(_) | TypeUse::Option(_) | TypeUse::Result(..) | TypeUse::ScheduleAt => {
                false
            }
        }
    }

    /// How `ty` is written, or why C# cannot express it.
    pub fn cs_type(&self, ty: &TypeUse) -> Result<String, String> {
        Ok(match ty {
            TypeUse::Bool => "bool".into(),
            TypeUse::Primitive(p) => match p {
                Primitive::I8 => "sbyte",
                Primitive::U8 => "byte",
                Primitive::I16 => "short",
                Primitive::U16 => "ushort",
                Primitive::I32 => "int",
                Primitive::U32 => "uint",
                Primitive::I64 => "long",
                Primitive::U64 => "ulong",
                Primitive::I128 | Primitive::U128 | Primitive::I256 | Primitive::U256 => "System.Numerics.BigInteger",
                Primitive::F32 => "float",
                Primitive::F64 => "double",
            }
            .into(),
            TypeUse::String => "string".into(),
            TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => "byte[]".into(),
            TypeUse::Array(t) => format!("System.Collections.Generic.List<{}>", self.cs_type(t)?),
            TypeUse::Option(t) => {
                if matches!(**t, TypeUse::Option(_)) {
                    return Err(
                        "an option of an option (C# has one null, so `None` and `Some(None)` would be the same)".into(),
                    );
                }
                if self.is_value_type(t) {
                    format!("{}?", self.cs_type(t)?)
                } else {
                    self.cs_type(t)?
                }
            }
            TypeUse::Result(ok, err) => format!("SpacetimeDB.Result<{}, {}>", self.cs_type(ok)?, self.cs_type(err)?),
            TypeUse::Unit => "SpacetimeDB.Unit".into(),
            TypeUse::Identity => "SpacetimeDB.Identity".into(),
            TypeUse::ConnectionId => "SpacetimeDB.ConnectionId".into(),
            TypeUse::Timestamp => "SpacetimeDB.Timestamp".into(),
            TypeUse::TimeDuration => "SpacetimeDB.TimeDuration".into(),
            TypeUse::Uuid => "SpacetimeDB.Uuid".into(),
            TypeUse::ScheduleAt => "SpacetimeDB.ScheduleAt".into(),
            TypeUse::Named(i) => self.named(*i),
        })
    }

    /// An expression reading a `ty` from the reader variable `r`.
    pub fn read(&self, ty: &TypeUse, r: &str) -> Result<String, String> {
        let depth = r.trim_start_matches('r').parse::<u32>().unwrap_or(0) + 1;
        let inner = format!("r{depth}");
        Ok(match ty {
            TypeUse::Bool => format!("{r}.ReadBool()"),
            TypeUse::Primitive(p) => format!("{r}.Read{}()", primitive_suffix(*p)),
            TypeUse::String => format!("{r}.ReadString()"),
            TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => format!("{r}.ReadBytes()"),
            TypeUse::Array(t) => format!("{r}.ReadArray({inner} => {})", self.read(t, &inner)?),
            TypeUse::Option(t) => {
                let method = if self.is_value_type(t) {
                    "ReadOptionValue"
                } else {
                    "ReadOption"
                };
                format!("{r}.{method}({inner} => {})", self.read(t, &inner)?)
            }
            TypeUse::Result(..) => {
                let TypeUse::Result(ok, err) = ty else {
                    unreachable!("matched above")
                };
                format!(
                    "{}.Read({r}, {inner} => {}, {inner} => {})",
                    self.cs_type(ty)?,
                    self.read(ok, &inner)?,
                    self.read(err, &inner)?
                )
            }
            TypeUse::Named(i) if is_simple_enum(&self.module.types[*i]) => {
                let TypeKind::Sum(variants) = &self.module.types[*i].kind else {
                    unreachable!("a simple enum is a sum")
                };
                let name = self.named(*i);
                format!(
                    "({name}){r}.ReadTag({}, \"{}\")",
                    variants.len(),
                    type_name(&self.module.types[*i])
                )
            }
            TypeUse::Unit
            | TypeUse::Identity
            | TypeUse::ConnectionId
            | TypeUse::Timestamp
            | TypeUse::TimeDuration
            | TypeUse::Uuid
            | TypeUse::ScheduleAt
            | TypeUse::Named(_) => format!("{}.Read({r})", self.cs_type(ty)?),
        })
    }

    /// An expression writing the value `v` of type `ty` with the writer variable `w`.
    pub fn write(&self, ty: &TypeUse, v: &str, w: &str) -> Result<String, String> {
        let depth = w.trim_start_matches('w').parse::<u32>().unwrap_or(0) + 1;
        let (iw, ix) = (format!("w{depth}"), format!("x{depth}"));
        Ok(match ty {
            TypeUse::Bool => format!("{w}.WriteBool({v})"),
            TypeUse::Primitive(p) => format!("{w}.Write{}({v})", primitive_suffix(*p)),
            TypeUse::String => format!("{w}.WriteString({v})"),
            TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => format!("{w}.WriteBytes({v})"),
            TypeUse::Array(t) => format!("{w}.WriteArray({v}, ({iw}, {ix}) => {})", self.write(t, &ix, &iw)?),
            TypeUse::Option(t) => {
                let method = if self.is_value_type(t) {
                    "WriteOptionValue"
                } else {
                    "WriteOption"
                };
                format!("{w}.{method}({v}, ({iw}, {ix}) => {})", self.write(t, &ix, &iw)?)
            }
            TypeUse::Result(ok, err) => format!(
                "{v}.Write({w}, ({iw}, {ix}) => {}, ({iw}, {ix}) => {})",
                self.write(ok, &ix, &iw)?,
                self.write(err, &ix, &iw)?
            ),
            TypeUse::Named(i) if is_simple_enum(&self.module.types[*i]) => format!("{w}.WriteU8((byte){v})"),
            _ => format!("{v}.Write({w})"),
        })
    }

    /// The value a parameterless constructor gives a property of type `ty`: empty strings
    /// and collections rather than null, where C# allows it.
    pub fn default_value(&self, ty: &TypeUse) -> Result<Option<String>, String> {
        Ok(match ty {
            TypeUse::String => Some("\"\"".into()),
            TypeUse::Array(t) if **t == TypeUse::Primitive(Primitive::U8) => Some("new byte[0]".into()),
            TypeUse::Array(_) => Some(format!("new {}()", self.cs_type(ty)?)),
            TypeUse::Named(i) if matches!(self.module.types[*i].kind, TypeKind::Product(_)) => {
                Some(format!("new {}()", self.cs_type(ty)?))
            }
            _ => None,
        })
    }
}

fn primitive_suffix(p: Primitive) -> &'static str {
    match p {
        Primitive::I8 => "I8",
        Primitive::U8 => "U8",
        Primitive::I16 => "I16",
        Primitive::U16 => "U16",
        Primitive::I32 => "I32",
        Primitive::U32 => "U32",
        Primitive::I64 => "I64",
        Primitive::U64 => "U64",
        Primitive::I128 => "I128",
        Primitive::U128 => "U128",
        Primitive::I256 => "I256",
        Primitive::U256 => "U256",
        Primitive::F32 => "F32",
        Primitive::F64 => "F64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing_keywords_and_namespaces() {
        assert_eq!(pascal("a_u8"), "AU8");
        assert_eq!(pascal("every_type"), "EveryType");
        assert_eq!(camel("name"), "name");
        assert_eq!(camel("event"), "@event");
        assert_eq!(camel("an_option"), "anOption");
        assert_eq!(member("point", "Point", &[]), "Point_");
        assert_eq!(member("read", "Row", &["Read"]), "Read_");
        assert!(is_namespace("SpacetimeDB.Types"));
        assert!(is_namespace("Game"));
        assert!(!is_namespace("Game..Types"));
        assert!(!is_namespace("1Game"));
        assert!(!is_namespace("My Game"));
        assert!(!is_namespace("Game.class"));
    }
}
