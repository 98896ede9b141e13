//! Reading SATS-JSON into values, against a type.

use super::JsonError;
use crate::bsatn::value::MAX_DEPTH;
use crate::{
    i256, u256, AlgebraicType, AlgebraicValue, ConnectionId, Identity, ProductType, SumType, Timestamp, Typespace, F32,
    F64,
};
use serde_json::Value;

/// Reads `json` as a value of type `ty` (whose `Ref`s point into `typespace`).
///
/// # Errors
/// [`JsonError`] naming the path and the expected type where `json` does not fit.
pub fn value_from_json(json: &Value, ty: &AlgebraicType, typespace: &Typespace) -> Result<AlgebraicValue, JsonError> {
    Reader { ts: typespace }.read(json, ty, &mut "value".to_owned(), 0)
}

/// A short description of a JSON value for error messages.
fn describe(json: &Value) -> String {
    match json {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.len() > 40 => format!("string {:?}…", s.chars().take(40).collect::<String>()),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(a) => format!("an array of {} elements", a.len()),
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().map(String::as_str).take(4).collect();
            format!("an object with keys {keys:?}")
        }
    }
}

fn err(path: &str, expected: impl Into<String>, json: &Value) -> JsonError {
    JsonError {
        path: path.to_owned(),
        expected: expected.into(),
        found: describe(json),
    }
}

/// The text of a JSON integer, or of a string when `strings` allows it; `None` otherwise.
fn int_text(json: &Value, strings: bool) -> Option<String> {
    match json {
        Value::Number(n) => {
            let text = n.to_string();
            // Integers only: `7.0` and `1e3` are floats in JSON's grammar.
            (!text.contains(['.', 'e', 'E'])).then_some(text)
        }
        Value::String(s) if strings => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Parses a decimal or (`0x`/`-0x`) hex integer text with `from_radix`.
fn parse_int<T>(text: &str, hex_ok: bool, from_radix: impl Fn(&str, u32) -> Option<T>) -> Option<T> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) if hex_ok && !hex.is_empty() => from_radix(&format!("{neg}{hex}"), 16),
        Some(_) => None,
        None => from_radix(text, 10),
    }
}

