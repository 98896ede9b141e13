//! Size and depth limits (issue 12, D1): no statement may overflow a stack, however long
//! its `AND`/`OR` chains or deep its nesting. Flat chains within the size limit run;
//! everything over a limit is refused with an error naming the limit.
//!
//! Every case runs on a thread with a deliberately small stack, far smaller than the
//! database actor's, so passing here shows the bounds do not depend on a large stack.

use crate::{other, sorted, Db};
use spacetime_sats::AlgebraicValue;
use spacetime_sql::parse::limits::{MAX_EXPR_DEPTH, MAX_SQL_BYTES, PARSER_RECURSION_LIMIT};
use spacetime_sql::{SqlError, SqlOutcome};

/// A stack a quarter of a default thread's.
const SMALL_STACK: usize = 512 * 1024;

/// Runs `sql` as a non-owner caller on a thread with [`SMALL_STACK`] bytes of stack.
fn run_small(sql: String) -> Result<SqlOutcome, SqlError> {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(move || Db::new().run(other(), &sql))
        .expect("spawn a test thread")
        .join()
        .expect("the statement must not overflow the stack")
}

fn chain(terms: usize, cmp: &str, op: &str) -> String {
    let terms = (0..terms).map(|i| format!("id {cmp} {i}")).collect::<Vec<_>>();
    format!("SELECT * FROM item WHERE {}", terms.join(&format!(" {op} ")))
}

fn ids(out: &SqlOutcome) -> Vec<u32> {
    sorted(out.rows.clone())
        .into_iter()
        .map(|row| match row[0] {
            AlgebraicValue::U32(id) => id,
            ref v => panic!("id is not a u32: {v:?}"),
        })
        .collect()
}

fn assert_limit(result: Result<SqlOutcome, SqlError>, mentions: &[&str]) {
    match result {
        Err(e @ SqlError::Limit(_)) => {
            let msg = e.to_string();
            for m in mentions {
                assert!(msg.contains(m), "`{msg}` should mention `{m}`");
            }
        }
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn long_or_and_and_chains_within_the_size_limit_run() {
    // 8,000 terms: about 100 KB, under the limit, and 4,000 terms more than crashed
    // the server before.
    let or = chain(8_000, "=", "OR");
    assert!(or.len() < MAX_SQL_BYTES);
    assert_eq!(ids(&run_small(or).unwrap()), [10, 20, 30, 40]);
    let or = chain(8_000, "=", "OR").replace("id = 20 OR", "id = 20000 OR");
    assert_eq!(ids(&run_small(or).unwrap()), [10, 30, 40]);
    let and = chain(8_000, "<>", "AND");
    assert_eq!(ids(&run_small(and).unwrap()), Vec::<u32>::new());
    let and = chain(8_000, "<>", "AND").replace("id <> 30 AND", "id <> 30000 AND");
    assert_eq!(ids(&run_small(and).unwrap()), [30]);
}

#[test]
fn chains_in_dml_filters_run() {
    let mut db = Db::new();
    let terms = (0..5_000)
        .map(|i| format!("id = {}", i * 3))
        .collect::<Vec<_>>()
        .join(" OR ");
    let out = db.owner(&format!("DELETE FROM item WHERE {terms}")).unwrap();
    // 30 is a multiple of 3, and so are none of 10, 20 and 40.
    assert_eq!(out.stats.rows_deleted, 1);
}

#[test]
fn hundred_thousand_term_chains_are_refused_by_the_size_limit() {
    let limit = MAX_SQL_BYTES.to_string();
    assert_limit(run_small(chain(100_000, "=", "OR")), &[&limit, "bytes"]);
    assert_limit(run_small(chain(100_000, "<>", "AND")), &[&limit, "bytes"]);
}

#[test]
fn deep_parentheses_are_refused_by_the_nesting_limit() {
    let deep = |n: usize| format!("SELECT * FROM item WHERE {}id = 10{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(ids(&run_small(deep(10)).unwrap()), [10]);
    let limit = PARSER_RECURSION_LIMIT.to_string();
    assert_limit(run_small(deep(1_000)), &[&limit, "levels"]);
    assert_limit(run_small(deep(50_000)), &[&limit, "levels"]);
}

#[test]
fn chained_comparisons_are_refused_by_the_expression_depth_limit() {
    let sql = format!("SELECT * FROM item WHERE {}", vec!["id"; 20_000].join(" = "));
    assert_limit(run_small(sql), &[&MAX_EXPR_DEPTH.to_string(), "levels"]);
}

/// The deepest trees the size limit allows, in every shape that a flat operator chain
/// can take, also in clauses the subset refuses (whose trees are dropped unconverted):
/// each is refused with an error, never a crash.
#[test]
fn worst_case_shapes_at_the_size_limit_are_refused_without_overflow() {
    let fill = |prefix: &str, unit: &str, suffix: &str| {
        let room = MAX_SQL_BYTES - prefix.len() - suffix.len();
        format!("{prefix}{}{suffix}", unit.repeat(room / unit.len()))
    };
    let cases = [
        fill("SELECT * FROM item WHERE id", " + 1", ""),
        fill("SELECT * FROM item WHERE id", "::int", " = 1"),
        fill("SELECT * FROM item WHERE id", " IS NULL", ""),
        fill("SELECT * FROM item WHERE id", "[1]", " = 1"),
        fill("SELECT * FROM item HAVING id", " OR id", ""),
        fill("SELECT * FROM item HAVING id", "+1", ""),
        fill("SELECT * FROM item HAVING id", "::int", ""),
        fill("SELECT * FROM item ORDER BY id", "||1", ""),
        fill("SELECT id", "+1", " FROM item"),
        fill("SELECT * FROM item JOIN user ON id", " = id", ""),
        fill("UPDATE item SET id = 1 WHERE id", " OR id", ""),
        fill("INSERT INTO item VALUES (1", "+1", ")"),
        fill("EXPLAIN SELECT * FROM item WHERE id", " OR id", ""),
        fill("SELECT * FROM item WHERE ", "-", "1 = id"),
        fill("SELECT * FROM item WHERE ", "NOT ", "id = 1"),
    ];
    for sql in cases {
        let head = sql[..60].to_owned();
        assert!(sql.len() <= MAX_SQL_BYTES, "{head}");
        assert!(run_small(sql).is_err(), "{head}… should be refused");
    }
}
