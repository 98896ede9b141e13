//! SATS-JSON against SpacetimeDB 2.10.1's output for the same values and types.

use super::*;
use crate::def::raw::{RawModuleDefV10, RawModuleDefV10Section, TableType};
use crate::{AlgebraicType as T, AlgebraicTypeRef, AlgebraicValue as V, ProductTypeElement, SumTypeVariant, Typespace};
use serde_json::json;

fn ts() -> Typespace {
    Typespace::new(vec![T::product([("a", T::U8)])])
}

fn text(v: &V, ty: &T) -> String {
    serde_json::to_string(&value_to_json(v, ty, &ts())).expect("json prints")
}

#[test]
fn output_matches_upstream() {
    let unnamed_sum = T::Sum(crate::SumType::new(vec![SumTypeVariant {
        name: None,
        algebraic_type: T::U8,
    }]));
    let cases: Vec<(T, V, &str)> = vec![
        (T::U8, V::U8(7), "7"),
        (T::I64, V::I64(i64::MIN), "-9223372036854775808"),
        (T::U64, V::U64(u64::MAX), "18446744073709551615"),
        (T::U128, V::U128(u128::MAX), "340282366920938463463374607431768211455"),
        (T::I128, V::I128(i128::MIN), "-170141183460469231731687303715884105728"),
        (
            T::U256,
            V::from(crate::u256::MAX),
            "\"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"",
        ),
        (
            T::I256,
            V::from(crate::i256::MIN),
            "\"-0x8000000000000000000000000000000000000000000000000000000000000000\"",
        ),
        (T::I256, V::from(crate::i256::from(-5)), "\"-0x5\""),
        (T::F32, V::F32(1.5.into()), "1.5"),
        (T::F32, V::F32(0.1.into()), "0.1"),
        (T::F64, V::F64(f64::NAN.into()), "null"),
        (T::F64, V::F64(f64::INFINITY.into()), "null"),
        (T::F64, V::F64(3.0.into()), "3.0"),
        (T::bytes(), V::bytes(vec![0xde, 0xad]), "\"dead\""),
        (T::unit(), V::unit(), "{}"),
        (T::option(T::U32), V::some(V::U32(5)), "{\"some\":5}"),
        (T::option(T::U32), V::none(), "{\"none\":{}}"),
        (
            T::product([("x", T::U8), ("y", T::String)]),
            V::product(vec![V::U8(1), V::string("s")]),
            "{\"x\":1,\"y\":\"s\"}",
        ),
        (
            T::sum([("A", T::unit()), ("B", T::U32)]),
            V::sum(1, V::U32(9)),
            "{\"B\":9}",
        ),
        (unnamed_sum, V::sum(0, V::U8(3)), "[0,3]"),
        (
            T::identity(),
            V::product(vec![V::from(crate::u256::from(0xabcdu32))]),
            "{\"__identity__\":\"0xabcd\"}",
        ),
        (
            T::connection_id(),
            V::product(vec![V::U128(0xabcd)]),
            "{\"__connection_id__\":43981}",
        ),
        (
            T::timestamp(),
            V::product(vec![V::I64(5)]),
            "{\"__timestamp_micros_since_unix_epoch__\":5}",
        ),
        (
            T::time_duration(),
            V::product(vec![V::I64(-5)]),
            "{\"__time_duration_micros__\":-5}",
        ),
        (T::uuid(), V::product(vec![V::U128(0xabcd)]), "{\"__uuid__\":43981}"),
        (
            T::schedule_at(),
            V::sum(0, V::product(vec![V::I64(1_000_000)])),
            "{\"Interval\":{\"__time_duration_micros__\":1000000}}",
        ),
        (T::Ref(AlgebraicTypeRef(0)), V::product(vec![V::U8(2)]), "{\"a\":2}"),
        (T::array(T::String), V::array(vec![V::string("a")]), "[\"a\"]"),
    ];
    for (ty, v, expected) in cases {
        assert_eq!(text(&v, &ty), expected, "{ty:?}");
        // And everything printed reads back (except the lossy non-finite floats).
        if expected != "null" {
            assert_eq!(
                value_from_json(&value_to_json(&v, &ty, &ts()), &ty, &ts()),
                Ok(v),
                "{ty:?}"
            );
        }
    }
}

