//! Typing literals: converting a [`SqlLit`] to a value of a column's type, and naming
//! types in error messages.
//!
//! SQL literals are untyped until they meet a column: `5` can be any integer or float
//! column, `'…'` a string, an identity (hex), a timestamp (RFC 3339) or a plain enum
//! variant, and `0x…` bytes, an identity, a connection id or an integer.

use crate::parse::SqlLit;
use spacetime_sats::algebraic_type::{CONNECTION_ID_TAG, IDENTITY_TAG, TIMESTAMP_TAG, TIME_DURATION_TAG, UUID_TAG};
use spacetime_sats::{i256, u256, AlgebraicType, AlgebraicValue, ConnectionId, Identity, Timestamp, Typespace};

/// How deep [`inline_refs`] and [`type_name`] follow nested types.
const MAX_DEPTH: usize = 32;

/// A readable name for `ty`: `u32`, `string`, `Identity`, `Option<u8>`, `bytes`, ….
pub fn type_name(ty: &AlgebraicType, ts: &Typespace) -> String {
    name_at(ty, ts, 0)
}

fn name_at(ty: &AlgebraicType, ts: &Typespace, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "…".into();
    }
    match ty {
        AlgebraicType::Ref(r) => match ts.get(*r) {
            Some(t) => name_at(t, ts, depth + 1),
            None => format!("&{}", r.0),
        },
        AlgebraicType::Sum(s) if s.is_schedule_at() => "ScheduleAt".into(),
        AlgebraicType::Sum(s) => match s.as_option() {
            Some(inner) => format!("Option<{}>", name_at(inner, ts, depth + 1)),
            None if s.is_simple_enum() => {
                let names = s.variants.iter().map(|v| v.name().unwrap_or("?")).collect::<Vec<_>>();
                format!("enum ({})", names.join(" | "))
            }
            None => "sum type".into(),
        },
        AlgebraicType::Product(p) => match p.special_tag() {
            Some(IDENTITY_TAG) => "Identity".into(),
            Some(CONNECTION_ID_TAG) => "ConnectionId".into(),
            Some(TIMESTAMP_TAG) => "Timestamp".into(),
            Some(TIME_DURATION_TAG) => "TimeDuration".into(),
            Some(UUID_TAG) => "Uuid".into(),
            _ => "product type".into(),
        },
        AlgebraicType::Array(a) if *a.elem_ty == AlgebraicType::U8 => "bytes".into(),
        AlgebraicType::Array(a) => format!("array of {}", name_at(&a.elem_ty, ts, depth + 1)),
        AlgebraicType::String => "string".into(),
        AlgebraicType::Bool => "bool".into(),
        AlgebraicType::I8 => "i8".into(),
        AlgebraicType::U8 => "u8".into(),
        AlgebraicType::I16 => "i16".into(),
        AlgebraicType::U16 => "u16".into(),
        AlgebraicType::I32 => "i32".into(),
        AlgebraicType::U32 => "u32".into(),
        AlgebraicType::I64 => "i64".into(),
        AlgebraicType::U64 => "u64".into(),
        AlgebraicType::I128 => "i128".into(),
        AlgebraicType::U128 => "u128".into(),
        AlgebraicType::I256 => "i256".into(),
        AlgebraicType::U256 => "u256".into(),
        AlgebraicType::F32 => "f32".into(),
        AlgebraicType::F64 => "f64".into(),
    }
}

/// `ty` with every type reference replaced by the type it names, so a result schema
/// can be read without the module's typespace. A reference nested deeper than the
/// limit (a recursive type) is left as it is.
pub fn inline_refs(ty: &AlgebraicType, ts: &Typespace) -> AlgebraicType {
    inline_at(ty, ts, 0)
}

fn inline_at(ty: &AlgebraicType, ts: &Typespace, depth: usize) -> AlgebraicType {
    if depth > MAX_DEPTH {
        return ty.clone();
    }
    match ty {
        AlgebraicType::Ref(r) => match ts.get(*r) {
            Some(t) => inline_at(t, ts, depth + 1),
            None => ty.clone(),
        },
        AlgebraicType::Sum(s) => {
            let mut s = s.clone();
            s.variants
                .iter_mut()
                .for_each(|v| v.algebraic_type = inline_at(&v.algebraic_type, ts, depth + 1));
            AlgebraicType::Sum(s)
        }
        AlgebraicType::Product(p) => {
            let mut p = p.clone();
            p.elements
                .iter_mut()
                .for_each(|e| e.algebraic_type = inline_at(&e.algebraic_type, ts, depth + 1));
            AlgebraicType::Product(p)
        }
        AlgebraicType::Array(a) => AlgebraicType::array(inline_at(&a.elem_ty, ts, depth + 1)),
        other => other.clone(),
    }
}

