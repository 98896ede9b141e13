//! Type-directed BSATN for [`AlgebraicValue`].
//!
//! Encoding needs no type: a value carries its sum tags and array lengths. Decoding
//! reads the bytes against an [`AlgebraicType`], resolving `Ref`s through a
//! [`Typespace`], and validates as it goes.

use super::{decode_len, take, Decode, DecodeError, Encode};
use crate::{i256, u256, AlgebraicType, AlgebraicValue, ArrayValue, ProductValue, SumValue, Typespace, F32, F64};
use std::collections::HashMap;

/// How deeply nested a type may be while decoding. Deeper (or self-referential) types
/// are rejected with [`DecodeError::TooDeep`] instead of overflowing the stack.
pub const MAX_DEPTH: usize = 64;

impl Encode for AlgebraicValue {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_value(self, out)
    }
}

impl Encode for ProductValue {
    fn encode(&self, out: &mut Vec<u8>) {
        for elem in &self.elements {
            encode_value(elem, out);
        }
    }
}

/// Appends the BSATN encoding of `value` to `out`.
pub fn encode_value(value: &AlgebraicValue, out: &mut Vec<u8>) {
    match value {
        AlgebraicValue::Sum(SumValue { tag, value }) => {
            out.push(*tag);
            encode_value(value, out);
        }
        AlgebraicValue::Product(p) => p.encode(out),
        AlgebraicValue::Array(ArrayValue::Bytes(b)) => b.encode(out),
        AlgebraicValue::Array(ArrayValue::Values(v)) => v.encode(out),
        AlgebraicValue::String(s) => s.encode(out),
        AlgebraicValue::Bool(x) => x.encode(out),
        AlgebraicValue::I8(x) => x.encode(out),
        AlgebraicValue::U8(x) => x.encode(out),
        AlgebraicValue::I16(x) => x.encode(out),
        AlgebraicValue::U16(x) => x.encode(out),
        AlgebraicValue::I32(x) => x.encode(out),
        AlgebraicValue::U32(x) => x.encode(out),
        AlgebraicValue::I64(x) => x.encode(out),
        AlgebraicValue::U64(x) => x.encode(out),
        AlgebraicValue::I128(x) => x.encode(out),
        AlgebraicValue::U128(x) => x.encode(out),
        AlgebraicValue::I256(x) => x.encode(out),
        AlgebraicValue::U256(x) => x.encode(out),
        AlgebraicValue::F32(x) => x.encode(out),
        AlgebraicValue::F64(x) => x.encode(out),
    }
}

/// Encodes `value` into a new buffer.
pub fn value_to_vec(value: &AlgebraicValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(value, &mut out);
    out
}

/// The most elements of a zero-sized type (such as `()`) one array may hold. Their
/// encoding is empty, so the length prefix is all that bounds them; without a cap a
/// 5-byte input could ask for four billion values.
pub const MAX_ZERO_SIZED_ELEMS: usize = 1 << 16;

/// The fewest bytes any value of `ty` encodes to, for checking length prefixes against the
/// remaining input. Gives up (counting 0, the safe answer) on deep or cyclic types.
///
/// Each reference is sized once per call: a type that uses one reference several times at
/// every level (`{ a: &1, b: &1 }`, `&1 = { a: &2, b: &2 }`, …) costs its size, not
/// 2^depth steps. Sizes saturate instead of overflowing.
pub fn min_encoded_size(ty: &AlgebraicType, ts: &Typespace) -> usize {
    MinSize {
        ts,
        known: HashMap::new(),
    }
    .of(ty, 0)
}

/// The state of one [`min_encoded_size`] call: the sizes of the references met so far.
struct MinSize<'a> {
    ts: &'a Typespace,
    known: HashMap<u32, usize>,
}

