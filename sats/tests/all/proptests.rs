//! Property tests: random (type, value) pairs round-trip through BSATN and SATS-JSON,
//! `skip_value` consumes exactly one encoding, and malformed input gives errors, never
//! panics. Also the byte examples of module-api.md §4.

use proptest::collection::vec;
use proptest::prelude::*;
use spacetime_sats::bsatn::value::{decode_value, decode_value_exact, skip_value, value_to_vec};
use spacetime_sats::bsatn::{from_slice, to_vec, DecodeError};
use spacetime_sats::json::{value_from_json, value_to_json};
use spacetime_sats::{
    i256, u256, AlgebraicType, AlgebraicValue, ArrayValue, ProductType, ScheduleAt, SumType, SumTypeVariant,
    TimeDuration, Typespace, F32, F64,
};

fn arb_type() -> impl Strategy<Value = AlgebraicType> {
    use AlgebraicType as T;
    let leaf = prop_oneof![
        Just(T::Bool),
        Just(T::I8),
        Just(T::U8),
        Just(T::I16),
        Just(T::U16),
        Just(T::I32),
        Just(T::U32),
        Just(T::I64),
        Just(T::U64),
        Just(T::I128),
        Just(T::U128),
        Just(T::I256),
        Just(T::U256),
        Just(T::F32),
        Just(T::F64),
        Just(T::String),
        Just(T::unit()),
        Just(T::identity()),
        Just(T::timestamp()),
        Just(T::schedule_at()),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(AlgebraicType::array),
            inner.clone().prop_map(AlgebraicType::option),
            vec(inner.clone(), 0..4).prop_map(|tys| {
                AlgebraicType::Product(ProductType::named(
                    tys.into_iter()
                        .enumerate()
                        .map(|(i, t)| (Box::leak(format!("f{i}").into_boxed_str()) as &str, t)),
                ))
            }),
            vec(inner, 1..4).prop_map(|tys| {
                AlgebraicType::Sum(SumType::new(
                    tys.into_iter()
                        .enumerate()
                        .map(|(i, t)| SumTypeVariant::named(&format!("v{i}"), t))
                        .collect(),
                ))
            }),
        ]
    })
}

/// A value of `ty`; floats are finite when `finite` (SATS-JSON cannot carry NaN).
fn arb_value(ty: &AlgebraicType, finite: bool) -> BoxedStrategy<AlgebraicValue> {
    use AlgebraicValue as V;
    let f32s = if finite {
        any::<f32>().prop_filter("finite", |f| f.is_finite()).boxed()
    } else {
        any::<u32>().prop_map(f32::from_bits).boxed()
    };
    let f64s = if finite {
        any::<f64>().prop_filter("finite", |f| f.is_finite()).boxed()
    } else {
        any::<u64>().prop_map(f64::from_bits).boxed()
    };
    match ty {
        AlgebraicType::Bool => any::<bool>().prop_map(V::Bool).boxed(),
        AlgebraicType::I8 => any::<i8>().prop_map(V::I8).boxed(),
        AlgebraicType::U8 => any::<u8>().prop_map(V::U8).boxed(),
        AlgebraicType::I16 => any::<i16>().prop_map(V::I16).boxed(),
        AlgebraicType::U16 => any::<u16>().prop_map(V::U16).boxed(),
        AlgebraicType::I32 => any::<i32>().prop_map(V::I32).boxed(),
        AlgebraicType::U32 => any::<u32>().prop_map(V::U32).boxed(),
        AlgebraicType::I64 => any::<i64>().prop_map(V::I64).boxed(),
        AlgebraicType::U64 => any::<u64>().prop_map(V::U64).boxed(),
        AlgebraicType::I128 => any::<i128>().prop_map(V::I128).boxed(),
        AlgebraicType::U128 => any::<u128>().prop_map(V::U128).boxed(),
        AlgebraicType::I256 => any::<(i128, u128)>()
            .prop_map(|(hi, lo)| V::from(i256::from_words(hi, lo as i128)))
            .boxed(),
        AlgebraicType::U256 => any::<(u128, u128)>()
            .prop_map(|(hi, lo)| V::from(u256::from_words(hi, lo)))
            .boxed(),
        AlgebraicType::F32 => f32s.prop_map(|f| V::F32(F32(f))).boxed(),
        AlgebraicType::F64 => f64s.prop_map(|f| V::F64(F64(f))).boxed(),
        AlgebraicType::String => any::<String>().prop_map(V::string).boxed(),
        AlgebraicType::Array(a) if *a.elem_ty == AlgebraicType::U8 => vec(any::<u8>(), 0..8).prop_map(V::bytes).boxed(),
        AlgebraicType::Array(a) => vec(arb_value(&a.elem_ty, finite), 0..4)
            .prop_map(|vs| V::Array(ArrayValue::Values(vs)))
            .boxed(),
        AlgebraicType::Product(p) => {
            let elems: Vec<_> = p
                .elements
                .iter()
                .map(|e| arb_value(&e.algebraic_type, finite))
                .collect();
            elems.prop_map(V::product).boxed()
        }
        AlgebraicType::Sum(s) => {
            let variants: Vec<_> = s
                .variants
                .iter()
                .enumerate()
                .map(|(tag, v)| {
                    arb_value(&v.algebraic_type, finite)
                        .prop_map(move |x| V::sum(tag as u8, x))
                        .boxed()
                })
                .collect();
            proptest::strategy::Union::new(variants).boxed()
        }
        AlgebraicType::Ref(_) => unreachable!("generated types have no refs"),
    }
}

