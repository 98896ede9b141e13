//! A compact, SQL-like rendering of [`AlgebraicValue`]s for error messages.
//!
//! Values carry no type, so this prints what the value holds: numbers plainly,
//! strings quoted, byte arrays as `0x…`, products as `(a, b)` and sums as
//! `tag(payload)`. Rendering for users (tables, JSON) is the CLI's and server's job.

use spacetime_sats::{AlgebraicValue, ArrayValue};
use std::fmt::{self, Write};

/// Renders `value` for an error message.
pub fn display_value(value: &AlgebraicValue) -> String {
    let mut out = String::new();
    // Writing into a `String` cannot fail.
    let _ = write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &AlgebraicValue) -> fmt::Result {
    match value {
        AlgebraicValue::Sum(s) if s.value.as_product().is_some_and(|p| p.is_empty()) => {
            write!(out, "#{}", s.tag)
        }
        AlgebraicValue::Sum(s) => {
            write!(out, "#{}(", s.tag)?;
            write_value(out, &s.value)?;
            out.write_char(')')
        }
        AlgebraicValue::Product(p) if p.elements.len() == 1 && is_wide_int(&p.elements[0]) => {
            // The special types (identity, connection id, …) are one-field products of a
            // wide integer; hex reads better than a 77-digit decimal.
            write_hex_int(out, &p.elements[0])
        }
        AlgebraicValue::Product(p) => {
            out.write_char('(')?;
            for (i, elem) in p.elements.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                write_value(out, elem)?;
            }
            out.write_char(')')
        }
        AlgebraicValue::Array(ArrayValue::Bytes(bytes)) => {
            out.write_str("0x")?;
            bytes.iter().try_for_each(|b| write!(out, "{b:02x}"))
        }
        AlgebraicValue::Array(ArrayValue::Values(values)) => {
            out.write_char('[')?;
            for (i, elem) in values.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                write_value(out, elem)?;
            }
            out.write_char(']')
        }
        AlgebraicValue::String(s) => write!(out, "{s:?}"),
        AlgebraicValue::Bool(b) => write!(out, "{b}"),
        AlgebraicValue::I8(x) => write!(out, "{x}"),
        AlgebraicValue::U8(x) => write!(out, "{x}"),
        AlgebraicValue::I16(x) => write!(out, "{x}"),
        AlgebraicValue::U16(x) => write!(out, "{x}"),
        AlgebraicValue::I32(x) => write!(out, "{x}"),
        AlgebraicValue::U32(x) => write!(out, "{x}"),
        AlgebraicValue::I64(x) => write!(out, "{x}"),
        AlgebraicValue::U64(x) => write!(out, "{x}"),
        AlgebraicValue::I128(x) => write!(out, "{x}"),
        AlgebraicValue::U128(x) => write!(out, "{x}"),
        AlgebraicValue::I256(x) => write!(out, "{x}"),
        AlgebraicValue::U256(x) => write!(out, "{x}"),
        AlgebraicValue::F32(x) => write!(out, "{}", x.get()),
        AlgebraicValue::F64(x) => write!(out, "{}", x.get()),
    }
}

fn is_wide_int(value: &AlgebraicValue) -> bool {
    matches!(value, AlgebraicValue::U128(_) | AlgebraicValue::U256(_))
}

fn write_hex_int(out: &mut String, value: &AlgebraicValue) -> fmt::Result {
    match value {
        AlgebraicValue::U128(x) => write!(out, "0x{x:032x}"),
        AlgebraicValue::U256(x) => write!(out, "0x{:064x}", **x),
        other => write_value(out, other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_kind() {
        let v = AlgebraicValue::product(vec![
            AlgebraicValue::U32(7),
            AlgebraicValue::string("a\"b"),
            AlgebraicValue::bytes(vec![0xde, 0xad]),
            AlgebraicValue::some(AlgebraicValue::I8(-1)),
            AlgebraicValue::none(),
        ]);
        assert_eq!(display_value(&v), r#"(7, "a\"b", 0xdead, #0(-1), #1)"#);
        let id = AlgebraicValue::product(vec![AlgebraicValue::U128(255)]);
        assert_eq!(display_value(&id), "0x000000000000000000000000000000ff");
    }
}
