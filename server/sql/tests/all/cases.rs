//! The case table: each query with the caller running it and the rows or error it must
//! give.

use crate::*;
use spacetime_sats::AlgebraicValue as V;

enum Expect {
    /// These rows, in any order.
    Rows(Vec<Vec<V>>),
    /// Exactly this many rows.
    Count(usize),
    /// An error whose message is exactly this.
    Error(&'static str),
    /// An error whose message contains all of these.
    ErrorWith(&'static [&'static str]),
}

use Expect::*;

fn s(x: &str) -> V {
    V::string(x)
}

fn cases() -> Vec<(Identity, &'static str, Expect)> {
    let private = "no such table: `secret`. If the table exists, it may be marked private.";
    vec![
        // Projections.
        (owner(), "SELECT * FROM item", Rows(vec![vec![10u32.into(), 1u32.into()], vec![20u32.into(), 2u32.into()], vec![30u32.into(), 1u32.into()], vec![40u32.into(), 9u32.into()]])),
        (owner(), "SELECT id FROM item WHERE owner = 1", Rows(vec![vec![10u32.into()], vec![30u32.into()]])),
        (owner(), "SELECT item.owner AS o, id FROM item WHERE id = 20", Rows(vec![vec![2u32.into(), 20u32.into()]])),
        (owner(), "SELECT i.* FROM item AS i WHERE i.id >= 30", Rows(vec![vec![30u32.into(), 1u32.into()], vec![40u32.into(), 9u32.into()]])),
        (owner(), "SELECT COUNT(*) AS n FROM scores", Rows(vec![vec![9u64.into()]])),
        (owner(), "SELECT COUNT(*) AS n FROM scores WHERE player = 2", Rows(vec![vec![3u64.into()]])),
        (owner(), "SELECT * FROM scores LIMIT 4", Count(4)),
        (owner(), "SELECT * FROM scores WHERE player = 1 LIMIT 0", Count(0)),
        // Accessor names resolve too.
        (other(), "SELECT name FROM User WHERE online = FALSE", Rows(vec![vec![s("bob")]])),
        // Predicates: every operator, AND/OR, parentheses, signs, flipped sides.
        (owner(), "SELECT score FROM scores WHERE player = 1 AND level <> 2", Rows(vec![vec![90i64.into()], vec![70i64.into()]])),
        (owner(), "SELECT score FROM scores WHERE player = 1 AND level != 2", Rows(vec![vec![90i64.into()], vec![70i64.into()]])),
        (owner(), "SELECT score FROM scores WHERE score < 90", Rows(vec![vec![80i64.into()], vec![70i64.into()]])),
        (owner(), "SELECT score FROM scores WHERE score <= 80 AND score > -1000", Rows(vec![vec![80i64.into()], vec![70i64.into()]])),
        (owner(), "SELECT score FROM scores WHERE 270 <= score", Rows(vec![vec![290i64.into()], vec![280i64.into()], vec![270i64.into()]])),
        (owner(), "SELECT score FROM scores WHERE (player = 1 OR player = 3) AND level = 3", Rows(vec![vec![70i64.into()], vec![270i64.into()]])),
        (owner(), "SELECT score FROM scores WHERE player = 1 AND (level = 1 OR level >= 3)", Rows(vec![vec![90i64.into()], vec![70i64.into()]])),
        (owner(), "SELECT score FROM scores WHERE score > +280", Rows(vec![vec![290i64.into()]])),
        (owner(), "SELECT level FROM scores WHERE player = 2 AND color = 'Blue'", Rows(vec![vec![3u8.into()]])),
        (owner(), "SELECT name FROM user WHERE online", Rows(vec![vec![s("alice")]])),
        (owner(), "SELECT name FROM user WHERE TRUE", Count(2)),
        // Special types: identities from hex, :sender, timestamps from RFC 3339.
        (other(), "SELECT name FROM user WHERE identity = :sender", Rows(vec![vec![s("bob")]])),
        (owner(), "SELECT text FROM message WHERE sender = :sender", Rows(vec![vec![s("hi")], vec![s("hey")]])),
        (owner(), "SELECT text FROM message WHERE sent > '1970-01-01T00:00:01Z'", Rows(vec![vec![s("yo")], vec![s("hey")]])),
        (owner(), "SELECT sent FROM message WHERE id = 2", Rows(vec![vec![ts("1970-01-01T00:00:02Z")]])),
        (owner(), "SELECT identity FROM user WHERE name = 'bob'", Rows(vec![vec![id_value(other())]])),
        (owner(), "SELECT name FROM user WHERE identity = X'c200000000000000000000000000000000000000000000000000000000000002'", Rows(vec![vec![s("bob")]])),
        // Joins: indexed (probe the index) and unindexed (hash) sides, cross joins.
        (owner(), "SELECT m.text FROM user u JOIN message m ON u.identity = m.sender WHERE u.name = 'bob'", Rows(vec![vec![s("yo")]])),
        (owner(), "SELECT m.* FROM user AS u INNER JOIN message AS m ON m.sender = u.identity WHERE u.online = TRUE", Count(2)),
        (owner(), "SELECT item.id FROM scores JOIN item ON item.owner = scores.player WHERE scores.level = 1", Rows(vec![vec![10u32.into()], vec![20u32.into()], vec![30u32.into()]])),
        (owner(), "SELECT i.id, j.id AS other FROM item i JOIN item j ON i.owner = j.owner WHERE i.id < j.id", Rows(vec![vec![10u32.into(), 30u32.into()]])),
        (owner(), "SELECT COUNT(*) AS n FROM item a JOIN item b", Rows(vec![vec![16u64.into()]])),
        (owner(), "SELECT a.* FROM item a JOIN user u JOIN item b ON b.id = a.id WHERE u.online = TRUE", Count(4)),
        // Permissions: private tables are invisible to others.
        (owner(), "SELECT * FROM secret", Rows(vec![vec![1u32.into(), s("x")]])),
        (other(), "SELECT * FROM secret", Error(private)),
        (other(), "SELECT u.name FROM user u JOIN secret s ON s.k = s.k", Error(private)),
        (owner(), "SELECT * FROM nothing", Error("no such table: `nothing`. If the table exists, it may be marked private.")),
        // Name errors.
        (owner(), "SELECT nope FROM item", Error("no such column: `nope` in table `item`")),
        (owner(), "SELECT * FROM item WHERE x.id = 1", ErrorWith(&["unknown table or alias `x`", "`item`"])),
        (owner(), "SELECT id FROM item a JOIN item b ON a.id = b.id", ErrorWith(&["column `id` must be qualified", "`a.id`"])),
        (owner(), "SELECT * FROM item a JOIN item b ON a.id = b.id", ErrorWith(&["`SELECT *` with joins", "SELECT a.*"])),
        (owner(), "SELECT a.* FROM item a JOIN user a ON a.id = a.id", ErrorWith(&["`a` names two tables"])),
        (owner(), "SELECT a.* FROM item a JOIN item b ON a.id = a.owner", ErrorWith(&["ON condition of the join with `b`"])),
        // Type errors name the column, its type and the literal.
        (owner(), "SELECT * FROM item WHERE id = 'ten'", Error("type error: column `id` has type u32, which the literal 'ten' does not fit: expected an integer")),
        (owner(), "SELECT * FROM scores WHERE level = 300", ErrorWith(&["column `level` has type u8", "300", "out of range for u8"])),
        (owner(), "SELECT * FROM scores WHERE score = 1.5", ErrorWith(&["column `score` has type i64", "1.5", "not an integer"])),
        (owner(), "SELECT * FROM user WHERE identity = 'abc'", ErrorWith(&["column `identity` has type Identity", "'abc'", "64 hex digits"])),
        (owner(), "SELECT * FROM message WHERE sent = 'noon'", ErrorWith(&["column `sent` has type Timestamp", "RFC 3339"])),
        (owner(), "SELECT * FROM scores WHERE color = 'Pink'", ErrorWith(&["column `color` has type enum (Red | Green | Blue)", "`Pink` is not a variant"])),
        (owner(), "SELECT * FROM item WHERE id = owner AND id = :sender", ErrorWith(&[":sender is an Identity", "u32"])),
        (owner(), "SELECT * FROM item a JOIN user u ON a.id = u.name", ErrorWith(&["cannot join", "u32", "string"])),
        (owner(), "SELECT * FROM item WHERE id", ErrorWith(&["column `id` of type u32 is not a condition"])),
        (owner(), "SELECT * FROM item WHERE 1 = 1", ErrorWith(&["needs a column"])),
        // Unsupported constructs say what to write instead.
        (owner(), "SELECT * FROM item ORDER BY id", ErrorWith(&["unsupported: ORDER BY", "sort them in the client"])),
        (owner(), "SELECT DISTINCT owner FROM item", ErrorWith(&["unsupported: DISTINCT"])),
        (owner(), "SELECT owner, COUNT(*) AS n FROM item GROUP BY owner", ErrorWith(&["unsupported: GROUP BY"])),
        (owner(), "SELECT SUM(id) AS s FROM item", ErrorWith(&["aggregate SUM", "COUNT(*) AS n"])),
        (owner(), "SELECT COUNT(*) FROM item", ErrorWith(&["COUNT(*) without an alias", "SELECT COUNT(*) AS n FROM t"])),
        (owner(), "SELECT COUNT(id) AS n FROM item", ErrorWith(&["only `COUNT(*) AS n`"])),
        (owner(), "SELECT * FROM item WHERE NOT id = 1", ErrorWith(&["unsupported: NOT", "a <> 1"])),
        (owner(), "SELECT * FROM user WHERE name LIKE 'a%'", ErrorWith(&["unsupported: LIKE"])),
        (owner(), "SELECT * FROM item WHERE id IN (1, 2)", ErrorWith(&["unsupported: IN", "a = 1 OR a = 2"])),
        (owner(), "SELECT * FROM item WHERE id BETWEEN 1 AND 2", ErrorWith(&["unsupported: BETWEEN", "a >= low AND a <= high"])),
        (owner(), "SELECT * FROM item WHERE id IS NULL", ErrorWith(&["unsupported: IS [NOT] NULL"])),
        (owner(), "SELECT * FROM item WHERE id = (SELECT 1)", ErrorWith(&["unsupported: subqueries"])),
        (owner(), "SELECT * FROM item WHERE id + 1 = 2", ErrorWith(&["arithmetic"])),
        (owner(), "SELECT * FROM item, user", ErrorWith(&["implicit joins", "JOIN b ON a.x = b.y"])),
        (owner(), "SELECT * FROM item LEFT JOIN user ON item.id = item.id", ErrorWith(&["outer joins"])),
        (owner(), "SELECT * FROM item LIMIT 1 OFFSET 1", ErrorWith(&["unsupported: OFFSET"])),
        (owner(), "SELECT * FROM item UNION SELECT * FROM item", ErrorWith(&["set operations"])),
        (owner(), "SELECT *, id FROM item", ErrorWith(&["mixing `*`"])),
        (owner(), "SELECT * FROM item WHERE id = $1", ErrorWith(&["parameter `$1`", ":sender"])),
        (owner(), "CREATE TABLE t (a INT)", ErrorWith(&["unsupported: DDL", "publish"])),
        (owner(), "DROP TABLE item", ErrorWith(&["unsupported: DDL"])),
        (owner(), "SELECT * FROM item; SELECT * FROM user", ErrorWith(&["2 statements", "each statement on its own"])),
        (owner(), "", ErrorWith(&["an empty query"])),
        (owner(), "  ;  ", ErrorWith(&["an empty query"])),
        (owner(), "SELEC * FROM item", ErrorWith(&["syntax error"])),
        // Settings: only the owner sets, only upstream's names, and never set shows no row.
        (owner(), "SET row_limit = 10", Rows(vec![])),
        (owner(), "SET row_limit TO 1e3", Rows(vec![])),
        (other(), "SET row_limit = 10", ErrorWith(&["only the database owner may run SET"])),
        (owner(), "SET nope = 1", ErrorWith(&["nope is not a valid system variable", "row_limit"])),
        (owner(), "SET row_limit = -1", ErrorWith(&["`row_limit` is a u64"])),
        (owner(), "SHOW slow_tx_update_ms", Rows(vec![])),
        // System tables, as upstream names them; the private one only for the owner.
        (other(), "SELECT table_name FROM st_table WHERE table_id = 1", Rows(vec![vec![s("st_table")]])),
        (owner(), "SELECT col_name FROM st_column WHERE table_id = 1 AND col_pos = 4", Rows(vec![vec![s("table_primary_key")]])),
        (owner(), "SELECT COUNT(*) AS n FROM st_connection_credentials", Rows(vec![vec![0u64.into()]])),
        (other(), "SELECT * FROM st_connection_credentials", Error("no such table: `st_connection_credentials`. If the table exists, it may be marked private.")),
        (owner(), "UPDATE st_table SET table_name = 'x'", ErrorWith(&["changing the system table `st_table`"])),
        (owner(), "SELECT item.* FROM item JOIN st_table ON item.id = st_table.table_id", ErrorWith(&["joining the system table `st_table` with the table `item`"])),
    ]
}

