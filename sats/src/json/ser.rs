//! Printing values as SATS-JSON.

use crate::bsatn::value::MAX_DEPTH;
use crate::{i256, u256, AlgebraicType, AlgebraicValue, ArrayValue, Typespace};
use serde_json::{Map, Value};

/// SATS-JSON of `value`, read as type `ty` (whose `Ref`s point into `typespace`).
///
/// Where the value does not fit the type (a programming error elsewhere; SpacetimeDB
/// panics), that part prints in the untyped form of [`value_to_json_untyped`].
pub fn value_to_json(value: &AlgebraicValue, ty: &AlgebraicType, typespace: &Typespace) -> Value {
    to_json_with(value, ty, typespace, false)
}

/// SATS-JSON of a value without its type, as SpacetimeDB prints an untyped value: products
/// are arrays, sums are `[tag, payload]`, byte arrays hex strings.
pub fn value_to_json_untyped(value: &AlgebraicValue) -> Value {
    match value {
        AlgebraicValue::Sum(s) => Value::Array(vec![Value::from(s.tag), value_to_json_untyped(&s.value)]),
        AlgebraicValue::Product(p) => Value::Array(p.elements.iter().map(value_to_json_untyped).collect()),
        AlgebraicValue::Array(ArrayValue::Bytes(b)) => Value::String(crate::special::to_hex(b)),
        AlgebraicValue::Array(ArrayValue::Values(v)) => Value::Array(v.iter().map(value_to_json_untyped).collect()),
        other => primitive(other).unwrap_or(Value::Null),
    }
}

pub(super) fn to_json_with(value: &AlgebraicValue, ty: &AlgebraicType, ts: &Typespace, unit_as_array: bool) -> Value {
    Printer { ts, unit_as_array }.print(value, ty, 0)
}

fn u256_hex(x: u256) -> String {
    format!("{x:#x}")
}

fn i256_hex(x: i256) -> String {
    if x < i256::ZERO {
        format!("-{:#x}", x.unsigned_abs())
    } else {
        format!("{x:#x}")
    }
}

/// The JSON of a primitive value; `None` for compound values.
fn primitive(value: &AlgebraicValue) -> Option<Value> {
    // `to_value` of an integer or float cannot fail: numbers always serialize
    // (`arbitrary_precision` keeps 128-bit ones exact, non-finite floats become null).
    let num = |r: Result<Value, serde_json::Error>| r.unwrap_or(Value::Null);
    Some(match value {
        AlgebraicValue::Bool(b) => Value::Bool(*b),
        AlgebraicValue::I8(x) => Value::from(*x),
        AlgebraicValue::U8(x) => Value::from(*x),
        AlgebraicValue::I16(x) => Value::from(*x),
        AlgebraicValue::U16(x) => Value::from(*x),
        AlgebraicValue::I32(x) => Value::from(*x),
        AlgebraicValue::U32(x) => Value::from(*x),
        AlgebraicValue::I64(x) => Value::from(*x),
        AlgebraicValue::U64(x) => Value::from(*x),
        AlgebraicValue::I128(x) => num(serde_json::to_value(x)),
        AlgebraicValue::U128(x) => num(serde_json::to_value(x)),
        AlgebraicValue::I256(x) => Value::String(i256_hex(**x)),
        AlgebraicValue::U256(x) => Value::String(u256_hex(**x)),
        AlgebraicValue::F32(x) => num(serde_json::to_value(x.0)),
        AlgebraicValue::F64(x) => num(serde_json::to_value(x.0)),
        AlgebraicValue::String(s) => Value::String(s.to_string()),
        AlgebraicValue::Sum(_) | AlgebraicValue::Product(_) | AlgebraicValue::Array(_) => return None,
    })
}

struct Printer<'a> {
    ts: &'a Typespace,
    unit_as_array: bool,
}

impl Printer<'_> {
    fn print(&self, value: &AlgebraicValue, ty: &AlgebraicType, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return value_to_json_untyped(value);
        }
        match (value, ty) {
            (_, AlgebraicType::Ref(r)) => match self.ts.get(*r) {
                Some(target) => self.print(value, target, depth + 1),
                None => value_to_json_untyped(value),
            },
            (AlgebraicValue::Sum(s), AlgebraicType::Sum(st)) => match st.variants.get(usize::from(s.tag)) {
                Some(variant) => {
                    let payload = self.print(&s.value, &variant.algebraic_type, depth + 1);
                    match variant.name() {
                        Some(name) => Value::Object(Map::from_iter([(name.to_owned(), payload)])),
                        None => Value::Array(vec![Value::from(s.tag), payload]),
                    }
                }
                None => value_to_json_untyped(value),
            },
            (AlgebraicValue::Product(p), AlgebraicType::Product(pt)) if p.elements.len() == pt.elements.len() => {
                if pt.elements.is_empty() {
                    return if self.unit_as_array {
                        Value::Array(vec![])
                    } else {
                        Value::Object(Map::new())
                    };
                }
                let printed = p
                    .elements
                    .iter()
                    .zip(&pt.elements)
                    .map(|(v, e)| (e.name(), self.print(v, &e.algebraic_type, depth + 1)));
                if pt.elements.iter().all(|e| e.name().is_some()) {
                    Value::Object(printed.map(|(n, v)| (n.unwrap_or_default().to_owned(), v)).collect())
                } else {
                    Value::Array(printed.map(|(_, v)| v).collect())
                }
            }
            (AlgebraicValue::Array(ArrayValue::Bytes(b)), AlgebraicType::Array(_)) => {
                Value::String(crate::special::to_hex(b))
            }
            (AlgebraicValue::Array(ArrayValue::Values(vs)), AlgebraicType::Array(at)) => {
                if *at.elem_ty == AlgebraicType::U8 {
                    let bytes: Option<Vec<u8>> = vs
                        .iter()
                        .map(|v| if let AlgebraicValue::U8(b) = v { Some(*b) } else { None })
                        .collect();
                    if let Some(bytes) = bytes {
                        return Value::String(crate::special::to_hex(&bytes));
                    }
                }
                Value::Array(vs.iter().map(|v| self.print(v, &at.elem_ty, depth + 1)).collect())
            }
            (v, _) => value_to_json_untyped(v),
        }
    }
}
