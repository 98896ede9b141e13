//! The language-neutral model reads each table's indexes from the module definition once:
//! accessor, kind, columns in key order and uniqueness, for every language to use.

use super::module_def;
use spacetime_codegen::model::{IndexKind, IndexModel, Module};
use spacetime_codegen::Options;

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
