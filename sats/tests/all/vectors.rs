//! The shared test vectors (`sats/tests/vectors/bsatn.json`): our encoder, decoder and
//! SATS-JSON must agree with every case.

use spacetime_sats::bsatn::value::{decode_value_exact, skip_value, value_to_vec};
use spacetime_sats::json::{from_json, value_from_json, value_to_json};
use spacetime_sats::{AlgebraicType, Typespace};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("vector hex is valid"))
        .collect()
}

#[test]
fn every_vector_agrees() {
    let text = include_str!("../vectors/bsatn.json");
    let cases: Vec<serde_json::Value> = serde_json::from_str(text).expect("vectors parse");
    assert!(cases.len() >= 60, "the vector file lost cases");
    let ts = Typespace::default();
    let mut names = std::collections::HashSet::new();
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        assert!(names.insert(name), "duplicate vector name {name}");
        let ty: AlgebraicType = from_json(&case["type"]).unwrap_or_else(|e| panic!("{name}: type: {e}"));
        let bytes = unhex(case["bsatn_hex"].as_str().expect("bsatn_hex"));

        let from_json_value = value_from_json(&case["value"], &ty, &ts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hex(&value_to_vec(&from_json_value)), hex(&bytes), "{name}: encoding");

        let decoded = decode_value_exact(&ty, &ts, &bytes).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        assert_eq!(decoded, from_json_value, "{name}: decoding");
        assert_eq!(value_to_json(&decoded, &ty, &ts), case["value"], "{name}: SATS-JSON");

        let mut rest = &bytes[..];
        skip_value(&ty, &ts, &mut rest).unwrap_or_else(|e| panic!("{name}: skip: {e}"));
        assert!(rest.is_empty(), "{name}: skip_value left {} bytes", rest.len());
    }
}
