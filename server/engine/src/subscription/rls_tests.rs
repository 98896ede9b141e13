//! Row-level security in subscriptions: initial rows and deltas show a caller only the
//! rows its filters allow (two filters on one table are a union), joins are restricted
//! on both sides, and a filter with a join makes rows appear and disappear when the
//! joined table changes. Every delta is checked against re-evaluating the query.

use super::query::{decode_tx, CompiledQuery};
use super::test_db::{apply_delta, module_with};
use spacetime_datastore::{Datastore, TableBuilder};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::{AlgebraicType, Identity};
use spacetime_sql::rls::RlsRules;
use spacetime_sql::{Catalog, SqlAuth};

fn owner() -> Identity {
    Identity::from_claims("test", "owner")
}

fn alice() -> Identity {
    Identity::from_claims("test", "alice")
}

fn bob() -> Identity {
    Identity::from_claims("test", "bob")
}

const FILTERS: [&str; 3] = [
    "SELECT * FROM note WHERE owner = :sender",
    "SELECT * FROM note WHERE text = 'public'",
    "SELECT d.* FROM doc AS d JOIN member AS m ON d.team = m.team WHERE m.who = :sender",
];

struct Db {
    module: ModuleDef,
    ds: Datastore,
    rls: RlsRules,
}

impl Db {
    fn new() -> Self {
        let tables = vec![
            TableBuilder::new("note")
                .column("id", AlgebraicType::U32)
                .column("owner", AlgebraicType::identity())
                .column("text", AlgebraicType::String)
                .primary_key("id")
                .btree(&["owner"])
                .build(),
            TableBuilder::new("member")
                .column("who", AlgebraicType::identity())
                .column("team", AlgebraicType::U32)
                .primary_key("who")
                .btree(&["team"])
                .build(),
            TableBuilder::new("doc")
                .column("id", AlgebraicType::U32)
                .column("team", AlgebraicType::U32)
                .primary_key("id")
                .btree(&["team"])
                .build(),
        ];
        let filters = FILTERS.iter().map(|f| (*f).to_owned()).collect();
        let (module, ds) = module_with(tables, filters);
        let rls = RlsRules::compile(&module, &ds).expect("the filters check");
        Self { module, ds, rls }
    }

    fn catalog(&self) -> Catalog<'_> {
        Catalog {
            module: &self.module,
            rls: &self.rls,
        }
    }

    fn compile(&self, caller: Identity, sql: &str) -> CompiledQuery {
        CompiledQuery::compile(sql, &SqlAuth { caller, owner: owner() }, self.catalog(), &self.ds).unwrap()
    }

    fn owner_sql(&mut self, sql: &str) -> spacetime_datastore::TxData {
        let auth = SqlAuth {
            caller: owner(),
            owner: owner(),
        };
        let catalog = Catalog {
            module: &self.module,
            rls: &self.rls,
        };
        spacetime_sql::execute(sql, &auth, catalog, &mut self.ds)
            .unwrap()
            .tx
            .unwrap()
    }
}

fn hex(id: Identity) -> String {
    format!("0x{}", id.to_hex())
}

/// The decoded rows' first column (the id), sorted.
fn ids(db: &Db, table: &str, rows: &[Vec<u8>]) -> Vec<u32> {
    let table = db.ds.table_id_from_name(table).unwrap();
    let mut ids: Vec<u32> = rows
        .iter()
        .map(|r| match db.ds.decode_row(table, r).unwrap().elements[0] {
            spacetime_sats::AlgebraicValue::U32(id) => id,
            ref other => panic!("not an id: {other:?}"),
        })
        .collect();
    ids.sort();
    ids
}

/// Runs `statement` as the owner and returns the (inserted, deleted) ids of `query`'s
/// delta, after checking it against re-evaluating the query.
fn step(db: &mut Db, query: &CompiledQuery, table: &str, statement: &str) -> (Vec<u32>, Vec<u32>) {
    let before = query.rows(&db.ds).unwrap();
    let tx = db.owner_sql(statement);
    let delta = query.delta(&db.ds, &decode_tx(&db.ds, &tx, |_| true)).unwrap();
    let after = query.rows(&db.ds).unwrap();
    let expected = apply_delta(before, &delta, statement);
    assert_eq!(ids(db, table, &expected), ids(db, table, &after), "after `{statement}`");
    (ids(db, table, &delta.inserts), ids(db, table, &delta.deletes))
}

