//! Row-level security: filters checked at compile, applied to every query of a caller
//! other than the owner (several filters as a union, joins, filters with joins), and
//! refused with the reason when they do not parse or check.

use crate::*;
use spacetime_sats::AlgebraicValue as V;
use spacetime_sql::rls::{InvalidFilter, RlsProblem, RlsRules};

fn stranger() -> Identity {
    Identity::from_hex(format!("c200{}03", "0".repeat(58))).unwrap()
}

/// Messages are visible to their sender and, for everyone, when the text is 'hi'; users
/// are visible when they sent a message the caller can see.
const FILTERS: [&str; 3] = [
    "SELECT * FROM message WHERE sender = :sender",
    "SELECT * FROM message WHERE text = 'hi'",
    "SELECT u.* FROM user AS u JOIN message AS m ON u.identity = m.sender",
];

fn db_with(filters: &[&str]) -> Result<Db, spacetime_sql::rls::RlsError> {
    let mut db = Db::new();
    db.module.row_level_security = filters.iter().map(|f| (*f).to_owned()).collect();
    db.rls = RlsRules::compile(&db.module, &db.ds)?;
    Ok(db)
}

fn texts(db: &mut Db, caller: Identity, sql: &str) -> Vec<String> {
    let rows = db.run(caller, sql).unwrap().rows;
    let mut texts: Vec<String> = rows
        .iter()
        .map(|r| r.elements.iter().find_map(V::as_str).unwrap_or_default().to_owned())
        .collect();
    texts.sort();
    texts
}

#[test]
fn the_owner_sees_every_row_and_others_the_union_of_the_filters() {
    let mut db = db_with(&FILTERS).unwrap();
    let all = "SELECT text FROM message";
    assert_eq!(texts(&mut db, owner(), all), ["hey", "hi", "yo"]);
    assert_eq!(texts(&mut db, other(), all), ["hi", "yo"]);
    assert_eq!(texts(&mut db, stranger(), all), ["hi"]);
    // The caller's own WHERE narrows what the filters allow, never widens it.
    assert_eq!(
        texts(&mut db, other(), "SELECT * FROM message WHERE text = 'hey'"),
        Vec::<String>::new()
    );
    let count = db.run(other(), "SELECT COUNT(*) AS n FROM message").unwrap().rows;
    assert_eq!(count[0].elements, [V::U64(2)]);
}

#[test]
fn a_row_both_filters_return_is_seen_once() {
    let mut db = db_with(&FILTERS).unwrap();
    db.owner(&format!(
        "INSERT INTO message VALUES (0, 0x{}, 'hi', '1970-01-01T00:00:04Z')",
        other().to_hex()
    ))
    .unwrap();
    assert_eq!(texts(&mut db, other(), "SELECT * FROM message"), ["hi", "hi", "yo"]);
    assert_eq!(texts(&mut db, stranger(), "SELECT * FROM message"), ["hi", "hi"]);
}

#[test]
fn a_filter_with_a_join_reads_the_joined_table_as_the_caller_sees_it() {
    let mut db = db_with(&FILTERS).unwrap();
    // Bob (other) sees 'hi' (alice's) and 'yo' (his): both senders.
    assert_eq!(texts(&mut db, other(), "SELECT name FROM user"), ["alice", "bob"]);
    // A stranger sees only 'hi', so only alice.
    assert_eq!(texts(&mut db, stranger(), "SELECT name FROM user"), ["alice"]);
    assert_eq!(texts(&mut db, owner(), "SELECT name FROM user"), ["alice", "bob"]);
}

#[test]
fn every_side_of_a_join_is_restricted() {
    let mut db = db_with(&FILTERS).unwrap();
    let join = "SELECT m.* FROM message AS m JOIN user AS u ON m.sender = u.identity";
    assert_eq!(texts(&mut db, owner(), join), ["hey", "hi", "yo"]);
    assert_eq!(texts(&mut db, other(), join), ["hi", "yo"]);
    assert_eq!(texts(&mut db, stranger(), join), ["hi"]);
    // The user side alone: only users the caller may see come back.
    let users = "SELECT u.* FROM message AS m JOIN user AS u ON m.sender = u.identity";
    assert_eq!(texts(&mut db, stranger(), users), ["alice"]);
}

#[test]
fn visible_rows_is_the_per_caller_table_scan() {
    let db = db_with(&FILTERS).unwrap();
    let auth = SqlAuth {
        caller: stranger(),
        owner: owner(),
    };
    let message = db.ds.table_id_from_name("message").unwrap();
    let visibility = db.rls.bind(&auth, &db.module, &db.ds).unwrap();
    let rows = visibility.visible_rows(message, &db.ds).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].elements[2], V::string("hi"));
    let condition = visibility
        .row_condition(message, &db.ds)
        .unwrap()
        .expect("message is filtered");
    let all: Vec<_> = db.ds.scan(message).unwrap().map(|r| r.to_product_value()).collect();
    let passing: Vec<_> = all.iter().filter(|row| condition.eval(&[row])).cloned().collect();
    assert_eq!(passing, rows, "row by row, the same rows as the scan");
    let user = db.ds.table_id_from_name("user").unwrap();
    assert!(visibility.is_dynamic([user]), "the user filter joins message");
    assert!(!visibility.is_dynamic([message]));
    let owner_view = RlsRules::bind(
        &db.rls,
        &SqlAuth {
            caller: owner(),
            owner: owner(),
        },
        &db.module,
        &db.ds,
    )
    .unwrap();
    assert!(owner_view.is_unrestricted());
}

