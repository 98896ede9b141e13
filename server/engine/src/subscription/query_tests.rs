//! Incremental deltas checked against full re-evaluation: after each statement, the
//! rows before minus the deletes plus the inserts must equal the rows after (as bags).

use super::*;
use crate::subscription::test_db::{self, auth, catalog, owner};
use spacetime_sats::def::model::ModuleDef;
use spacetime_sats::Identity;

struct Db {
    module: ModuleDef,
    ds: Datastore,
}

impl Db {
    fn new(pet_owner_indexed: bool) -> Self {
        let (module, ds) = test_db::database(pet_owner_indexed);
        Self { module, ds }
    }

    fn compile(&self, sql: &str) -> Result<CompiledQuery, String> {
        CompiledQuery::compile(sql, &auth(), catalog(&self.module), &self.ds).map_err(|e| e.to_string())
    }

    /// Runs DML and returns the decoded changes, as the manager builds them.
    fn run(&mut self, sql: &str) -> TxDelta {
        let outcome = spacetime_sql::execute(sql, &auth(), catalog(&self.module), &mut self.ds).unwrap();
        let tx = outcome.tx.unwrap();
        decode_tx(&self.ds, &tx, |_| true)
    }
}

fn sorted(mut rows: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    rows.sort();
    rows
}

/// Applies each statement and checks the delta against re-running the query; returns
/// the (inserts, deletes) counts per statement.
fn check_deltas(db: &mut Db, sql: &str, statements: &[&str]) -> Vec<(usize, usize)> {
    let query = db.compile(sql).unwrap();
    let mut counts = Vec::new();
    for statement in statements {
        let before = query.rows(&db.ds).unwrap();
        let tx = db.run(statement);
        let delta = query.delta(&db.ds, &tx).unwrap();
        let after = query.rows(&db.ds).unwrap();
        let expected = test_db::apply_delta(before, &delta, statement);
        assert_eq!(sorted(expected), sorted(after), "after `{statement}`");
        counts.push((delta.inserts.len(), delta.deletes.len()));
    }
    counts
}

#[test]
fn single_table_deltas_filter_the_changed_rows() {
    let mut db = Db::new(true);
    let counts = check_deltas(
        &mut db,
        "SELECT * FROM pet WHERE owner = 1",
        &[
            "INSERT INTO pet VALUES (1, 1, 'rex'), (2, 2, 'tom')",
            "UPDATE pet SET owner = 1 WHERE id = 2",
            "DELETE FROM pet WHERE id = 1",
            "INSERT INTO pet VALUES (3, 3, 'kit')",
        ],
    );
    assert_eq!(counts, [(1, 0), (1, 0), (0, 1), (0, 0)]);
}

#[test]
fn join_deltas_follow_changes_on_either_side() {
    let mut db = Db::new(true);
    let counts = check_deltas(
        &mut db,
        "SELECT pet.* FROM pet JOIN person ON pet.owner = person.id WHERE person.name = 'alice'",
        &[
            "INSERT INTO pet VALUES (1, 1, 'rex'), (2, 2, 'tom'), (3, 1, 'kit')",
            "INSERT INTO person VALUES (1, 'alice'), (2, 'bob')",
            "UPDATE person SET name = 'alice' WHERE id = 2",
            "UPDATE pet SET owner = 2 WHERE id = 1",
            "DELETE FROM person WHERE id = 1",
            "INSERT INTO pet VALUES (4, 2, 'ace')",
            "DELETE FROM pet WHERE owner = 2",
        ],
    );
    assert_eq!(counts, [(0, 0), (2, 0), (1, 0), (1, 1), (0, 1), (1, 0), (0, 3)]);
}

#[test]
fn join_deltas_returning_the_other_side() {
    let mut db = Db::new(true);
    check_deltas(
        &mut db,
        "SELECT person.* FROM person JOIN pet ON person.id = pet.owner WHERE pet.name <> 'x'",
        &[
            "INSERT INTO person VALUES (1, 'alice'), (2, 'bob')",
            "INSERT INTO pet VALUES (1, 1, 'rex'), (2, 1, 'tom')",
            "UPDATE pet SET name = 'x' WHERE id = 1",
            "DELETE FROM person WHERE id = 1",
        ],
    );
}

#[test]
fn subscription_only_restrictions_have_clear_errors() {
    let db = Db::new(false);
    let err = |sql: &str| db.compile(sql).unwrap_err();
    assert!(err("SELECT name FROM pet").contains("Column projections are not supported in subscriptions"));
    assert!(err("SELECT COUNT(*) AS n FROM pet").contains("COUNT"));
    assert!(err("SELECT * FROM pet LIMIT 1").contains("LIMIT"));
    assert!(err("SELECT pet.* FROM pet JOIN person").contains("cross joins"));
    let unindexed = err("SELECT person.* FROM person JOIN pet ON person.id = pet.owner");
    assert!(
        unindexed.contains("Subscriptions require indexes on join columns") && unindexed.contains("pet.owner"),
        "{unindexed}"
    );
    assert!(err("DELETE FROM pet").contains("only `SELECT"));
    let private = CompiledQuery::compile(
        "SELECT * FROM secret",
        &SqlAuth {
            caller: Identity::from_claims("test", "other"),
            owner: owner(),
        },
        catalog(&db.module),
        &db.ds,
    )
    .unwrap_err()
    .to_string();
    assert!(private.contains("no such table: `secret`"), "{private}");
    assert!(db.compile("SELECT * FROM secret").unwrap().owner_only());
}
