//! The language-neutral model reads each table's indexes from the module definition once:
//! accessor, kind, columns in key order and uniqueness, for every language to use; and the
//! procedures and views with their types resolved.

use super::module_def;
use spacetime_codegen::model::{IndexKind, IndexModel, Module, Primitive, ProcedureModel, TypeUse};
use spacetime_codegen::Options;
use spacetime_sats::def::model::{ModuleDef, ProcedureDef, ViewDef};
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::{AlgebraicType, AlgebraicTypeRef, ColId, ProductType};

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
/// private procedure, and the two kinds of view over players (the second private).
fn with_procedures_and_views() -> ModuleDef {
    let mut def = module_def("all-features");
    let player = def.table("player").expect("player table").clone();
    let procedure = |name: &str, visibility| ProcedureDef {
        name: name.into(),
        source_name: name.into(),
        params: ProductType::named([("level", AlgebraicType::U32)]),
        return_type: AlgebraicType::option(AlgebraicType::Ref(player.product_type_ref)),
        visibility,
    };
    def.procedures = vec![
        procedure("best_at", FunctionVisibility::ClientCallable),
        procedure("internal", FunctionVisibility::Private),
    ];
    let view = |name: &str, is_public, is_anonymous, primary_key: Option<ColId>| ViewDef {
        name: name.into(),
        source_name: name.into(),
        index: 0,
        is_public,
        is_anonymous,
        returns_option: primary_key.is_none(),
        returns_query: false,
        params: spacetime_sats::ProductType::unit(),
        product_type_ref: player.product_type_ref,
        row_type: player.row_type.clone(),
        columns: player.columns.clone(),
        primary_key,
    };
    def.views = vec![
        view("top_players", true, true, Some(ColId(0))),
        view("my_player", false, false, None),
    ];
    def
}

#[test]
fn procedures_keep_params_and_return_type_and_private_ones_are_left_out() {
    let def = with_procedures_and_views();
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
    let def = with_procedures_and_views();
    let public = Module::new(&def, &Options::default()).expect("model");
    let names: Vec<&str> = public.views.iter().map(|v| v.wire_name.as_str()).collect();
    assert_eq!(names, ["top_players"], "a private view only with include_private");
    let module = Module::new(&def, &Options { include_private: true }).expect("model");
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
    let as_table = top.as_table();
    assert_eq!((as_table.unique_columns, as_table.indexes.len()), (vec![0], 0));
}

#[test]
fn a_view_whose_rows_have_no_type_name_is_refused_by_name() {
    let mut def = with_procedures_and_views();
    def.views[0].product_type_ref = AlgebraicTypeRef(u32::MAX);
    let err = Module::new(&def, &Options::default()).expect_err("anonymous rows");
    assert!(err.to_string().contains("view `top_players`"), "{err}");
}
