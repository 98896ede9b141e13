//! Modules that cannot have bindings get errors that name the item.

use spacetime_codegen::{generate, CodegenError, Options, Rust};
use spacetime_sats::def::model::{ModuleDef, ReducerDef};
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::{AlgebraicType, AlgebraicTypeRef, ProductType};

fn with_reducer_param(ty: AlgebraicType) -> ModuleDef {
    let mut def = super::module_def("quickstart-chat");
    def.reducers.push(ReducerDef {
        name: "odd".into(),
        source_name: "odd".into(),
        params: ProductType::named([("arg", ty)]),
        visibility: FunctionVisibility::ClientCallable,
        lifecycle: None,
    });
    def
}

#[test]
fn anonymous_and_dangling_types_are_named_errors() {
    let def = with_reducer_param(AlgebraicType::product([("x", AlgebraicType::U8)]));
    let err = generate(&def, &Rust, &Options::default()).unwrap_err();
    assert!(matches!(&err, CodegenError::AnonymousType { kind: "struct", .. }), "{err}");
    assert!(err.to_string().contains("field `arg` of `reducer odd`"), "{err}");

    let def = with_reducer_param(AlgebraicType::Ref(AlgebraicTypeRef(999)));
    let err = generate(&def, &Rust, &Options::default()).unwrap_err();
    assert_eq!(err, CodegenError::DanglingRef { location: "field `arg` of `reducer odd`".into(), type_ref: 999 });

    let def = with_reducer_param(AlgebraicType::simple_enum(["A", "B"]));
    assert!(matches!(generate(&def, &Rust, &Options::default()), Err(CodegenError::AnonymousType { kind: "enum", .. })));
}

#[test]
fn structural_types_need_no_name() {
    let def = with_reducer_param(AlgebraicType::option(AlgebraicType::array(AlgebraicType::identity())));
    let files = generate(&def, &Rust, &Options::default()).expect("generates");
    let odd = files.iter().find(|f| f.path == "odd_reducer.rs").expect("odd_reducer.rs");
    assert!(odd.contents.contains("arg: Option<Vec<__sdk::Identity>>"), "{}", odd.contents);
}