#[test]
fn types_print_as_upstream() {
    let ty = T::product([("x", T::option(T::Ref(AlgebraicTypeRef(0)))), ("y", T::array(T::I8))]);
    assert_eq!(
        serde_json::to_string(&to_json(&ty)).expect("prints"),
        r#"{"Product":{"elements":[{"name":{"some":"x"},"algebraic_type":{"Sum":{"variants":[{"name":{"some":"some"},"algebraic_type":{"Ref":0}},{"name":{"some":"none"},"algebraic_type":{"Product":{"elements":[]}}}]}}},{"name":{"some":"y"},"algebraic_type":{"Array":{"I8":[]}}}]}}"#
    );
    let unnamed = T::Product(crate::ProductType::new(vec![ProductTypeElement::unnamed(T::U8)]));
    assert_eq!(
        serde_json::to_string(&to_json(&unnamed)).expect("prints"),
        r#"{"Product":{"elements":[{"name":{"none":[]},"algebraic_type":{"U8":[]}}]}}"#
    );
    assert_eq!(from_json::<T>(&to_json(&ty)), Ok(ty));
}

#[test]
fn module_def_prints_as_upstream_schema() {
    let def = RawModuleDefV10 {
        sections: vec![
            RawModuleDefV10Section::Typespace(ts()),
            RawModuleDefV10Section::Tables(vec![crate::def::raw::RawTableDefV10 {
                source_name: "person".into(),
                product_type_ref: AlgebraicTypeRef(0),
                primary_key: vec![0],
                indexes: vec![crate::def::raw::RawIndexDefV10 {
                    source_name: None,
                    accessor_name: Some("id".into()),
                    algorithm: crate::def::raw::RawIndexAlgorithm::BTree(crate::def::raw::RawIndexColumns {
                        columns: vec![0, 1],
                    }),
                }],
                constraints: vec![],
                sequences: vec![],
                table_type: TableType::User,
                table_access: crate::def::raw::TableAccess::Private,
                default_values: vec![crate::def::raw::RawColumnDefaultValueV10 {
                    col_id: 1,
                    value: vec![1, 2, 3],
                }],
                is_event: true,
            }]),
        ],
    };
    // Upstream 2.10.1's `serde_json::to_string` of the same definition.
    let expected = r#"{"sections":[{"Typespace":{"types":[{"Product":{"elements":[{"name":{"some":"a"},"algebraic_type":{"U8":[]}}]}}]}},{"Tables":[{"source_name":"person","product_type_ref":0,"primary_key":[0],"indexes":[{"source_name":{"none":[]},"accessor_name":{"some":"id"},"algorithm":{"BTree":[0,1]}}],"constraints":[],"sequences":[],"table_type":{"User":[]},"table_access":{"Private":[]},"default_values":[{"col_id":1,"value":"010203"}],"is_event":true}]}]}"#;
    assert_eq!(serde_json::to_string(&to_json(&def)).expect("prints"), expected);
    assert_eq!(
        from_json::<RawModuleDefV10>(&serde_json::from_str(expected).expect("parses")),
        Ok(def)
    );
}

fn read(ty: &T, s: &str) -> Result<V, String> {
    let json: serde_json::Value = serde_json::from_str(s).expect("test json parses");
    value_from_json(&json, ty, &ts()).map_err(|e| e.to_string())
}