fn float(json: &Value) -> Option<f64> {
    match json {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Hex digits (optionally `0x`-prefixed) to bytes.
fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    if digits.len() % 2 != 0 || !digits.is_ascii() {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect()
}

struct Reader<'a> {
    ts: &'a Typespace,
}

macro_rules! small_int {
    ($json:expr, $path:expr, $ty:ty, $variant:ident, $strings:expr) => {{
        let parsed =
            int_text($json, $strings).and_then(|t| parse_int(&t, false, |s, r| <$ty>::from_str_radix(s, r).ok()));
        parsed
            .map(AlgebraicValue::$variant)
            .ok_or_else(|| err($path, concat!("an integer in the range of ", stringify!($ty)), $json))
    }};
}

impl Reader<'_> {
    fn read(
        &self,
        json: &Value,
        ty: &AlgebraicType,
        path: &mut String,
        depth: usize,
    ) -> Result<AlgebraicValue, JsonError> {
        if depth > MAX_DEPTH {
            return Err(err(
                path,
                format!("a value nested at most {MAX_DEPTH} levels deep"),
                json,
            ));
        }
        Ok(match ty {
            AlgebraicType::Ref(r) => {
                let target = self.ts.get(*r).ok_or_else(|| {
                    err(
                        path,
                        format!("a value of type &{} (missing from the typespace)", r.0),
                        json,
                    )
                })?;
                return self.read(json, target, path, depth + 1);
            }
            AlgebraicType::Sum(sum) => return self.read_sum(json, sum, path, depth),
            AlgebraicType::Product(prod) => return self.read_product(json, prod, path, depth),
            AlgebraicType::Array(array) => {
                if *array.elem_ty == AlgebraicType::U8 {
                    if let Value::String(s) = json {
                        let bytes = hex_bytes(s).ok_or_else(|| err(path, "a hex string of bytes", json))?;
                        return Ok(AlgebraicValue::bytes(bytes));
                    }
                }
                let Value::Array(items) = json else {
                    return Err(err(path, "an array", json));
                };
                let mut values = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    values.push(self.read(item, &array.elem_ty, path, depth + 1)?);
                    path.truncate(len);
                }
                if *array.elem_ty == AlgebraicType::U8 {
                    // Byte arrays are always `ArrayValue::Bytes`, empty ones included, as
                    // BSATN decoding makes them.
                    let bytes = values
                        .iter()
                        .filter_map(|v| if let AlgebraicValue::U8(b) = v { Some(*b) } else { None });
                    AlgebraicValue::bytes(bytes.collect::<Vec<u8>>())
                } else {
                    AlgebraicValue::Array(crate::ArrayValue::Values(values))
                }
            }
            AlgebraicType::String => match json {
                Value::String(s) => AlgebraicValue::String(s.as_str().into()),
                _ => return Err(err(path, "a string", json)),
            },
            AlgebraicType::Bool => match json {
                Value::Bool(b) => AlgebraicValue::Bool(*b),
                _ => return Err(err(path, "a boolean", json)),
            },
            AlgebraicType::I8 => small_int!(json, path, i8, I8, false)?,
            AlgebraicType::U8 => small_int!(json, path, u8, U8, false)?,
            AlgebraicType::I16 => small_int!(json, path, i16, I16, false)?,
            AlgebraicType::U16 => small_int!(json, path, u16, U16, false)?,
            AlgebraicType::I32 => small_int!(json, path, i32, I32, false)?,
            AlgebraicType::U32 => small_int!(json, path, u32, U32, false)?,
            AlgebraicType::I64 => small_int!(json, path, i64, I64, true)?,
            AlgebraicType::U64 => small_int!(json, path, u64, U64, true)?,
            AlgebraicType::I128 | AlgebraicType::U128 | AlgebraicType::I256 | AlgebraicType::U256 => {
                return self.read_big_int(json, ty, path);
            }
            AlgebraicType::F32 => {
                AlgebraicValue::F32(F32(float(json).ok_or_else(|| err(path, "a number (f32)", json))? as f32))
            }
            AlgebraicType::F64 => {
                AlgebraicValue::F64(F64(float(json).ok_or_else(|| err(path, "a number (f64)", json))?))
            }
        })
    }

    fn read_big_int(&self, json: &Value, ty: &AlgebraicType, path: &str) -> Result<AlgebraicValue, JsonError> {
        let text = int_text(json, true);
        let parsed = text.as_deref().and_then(|t| match ty {
            AlgebraicType::I128 => parse_int(t, true, |s, r| i128::from_str_radix(s, r).ok()).map(AlgebraicValue::I128),
            AlgebraicType::U128 => parse_int(t, true, |s, r| u128::from_str_radix(s, r).ok()).map(AlgebraicValue::U128),
            AlgebraicType::I256 => parse_int(t, true, |s, r| i256::from_str_radix(s, r).ok()).map(AlgebraicValue::from),
            _ => parse_int(t, true, |s, r| u256::from_str_radix(s, r).ok()).map(AlgebraicValue::from),
        });
        let name = format!("{ty:?}").to_lowercase();
        parsed.ok_or_else(|| {
            err(
                path,
                format!("an integer in the range of {name} (a number, a decimal string or a 0x hex string)"),
                json,
            )
        })
    }

    fn read_sum(
        &self,
        json: &Value,
        sum: &SumType,
        path: &mut String,
        depth: usize,
    ) -> Result<AlgebraicValue, JsonError> {
        let names = || {
            let names: Vec<&str> = sum.variants.iter().filter_map(|v| v.name()).collect();
            if names.is_empty() {
                format!(
                    "a sum value {{\"<tag>\": payload}} with tag below {}",
                    sum.variants.len()
                )
            } else {
                format!("a sum value {{\"<variant>\": payload}} with variant one of {names:?}")
            }
        };
        let (key, payload): (&Value, &Value) = match json {
            Value::Null if sum.as_option().is_some() => {
                return Ok(AlgebraicValue::none());
            }
            Value::Object(o) if o.len() == 1 => {
                let (k, v) = o.iter().next().ok_or_else(|| err(path, names(), json))?;
                return self.read_variant(&Value::String(k.clone()), v, sum, path, depth, json, &names);
            }
            Value::Array(a) if a.len() == 2 => (&a[0], &a[1]),
            _ => return Err(err(path, names(), json)),
        };
        self.read_variant(key, payload, sum, path, depth, json, &names)
    }

    #[allow(clippy::too_many_arguments)]
    fn read_variant(
        &self,
        key: &Value,
        payload: &Value,
        sum: &SumType,
        path: &mut String,
        depth: usize,
        whole: &Value,
        names: &dyn Fn() -> String,
    ) -> Result<AlgebraicValue, JsonError> {
        let tag = match key {
            Value::String(s) => match s.parse::<u8>() {
                Ok(tag) => Some(tag),
                Err(_) => sum.tag_of(s),
            },
            Value::Number(n) => n.as_u64().and_then(|t| u8::try_from(t).ok()),
            _ => None,
        };
        let Some((tag, variant)) = tag.and_then(|t| sum.variants.get(usize::from(t)).map(|v| (t, v))) else {
            return Err(err(path, names(), whole));
        };
        let len = path.len();
        match variant.name() {
            Some(name) => path.push_str(&format!(".{name}")),
            None => path.push_str(&format!(".{tag}")),
        }
        let value = self.read(payload, &variant.algebraic_type, path, depth + 1)?;
        path.truncate(len);
        Ok(AlgebraicValue::sum(tag, value))
    }

    fn read_product(
        &self,
        json: &Value,
        prod: &ProductType,
        path: &mut String,
        depth: usize,
    ) -> Result<AlgebraicValue, JsonError> {
        if let Some(special) = self.read_special(json, prod) {
            return special.map_err(|expected| err(path, expected, json));
        }
        let n = prod.elements.len();
        let mut out: Vec<Option<AlgebraicValue>> = vec![None; n];
        match json {
            Value::Array(items) if items.len() == n => {
                for (i, (item, elem)) in items.iter().zip(&prod.elements).enumerate() {
                    let len = path.len();
                    match elem.name() {
                        Some(name) => path.push_str(&format!(".{name}")),
                        None => path.push_str(&format!("[{i}]")),
                    }
                    out[i] = Some(self.read(item, &elem.algebraic_type, path, depth + 1)?);
                    path.truncate(len);
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields {
                    let index = prod.index_of(key).or_else(|| {
                        key.parse::<usize>()
                            .ok()
                            .filter(|&i| i < n && prod.elements[i].name().is_none())
                    });
                    let Some(index) = index else {
                        let names: Vec<&str> = prod.elements.iter().filter_map(|e| e.name()).collect();
                        return Err(JsonError {
                            path: path.clone(),
                            expected: format!("only the fields {names:?}"),
                            found: format!("unknown field {key:?}"),
                        });
                    };
                    let len = path.len();
                    path.push_str(&format!(".{key}"));
                    out[index] = Some(self.read(item, &prod.elements[index].algebraic_type, path, depth + 1)?);
                    path.truncate(len);
                }
                if let Some(missing) = out.iter().position(Option::is_none) {
                    let name = prod.elements[missing]
                        .name()
                        .map_or_else(|| missing.to_string(), str::to_owned);
                    return Err(JsonError {
                        path: path.clone(),
                        expected: format!("a value for field {name:?}"),
                        found: "no such key".to_owned(),
                    });
                }
            }
            _ => {
                let expected = match n {
                    0 => "the unit value [] or {}".to_owned(),
                    _ => format!(
                        "an object with fields {:?} or an array of {n} elements",
                        prod.elements.iter().filter_map(|e| e.name()).collect::<Vec<_>>()
                    ),
                };
                return Err(err(path, expected, json));
            }
        }
        Ok(AlgebraicValue::product(out.into_iter().flatten().collect()))
    }

    /// The lenient forms of the special types; `None` when `json` is not one of them.
    fn read_special(&self, json: &Value, prod: &ProductType) -> Option<Result<AlgebraicValue, String>> {
        let tag = prod.special_tag()?;
        let wrap = |v: AlgebraicValue| AlgebraicValue::product(vec![v]);
        let s = match json {
            Value::String(s) => s.as_str(),
            Value::Number(_)
                if tag == crate::algebraic_type::TIMESTAMP_TAG || tag == crate::algebraic_type::TIME_DURATION_TAG =>
            {
                let micros = int_text(json, false).and_then(|t| t.parse::<i64>().ok());
                return Some(
                    micros
                        .map(|m| wrap(AlgebraicValue::I64(m)))
                        .ok_or_else(|| "integer microseconds".to_owned()),
                );
            }
            _ => return None,
        };
        Some(match tag {
            crate::algebraic_type::IDENTITY_TAG => Identity::from_hex(s)
                .map(|i| wrap(AlgebraicValue::from(i.to_u256())))
                .map_err(|e| e.to_string()),
            crate::algebraic_type::CONNECTION_ID_TAG => ConnectionId::from_hex(s)
                .map(|c| wrap(AlgebraicValue::U128(c.to_u128())))
                .map_err(|e| e.to_string()),
            crate::algebraic_type::TIMESTAMP_TAG => {
                Timestamp::parse_rfc3339(s).map(|t| wrap(AlgebraicValue::I64(t.to_micros_since_unix_epoch())))
            }
            crate::algebraic_type::UUID_TAG => crate::Uuid::parse_str(s)
                .map(|u| wrap(AlgebraicValue::U128(u.to_u128())))
                .map_err(|_| "a UUID such as \"01020304-0506-0708-090a-0b0c0d0e0f10\"".to_owned()),
            _ => Err("a {\"__time_duration_micros__\": n} object or integer microseconds".to_owned()),
        })
    }
}
