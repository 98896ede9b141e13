//! INSERT, UPDATE and DELETE: statistics, transactions, constraints and permissions.

use crate::*;
use spacetime_sql::DmlStats;

#[test]
fn insert_counts_rows_and_returns_the_transaction() {
    let mut db = Db::new();
    let out = db.owner("INSERT INTO item VALUES (50, 5), (60, 6)").unwrap();
    assert_eq!(
        out.stats,
        DmlStats {
            rows_inserted: 2,
            ..DmlStats::default()
        }
    );
    let tx = out.tx.unwrap();
    assert_eq!(tx.tables.len(), 1);
    assert_eq!(tx.tables[0].inserts.len(), 2);
    // An identical row is already there: nothing inserted, no error.
    assert_eq!(
        db.owner("INSERT INTO item VALUES (50, 5)").unwrap().stats.rows_inserted,
        0
    );
    // Auto-increment columns are filled from 0.
    db.owner(&format!(
        "INSERT INTO message VALUES (0, '{}', 'new', 0)",
        owner().to_hex()
    ))
    .unwrap();
    let out = db.owner("SELECT id FROM message WHERE text = 'new'").unwrap();
    assert_eq!(out.rows[0].elements, vec![4u64.into()]);
}

#[test]
fn a_failing_row_rolls_back_the_whole_statement() {
    let mut db = Db::new();
    let err = db.owner("INSERT INTO item VALUES (70, 7), (10, 99)").unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate unique value: constraint `item_id_key` on table `item` already has a row with value 10"
    );
    assert!(db.owner("SELECT * FROM item WHERE id = 70").unwrap().rows.is_empty());
    let err = db.owner("UPDATE item SET id = 10 WHERE owner = 2").unwrap_err();
    assert!(err.to_string().contains("item_id_key"), "{err}");
    assert_eq!(
        db.owner("SELECT id FROM item WHERE owner = 2").unwrap().rows[0].elements,
        vec![20u32.into()]
    );
}

#[test]
fn insert_checks_columns_and_arity() {
    let mut db = Db::new();
    let e = db.owner("INSERT INTO item VALUES (1)").unwrap_err();
    assert!(e.to_string().contains("needs 2 values per row"), "{e}");
    let e = db.owner("INSERT INTO item (id) VALUES (1)").unwrap_err();
    assert!(e.to_string().contains("`owner` is missing"), "{e}");
    let e = db.owner("INSERT INTO item (id, id) VALUES (1, 2)").unwrap_err();
    assert!(e.to_string().contains("listed twice"), "{e}");
    let e = db.owner("INSERT INTO item (id, nope) VALUES (1, 2)").unwrap_err();
    assert_eq!(e.to_string(), "no such column: `nope` in table `item`");
    let e = db.owner("INSERT INTO item VALUES (1, 'x')").unwrap_err();
    assert!(e.to_string().contains("column `owner` has type u32"), "{e}");
    let e = db.owner("INSERT INTO item SELECT * FROM item").unwrap_err();
    assert!(e.to_string().contains("INSERT … SELECT"), "{e}");
}

#[test]
fn update_rewrites_matching_rows() {
    let mut db = Db::new();
    let out = db.owner("UPDATE item SET owner = 5 WHERE owner = 1").unwrap();
    assert_eq!(
        out.stats,
        DmlStats {
            rows_updated: 2,
            ..DmlStats::default()
        }
    );
    let changes = &out.tx.unwrap().tables[0];
    assert_eq!((changes.inserts.len(), changes.deletes.len()), (2, 2));
    assert_eq!(
        sorted(db.owner("SELECT id FROM item WHERE owner = 5").unwrap().rows),
        vec![vec![10u32.into()], vec![30u32.into()]]
    );
    // Primary-key update through an index access; swapping keys works because all old
    // rows go before any new row arrives.
    db.owner("UPDATE item SET id = 11 WHERE id = 10").unwrap();
    assert_eq!(db.owner("SELECT * FROM item WHERE id = 11").unwrap().rows.len(), 1);
    let e = db.owner("UPDATE item SET nope = 1").unwrap_err();
    assert_eq!(e.to_string(), "no such column: `nope` in table `item`");
    let e = db.owner("UPDATE item SET owner = 1, owner = 2").unwrap_err();
    assert!(e.to_string().contains("assigned twice"), "{e}");
    let e = db.owner("UPDATE item SET owner = owner").unwrap_err();
    assert!(e.to_string().contains("write a literal"), "{e}");
    // No match: nothing updated.
    assert_eq!(
        db.owner("UPDATE item SET owner = 1 WHERE id = 999")
            .unwrap()
            .stats
            .rows_updated,
        0
    );
}

#[test]
fn delete_removes_matching_rows() {
    let mut db = Db::new();
    let out = db.owner("DELETE FROM scores WHERE player = 2 AND level >= 2").unwrap();
    assert_eq!(
        out.stats,
        DmlStats {
            rows_deleted: 2,
            ..DmlStats::default()
        }
    );
    assert_eq!(out.tx.unwrap().tables[0].deletes.len(), 2);
    assert_eq!(db.owner("DELETE FROM scores").unwrap().stats.rows_deleted, 7);
    assert!(db.owner("SELECT * FROM scores").unwrap().rows.is_empty());
    // The owner may change private tables.
    assert_eq!(
        db.owner("DELETE FROM secret WHERE k = 1").unwrap().stats.rows_deleted,
        1
    );
}

#[test]
fn only_the_owner_runs_dml() {
    let mut db = Db::new();
    for sql in [
        "INSERT INTO item VALUES (1, 1)",
        "UPDATE item SET owner = 1",
        "DELETE FROM item",
    ] {
        let e = db.run(other(), sql).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("permission denied: only the database owner may run"),
            "{e}"
        );
    }
    assert_eq!(
        db.owner("SELECT COUNT(*) AS n FROM item").unwrap().rows[0].elements,
        vec![4u64.into()]
    );
}