impl MinSize<'_> {
    fn of(&mut self, ty: &AlgebraicType, depth: usize) -> usize {
        if depth > MAX_DEPTH {
            return 0;
        }
        match ty {
            AlgebraicType::Ref(r) => {
                if let Some(&size) = self.known.get(&r.0) {
                    return size;
                }
                // A reference met again while it is being sized is a cycle: count it as 0.
                self.known.insert(r.0, 0);
                let size = self.ts.get(*r).map_or(0, |t| self.of(t, depth + 1));
                self.known.insert(r.0, size);
                size
            }
            AlgebraicType::Sum(_) | AlgebraicType::Bool | AlgebraicType::I8 | AlgebraicType::U8 => 1,
            AlgebraicType::Product(p) => p
                .elements
                .iter()
                .fold(0, |sum, e| sum.saturating_add(self.of(&e.algebraic_type, depth + 1))),
            AlgebraicType::Array(_) | AlgebraicType::String => 4,
            AlgebraicType::I16 | AlgebraicType::U16 => 2,
            AlgebraicType::I32 | AlgebraicType::U32 | AlgebraicType::F32 => 4,
            AlgebraicType::I64 | AlgebraicType::U64 | AlgebraicType::F64 => 8,
            AlgebraicType::I128 | AlgebraicType::U128 => 16,
            AlgebraicType::I256 | AlgebraicType::U256 => 32,
        }
    }
}

/// How many parts (the value itself, and every field, element and variant payload inside it)
/// one decode may visit: [`MAX_ZERO_SIZED_ELEMS`], plus `MAX_DEPTH + 1` per byte read so far,
/// as each byte-consuming part sits at most [`MAX_DEPTH`] levels deep. Zero-sized parts (`()`,
/// products of them) cost no bytes, so without this bound a type of wide products of them
/// nested a few levels deep makes even an empty input decode for ever. The bound counts bytes
/// read, not bytes given, so bytes after the value never change whether it decodes.
struct Budget {
    start: usize,
    parts: usize,
}

impl Budget {
    fn for_input(input: &[u8]) -> Self {
        Self {
            start: input.len(),
            parts: 0,
        }
    }

    /// Counts one part, with `remaining` bytes of the input left.
    fn spend(&mut self, remaining: usize) -> Result<(), DecodeError> {
        self.parts += 1;
        let read = self.start - remaining;
        let allowed = MAX_ZERO_SIZED_ELEMS.saturating_add(read.saturating_mul(MAX_DEPTH + 1));
        if self.parts > allowed {
            return Err(DecodeError::Invalid(format!(
                "the value has more than {allowed} parts in its first {read} bytes: its type nests zero-sized \
                 values (such as `()`) too widely to decode"
            )));
        }
        Ok(())
    }
}

/// Reads an array length prefix for elements of `elem_ty`: at least `len * min size`
/// bytes must remain, and zero-sized elements are capped at [`MAX_ZERO_SIZED_ELEMS`].
fn decode_array_len(elem_ty: &AlgebraicType, ts: &Typespace, input: &mut &[u8]) -> Result<usize, DecodeError> {
    let min = min_encoded_size(elem_ty, ts);
    let len = decode_len(input, min)?;
    if min == 0 && len > MAX_ZERO_SIZED_ELEMS {
        return Err(DecodeError::Invalid(format!(
            "array of {len} zero-sized elements exceeds the limit of {MAX_ZERO_SIZED_ELEMS}"
        )));
    }
    Ok(len)
}

/// Decodes one value of type `ty` from the front of `input`.
///
/// # Errors
/// Returns a [`DecodeError`] for truncated input, an invalid bool, sum tag or UTF-8
/// string, a dangling type reference, or a type nested deeper than [`MAX_DEPTH`].
pub fn decode_value(
    ty: &AlgebraicType,
    typespace: &Typespace,
    input: &mut &[u8],
) -> Result<AlgebraicValue, DecodeError> {
    let mut budget = Budget::for_input(input);
    decode_at(ty, typespace, input, 0, &mut budget)
}

/// Decodes a value of type `ty` that must fill `bytes` exactly.
///
/// # Errors
/// As [`decode_value`], plus [`DecodeError::TrailingBytes`].
pub fn decode_value_exact(
    ty: &AlgebraicType,
    typespace: &Typespace,
    mut bytes: &[u8],
) -> Result<AlgebraicValue, DecodeError> {
    let value = decode_value(ty, typespace, &mut bytes)?;
    if !bytes.is_empty() {
        return Err(DecodeError::TrailingBytes(bytes.len()));
    }
    Ok(value)
}