/// Converts `lit` to a value of type `ty`; the error says why it does not fit.
pub fn convert(lit: &SqlLit, ty: &AlgebraicType, ts: &Typespace) -> Result<AlgebraicValue, String> {
    let ty = ts.resolve(ty).map_err(|e| e.to_string())?;
    let mismatch = || format!("expected {}", expectation(ty));
    match (ty, lit) {
        (AlgebraicType::Bool, SqlLit::Bool(b)) => Ok(AlgebraicValue::Bool(*b)),
        (AlgebraicType::String, SqlLit::String(s)) => Ok(AlgebraicValue::string(s.as_str())),
        (AlgebraicType::F32, SqlLit::Number(n)) => float(n).and_then(|f| {
            // A finite f64 can still overflow f32 (1e39): that would store infinity.
            let narrowed = f as f32;
            if narrowed.is_finite() {
                Ok(AlgebraicValue::from(narrowed))
            } else {
                Err(format!("`{n}` is out of range for f32"))
            }
        }),
        (AlgebraicType::F64, SqlLit::Number(n)) => float(n).map(AlgebraicValue::from),
        (t, SqlLit::Number(n)) if t.is_integer() => integer(t, n, 10),
        (t, SqlLit::Hex(h)) if t.is_integer() => integer(t, h, 16),
        (AlgebraicType::Array(a), SqlLit::Hex(h)) if *a.elem_ty == AlgebraicType::U8 => {
            hex_bytes(h).map(AlgebraicValue::bytes)
        }
        (AlgebraicType::Product(p), lit) if p.special_tag().is_some() => {
            special(p.special_tag().unwrap_or_default(), lit).ok_or_else(mismatch)
        }
        (AlgebraicType::Sum(s), SqlLit::String(name)) if s.is_simple_enum() => match s.tag_of(name) {
            Some(tag) => Ok(AlgebraicValue::sum(tag, AlgebraicValue::unit())),
            None => Err(format!("`{name}` is not a variant; expected {}", expectation(ty))),
        },
        _ => Err(mismatch()),
    }
}

fn expectation(ty: &AlgebraicType) -> &'static str {
    match ty {
        AlgebraicType::Bool => "TRUE or FALSE",
        AlgebraicType::String => "a 'quoted string'",
        AlgebraicType::F32 | AlgebraicType::F64 => "a number",
        t if t.is_integer() => "an integer",
        AlgebraicType::Array(a) if *a.elem_ty == AlgebraicType::U8 => "a hex literal such as 0x0a1b or X'0a1b'",
        AlgebraicType::Product(p) => match p.special_tag() {
            Some(IDENTITY_TAG) => "an identity as 64 hex digits, e.g. 0xc200… or 'c200…'",
            Some(CONNECTION_ID_TAG) => "a connection id as 32 hex digits",
            Some(TIMESTAMP_TAG) => {
                "an RFC 3339 timestamp such as '2024-01-02T03:04:05Z', or microseconds since the epoch"
            }
            Some(TIME_DURATION_TAG) => "a duration in microseconds",
            Some(UUID_TAG) => "a UUID such as '01234567-89ab-cdef-0123-456789abcdef'",
            _ => "no literal: values of product types cannot be written in SQL",
        },
        AlgebraicType::Sum(s) if s.is_simple_enum() => "a variant name as a 'quoted string'",
        _ => "no literal: values of this type cannot be written in SQL",
    }
}

fn float(n: &str) -> Result<f64, String> {
    n.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .ok_or_else(|| format!("`{n}` is not a finite number"))
}

