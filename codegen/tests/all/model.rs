//! The language-neutral model reads each table's indexes from the module definition once:
//! accessor, kind, columns in key order and uniqueness, for every language to use; and the
//! procedures and views with their types resolved.

use super::module_def;
use spacetime_codegen::model::{IndexKind, IndexModel, Module, Primitive, ProcedureModel, TypeUse, ViewSource};
use spacetime_codegen::Options;
use spacetime_sats::def::model::ProcedureDef;
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::{AlgebraicType, ProductType};

fn index(accessor: &str, kind: IndexKind, columns: &[usize], unique: bool) -> IndexModel {
    IndexModel {
        accessor_name: accessor.into(),
        kind,
        columns: columns.to_vec(),
        unique,
    }
}

#[test]
fn player_indexes_keep_kind_key_order_and_uniqueness() {
    let module = Module::new(&module_def("all-features"), &Options::default()).expect("model");
    let player = module
        .tables
        .iter()
        .find(|t| t.wire_name == "player")
        .expect("player table");
    assert_eq!(
        player.indexes,
        [
            index("id", IndexKind::BTree, &[0], true),
            index("name", IndexKind::BTree, &[1], true),
            index("by_level_and_score", IndexKind::BTree, &[2, 3], false),
            index("by_color_and_level", IndexKind::Hash, &[4, 2], false),
            index("level", IndexKind::BTree, &[2], false),
            index("color", IndexKind::Hash, &[4], false),
        ]
    );
}

#[test]
fn an_index_without_an_accessor_is_named_after_its_columns() {
    let mut def = module_def("all-features");
    let player = def
        .tables
        .iter_mut()
        .find(|t| t.name == "player")
        .expect("player table");
    player.indexes.iter_mut().for_each(|i| i.accessor_name = None);
    let module = Module::new(&def, &Options::default()).expect("model");
    let player = module
        .tables
        .iter()
        .find(|t| t.wire_name == "player")
        .expect("player table");
    let names: Vec<&str> = player.indexes.iter().map(|i| i.accessor_name.as_str()).collect();
    assert_eq!(names, ["id", "name", "level_score", "color_level", "level", "color"]);
}

/// The `all-features` module with a procedure returning an option of its player type, a
/// private procedure, and the two kinds of view over players.
fn with_procedures_and_views() -> (spacetime_sats::def::model::ModuleDef, Vec<ViewSource>) {
    let mut def = module_def("all-features");
    let player = def.table("player").expect("player table").product_type_ref;
    let procedure = |name: &str, visibility| ProcedureDef {
        name: name.into(),
        source_name: name.into(),
        params: ProductType::named([("level", AlgebraicType::U32)]),
        return_type: AlgebraicType::option(AlgebraicType::Ref(player)),
        visibility,
    };
    def.procedures = vec![
        procedure("best_at", FunctionVisibility::ClientCallable),
        procedure("internal", FunctionVisibility::Private),
    ];
    let view = |name: &str, is_anonymous, return_type, primary_key| ViewSource {
        name: name.into(),
        accessor_name: name.into(),
        is_public: true,
        is_anonymous,
        params: ProductType::unit(),
        return_type,
        primary_key,
    };
    let views = vec![
        view(
            "top_players",
            true,
            AlgebraicType::array(AlgebraicType::Ref(player)),
            Some(0),
        ),
        view(
            "my_player",
            false,
            AlgebraicType::option(AlgebraicType::Ref(player)),
            None,
        ),
    ];
    (def, views)
}

#[test]
fn procedures_keep_params_and_return_type_and_private_ones_are_left_out() {
    let (def, _) = with_procedures_and_views();
    let module = Module::new(&def, &Options::default()).expect("model");
    let player = module
        .tables
        .iter()
        .find(|t| t.wire_name == "player")
        .expect("player")
        .row_type;
    assert_eq!(
        module.procedures,
        [ProcedureModel {
            wire_name: "best_at".into(),
            accessor_name: "best_at".into(),
            params: vec![("level".into(), TypeUse::Primitive(Primitive::U32))],
            return_type: TypeUse::Option(Box::new(TypeUse::Named(player))),
        }]
    );
    let all = Module::new(&def, &Options { include_private: true }).expect("model");
    assert_eq!(all.procedures.len(), 2);
}

#[test]
fn views_have_the_row_type_columns_key_and_kind_of_their_function() {
    let (def, views) = with_procedures_and_views();
    let module = Module::with_views(&def, &views, &Options::default()).expect("model");
    let table = module.tables.iter().find(|t| t.wire_name == "player").expect("player");
    let [top, mine] = &module.views[..] else {
        panic!("two views expected, got {:?}", module.views);
    };
    assert_eq!(top.row_type, table.row_type);
    assert_eq!(top.columns, table.columns);
    assert_eq!(
        (top.primary_key, top.is_anonymous, top.returns_one),
        (Some(0), true, false)
    );
    assert_eq!(
        (mine.primary_key, mine.is_anonymous, mine.returns_one),
        (None, false, true)
    );
    assert_eq!(module.view_row_type(mine).name, "Player");
}

#[test]
fn a_view_not_returning_rows_of_a_struct_is_refused_by_name() {
    let (def, mut views) = with_procedures_and_views();
    views[0].return_type = AlgebraicType::U32;
    let err = Module::with_views(&def, &views, &Options::default()).expect_err("not rows");
    assert!(err.to_string().contains("view `top_players`"), "{err}");
}
