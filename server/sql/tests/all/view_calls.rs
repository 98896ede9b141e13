//! Views with parameters called in SQL (`FROM v(args)`) and the queries of query-builder
//! views, against the test database with a view `item_by(owner: u32)` over `item`'s rows
//! whose materialisation for owner 1 the test makes as the engine would.

use super::{other, sorted, Db};
use spacetime_sats::def::model::{TableDef, ViewDef};
use spacetime_sats::def::raw::TableType;
use spacetime_sats::{AlgebraicType, AlgebraicValue, Identity, ProductType};
use spacetime_sql::view_call::{view_calls, view_query, QueryRead};
use spacetime_sql::SqlError;

/// The view `item_by(owner: u32)` (anonymous, rows of `item`), or the same without
/// parameters as `item_all`.
fn view(db: &Db, name: &str, params: ProductType) -> ViewDef {
    let item = db.module.table("item").expect("item");
    ViewDef {
        name: name.into(),
        source_name: name.into(),
        index: 0,
        is_public: true,
        is_anonymous: true,
        returns_option: false,
        returns_query: false,
        params,
        product_type_ref: item.product_type_ref,
        row_type: item.row_type.clone(),
        columns: item.columns.clone(),
        primary_key: None,
    }
}

/// The test database with `item_by` and `item_all`, and `item_by(1)` materialised with
/// owner 1's items.
fn db() -> Db {
    let mut db = Db::new();
    let item_by = view(&db, "item_by", ProductType::named([("owner", AlgebraicType::U32)]));
    let item_all = view(&db, "item_all", ProductType::unit());
    let backing = item_by.backing_table_name(Identity::ZERO, &1u32.to_le_bytes());
    let item: TableDef = db.module.table("item").expect("item").clone();
    let table = TableDef {
        name: backing.clone(),
        accessor_name: backing,
        table_type: TableType::System,
        indexes: Vec::new(),
        unique_constraints: Vec::new(),
        primary_key: None,
        ..item
    };
    let id = db.ds.create_table(&table, &db.module.typespace).expect("backing table");
    let mut tx = db.ds.begin_mut_tx();
    for (id_, owner) in [(10u32, 1u32), (30, 1)] {
        let row = [id_.to_le_bytes(), owner.to_le_bytes()].concat();
        tx.insert_bsatn(id, &row).expect("a row");
    }
    tx.commit();
    db.module.views = vec![item_by, item_all];
    db
}

#[test]
fn a_call_reads_the_rows_of_its_arguments() {
    let mut db = db();
    let rows = db.run(other(), "SELECT * FROM item_by(1)").expect("the call").rows;
    assert_eq!(
        sorted(rows),
        [
            vec![AlgebraicValue::U32(10), AlgebraicValue::U32(1)],
            vec![AlgebraicValue::U32(30), AlgebraicValue::U32(1)]
        ]
    );
    // Quoted as the query builder writes it, filtered and projected like a table.
    let rows = db
        .run(other(), r#"SELECT id FROM "item_by"(1) WHERE id > 10"#)
        .expect("the call")
        .rows;
    assert_eq!(sorted(rows), [vec![AlgebraicValue::U32(30)]]);
    // Arguments not materialised: the engine materialises a call before the query runs.
    assert!(matches!(
        db.run(other(), "SELECT * FROM item_by(2)"),
        Err(SqlError::NoSuchTable(_))
    ));
}

#[test]
fn bad_calls_say_what_is_wrong() {
    let mut db = db();
    for (sql, expected) in [
        (
            "SELECT * FROM item_by",
            "view `item_by` takes arguments (owner: u32): call it as",
        ),
        (
            "SELECT * FROM item_by(1, 2)",
            "takes 1 argument(s) (owner: u32), but the call gives 2",
        ),
        (
            "SELECT * FROM item_by('x')",
            "argument 1 (`owner`) of view `item_by`: `'x'` does not fit",
        ),
        ("SELECT * FROM item_by(-1)", "argument 1 (`owner`)"),
        ("SELECT * FROM item_all()", "view `item_all` takes no arguments"),
        (
            "SELECT * FROM item(1)",
            "only a view with parameters can be called with arguments",
        ),
        ("SELECT * FROM item_by(owner)", "as a view argument"),
        ("DELETE FROM item_by(1)", "is a view, and views are read-only"),
    ] {
        let e = db.owner(sql).expect_err(sql).to_string();
        assert!(e.to_lowercase().contains(&expected.to_lowercase()), "{sql}: {e}");
    }
}

#[test]
fn the_calls_of_a_query_are_listed_with_their_encoded_arguments() {
    let db = db();
    let calls = view_calls(
        "SELECT item_by.* FROM item_by(7) JOIN item ON item_by.id = item.id",
        &db.module,
    );
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].view.name.as_str(), calls[0].args.as_slice()),
        ("item_by", &7u32.to_le_bytes()[..])
    );
    assert!(
        view_calls("SELECT * FROM item_by('x')", &db.module).is_empty(),
        "checking reports it"
    );
    assert!(view_calls("SELECT * FROM item", &db.module).is_empty());
}

#[test]
fn a_query_views_query_runs_as_the_database() {
    let db = db();
    let view = view(&db, "cheap", ProductType::unit());
    let (rows, reads) = view_query(
        r#"SELECT * FROM "item" WHERE ("item"."owner" = 1)"#,
        &view,
        &db.module,
        &db.ds,
    )
    .expect("a query of item's rows");
    assert_eq!(rows.len(), 2);
    let item = db.ds.table_id_from_name("item").expect("item");
    assert_eq!(
        reads,
        [QueryRead::All(item)],
        "no index serves `owner`: the whole table"
    );
    // An index lookup reads only its key: changes to other rows cannot change the result.
    let (rows, reads) = view_query(
        r#"SELECT * FROM "item" WHERE ("item"."id" = 30)"#,
        &view,
        &db.module,
        &db.ds,
    )
    .expect("a lookup by primary key");
    assert_eq!(rows.len(), 1);
    match reads.as_slice() {
        [QueryRead::Key(key)] => {
            assert_eq!(
                (key.table, key.values.as_slice()),
                (item, &[AlgebraicValue::U32(30)][..])
            );
            assert!(key.range.is_none());
        }
        other => panic!("expected the key read, got {other:?}"),
    }
    let (_, reads) = view_query(
        r#"SELECT * FROM "item" WHERE ("item"."id" > 15)"#,
        &view,
        &db.module,
        &db.ds,
    )
    .expect("a range of the primary key");
    assert!(
        matches!(reads.as_slice(), [QueryRead::Key(k)] if k.range.is_some()),
        "{reads:?}"
    );
    // A join reads each of its tables whole.
    let join = r#"SELECT "item".* FROM "item" JOIN "scores" ON "item"."owner" = "scores"."player""#;
    let (_, reads) = view_query(join, &view, &db.module, &db.ds).expect("a semijoin");
    let scores = db.ds.table_id_from_name("scores").expect("scores");
    assert_eq!(reads, [QueryRead::All(item), QueryRead::All(scores)]);
    // A private table is readable, as by the view's own function.
    let e = view_query("SELECT * FROM secret", &view, &db.module, &db.ds).expect_err("not the view's rows");
    assert!(e.to_string().contains("not the view's row type"), "{e}");
    let e = view_query("SELECT id FROM item", &view, &db.module, &db.ds).expect_err("a projection");
    assert!(e.to_string().contains("select whole rows"), "{e}");
    let e = view_query("DELETE FROM item", &view, &db.module, &db.ds).expect_err("DML");
    assert!(e.to_string().contains("other than SELECT"), "{e}");
}
