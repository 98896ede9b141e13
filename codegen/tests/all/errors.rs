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
    assert!(
        matches!(&err, CodegenError::AnonymousType { kind: "struct", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("field `arg` of `reducer odd`"), "{err}");

    let def = with_reducer_param(AlgebraicType::Ref(AlgebraicTypeRef(999)));
    let err = generate(&def, &Rust, &Options::default()).unwrap_err();
    assert_eq!(
        err,
        CodegenError::DanglingRef {
            location: "field `arg` of `reducer odd`".into(),
            type_ref: 999
        }
    );

    let def = with_reducer_param(AlgebraicType::simple_enum(["A", "B"]));
    assert!(matches!(
        generate(&def, &Rust, &Options::default()),
        Err(CodegenError::AnonymousType { kind: "enum", .. })
    ));
}

#[test]
fn structural_types_need_no_name() {
    let def = with_reducer_param(AlgebraicType::option(AlgebraicType::array(AlgebraicType::identity())));
    let files = generate(&def, &Rust, &Options::default()).expect("generates");
    let odd = files
        .iter()
        .find(|f| f.path == "odd_reducer.rs")
        .expect("odd_reducer.rs");
    assert!(
        odd.contents.contains("arg: Option<Vec<__sdk::Identity>>"),
        "{}",
        odd.contents
    );
}

/// The chat module with its `User` type renamed to `name`.
fn with_user_type_named(name: &str) -> ModuleDef {
    let mut def = super::module_def("quickstart-chat");
    def.types
        .iter_mut()
        .filter(|t| t.name == "User")
        .for_each(|t| t.name = name.into());
    def
}

#[test]
fn a_type_named_like_a_generated_global_is_a_named_error_in_each_language() {
    use spacetime_codegen::{CSharp, Lang, Python, TypeScript};
    let cases: [(&dyn Lang, &str, &str); 4] = [
        (&Rust, "DbConnection", "Rust"),
        (&TypeScript, "EventContext", "TypeScript"),
        (&Python, "Reducer", "Python"),
        (&CSharp::default(), "RemoteTables", "C#"),
    ];
    for (lang, clash, lang_name) in cases {
        let err = generate(&with_user_type_named(clash), lang, &Options::default()).unwrap_err();
        assert!(
            matches!(&err, CodegenError::NameClash { type_name, generated, lang, .. } if type_name == clash && generated == clash && *lang == lang_name),
            "{lang_name}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("type `{clash}`")) && message.contains("rename the type in the module"),
            "{message}"
        );
        // A name no language declares is fine everywhere.
        generate(&with_user_type_named("Member"), lang, &Options::default())
            .unwrap_or_else(|e| panic!("{lang_name}: {e}"));
    }
}