#[test]
fn lenient_input() {
    let prod = T::product([("x", T::U8), ("y", T::String)]);
    let xy = V::product(vec![V::U8(1), V::string("s")]);
    assert_eq!(read(&prod, r#"[1,"s"]"#), Ok(xy.clone()));
    assert_eq!(read(&prod, r#"{"y":"s","x":1}"#), Ok(xy));
    assert_eq!(read(&T::unit(), "[]"), Ok(V::unit()));
    assert_eq!(read(&T::unit(), "{}"), Ok(V::unit()));
    let opt = T::option(T::U32);
    assert_eq!(read(&opt, "null"), Ok(V::none()));
    assert_eq!(read(&opt, r#"{"none":[]}"#), Ok(V::none()));
    assert_eq!(read(&opt, r#"{"0":5}"#), Ok(V::some(V::U32(5))));
    assert_eq!(read(&opt, "[0,5]"), Ok(V::some(V::U32(5))));
    assert_eq!(read(&opt, r#"["some",5]"#), Ok(V::some(V::U32(5))));
    assert_eq!(
        read(&T::U128, "340282366920938463463374607431768211455"),
        Ok(V::U128(u128::MAX))
    );
    assert_eq!(read(&T::U128, r#""5""#), Ok(V::U128(5)));
    assert_eq!(read(&T::U64, r#""18446744073709551615""#), Ok(V::U64(u64::MAX)));
    assert_eq!(read(&T::U256, r#""0x05""#), Ok(V::from(crate::u256::from(5u8))));
    assert_eq!(read(&T::I256, r#""-0x5""#), Ok(V::from(crate::i256::from(-5))));
    assert_eq!(read(&T::I256, "-5"), Ok(V::from(crate::i256::from(-5))));
    assert_eq!(read(&T::F64, "3"), Ok(V::F64(3.0.into())));
    assert!(matches!(read(&T::F64, r#""NaN""#), Ok(V::F64(f)) if f.0.is_nan()));
    assert_eq!(read(&T::bytes(), "[1,2]"), Ok(V::bytes(vec![1, 2])));
    assert_eq!(read(&T::bytes(), "[]"), Ok(V::bytes(vec![])));
    assert_eq!(read(&T::bytes(), r#""0xdead""#), Ok(V::bytes(vec![0xde, 0xad])));
    let id = V::product(vec![V::from(crate::u256::from(0xabcdu32))]);
    let hex = "000000000000000000000000000000000000000000000000000000000000abcd";
    assert_eq!(read(&T::identity(), &format!("\"{hex}\"")), Ok(id.clone()));
    assert_eq!(read(&T::identity(), &format!("\"0x{hex}\"")), Ok(id.clone()));
    assert_eq!(
        read(&T::identity(), &format!(r#"{{"__identity__":"0x{hex}"}}"#)),
        Ok(id)
    );
    assert_eq!(
        read(&T::timestamp(), r#""1970-01-01T00:00:01Z""#),
        Ok(V::product(vec![V::I64(1_000_000)]))
    );
    assert_eq!(read(&T::timestamp(), "5"), Ok(V::product(vec![V::I64(5)])));
    assert_eq!(
        read(&T::uuid(), r#""00000000-0000-0000-0000-00000000abcd""#),
        Ok(V::product(vec![V::U128(0xabcd)]))
    );
}

#[test]
fn strict_input_names_path_and_type() {
    let args = T::product([("id", T::U32), ("who", T::product([("name", T::String)]))]);
    let json = json!([1, {"name": 5}]);
    let e = value_from_json(&json, &args, &ts())
        .expect_err("bad name")
        .under("args");
    assert_eq!(e.to_string(), "at `args.who.name`: expected a string, found number 5");
    for (ty, s, fragment) in [
        (
            T::U8,
            r#""7""#,
            "expected an integer in the range of u8, found string \"7\"",
        ),
        (T::U8, "7.0", "found number 7.0"),
        (T::U8, "300", "in the range of u8"),
        (T::U8, "-1", "in the range of u8"),
        (T::Bool, "1", "expected a boolean"),
        (T::F64, "null", "expected a number (f64)"),
        (T::product([("x", T::U8)]), r#"{"x":1,"z":2}"#, "unknown field \"z\""),
        (
            T::product([("x", T::U8), ("y", T::U8)]),
            r#"{"x":1}"#,
            "expected a value for field \"y\"",
        ),
        (
            T::product([("x", T::U8)]),
            "[1,2]",
            "an array of 1 elements, found an array of 2 elements",
        ),
        (T::unit(), "null", "expected the unit value"),
        (T::option(T::U32), "5", "with variant one of [\"some\", \"none\"]"),
        (
            T::sum([("A", T::unit())]),
            r#"{"B":[]}"#,
            "found an object with keys [\"B\"]",
        ),
        (T::sum([("A", T::unit())]), r#""A""#, "expected a sum value"),
        (
            T::sum([("A", T::unit()), ("B", T::unit())]),
            r#"{"A":[],"B":[]}"#,
            "expected a sum value",
        ),
        (T::array(T::U16), "null", "expected an array"),
        (T::bytes(), r#""xyz""#, "a hex string of bytes"),
        (T::identity(), r#""abc""#, "invalid identity hex"),
        (T::array(T::U8), "[1,300]", "at `value[1]`"),
    ] {
        let msg = read(&ty, s).expect_err(s);
        assert!(msg.contains(fragment), "{s}: {msg:?} lacks {fragment:?}");
    }
}

crate::def::codec::sats_struct! {
    /// A typed value for the helpers.
    pub struct Sample {
        /// A number.
        pub n: u8,
        /// An optional string.
        pub s: Option<String>,
        /// Bytes.
        pub b: Vec<u8>,
    }
}

#[test]
fn typed_helpers_round_trip() {
    let value = Sample {
        n: 3,
        s: Some("x".into()),
        b: vec![1, 2],
    };
    let json = to_json(&value);
    assert_eq!(
        serde_json::to_string(&json).expect("prints"),
        r#"{"n":3,"s":{"some":"x"},"b":"0102"}"#
    );
    assert_eq!(from_json::<Sample>(&json), Ok(value));
    assert_eq!(to_json(&None::<u8>), json!({"none": []}));
}