fn integer(ty: &AlgebraicType, digits: &str, radix: u32) -> Result<AlgebraicValue, String> {
    let (neg, abs) = match digits.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, digits),
    };
    let mut abs = abs.replace('_', "");
    if radix == 10 && abs.contains(['.', 'e', 'E']) {
        // `1e3`, `2.50e1`, `7.0`: accepted when the decimal is a whole number.
        if let Some(whole) = exact_integer(&abs) {
            abs = whole;
        }
    }
    let bad = || {
        if abs.contains(['.', 'e', 'E']) && radix == 10 {
            format!("`{digits}` is not an integer")
        } else {
            format!(
                "`{digits}` is out of range for {}",
                type_name(ty, &Typespace::default())
            )
        }
    };
    // Parse as 256-bit so every column type can range-check the same way.
    let magnitude = u256::from_str_radix(&abs, radix).map_err(|_| bad())?;
    let wide: Option<i256> = if neg {
        if magnitude > u256::ONE << 255 {
            None
        } else {
            Some(i256::ZERO.wrapping_sub(magnitude.as_i256()))
        }
    } else {
        None
    };
    macro_rules! narrow {
        ($t:ty, $variant:ident) => {{
            let v: $t = match wide {
                Some(w) => <$t>::try_from(w).map_err(|_| bad())?,
                None => <$t>::try_from(magnitude).map_err(|_| bad())?,
            };
            AlgebraicValue::$variant(v)
        }};
    }
    Ok(match ty {
        AlgebraicType::I8 => narrow!(i8, I8),
        AlgebraicType::U8 => narrow!(u8, U8),
        AlgebraicType::I16 => narrow!(i16, I16),
        AlgebraicType::U16 => narrow!(u16, U16),
        AlgebraicType::I32 => narrow!(i32, I32),
        AlgebraicType::U32 => narrow!(u32, U32),
        AlgebraicType::I64 => narrow!(i64, I64),
        AlgebraicType::U64 => narrow!(u64, U64),
        AlgebraicType::I128 => narrow!(i128, I128),
        AlgebraicType::U128 => narrow!(u128, U128),
        AlgebraicType::I256 => {
            let v = match wide {
                Some(w) => w,
                None => i256::try_from(magnitude).map_err(|_| bad())?,
            };
            AlgebraicValue::from(v)
        }
        AlgebraicType::U256 if wide.is_none() && !neg => AlgebraicValue::from(magnitude),
        _ => return Err(bad()),
    })
}

/// The digits of the whole number a decimal literal (`1e3`, `2.50e1`, `7.0`) denotes, or
/// `None` when it has a fractional part, is malformed, or has more digits than any
/// integer column holds.
fn exact_integer(decimal: &str) -> Option<String> {
    /// More digits than the largest column type (`u256`, 78 digits) can hold.
    const MAX_DIGITS: usize = 80;
    let (mantissa, exponent) = match decimal.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.strip_prefix('+').unwrap_or(e).parse::<i64>().ok()?),
        None => (decimal, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some("0".into());
    }
    // The value is `digits × 10^shift`.
    let shift = exponent.checked_sub(i64::try_from(frac.len()).ok()?)?;
    if shift >= 0 {
        let zeros = usize::try_from(shift).ok().filter(|z| digits.len() + z <= MAX_DIGITS)?;
        Some(format!("{digits}{}", "0".repeat(zeros)))
    } else {
        let cut = usize::try_from(shift.unsigned_abs()).ok()?;
        let (whole, fraction) = digits.split_at(digits.len().checked_sub(cut)?);
        fraction
            .chars()
            .all(|c| c == '0')
            .then(|| whole.to_owned())
            .filter(|w| !w.is_empty())
    }
}

fn hex_bytes(h: &str) -> Result<Vec<u8>, String> {
    if h.len() % 2 != 0 || !h.is_ascii() {
        return Err(format!("hex literal 0x{h} has an odd number of digits"));
    }
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).map_err(|_| format!("0x{h} is not valid hex")))
        .collect()
}