#[test]
fn query_cases() {
    let mut db = Db::new();
    let mut failures = Vec::new();
    for (caller, sql, expect) in cases() {
        let got = db.run(caller, sql);
        let ok = match (&expect, &got) {
            (Rows(rows), Ok(out)) => {
                let mut want = rows.clone();
                want.sort();
                sorted(out.rows.clone()) == want
            }
            (Count(n), Ok(out)) => out.rows.len() == *n,
            (Error(msg), Err(e)) => e.to_string() == *msg,
            (ErrorWith(parts), Err(e)) => parts.iter().all(|p| e.to_string().contains(p)),
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(out) => format!("rows {:?}", sorted(out.rows.clone())),
                Err(e) => format!("error {e}"),
            };
            failures.push(format!("{sql}\n    got {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn result_schemas_name_and_type_the_columns() {
    let mut db = Db::new();
    let out = db.owner("SELECT item.owner AS o, id FROM item").unwrap();
    let names = out
        .schema
        .elements
        .iter()
        .map(|e| e.name().unwrap_or("?").to_owned())
        .collect::<Vec<_>>();
    assert_eq!(names, ["o", "id"]);
    assert_eq!(out.schema.elements[0].algebraic_type, AlgebraicType::U32);
    let out = db.owner("SELECT COUNT(*) AS total FROM item").unwrap();
    assert_eq!(
        out.schema,
        spacetime_sats::ProductType::named([("total", AlgebraicType::U64)])
    );
    // Type references are inlined, so the schema reads without the typespace.
    let out = db.owner("SELECT color FROM scores LIMIT 1").unwrap();
    assert_eq!(
        out.schema.elements[0].algebraic_type,
        AlgebraicType::simple_enum(["Red", "Green", "Blue"])
    );
    assert_eq!(out.stats, spacetime_sql::DmlStats::default());
    assert!(out.tx.is_none());
}