fn decode_at(
    ty: &AlgebraicType,
    ts: &Typespace,
    input: &mut &[u8],
    depth: usize,
    budget: &mut Budget,
) -> Result<AlgebraicValue, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep(MAX_DEPTH));
    }
    budget.spend(input.len())?;
    Ok(match ty {
        AlgebraicType::Ref(r) => {
            let target = ts.get(*r).ok_or(DecodeError::UnresolvedRef(r.0))?;
            return decode_at(target, ts, input, depth + 1, budget);
        }
        AlgebraicType::Sum(sum) => {
            let tag = u8::decode(input)?;
            let variant = sum.variants.get(usize::from(tag)).ok_or(DecodeError::InvalidTag {
                tag,
                type_name: "sum type",
                num_variants: sum.variants.len(),
            })?;
            let value = decode_at(&variant.algebraic_type, ts, input, depth + 1, budget)?;
            AlgebraicValue::Sum(SumValue::new(tag, value))
        }
        AlgebraicType::Product(prod) => {
            let mut elements = Vec::with_capacity(prod.elements.len());
            for elem in &prod.elements {
                elements.push(decode_at(&elem.algebraic_type, ts, input, depth + 1, budget)?);
            }
            AlgebraicValue::Product(ProductValue::new(elements))
        }
        AlgebraicType::Array(array) => {
            if *array.elem_ty == AlgebraicType::U8 {
                let len = decode_len(input, 1)?;
                return Ok(AlgebraicValue::bytes(take(input, len)?));
            }
            let len = decode_array_len(&array.elem_ty, ts, input)?;
            let mut values = Vec::with_capacity(len);
            for _ in 0..len {
                values.push(decode_at(&array.elem_ty, ts, input, depth + 1, budget)?);
            }
            AlgebraicValue::Array(ArrayValue::Values(values))
        }
        AlgebraicType::String => AlgebraicValue::String(Box::<str>::decode(input)?),
        AlgebraicType::Bool => AlgebraicValue::Bool(bool::decode(input)?),
        AlgebraicType::I8 => AlgebraicValue::I8(i8::decode(input)?),
        AlgebraicType::U8 => AlgebraicValue::U8(u8::decode(input)?),
        AlgebraicType::I16 => AlgebraicValue::I16(i16::decode(input)?),
        AlgebraicType::U16 => AlgebraicValue::U16(u16::decode(input)?),
        AlgebraicType::I32 => AlgebraicValue::I32(i32::decode(input)?),
        AlgebraicType::U32 => AlgebraicValue::U32(u32::decode(input)?),
        AlgebraicType::I64 => AlgebraicValue::I64(i64::decode(input)?),
        AlgebraicType::U64 => AlgebraicValue::U64(u64::decode(input)?),
        AlgebraicType::I128 => AlgebraicValue::I128(i128::decode(input)?),
        AlgebraicType::U128 => AlgebraicValue::U128(u128::decode(input)?),
        AlgebraicType::I256 => AlgebraicValue::I256(Box::new(i256::decode(input)?)),
        AlgebraicType::U256 => AlgebraicValue::U256(Box::new(u256::decode(input)?)),
        AlgebraicType::F32 => AlgebraicValue::F32(F32::decode(input)?),
        AlgebraicType::F64 => AlgebraicValue::F64(F64::decode(input)?),
    })
}

/// Skips one value of type `ty` without building it, validating it as [`decode_value`]
/// does. Used to find row and column boundaries cheaply.
///
/// # Errors
/// As [`decode_value`].
pub fn skip_value(ty: &AlgebraicType, ts: &Typespace, input: &mut &[u8]) -> Result<(), DecodeError> {
    let mut budget = Budget::for_input(input);
    skip_at(ty, ts, input, 0, &mut budget)
}

