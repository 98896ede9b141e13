//! Reducer argument decoding and the params product a reducer describes.

use spacetimedb::rt::{decode_args, Args};
use spacetimedb::sats::typespace::InlineTypes;
use spacetimedb::sats::{AlgebraicType, ProductType, ProductTypeElement};

#[test]
fn decodes_the_params_product() {
    // (name: String, age: u8)
    let bytes = [2, 0, 0, 0, b'h', b'i', 30];
    let (name, age): (String, u8) = decode_args("add", &bytes).expect("valid arguments");
    assert_eq!((name.as_str(), age), ("hi", 30));
    let (): () = decode_args("none", &[]).expect("no arguments");
}

#[test]
fn rejects_trailing_and_truncated_input_naming_the_reducer() {
    let err = decode_args::<(u8,)>("add", &[1, 2]).unwrap_err();
    assert!(
        err.contains("reducer `add`") && err.contains("1 unexpected bytes"),
        "{err}"
    );
    let err = decode_args::<(u32,)>("add", &[1, 2]).unwrap_err();
    assert!(err.contains("unexpected end of input"), "{err}");
    let err = decode_args::<()>("tick", &[0]).unwrap_err();
    assert!(err.contains("reducer `tick`"), "{err}");
}

#[test]
fn schema_names_params_positionally() {
    let schema = <(String, Option<u8>)>::schema(&[Some("name"), None], &mut InlineTypes);
    assert_eq!(
        schema,
        ProductType::new(vec![
            ProductTypeElement::named("name", AlgebraicType::String),
            ProductTypeElement::unnamed(AlgebraicType::option(AlgebraicType::U8)),
        ])
    );
}

#[test]
fn duration_literals_are_parsed_at_compile_time() {
    assert_eq!(spacetimedb::duration!("1500ms"), std::time::Duration::from_millis(1500));
    assert_eq!(spacetimedb::duration!("2h 30m"), std::time::Duration::from_secs(9000));
}