fn arb_pair(finite: bool) -> impl Strategy<Value = (AlgebraicType, AlgebraicValue)> {
    arb_type().prop_flat_map(move |ty| {
        let value = arb_value(&ty, finite);
        (Just(ty), value)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn bsatn_round_trips((ty, value) in arb_pair(false)) {
        let ts = Typespace::default();
        let bytes = value_to_vec(&value);
        prop_assert_eq!(decode_value_exact(&ty, &ts, &bytes), Ok(value));
        let mut rest = &bytes[..];
        prop_assert_eq!(skip_value(&ty, &ts, &mut rest), Ok(()));
        prop_assert!(rest.is_empty());
        // BSATN is self-delimiting: no proper prefix is a complete value.
        for len in 0..bytes.len() {
            prop_assert!(decode_value_exact(&ty, &ts, &bytes[..len]).is_err());
        }
    }

    #[test]
    fn json_round_trips((ty, value) in arb_pair(true)) {
        let ts = Typespace::default();
        let json = value_to_json(&value, &ty, &ts);
        let text = serde_json::to_string(&json).expect("prints");
        let reparsed: serde_json::Value = serde_json::from_str(&text).expect("parses");
        prop_assert_eq!(value_from_json(&reparsed, &ty, &ts), Ok(value));
    }

    #[test]
    fn random_bytes_never_panic(ty in arb_type(), bytes in vec(any::<u8>(), 0..64)) {
        let ts = Typespace::default();
        let mut input = &bytes[..];
        let decoded = decode_value(&ty, &ts, &mut input);
        let mut skipped = &bytes[..];
        let skip = skip_value(&ty, &ts, &mut skipped);
        prop_assert_eq!(decoded.is_ok(), skip.is_ok());
        if let Ok(v) = decoded {
            let consumed = bytes.len() - input.len();
            prop_assert_eq!(skipped.len(), input.len());
            prop_assert_eq!(value_to_vec(&v), bytes[..consumed].to_vec());
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("test hex"))
        .collect()
}

#[test]
fn module_api_byte_examples() {
    assert_eq!(to_vec(&42u32), hex("2A 00 00 00"));
    assert_eq!(to_vec(&-2i16), hex("FE FF"));
    assert_eq!(to_vec(&true), hex("01"));
    assert_eq!(to_vec(&1.0f32), hex("00 00 80 3F"));
    assert_eq!(to_vec("hi"), hex("02 00 00 00 68 69"));
    assert_eq!(to_vec(&vec![1u16, 2]), hex("02 00 00 00 01 00 02 00"));
    assert_eq!(to_vec(&Some(5u8)), hex("00 05"));
    assert_eq!(to_vec(&None::<u8>), hex("01"));
    assert_eq!(to_vec(&(7u64, "x")), hex("07 00 00 00 00 00 00 00 01 00 00 00 78"));
    let e = AlgebraicType::sum([("A", AlgebraicType::unit()), ("B", AlgebraicType::U32)]);
    let ts = Typespace::default();
    assert_eq!(
        decode_value_exact(&e, &ts, &hex("01 01 00 00 00")),
        Ok(AlgebraicValue::sum(1, AlgebraicValue::U32(1)))
    );
    assert_eq!(
        decode_value_exact(&e, &ts, &hex("00")),
        Ok(AlgebraicValue::sum(0, AlgebraicValue::unit()))
    );
    assert_eq!(
        to_vec(&ScheduleAt::Interval(TimeDuration::from_micros(1_000_000))),
        hex("00 40 42 0F 00 00 00 00 00")
    );
    assert_eq!(
        to_vec(&spacetime_sats::Timestamp::from_micros_since_unix_epoch(1)).len(),
        8
    );
    assert_eq!(to_vec(&(String::from("Ann"), 30u8)), hex("03 00 00 00 41 6E 6E 1E"));
    let ty = AlgebraicType::product([("x", AlgebraicType::U32)]);
    assert_eq!(to_vec(&ty), hex("02 01 00 00 00 00 01 00 00 00 78 0B"));
}

#[test]
fn malformed_input_is_an_error() {
    let ts = Typespace::default();
    assert_eq!(from_slice::<bool>(&[2]), Err(DecodeError::InvalidBool(2)));
    assert!(matches!(
        from_slice::<Option<u8>>(&[2]),
        Err(DecodeError::InvalidTag { tag: 2, .. })
    ));
    assert_eq!(
        from_slice::<String>(&hex("02 00 00 00 C3 28")),
        Err(DecodeError::InvalidUtf8)
    );
    assert!(matches!(from_slice::<u32>(&[1, 2]), Err(DecodeError::Truncated { .. })));
    // A huge length prefix fails fast instead of allocating.
    assert!(matches!(
        from_slice::<String>(&hex("FF FF FF FF 00")),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(
        from_slice::<Vec<u64>>(&hex("FF FF FF FF 00")),
        Err(DecodeError::Truncated { .. })
    ));
    let units = AlgebraicType::array(AlgebraicType::unit());
    assert!(matches!(
        decode_value_exact(&units, &ts, &hex("FF FF FF FF")),
        Err(DecodeError::Invalid(_))
    ));
    assert_eq!(
        decode_value_exact(&units, &ts, &hex("03 00 00 00")),
        Ok(AlgebraicValue::Array(ArrayValue::Values(vec![
            AlgebraicValue::unit();
            3
        ])))
    );
    // Elements that encode to zero bytes but are not `()` itself are still valid.
    let unit_structs = AlgebraicType::array(AlgebraicType::product([("u", AlgebraicType::unit())]));
    assert!(decode_value_exact(&unit_structs, &ts, &hex("02 00 00 00")).is_ok());
    let mut cyclic = Typespace::default();
    cyclic.add(AlgebraicType::Ref(spacetime_sats::AlgebraicTypeRef(0)));
    let r = AlgebraicType::Ref(spacetime_sats::AlgebraicTypeRef(0));
    assert!(matches!(
        decode_value_exact(&r, &cyclic, &[0]),
        Err(DecodeError::TooDeep(_))
    ));
}
