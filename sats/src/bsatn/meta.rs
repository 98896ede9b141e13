//! BSATN and SATS types for the type system itself (`AlgebraicType` and friends), so a
//! module definition can carry its typespace.

use super::value::MAX_DEPTH;
use super::{decode_len, decode_tag, Decode, DecodeError, Encode};
use crate::{
    AlgebraicType, AlgebraicTypeRef, ArrayType, ProductType, ProductTypeElement, SpacetimeType, SumType,
    SumTypeVariant, Typespace, TypespaceBuilder,
};
use std::any::TypeId;

/// The number of [`AlgebraicType`] variants, i.e. the valid tags.
const NUM_TYPE_VARIANTS: usize = 20;

impl Encode for AlgebraicTypeRef {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
}

impl Decode for AlgebraicTypeRef {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        u32::decode(input).map(Self)
    }
}

impl Encode for AlgebraicType {
    fn encode(&self, out: &mut Vec<u8>) {
        let tag: u8 = match self {
            Self::Ref(_) => 0,
            Self::Sum(_) => 1,
            Self::Product(_) => 2,
            Self::Array(_) => 3,
            Self::String => 4,
            Self::Bool => 5,
            Self::I8 => 6,
            Self::U8 => 7,
            Self::I16 => 8,
            Self::U16 => 9,
            Self::I32 => 10,
            Self::U32 => 11,
            Self::I64 => 12,
            Self::U64 => 13,
            Self::I128 => 14,
            Self::U128 => 15,
            Self::I256 => 16,
            Self::U256 => 17,
            Self::F32 => 18,
            Self::F64 => 19,
        };
        out.push(tag);
        match self {
            Self::Ref(r) => r.encode(out),
            Self::Sum(s) => s.encode(out),
            Self::Product(p) => p.encode(out),
            Self::Array(a) => a.elem_ty.encode(out),
            _ => {}
        }
    }
}

impl Decode for AlgebraicType {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_type(input, 0)
    }
}

/// Decodes a type nested `depth` levels inside the one being decoded. Types nest once per
/// input byte (`Array(Array(…))`), so without the [`MAX_DEPTH`] bound a module definition of
/// a few kilobytes could overflow the stack of whoever reads it.
fn decode_type(input: &mut &[u8], depth: usize) -> Result<AlgebraicType, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep(MAX_DEPTH));
    }
    Ok(match decode_tag(input, "AlgebraicType", NUM_TYPE_VARIANTS)? {
        0 => AlgebraicType::Ref(AlgebraicTypeRef::decode(input)?),
        1 => AlgebraicType::Sum(SumType::new(decode_members(input, depth, |name, algebraic_type| {
            SumTypeVariant { name, algebraic_type }
        })?)),
        2 => AlgebraicType::Product(ProductType::new(decode_members(
            input,
            depth,
            |name, algebraic_type| ProductTypeElement { name, algebraic_type },
        )?)),
        3 => AlgebraicType::Array(ArrayType {
            elem_ty: Box::new(decode_type(input, depth + 1)?),
        }),
        4 => AlgebraicType::String,
        5 => AlgebraicType::Bool,
        6 => AlgebraicType::I8,
        7 => AlgebraicType::U8,
        8 => AlgebraicType::I16,
        9 => AlgebraicType::U16,
        10 => AlgebraicType::I32,
        11 => AlgebraicType::U32,
        12 => AlgebraicType::I64,
        13 => AlgebraicType::U64,
        14 => AlgebraicType::I128,
        15 => AlgebraicType::U128,
        16 => AlgebraicType::I256,
        17 => AlgebraicType::U256,
        18 => AlgebraicType::F32,
        _ => AlgebraicType::F64,
    })
}

/// Decodes the optionally named members (variants or fields) of a sum or product type that
/// is nested `depth` levels deep.
fn decode_members<M>(
    input: &mut &[u8],
    depth: usize,
    member: impl Fn(Option<Box<str>>, AlgebraicType) -> M,
) -> Result<Vec<M>, DecodeError> {
    // A member takes at least its name's option tag and its type's tag.
    let len = decode_len(input, 2)?;
    let mut members = Vec::with_capacity(len);
    for _ in 0..len {
        let name = Option::<Box<str>>::decode(input)?;
        members.push(member(name, decode_type(input, depth + 1)?));
    }
    Ok(members)
}

impl Encode for ProductTypeElement {
    fn encode(&self, out: &mut Vec<u8>) {
        self.name.as_deref().encode(out);
        self.algebraic_type.encode(out);
    }
}

impl Decode for ProductTypeElement {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            name: Option::<Box<str>>::decode(input)?,
            algebraic_type: decode_type(input, 1)?,
        })
    }
}

impl Encode for SumTypeVariant {
    fn encode(&self, out: &mut Vec<u8>) {
        self.name.as_deref().encode(out);
        self.algebraic_type.encode(out);
    }
}

impl Decode for SumTypeVariant {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Self {
            name: Option::<Box<str>>::decode(input)?,
            algebraic_type: decode_type(input, 1)?,
        })
    }
}

impl Encode for ProductType {
    fn encode(&self, out: &mut Vec<u8>) {
        self.elements.encode(out)
    }
}

impl Decode for ProductType {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_members(input, 0, |name, algebraic_type| ProductTypeElement {
            name,
            algebraic_type,
        })
        .map(Self::new)
    }
}

impl Encode for SumType {
    fn encode(&self, out: &mut Vec<u8>) {
        self.variants.encode(out)
    }
}

