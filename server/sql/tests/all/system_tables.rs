//! The system tables' rows for the test database: indexes with their algorithms,
//! unique constraints, sequences with where they stand, accessor names, and a query that
//! joins two system tables.

use crate::{other, owner, sorted, Db};
use spacetime_sats::AlgebraicValue;

fn s(text: &str) -> AlgebraicValue {
    AlgebraicValue::string(text)
}

fn cols(c: &[u16]) -> AlgebraicValue {
    AlgebraicValue::array(c.iter().map(|c| AlgebraicValue::U16(*c)).collect())
}

/// `StIndexAlgorithm::BTree { columns }` (tag 1) or `Hash { columns }` (tag 3).
fn algorithm(tag: u8, c: &[u16]) -> AlgebraicValue {
    AlgebraicValue::sum(tag, AlgebraicValue::product(vec![cols(c)]))
}

#[test]
fn st_index_lists_each_index_with_its_algorithm() {
    let mut db = Db::new();
    // `scores` is the fourth table: id 4099.
    let out = db
        .owner("SELECT index_name, index_algorithm FROM st_index WHERE table_id = 4099")
        .unwrap();
    assert_eq!(
        sorted(out.rows),
        vec![
            vec![s("scores_player_level_idx_btree"), algorithm(1, &[0, 1])],
            vec![s("scores_score_idx_hash"), algorithm(3, &[2])],
        ]
    );
}

#[test]
fn st_constraint_lists_unique_constraints() {
    let mut db = Db::new();
    let out = db
        .run(
            other(),
            "SELECT constraint_name, table_id, constraint_data FROM st_constraint",
        )
        .unwrap();
    let unique = |c: &[u16]| AlgebraicValue::sum(1, AlgebraicValue::product(vec![cols(c)]));
    assert_eq!(
        sorted(out.rows),
        vec![
            vec![s("item_id_key"), AlgebraicValue::U32(4100), unique(&[0])],
            vec![s("message_id_key"), AlgebraicValue::U32(4097), unique(&[0])],
            vec![s("user_identity_key"), AlgebraicValue::U32(4096), unique(&[0])],
        ]
    );
}

#[test]
fn st_sequence_says_where_a_sequence_stands() {
    let mut db = Db::new();
    let out = db
        .owner("SELECT sequence_name, table_id, col_pos, increment, start, min_value, max_value, allocated FROM st_sequence")
        .unwrap();
    // Three messages were inserted, so the next id is 4.
    assert_eq!(
        sorted(out.rows),
        vec![vec![
            s("message_id_seq"),
            AlgebraicValue::U32(4097),
            AlgebraicValue::U16(0),
            AlgebraicValue::I128(1),
            AlgebraicValue::I128(1),
            AlgebraicValue::I128(1),
            AlgebraicValue::I128(i128::MAX),
            AlgebraicValue::I128(4),
        ]]
    );
    db.owner(&format!(
        "INSERT INTO message VALUES (0, 0x{}, 'more', '1970-01-01T00:00:04Z')",
        owner().to_hex()
    ))
    .unwrap();
    let out = db.owner("SELECT allocated FROM st_sequence").unwrap();
    assert_eq!(sorted(out.rows), vec![vec![AlgebraicValue::I128(5)]]);
}

#[test]
fn accessor_tables_and_joins_between_system_tables() {
    let mut db = Db::new();
    let out = db
        .owner("SELECT * FROM st_table_accessor WHERE table_name = 'user'")
        .unwrap();
    assert_eq!(sorted(out.rows), vec![vec![s("user"), s("User")]]);
    let out = db
        .owner(
            "SELECT st_column.col_name FROM st_table JOIN st_column ON st_table.table_id = st_column.table_id \
             WHERE st_table.table_name = 'item'",
        )
        .unwrap();
    assert_eq!(sorted(out.rows), vec![vec![s("id")], vec![s("owner")]]);
    let out = db
        .owner("SELECT table_access FROM st_table WHERE table_name = 'secret'")
        .unwrap();
    assert_eq!(
        sorted(out.rows),
        vec![vec![s("private")]],
        "a private table's name is listed, as upstream's is"
    );
}