fn skip_at(
    ty: &AlgebraicType,
    ts: &Typespace,
    input: &mut &[u8],
    depth: usize,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep(MAX_DEPTH));
    }
    budget.spend(input.len())?;
    let fixed = match ty {
        AlgebraicType::Ref(r) => {
            let target = ts.get(*r).ok_or(DecodeError::UnresolvedRef(r.0))?;
            return skip_at(target, ts, input, depth + 1, budget);
        }
        AlgebraicType::Sum(sum) => {
            let tag = u8::decode(input)?;
            let variant = sum.variants.get(usize::from(tag)).ok_or(DecodeError::InvalidTag {
                tag,
                type_name: "sum type",
                num_variants: sum.variants.len(),
            })?;
            return skip_at(&variant.algebraic_type, ts, input, depth + 1, budget);
        }
        AlgebraicType::Product(prod) => {
            for elem in &prod.elements {
                skip_at(&elem.algebraic_type, ts, input, depth + 1, budget)?;
            }
            return Ok(());
        }
        AlgebraicType::Array(array) => {
            if *array.elem_ty == AlgebraicType::U8 {
                let len = decode_len(input, 1)?;
                take(input, len)?;
                return Ok(());
            }
            let len = decode_array_len(&array.elem_ty, ts, input)?;
            for _ in 0..len {
                skip_at(&array.elem_ty, ts, input, depth + 1, budget)?;
            }
            return Ok(());
        }
        AlgebraicType::String => {
            let len = decode_len(input, 1)?;
            std::str::from_utf8(take(input, len)?).map_err(|_| DecodeError::InvalidUtf8)?;
            return Ok(());
        }
        AlgebraicType::Bool => {
            bool::decode(input)?;
            return Ok(());
        }
        AlgebraicType::I8 | AlgebraicType::U8 => 1,
        AlgebraicType::I16 | AlgebraicType::U16 => 2,
        AlgebraicType::I32 | AlgebraicType::U32 | AlgebraicType::F32 => 4,
        AlgebraicType::I64 | AlgebraicType::U64 | AlgebraicType::F64 => 8,
        AlgebraicType::I128 | AlgebraicType::U128 => 16,
        AlgebraicType::I256 | AlgebraicType::U256 => 32,
    };
    take(input, fixed).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AlgebraicTypeRef;

    /// A typespace whose entry `i` is a product of `width` references to entry `i + 1`, for
    /// `levels` entries, ending in `last`: a type of `width^levels` leaves.
    fn fan_out(width: usize, levels: u32, last: AlgebraicType) -> Typespace {
        let mut types: Vec<AlgebraicType> = (0..levels)
            .map(|i| AlgebraicType::product(vec![("x", AlgebraicType::Ref(AlgebraicTypeRef(i + 1))); width]))
            .collect();
        types.push(last);
        Typespace::new(types)
    }

    // The first was found by the `bsatn_value` fuzz target (an input that ran for ever); the
    // second by reading the same code after it.

    #[test]
    fn min_size_of_a_type_that_reuses_references_takes_its_size_in_steps() {
        let ts = fan_out(2, 30, AlgebraicType::U64);
        let ty = AlgebraicType::array(AlgebraicType::Ref(AlgebraicTypeRef(0)));
        assert!(min_encoded_size(&AlgebraicType::Ref(AlgebraicTypeRef(0)), &ts) > 1 << 20);
        assert!(matches!(
            decode_value(&ty, &ts, &mut &[1, 0, 0, 0][..]),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn zero_sized_values_of_exponential_width_are_refused() {
        let ts = fan_out(8, 20, AlgebraicType::unit());
        let ty = AlgebraicType::Ref(AlgebraicTypeRef(0));
        let refused =
            |e: &DecodeError| matches!(e, DecodeError::Invalid(m) if m.contains("parts in its first 0 bytes"));
        assert!(decode_value(&ty, &ts, &mut &[][..]).is_err_and(|e| refused(&e)));
        assert!(skip_value(&ty, &ts, &mut &[][..]).is_err_and(|e| refused(&e)));
    }

    #[test]
    fn bytes_after_a_value_do_not_change_whether_it_decodes() {
        // Found by the `bsatn_value` fuzz target: the bound counted the bytes given, so a
        // value that decoded with bytes after it was refused on its own.
        let ty = AlgebraicType::array(AlgebraicType::Ref(AlgebraicTypeRef(0)));
        let ts = fan_out(8, 5, AlgebraicType::unit());
        let value = [2u8, 0, 0, 0];
        let with_tail = [&value[..], &[0; 4096]].concat();
        let alone = decode_value(&ty, &ts, &mut &value[..]).map_err(|e| e.to_string());
        let mut rest = &with_tail[..];
        let tailed = decode_value(&ty, &ts, &mut rest).map_err(|e| e.to_string());
        assert_eq!(alone, tailed);
        assert!(
            alone.is_err(),
            "two elements of 37,449 zero-sized parts each are over the bound"
        );
    }

    #[test]
    fn the_largest_array_of_units_still_decodes() {
        let ty = AlgebraicType::array(AlgebraicType::unit());
        let n = MAX_ZERO_SIZED_ELEMS - 1;
        let bytes = u32::try_from(n).expect("fits").to_le_bytes();
        let value = decode_value_exact(&ty, &Typespace::default(), &bytes).expect("decodes");
        assert!(matches!(value, AlgebraicValue::Array(ArrayValue::Values(v)) if v.len() == n));
        assert!(skip_value(&ty, &Typespace::default(), &mut &bytes[..]).is_ok());
    }
}