#[test]
fn initial_rows_and_deltas_show_the_union_of_the_filters() {
    let mut db = Db::new();
    let (a, b) = (hex(alice()), hex(bob()));
    db.owner_sql(&format!(
        "INSERT INTO note VALUES (1, {a}, 'mine'), (2, {b}, 'his'), (3, {b}, 'public')"
    ));
    let for_alice = db.compile(alice(), "SELECT * FROM note");
    let for_bob = db.compile(bob(), "SELECT * FROM note");
    let for_owner = db.compile(owner(), "SELECT * FROM note");
    assert_eq!(ids(&db, "note", &for_alice.rows(&db.ds).unwrap()), [1, 3]);
    assert_eq!(ids(&db, "note", &for_bob.rows(&db.ds).unwrap()), [2, 3]);
    assert_eq!(ids(&db, "note", &for_owner.rows(&db.ds).unwrap()), [1, 2, 3]);

    let insert = format!("INSERT INTO note VALUES (4, {b}, 'secret'), (5, {a}, 'public')");
    assert_eq!(step(&mut db, &for_alice, "note", &insert), (vec![5], vec![]));
    assert_eq!(
        step(&mut db, &for_alice, "note", "DELETE FROM note WHERE id = 2"),
        (vec![], vec![])
    );
    // Bob's note becoming public appears for alice; her own note going private stays.
    assert_eq!(
        step(
            &mut db,
            &for_alice,
            "note",
            "UPDATE note SET text = 'public' WHERE id = 4"
        ),
        (vec![4], vec![])
    );
    assert_eq!(
        step(&mut db, &for_alice, "note", "UPDATE note SET text = 'x' WHERE id = 4"),
        (vec![], vec![4])
    );
}

#[test]
fn a_join_is_restricted_on_both_sides() {
    let mut db = Db::new();
    let (a, b) = (hex(alice()), hex(bob()));
    db.owner_sql(&format!("INSERT INTO member VALUES ({a}, 1), ({b}, 2)"));
    let join = "SELECT n.* FROM note AS n JOIN member AS m ON n.owner = m.who";
    let for_alice = db.compile(alice(), join);
    assert_eq!(
        step(
            &mut db,
            &for_alice,
            "note",
            &format!("INSERT INTO note VALUES (1, {a}, 'mine'), (2, {b}, 'his')")
        ),
        (vec![1], vec![])
    );
    assert_eq!(
        step(&mut db, &for_alice, "note", "DELETE FROM member WHERE team = 1"),
        (vec![], vec![1])
    );
    assert_eq!(
        step(
            &mut db,
            &for_alice,
            "note",
            &format!("INSERT INTO member VALUES ({a}, 3)")
        ),
        (vec![1], vec![])
    );
}

#[test]
fn a_filter_with_a_join_follows_the_joined_table() {
    let mut db = Db::new();
    let a = hex(alice());
    db.owner_sql("INSERT INTO doc VALUES (10, 1), (20, 2)");
    let for_alice = db.compile(alice(), "SELECT * FROM doc");
    assert_eq!(ids(&db, "doc", &for_alice.rows(&db.ds).unwrap()), Vec::<u32>::new());
    // The membership table is read too: joining team 1 shows its doc, unchanged.
    assert!(for_alice
        .reads()
        .any(|t| t == db.ds.table_id_from_name("member").unwrap()));
    assert_eq!(
        step(
            &mut db,
            &for_alice,
            "doc",
            &format!("INSERT INTO member VALUES ({a}, 1)")
        ),
        (vec![10], vec![])
    );
    assert_eq!(
        step(&mut db, &for_alice, "doc", "INSERT INTO doc VALUES (11, 1), (21, 2)"),
        (vec![11], vec![])
    );
    assert_eq!(
        step(&mut db, &for_alice, "doc", "UPDATE member SET team = 2 WHERE team = 1"),
        (vec![20, 21], vec![10, 11])
    );
    assert_eq!(
        step(&mut db, &for_alice, "doc", "DELETE FROM member WHERE team = 2"),
        (vec![], vec![20, 21])
    );
    let for_owner = db.compile(owner(), "SELECT * FROM doc");
    assert_eq!(ids(&db, "doc", &for_owner.rows(&db.ds).unwrap()), [10, 11, 20, 21]);
}
