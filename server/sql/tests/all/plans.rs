//! The plans `compile` builds: which index each query uses.

use crate::*;
use spacetime_sats::AlgebraicValue as V;
use spacetime_sql::plan::{Access, JoinPlan, Plan, SelectPlan};
use spacetime_sql::{compile, SqlAuth};
use std::ops::Bound;

fn plan(db: &Db, sql: &str) -> SelectPlan {
    match compile(
        sql,
        &SqlAuth {
            caller: owner(),
            owner: owner(),
        },
        spacetime_sql::Catalog {
            module: &db.module,
            rls: &db.rls,
        },
        &db.ds,
    )
    .unwrap()
    {
        Plan::Select(p) => p,
        other => panic!("not a query: {other:?}"),
    }
}

fn index(db: &Db, name: &str) -> spacetime_sats::IndexId {
    db.ds.index_id_from_name(name).unwrap()
}

#[test]
fn equality_on_a_primary_key_is_a_point_lookup() {
    let db = Db::new();
    let p = plan(&db, "SELECT * FROM item WHERE id = 20");
    assert_eq!(
        p.access,
        Access::IndexPoint {
            index: index(&db, "item_id_idx_btree"),
            key: 20u32.into()
        }
    );
    let p = plan(&db, "SELECT * FROM item WHERE 20 = id AND owner = 2");
    assert!(matches!(p.access, Access::IndexPoint { .. }));
    // An OR cannot use the index.
    assert_eq!(
        plan(&db, "SELECT * FROM item WHERE id = 20 OR owner = 1").access,
        Access::Scan
    );
    assert_eq!(plan(&db, "SELECT * FROM item WHERE owner = 1").access, Access::Scan);
}

#[test]
fn ranges_and_multi_column_prefixes_use_btrees() {
    let db = Db::new();
    let pk = index(&db, "item_id_idx_btree");
    let p = plan(&db, "SELECT * FROM item WHERE id > 10 AND id <= 30");
    assert_eq!(
        p.access,
        Access::IndexRange {
            index: pk,
            prefix: vec![],
            start: Bound::Excluded(10u32.into()),
            end: Bound::Included(30u32.into())
        }
    );
    let multi = index(&db, "scores_player_level_idx_btree");
    let p = plan(&db, "SELECT * FROM scores WHERE player = 2 AND level = 3");
    assert_eq!(
        p.access,
        Access::IndexPoint {
            index: multi,
            key: V::product(vec![2u32.into(), 3u8.into()])
        }
    );
    let p = plan(&db, "SELECT * FROM scores WHERE player = 2 AND level < 3");
    assert_eq!(
        p.access,
        Access::IndexRange {
            index: multi,
            prefix: vec![2u32.into()],
            start: Bound::Unbounded,
            end: Bound::Excluded(3u8.into())
        }
    );
    let p = plan(&db, "SELECT * FROM scores WHERE player = 2");
    assert!(
        matches!(&p.access, Access::IndexRange { prefix, start: Bound::Unbounded, end: Bound::Unbounded, .. } if prefix.len() == 1)
    );
    // A hash index serves equality only.
    let p = plan(&db, "SELECT * FROM scores WHERE score = 80");
    assert_eq!(
        p.access,
        Access::IndexPoint {
            index: index(&db, "scores_score_idx_hash"),
            key: 80i64.into()
        }
    );
    assert_eq!(plan(&db, "SELECT * FROM scores WHERE score > 80").access, Access::Scan);
}

#[test]
fn joins_probe_the_other_sides_index() {
    let db = Db::new();
    let p = plan(
        &db,
        "SELECT m.* FROM user u JOIN message m ON u.identity = m.sender WHERE u.name = 'bob'",
    );
    assert!(
        matches!(&p.joins[..], [JoinPlan::IndexLookup { index, probe }] if *index == index_of(&db, "message_sender_idx_btree") && probe.rel == 0)
    );
    let p = plan(
        &db,
        "SELECT u.* FROM message m JOIN user u ON u.identity = m.sender WHERE m.id = 1",
    );
    assert!(
        matches!(&p.joins[..], [JoinPlan::IndexLookup { index, .. }] if *index == index_of(&db, "user_identity_idx_btree"))
    );
    assert!(matches!(p.access, Access::IndexPoint { .. }));
    // No index on `item.owner`: hash join.
    let p = plan(&db, "SELECT item.* FROM scores JOIN item ON item.owner = scores.player");
    assert!(matches!(&p.joins[..], [JoinPlan::Hash { .. }]));
    assert!(matches!(
        &plan(&db, "SELECT a.* FROM item a JOIN item b").joins[..],
        [JoinPlan::Cross]
    ));
}

fn index_of(db: &Db, name: &str) -> spacetime_sats::IndexId {
    index(db, name)
}

/// `select_bsatn` returns what `select` does, encoded, and stops with `ResultTooLarge`
/// as soon as the encoded rows pass the budget; `LIMIT` and `COUNT` apply before it.
#[test]
fn a_byte_budget_stops_a_query_at_the_budget() {
    use spacetime_sql::exec::{select, select_bsatn};
    use spacetime_sql::SqlError;
    let db = Db::new();
    let all = plan(&db, "SELECT * FROM scores");
    let expected: Vec<Vec<u8>> = select(&all, &db.ds)
        .unwrap()
        .iter()
        .map(spacetime_sats::bsatn::to_vec)
        .collect();
    assert_eq!(expected.len(), 9);
    let size: usize = expected.iter().map(Vec::len).sum();
    assert_eq!(
        select_bsatn(&all, &db.ds, size).unwrap(),
        expected,
        "exactly the budget fits"
    );
    assert_eq!(
        select_bsatn(&all, &db.ds, size - 1),
        Err(SqlError::ResultTooLarge { limit: size - 1 })
    );
    let one_row = expected[0].len();
    let limited = plan(&db, "SELECT * FROM scores LIMIT 1");
    assert_eq!(select_bsatn(&limited, &db.ds, one_row).unwrap(), expected[..1]);
    let count = plan(&db, "SELECT COUNT(*) AS n FROM scores");
    assert_eq!(
        select_bsatn(&count, &db.ds, 8).unwrap(),
        [spacetime_sats::bsatn::to_vec(&9u64)]
    );
}