#[test]
fn bad_filters_are_refused_with_the_reason() {
    let refused = |filter: &str| {
        db_with(&[filter])
            .err()
            .map(|e| (e.filters[0].problem.clone(), e.to_string()))
    };
    let (problem, message) = refused("SELECT * FROM secret WHERE k = 1").unwrap();
    assert_eq!(problem, RlsProblem::PrivateTable("secret".into()));
    assert!(
        message.contains("Cannot define RLS rule on private table: secret"),
        "{message}"
    );
    assert!(message.contains("SELECT * FROM secret WHERE k = 1"), "{message}");

    let (problem, _) = refused("SELEC * FROM message").unwrap();
    assert!(matches!(problem, RlsProblem::Sql(SqlError::Parse(_))), "{problem:?}");
    let (problem, _) = refused("SELECT * FROM nowhere WHERE a = :sender").unwrap();
    assert_eq!(problem, RlsProblem::Sql(SqlError::NoSuchTable("nowhere".into())));
    let (problem, _) = refused("SELECT * FROM message WHERE nobody = :sender").unwrap();
    assert!(
        matches!(problem, RlsProblem::Sql(SqlError::NoSuchColumn { .. })),
        "{problem:?}"
    );
    let (problem, _) = refused("SELECT * FROM message WHERE text = :sender").unwrap();
    assert!(matches!(problem, RlsProblem::Sql(SqlError::Type(_))), "{problem:?}");
    for shape in [
        "SELECT text FROM message",
        "SELECT COUNT(*) AS n FROM message",
        "SELECT * FROM message LIMIT 1",
        "DELETE FROM message",
    ] {
        assert_eq!(refused(shape).unwrap().0, RlsProblem::Shape, "{shape}");
    }
    // A filter may join a private table; only the filtered table must be public.
    assert!(db_with(&["SELECT item.* FROM item JOIN secret ON item.id = secret.k"]).is_ok());
}

#[test]
fn every_invalid_filter_is_reported_at_once() {
    let error = db_with(&[
        "SELECT * FROM nowhere",
        "SELECT * FROM user WHERE identity = :sender",
        "SELECT text FROM message",
    ])
    .err()
    .unwrap();
    let sqls: Vec<&str> = error.filters.iter().map(|f| f.sql.as_str()).collect();
    assert_eq!(sqls, ["SELECT * FROM nowhere", "SELECT text FROM message"], "{error}");
    assert_eq!(error.filters[1].problem, RlsProblem::Shape);
    let message = error.to_string();
    assert!(
        message.starts_with("2 row-level security filters are invalid:")
            && message.contains("\n  - `SELECT * FROM nowhere`: ")
            && message.contains("\n  - `SELECT text FROM message`: a filter must return the whole rows"),
        "{message}"
    );
}

#[test]
fn filters_that_refer_to_each_other_are_refused() {
    let cyclic = [
        "SELECT u.* FROM user AS u JOIN message AS m ON u.identity = m.sender",
        "SELECT m.* FROM message AS m JOIN user AS u ON m.sender = u.identity",
    ];
    let error = db_with(&cyclic).err().unwrap();
    assert!(
        matches!(
            error.filters[..],
            [InvalidFilter {
                problem: RlsProblem::Cycle(_),
                ..
            }]
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("`user` → `message` → `user`")
            || error.to_string().contains("`message` → `user` → `message`"),
        "{error}"
    );
    // A filter joining its own table is no cycle.
    assert!(
        db_with(&["SELECT m.* FROM message AS m JOIN message AS n ON m.sender = n.sender WHERE n.text = 'hi'"]).is_ok()
    );
}

#[test]
fn a_filter_on_an_indexed_column_makes_the_scan_an_index_lookup() {
    let mut db = db_with(&["SELECT * FROM message WHERE sender = :sender"]).unwrap();
    let auth = SqlAuth {
        caller: other(),
        owner: owner(),
    };
    let catalog = spacetime_sql::Catalog {
        module: &db.module,
        rls: &db.rls,
    };
    let plan = match spacetime_sql::compile("SELECT * FROM message", &auth, catalog, &db.ds).unwrap() {
        spacetime_sql::plan::Plan::Select(plan) => plan,
        other => panic!("not a query: {other:?}"),
    };
    assert!(
        matches!(plan.access, spacetime_sql::plan::Access::IndexPoint { .. }),
        "{:?}",
        plan.access
    );
    assert_eq!(texts(&mut db, other(), "SELECT * FROM message"), ["yo"]);
}
