//! `#[derive(SpacetimeType)]`: SATS types and BSATN encodings of structs and enums.

use spacetimedb::sats::bsatn::{from_slice, DecodeError, Encode};
use spacetimedb::sats::typespace::InlineTypes;
use spacetimedb::sats::{AlgebraicType, ProductType, ProductTypeElement};
use spacetimedb::SpacetimeType;

/// The BSATN bytes of `value`, through the `Result`-returning `to_vec` modules see.
fn to_vec<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    match spacetimedb::sats::bsatn::to_vec(value) {
        Ok(bytes) => bytes,
        Err(never) => match never {},
    }
}

#[derive(SpacetimeType, Debug, PartialEq)]
struct P {
    id: u64,
    name: String,
}

#[derive(SpacetimeType, Debug, PartialEq)]
enum E {
    A,
    B(u32),
}

#[derive(SpacetimeType, Debug, PartialEq)]
struct Tuple(u8, bool);

#[derive(SpacetimeType, Debug, PartialEq)]
struct Unit;

#[derive(SpacetimeType, Debug, PartialEq)]
struct Wrapper<T> {
    inner: T,
}

#[derive(SpacetimeType, Debug, PartialEq)]
#[sats(name = "Game.Board.Cell")]
struct Cell {
    r#type: u8,
}

#[test]
fn struct_encodes_fields_in_order() {
    let bytes = to_vec(&P {
        id: 7,
        name: "x".into(),
    });
    assert_eq!(bytes, [7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, b'x']);
    assert_eq!(
        from_slice::<P>(&bytes),
        Ok(P {
            id: 7,
            name: "x".into()
        })
    );
}

#[test]
fn enum_encodes_tag_then_payload() {
    assert_eq!(to_vec(&E::B(1)), [1, 1, 0, 0, 0]);
    assert_eq!(to_vec(&E::A), [0]);
    assert_eq!(from_slice::<E>(&[1, 1, 0, 0, 0]), Ok(E::B(1)));
    assert_eq!(
        from_slice::<E>(&[2]),
        Err(DecodeError::InvalidTag {
            tag: 2,
            type_name: "E",
            num_variants: 2
        })
    );
}

#[test]
fn tuple_unit_and_generic_structs_round_trip() {
    assert_eq!(to_vec(&Tuple(9, true)), [9, 1]);
    assert_eq!(from_slice::<Tuple>(&[9, 1]), Ok(Tuple(9, true)));
    assert_eq!(to_vec(&Unit), Vec::<u8>::new());
    assert_eq!(from_slice::<Unit>(&[]), Ok(Unit));
    assert_eq!(to_vec(&Wrapper { inner: 5u16 }), [5, 0]);
    assert_eq!(from_slice::<Wrapper<u16>>(&[5, 0]), Ok(Wrapper { inner: 5 }));
    assert_eq!(from_slice::<Tuple>(&[9, 2]), Err(DecodeError::InvalidBool(2)));
}

#[test]
fn types_are_named_products_and_sums() {
    assert_eq!(
        P::make_type(&mut InlineTypes),
        AlgebraicType::product([("id", AlgebraicType::U64), ("name", AlgebraicType::String)])
    );
    assert_eq!(
        E::make_type(&mut InlineTypes),
        AlgebraicType::sum([("A", AlgebraicType::unit()), ("B", AlgebraicType::U32)])
    );
    assert_eq!(
        Tuple::make_type(&mut InlineTypes),
        AlgebraicType::Product(ProductType::new(vec![
            ProductTypeElement::unnamed(AlgebraicType::U8),
            ProductTypeElement::unnamed(AlgebraicType::Bool)
        ]))
    );
    // A raw identifier field is named without its `r#`.
    assert_eq!(
        Cell::make_type(&mut InlineTypes),
        AlgebraicType::product([("type", AlgebraicType::U8)])
    );
}

/// A variant with one named field is a newtype variant, as in SpacetimeDB; the crate path
/// can be given explicitly.
#[derive(SpacetimeType, Debug, PartialEq)]
#[sats(crate = spacetimedb::spacetimedb_lib)]
enum Shape {
    Circle { radius: u16 },
    Empty,
}

#[test]
fn one_field_struct_variants_are_newtype_variants() {
    assert_eq!(to_vec(&Shape::Circle { radius: 3 }), [0, 3, 0]);
    assert_eq!(from_slice::<Shape>(&[0, 3, 0]), Ok(Shape::Circle { radius: 3 }));
    assert_eq!(from_slice::<Shape>(&[1]), Ok(Shape::Empty));
    assert_eq!(
        Shape::make_type(&mut InlineTypes),
        AlgebraicType::sum([("Circle", AlgebraicType::U16), ("Empty", AlgebraicType::unit())])
    );
}