impl Decode for SumType {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        decode_members(input, 0, |name, algebraic_type| SumTypeVariant { name, algebraic_type }).map(Self::new)
    }
}

impl Encode for Typespace {
    fn encode(&self, out: &mut Vec<u8>) {
        self.types.encode(out)
    }
}

impl Decode for Typespace {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        Vec::decode(input).map(Self::new)
    }
}

impl SpacetimeType for AlgebraicTypeRef {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::U32
    }
}

// The meta-types are recursive, so each registers itself as a named typespace entry and
// refers to the others through `Ref`s.

impl SpacetimeType for AlgebraicType {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        ts.add(TypeId::of::<AlgebraicType>(), Some("AlgebraicType"), |ts| {
            let sum = SumType::make_type(ts);
            let product = ProductType::make_type(ts);
            let this = AlgebraicType::make_type(ts);
            let unit = AlgebraicType::unit;
            AlgebraicType::sum([
                ("Ref", AlgebraicType::U32),
                ("Sum", sum),
                ("Product", product),
                ("Array", this),
                ("String", unit()),
                ("Bool", unit()),
                ("I8", unit()),
                ("U8", unit()),
                ("I16", unit()),
                ("U16", unit()),
                ("I32", unit()),
                ("U32", unit()),
                ("I64", unit()),
                ("U64", unit()),
                ("I128", unit()),
                ("U128", unit()),
                ("I256", unit()),
                ("U256", unit()),
                ("F32", unit()),
                ("F64", unit()),
            ])
        })
    }
}

impl SpacetimeType for ProductType {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        ts.add(TypeId::of::<ProductType>(), Some("ProductType"), |ts| {
            let element = ts.add(TypeId::of::<ProductTypeElement>(), Some("ProductTypeElement"), |ts| {
                let name = Option::<String>::make_type(ts);
                AlgebraicType::product([("name", name), ("algebraic_type", AlgebraicType::make_type(ts))])
            });
            AlgebraicType::product([("elements", AlgebraicType::array(element))])
        })
    }
}

impl SpacetimeType for SumType {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        ts.add(TypeId::of::<SumType>(), Some("SumType"), |ts| {
            let variant = ts.add(TypeId::of::<SumTypeVariant>(), Some("SumTypeVariant"), |ts| {
                let name = Option::<String>::make_type(ts);
                AlgebraicType::product([("name", name), ("algebraic_type", AlgebraicType::make_type(ts))])
            });
            AlgebraicType::product([("variants", AlgebraicType::array(variant))])
        })
    }
}

impl SpacetimeType for Typespace {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        let ty = AlgebraicType::make_type(ts);
        AlgebraicType::product([("types", AlgebraicType::array(ty))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bsatn::{from_slice, to_vec};

    #[test]
    fn product_type_matches_reference_bytes() {
        // `{ x: U32 }` → 02 | 01 00 00 00 | 00 01 00 00 00 78 | 0B (module-api.md §4).
        let ty = AlgebraicType::product([("x", AlgebraicType::U32)]);
        let bytes = to_vec(&ty);
        assert_eq!(bytes, [0x02, 1, 0, 0, 0, 0x00, 1, 0, 0, 0, b'x', 0x0B]);
        assert_eq!(from_slice::<AlgebraicType>(&bytes), Ok(ty));
    }

    /// `Array(Array(…(String)))`, `depth` arrays deep.
    fn nested_arrays(depth: usize) -> Vec<u8> {
        let mut bytes = vec![3; depth];
        bytes.push(4);
        bytes
    }

    #[test]
    fn types_nest_up_to_the_limit() {
        let ty = from_slice::<AlgebraicType>(&nested_arrays(MAX_DEPTH)).expect("MAX_DEPTH levels decode");
        assert_eq!(to_vec(&ty), nested_arrays(MAX_DEPTH));
        // A product type's fields are one level inside it: `{ _: Array(…) }` (no leading tag).
        let in_product = [&[1, 0, 0, 0, 1][..], &nested_arrays(MAX_DEPTH - 1)].concat();
        assert!(from_slice::<ProductType>(&in_product).is_ok());
    }

    #[test]
    fn deeper_types_are_refused_without_overflowing_the_stack() {
        // Found while writing the `bsatn_value` fuzz target: a million nested arrays recursed once
        // per byte and overflowed the stack (a test thread's 2 MiB go in a few thousand levels).
        let deep = nested_arrays(1_000_000);
        assert_eq!(from_slice::<AlgebraicType>(&deep), Err(DecodeError::TooDeep(MAX_DEPTH)));
        assert_eq!(
            from_slice::<AlgebraicType>(&nested_arrays(MAX_DEPTH + 1)),
            Err(DecodeError::TooDeep(MAX_DEPTH))
        );
        // Through products and sums, the other ways a type nests.
        let mut products = [2u8, 1, 0, 0, 0, 1].repeat(100_000);
        products.push(4);
        assert_eq!(
            from_slice::<AlgebraicType>(&products),
            Err(DecodeError::TooDeep(MAX_DEPTH))
        );
        let mut sums = [1u8, 1, 0, 0, 0, 1].repeat(100_000);
        sums.push(4);
        assert_eq!(
            from_slice::<Typespace>(&[&[1, 0, 0, 0][..], &sums].concat()),
            Err(DecodeError::TooDeep(MAX_DEPTH))
        );
    }

    #[test]
    fn bad_type_tag_is_an_error() {
        assert!(matches!(
            from_slice::<AlgebraicType>(&[20]),
            Err(DecodeError::InvalidTag { tag: 20, .. })
        ));
    }
}
