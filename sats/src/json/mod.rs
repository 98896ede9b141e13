//! SATS-JSON: the JSON form of SATS values used by the HTTP API, the CLI and the schema
//! endpoint, matching SpacetimeDB 2.x byte for byte where it defines the output.
//!
//! # Output ([`value_to_json`])
//! | type | JSON |
//! |---|---|
//! | `Bool` | `true` / `false` |
//! | 8- to 128-bit integers | numbers, exact (`340282366920938463463374607431768211455`) |
//! | `I256`, `U256` | strings of minimal lower-case hex: `"0xabcd"`, `"-0x5"`, `"0x0"` |
//! | `F32`, `F64` | numbers in shortest form (`0.1`, `3.0`); NaN and ±infinity are `null` |
//! | `String` | strings |
//! | `Array<U8>` | a string of lower-case hex, no prefix: `"dead"` |
//! | other arrays | arrays |
//! | products | objects keyed by field name, in field order: `{"x":1,"y":"s"}`; the unit value is `{}`; a product with an unnamed field (which SpacetimeDB cannot print) is an array |
//! | sums | `{"VariantName": payload}`; a variant without a name is `[tag, payload]`; so `Option` is `{"some": v}` / `{"none": {}}` |
//! | special types | their products: `{"__identity__":"0x…"}`, `{"__connection_id__":n}`, `{"__timestamp_micros_since_unix_epoch__":n}`, `{"__time_duration_micros__":n}`, `{"__uuid__":n}`; `ScheduleAt` is `{"Interval":{…}}` / `{"Time":{…}}` |
//!
//! [`to_json`] prints a Rust value through its SATS type the way SpacetimeDB prints Rust
//! types (the schema endpoint's `RawModuleDefV10` and `AlgebraicType`): identical, except
//! that `()` (every unit variant's payload) is `[]`: `{"U8":[]}`, `{"none":[]}`.
//!
//! # Input ([`value_from_json`])
//! Strict about types, lenient in the forms SpacetimeDB accepts plus a few unambiguous
//! conveniences:
//! - products: an object keyed by field name (any order; every field exactly once) or an
//!   array of exactly the fields in order; the unit product also as `[]` or `{}`;
//! - sums: an object with exactly one key, the variant name or its tag as a string
//!   (`{"1": …}`), or an array `[tag or name, payload]`; `null` is `none` for an `Option`;
//! - integers: JSON integers in range; 64-bit and wider also as decimal strings, 128- and
//!   256-bit also as `0x` hex strings (`-0x…` when signed); floats and `null` are rejected;
//! - floats: any JSON number, or the strings `"NaN"`, `"Infinity"`, `"-Infinity"`;
//! - `Array<U8>`: a hex string (optionally `0x`-prefixed) or an array of numbers;
//! - `Identity` and `ConnectionId`: also a bare hex string (`"c200…"` or `"0xc200…"`);
//!   `Timestamp`: also an RFC 3339 string or integer microseconds; `TimeDuration`: also
//!   integer microseconds; `Uuid`: also its `8-4-4-4-12` string.
//!
//! Errors name the path (`args[1].name`) and the expected type.

mod de;
mod ser;

pub use de::value_from_json;
pub use ser::{value_to_json, value_to_json_untyped};

use crate::bsatn::{value as bsatn_value, Decode, Encode};
use crate::{SpacetimeType, TypespaceCollector};
use std::fmt;

/// Why a JSON value does not fit a SATS type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct JsonError {
    /// Where in the value, such as `args[1].name` (`value` at the root).
    pub path: String,
    /// What the type needed there.
    pub expected: String,
    /// What the JSON had instead.
    pub found: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at `{}`: expected {}, found {}",
            self.path, self.expected, self.found
        )
    }
}

impl JsonError {
    /// Renames the root of the path (`value`) to `root`, such as `args`.
    pub fn under(mut self, root: &str) -> Self {
        if let Some(rest) = self.path.strip_prefix("value") {
            self.path = format!("{root}{rest}");
        }
        self
    }
}

/// A Rust value's SATS-JSON, through its SATS type (see the module doc for how this differs
/// from [`value_to_json`]: `()` prints as `[]`).
pub fn to_json<T: Encode + SpacetimeType + ?Sized>(value: &T) -> serde_json::Value {
    let mut collector = TypespaceCollector::new();
    let ty = collector.add_type::<T>();
    let ts = collector.into_typespace();
    match bsatn_value::decode_value_exact(&ty, &ts, &crate::bsatn::to_vec(value)) {
        Ok(v) => ser::to_json_with(&v, &ty, &ts, true),
        // Unreachable for a type whose Encode matches its SpacetimeType; printing the
        // untyped form keeps the data visible if one ever disagrees.
        Err(_) => serde_json::Value::Null,
    }
}

/// Reads a Rust value from SATS-JSON through its SATS type.
///
/// # Errors
/// [`JsonError`] when `json` does not fit `T`'s type, or fits it but is not a valid `T`
/// (reported at the root).
pub fn from_json<T: Decode + SpacetimeType>(json: &serde_json::Value) -> Result<T, JsonError> {
    let mut collector = TypespaceCollector::new();
    let ty = collector.add_type::<T>();
    let ts = collector.into_typespace();
    let value = value_from_json(json, &ty, &ts)?;
    crate::bsatn::from_slice(&bsatn_value::value_to_vec(&value)).map_err(|e| JsonError {
        path: "value".to_owned(),
        expected: "a valid value".to_owned(),
        found: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
