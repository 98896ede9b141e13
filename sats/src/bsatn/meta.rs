//! BSATN and SATS types for the type system itself (`AlgebraicType` and friends), so a
//! module definition can carry its typespace.

use super::{decode_tag, Decode, DecodeError, Encode};
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
        Ok(match decode_tag(input, "AlgebraicType", NUM_TYPE_VARIANTS)? {
            0 => Self::Ref(AlgebraicTypeRef::decode(input)?),
            1 => Self::Sum(SumType::decode(input)?),
            2 => Self::Product(ProductType::decode(input)?),
            3 => Self::Array(ArrayType {
                elem_ty: Box::new(Self::decode(input)?),
            }),
            4 => Self::String,
            5 => Self::Bool,
            6 => Self::I8,
            7 => Self::U8,
            8 => Self::I16,
            9 => Self::U16,
            10 => Self::I32,
            11 => Self::U32,
            12 => Self::I64,
            13 => Self::U64,
            14 => Self::I128,
            15 => Self::U128,
            16 => Self::I256,
            17 => Self::U256,
            18 => Self::F32,
            _ => Self::F64,
        })
    }
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
            algebraic_type: AlgebraicType::decode(input)?,
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
            algebraic_type: AlgebraicType::decode(input)?,
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
        Vec::decode(input).map(Self::new)
    }
}

impl Encode for SumType {
    fn encode(&self, out: &mut Vec<u8>) {
        self.variants.encode(out)
    }
}

impl Decode for SumType {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        Vec::decode(input).map(Self::new)
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

    #[test]
    fn bad_type_tag_is_an_error() {
        assert!(matches!(
            from_slice::<AlgebraicType>(&[20]),
            Err(DecodeError::InvalidTag { tag: 20, .. })
        ));
    }
}