fn special(tag: &str, lit: &SqlLit) -> Option<AlgebraicValue> {
    let one = |v: AlgebraicValue| Some(AlgebraicValue::product(vec![v]));
    match (tag, lit) {
        (IDENTITY_TAG, SqlLit::Hex(h) | SqlLit::String(h)) => {
            one(AlgebraicValue::from(Identity::from_hex(h).ok()?.to_u256()))
        }
        (CONNECTION_ID_TAG, SqlLit::Hex(h) | SqlLit::String(h)) => {
            one(AlgebraicValue::U128(ConnectionId::from_hex(h).ok()?.to_u128()))
        }
        (TIMESTAMP_TAG, SqlLit::String(s)) => one(AlgebraicValue::I64(
            Timestamp::parse_rfc3339(s).ok()?.to_micros_since_unix_epoch(),
        )),
        (TIMESTAMP_TAG | TIME_DURATION_TAG, SqlLit::Number(n)) => one(AlgebraicValue::I64(n.parse().ok()?)),
        (UUID_TAG, SqlLit::String(s) | SqlLit::Hex(s)) => {
            let digits = s.replace('-', "");
            if digits.len() != 32 {
                return None;
            }
            one(AlgebraicValue::U128(u128::from_str_radix(&digits, 16).ok()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(lit: SqlLit, ty: AlgebraicType) -> Result<AlgebraicValue, String> {
        convert(&lit, &ty, &Typespace::default())
    }

    #[test]
    fn whole_decimals_fit_integer_columns() {
        assert_eq!(
            conv(SqlLit::Number("1e3".into()), AlgebraicType::U32),
            Ok(AlgebraicValue::U32(1000))
        );
        assert_eq!(
            conv(SqlLit::Number("2.50E1".into()), AlgebraicType::I64),
            Ok(AlgebraicValue::I64(25))
        );
        assert_eq!(
            conv(SqlLit::Number("-7.0".into()), AlgebraicType::I8),
            Ok(AlgebraicValue::I8(-7))
        );
        assert_eq!(
            conv(SqlLit::Number("0e99".into()), AlgebraicType::U8),
            Ok(AlgebraicValue::U8(0))
        );
        assert_eq!(
            conv(SqlLit::Number("12e-1".into()), AlgebraicType::U8).unwrap_err(),
            "`12e-1` is not an integer"
        );
        assert!(conv(SqlLit::Number("1e3".into()), AlgebraicType::U8)
            .unwrap_err()
            .contains("out of range"));
        assert!(conv(SqlLit::Number("1e999999".into()), AlgebraicType::U256).is_err());
        assert!(conv(SqlLit::Number("1e-999999".into()), AlgebraicType::U256).is_err());
    }

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(
            conv(SqlLit::Number("-128".into()), AlgebraicType::I8),
            Ok(AlgebraicValue::I8(-128))
        );
        assert!(conv(SqlLit::Number("128".into()), AlgebraicType::I8)
            .unwrap_err()
            .contains("out of range for i8"));
        assert!(conv(SqlLit::Number("-1".into()), AlgebraicType::U64).is_err());
        assert!(conv(SqlLit::Number("1.5".into()), AlgebraicType::U64)
            .unwrap_err()
            .contains("not an integer"));
        assert_eq!(
            conv(SqlLit::Hex("ff".into()), AlgebraicType::U16),
            Ok(AlgebraicValue::U16(255))
        );
        assert_eq!(
            conv(SqlLit::Number("-1".into()), AlgebraicType::I256),
            Ok(AlgebraicValue::from(i256::from(-1)))
        );
        let max = u256::MAX.to_string();
        assert_eq!(
            conv(SqlLit::Number(max), AlgebraicType::U256),
            Ok(AlgebraicValue::from(u256::MAX))
        );
        assert_eq!(
            conv(SqlLit::Number("2".into()), AlgebraicType::F32),
            Ok(AlgebraicValue::from(2.0f32))
        );
        assert_eq!(
            conv(SqlLit::Number("1e39".into()), AlgebraicType::F32),
            Err("`1e39` is out of range for f32".into())
        );
        assert_eq!(
            conv(SqlLit::Number("1e39".into()), AlgebraicType::F64),
            Ok(AlgebraicValue::from(1e39f64))
        );
        assert_eq!(
            conv(SqlLit::Number("1e400".into()), AlgebraicType::F64),
            Err("`1e400` is not a finite number".into())
        );
    }

    #[test]
    fn special_types_from_strings_and_hex() {
        let id = Identity::from_u256(u256::from(0xc200u32));
        let hex = id.to_hex().to_string();
        let expected = AlgebraicValue::product(vec![AlgebraicValue::from(id.to_u256())]);
        assert_eq!(
            conv(SqlLit::Hex(hex.clone()), AlgebraicType::identity()),
            Ok(expected.clone())
        );
        assert_eq!(
            conv(SqlLit::String(format!("0x{hex}")), AlgebraicType::identity()),
            Ok(expected)
        );
        let ts = conv(
            SqlLit::String("1970-01-01T00:00:01Z".into()),
            AlgebraicType::timestamp(),
        )
        .unwrap();
        assert_eq!(ts, AlgebraicValue::product(vec![AlgebraicValue::I64(1_000_000)]));
        assert!(conv(SqlLit::String("yesterday".into()), AlgebraicType::timestamp())
            .unwrap_err()
            .contains("RFC 3339"));
        let e = AlgebraicType::simple_enum(["Red", "Green"]);
        assert_eq!(
            conv(SqlLit::String("Green".into()), e.clone()),
            Ok(AlgebraicValue::sum(1, AlgebraicValue::unit()))
        );
        assert!(conv(SqlLit::String("Blue".into()), e).is_err());
        assert_eq!(
            conv(SqlLit::Hex("0a1b".into()), AlgebraicType::bytes()),
            Ok(AlgebraicValue::bytes(vec![0x0a, 0x1b]))
        );
    }
}
