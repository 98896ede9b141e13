//! `spacetime sql` output, compared with the exact text upstream's CLI prints
//! (upstream's `test_sql_format`, without the 256-bit columns our bindings do not export).

use crate::common::*;
use spacetime_testing::modules::Bindings;

both_bindings!(fn sql_format(bindings) {
    let fx = Fixture::new(SQL_FORMAT, bindings, "sql-format");
    fx.call("test", &[]).ok();

    assert_eq!(
        fx.sql("SELECT * FROM t_ints"),
        " i_8 | i_16  | i_32   | i_64     | i_128\n\
         -----+-------+--------+----------+---------------\n \
         -25 | -3224 | -23443 | -2344353 | -234434897853"
    );
    let tuple = |cell: &str| format!(" tuple\n{}\n {cell}", "-".repeat(cell.chars().count() + 2));
    assert_eq!(
        fx.sql("SELECT * FROM t_ints_tuple"),
        tuple("(i_8 = -25, i_16 = -3224, i_32 = -23443, i_64 = -2344353, i_128 = -234434897853)")
    );
    assert_eq!(
        fx.sql("SELECT * FROM t_uints"),
        " u_8 | u_16 | u_32  | u_64     | u_128\n\
         -----+------+-------+----------+---------------\n \
         105 | 1050 | 83892 | 48937498 | 4378528978889"
    );
    assert_eq!(
        fx.sql("SELECT * FROM t_others"),
        " bool | f_32      | f_64               | str                   | bytes            | identity                                                           | connection_id                      | timestamp                 | duration  | uuid\n\
         ------+-----------+--------------------+-----------------------+------------------+--------------------------------------------------------------------+------------------------------------+---------------------------+-----------+----------------------------------------\n \
         true | 594806.56 | -3454353.345389043 | \"This is spacetimedb\" | 0x01020304050607 | 0x0000000000000000000000000000000000000000000000000000000000000001 | 0x00000000000000000000000000000000 | 1970-01-01T00:00:00+00:00 | +0.000000 | \"00000000-0000-0000-0000-000000000000\""
    );
    let cell = "(bool = true, f_32 = 594806.56, f_64 = -3454353.345389043, str = \"This is spacetimedb\", \
                bytes = 0x01020304050607, identity = 0x0000000000000000000000000000000000000000000000000000000000000001, \
                connection_id = 0x00000000000000000000000000000000, timestamp = 1970-01-01T00:00:00+00:00, \
                duration = +0.000000, uuid = \"00000000-0000-0000-0000-000000000000\")";
    assert_eq!(fx.sql("SELECT * FROM t_others_tuple"), tuple(cell));
    assert_eq!(
        fx.sql("SELECT * FROM t_uints_tuple"),
        tuple("(u_8 = 105, u_16 = 1050, u_32 = 83892, u_64 = 48937498, u_128 = 4378528978889)")
    );
    assert_eq!(
        fx.sql("SELECT * FROM t_enums"),
        " bool_opt      | bool_result  | action\n\
         ---------------+--------------+---------------\n \
         (some = true) | (ok = false) | (active = ())"
    );
    assert_eq!(
        fx.sql("SELECT * FROM t_enums_tuple"),
        " tuple\n\
         --------------------------------------------------------------------------------\n \
         (bool_opt = (some = true), bool_result = (ok = false), action = (active = ()))"
    );
});

both_bindings!(fn sql_projections_filters_and_json(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    assert_eq!(fx.sql("SELECT * FROM person"), " name\n------", "an empty result shows the header and the rule");
    fx.call("add", &["Tyler"]).ok();
    fx.call("add", &["Ann"]).ok();
    assert_eq!(fx.sql("SELECT name FROM person WHERE name = 'Tyler'"), " name\n---------\n \"Tyler\"");
    assert_eq!(fx.sql("SELECT COUNT(*) AS n FROM person"), " n\n---\n 2");

    let json = fx.owner.run(&["sql", "--format", "json", &fx.name, "SELECT * FROM person WHERE name = 'Ann'"]).ok();
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("--format json prints JSON");
    assert_eq!(value[0]["rows"], serde_json::json!([["Ann"]]), "{value}");

    let confirmed = fx.owner.run(&["sql", "--confirmed", "true", &fx.name, "SELECT * FROM person"]).ok();
    assert!(confirmed.stdout.contains("\"Ann\""), "{}", confirmed.stdout);

    let bad = fx.owner.sql(&fx.name, "SELECT * FROM nowhere").err();
    assert!(bad.stderr.contains("nowhere"), "the error names the missing table: {}", bad.stderr);
});

/// The system tables, read as upstream names them: the module's tables and columns in
/// `st_table`/`st_column`, the caller's own connection in `st_client`, and the private
/// `st_connection_credentials` hidden from everyone but the owner.
#[test]
fn sql_system_tables() {
    let fx = Fixture::new(BASIC, Bindings::Ours, "system-tables");
    assert_eq!(
        fx.sql("SELECT * FROM st_table WHERE table_name = 'person'"),
        " table_id | table_name | table_type | table_access | table_primary_key\n\
         ----------+------------+------------+--------------+-------------------\n \
         4096     | \"person\"   | \"user\"     | \"public\"     | (none = ())"
    );
    assert_eq!(
        fx.sql("SELECT table_name, table_access FROM st_table WHERE table_id = 7"),
        " table_name  | table_access\n-------------+--------------\n \"st_client\" | \"public\""
    );
    assert_eq!(
        fx.sql("SELECT col_pos, col_name, col_type FROM st_column WHERE table_id = 4096"),
        " col_pos | col_name | col_type\n---------+----------+----------\n 0       | \"name\"   | 0x04",
        "col_type is the column's type in BSATN (4 is String)"
    );
    assert_eq!(
        fx.sql("SELECT st_table.* FROM st_table JOIN st_column ON st_table.table_id = st_column.table_id WHERE st_column.col_name = 'jwt_payload'"),
        " table_id | table_name                  | table_type | table_access | table_primary_key\n\
         ----------+-----------------------------+------------+--------------+-------------------\n \
         11       | \"st_connection_credentials\" | \"system\"   | \"private\"    | (some = [0])",
        "system tables join with each other"
    );

    // `st_client` has the request's own connection: the caller's identity.
    let me = fx.sql("SELECT COUNT(*) AS n FROM st_client WHERE identity = :sender");
    assert_eq!(me, " n\n---\n 1");
    let stranger = fx.other_user();
    let theirs = stranger
        .sql(&fx.name, "SELECT identity FROM st_client")
        .ok()
        .trimmed_stdout();
    let shown = stranger.run(&["login", "show"]).ok().stdout;
    let identity = shown.split_whitespace().last().expect("login show prints the identity");
    let identity = identity.trim_start_matches("0x");
    assert!(
        theirs.contains(identity),
        "st_client shows the stranger's connection: {theirs}"
    );

    // The private table exists for the owner only.
    let owner_view = fx.owner.sql(&fx.name, "SELECT * FROM st_connection_credentials").ok();
    assert!(owner_view.stdout.starts_with(" connection_id"), "{}", owner_view.stdout);
    let hidden = stranger.sql(&fx.name, "SELECT * FROM st_connection_credentials").err();
    assert!(
        hidden.stderr.contains("no such table: `st_connection_credentials`"),
        "{}",
        hidden.stderr
    );

    let write = fx.owner.sql(&fx.name, "DELETE FROM st_table").err();
    assert!(
        write
            .stderr
            .contains("unsupported: changing the system table `st_table`"),
        "{}",
        write.stderr
    );
    let mixed = fx
        .owner
        .sql(
            &fx.name,
            "SELECT person.* FROM person JOIN st_table ON person.name = st_table.table_name",
        )
        .err();
    assert!(
        mixed
            .stderr
            .contains("joining the system table `st_table` with the table `person`"),
        "{}",
        mixed.stderr
    );
}

/// `SET`/`SHOW` of upstream's settings: only the owner sets; `row_limit` refuses a
/// stranger's query that would read more rows, not the owner's.
#[test]
fn sql_set_show_and_row_limit() {
    let fx = Fixture::new(BASIC, Bindings::Ours, "settings");
    assert_eq!(fx.sql("SHOW row_limit"), " value\n-------", "never set: no row");
    let stranger = fx.other_user();
    let refused = stranger.sql(&fx.name, "SET row_limit = 1").err();
    assert!(
        refused
            .stderr
            .contains("permission denied: only the database owner may run SET statements"),
        "{}",
        refused.stderr
    );
    assert_eq!(fx.sql("SET row_limit = 1"), "OK");
    assert_eq!(fx.sql("SHOW row_limit"), " value\n-----------\n (U64 = 1)");
    assert_eq!(
        stranger.sql(&fx.name, "SHOW row_limit").ok().trimmed_stdout(),
        " value\n-----------\n (U64 = 1)"
    );
    assert_eq!(
        fx.sql("SELECT * FROM st_var"),
        " name        | value\n-------------+-----------\n \"row_limit\" | (U64 = 1)"
    );

    fx.call("add", &["Ann"]).ok();
    fx.call("add", &["Bob"]).ok();
    let over = stranger.sql(&fx.name, "SELECT * FROM person").err();
    assert!(
        over.stderr
            .contains("Estimated cardinality (2 rows) exceeds limit (1 rows)"),
        "{}",
        over.stderr
    );
    assert_eq!(
        fx.sql("SELECT COUNT(*) AS n FROM person"),
        " n\n---\n 2",
        "the owner is not limited"
    );
    fx.sql("SET row_limit = 5");
    assert_eq!(
        stranger
            .sql(&fx.name, "SELECT COUNT(*) AS n FROM person")
            .ok()
            .trimmed_stdout(),
        " n\n---\n 2"
    );

    let unknown = fx.owner.sql(&fx.name, "SET rowlimit = 5").err();
    assert!(
        unknown.stderr.contains("rowlimit is not a valid system variable"),
        "{}",
        unknown.stderr
    );
    let text = fx.owner.sql(&fx.name, "SET row_limit = 'many'").err();
    assert!(text.stderr.contains("`row_limit` is a u64"), "{}", text.stderr);
}

/// Column headers are the names as the query wrote them (accessor or canonical name,
/// alias with its case), and floats print as upstream's CLI prints them (Rust's
/// shortest round-trip form, never an exponent).
#[test]
fn sql_headers_as_written_and_floats() {
    let fx = Fixture::new(SQL_FORMAT, Bindings::Ours, "headers");
    fx.call("test", &[]).ok();
    assert_eq!(
        fx.sql("SELECT i8, i_16, i32 AS ThirtyTwo FROM t_ints"),
        " i8  | i_16  | ThirtyTwo\n-----+-------+-----------\n -25 | -3224 | -23443"
    );
    let floats = |f32: &str, f64: &str| {
        fx.sql(&format!("UPDATE t_others SET f_32 = {f32}, f_64 = {f64}"));
        fx.sql("SELECT f_32, f_64 FROM t_others")
    };
    assert_eq!(
        floats("1", "1e20"),
        " f_32 | f_64\n------+-----------------------\n 1    | 100000000000000000000"
    );
    assert_eq!(
        floats("-0.5e-7", "0.1"),
        " f_32        | f_64\n-------------+------\n -0.00000005 | 0.1"
    );
    assert_eq!(floats("2.5", "-0.0"), " f_32 | f_64\n------+------\n 2.5  | -0");
}

both_bindings!(
    /// Upstream's `test_sql_resolves_accessor_and_canonical_names_*`: a table and a column
    /// answer to their accessor and canonical names, and the header is the name as written.
    fn sql_resolves_accessor_and_canonical_names(bindings) {
    let fx = Fixture::new(SQL_FORMAT, bindings, "names");
    let whole = " id | accessor_value_1\n----+------------------\n 1  | 7";
    assert_eq!(fx.sql("SELECT * FROM accessor_table"), whole);
    assert_eq!(fx.sql("SELECT * FROM canonical_table"), whole);
    assert_eq!(
        fx.sql("SELECT accessor_value_1 FROM accessor_table"),
        " accessor_value_1\n------------------\n 7"
    );
    assert_eq!(
        fx.sql("SELECT accessor_value1 FROM canonical_table"),
        " accessor_value1\n-----------------\n 7"
    );
});

/// A WebSocket one-off query reads the system tables, and it and a subscription are held
/// to `row_limit` like `spacetime sql` (the caller is anonymous, so not the owner).
#[test]
fn websocket_queries_read_system_tables_and_keep_the_row_limit() {
    use crate::sql_limits::ws_sql;
    let fx = Fixture::new(BASIC, Bindings::Ours, "one-off");
    fx.call("add", &["Ann"]).ok();
    fx.call("add", &["Bob"]).ok();
    let tables = ws_sql(&fx, "oneoff", "SELECT * FROM st_table WHERE table_name = 'person'");
    assert!(tables.starts_with("reply 5 ") && tables.contains("person"), "{tables}");
    assert!(!tables.contains("no such table"), "{tables}");

    assert_eq!(fx.sql("SET row_limit = 1"), "OK");
    let over = ws_sql(&fx, "oneoff", "SELECT * FROM person");
    assert!(
        over.starts_with("reply 5 ") && over.contains("Estimated cardinality (2 rows) exceeds limit (1 rows)"),
        "{over}"
    );
    // A subscription is held to it too.
    let subscribe = ws_sql(&fx, "subscribe", "SELECT * FROM person");
    assert!(
        subscribe.starts_with("reply 3 ") && subscribe.contains("exceeds limit (1 rows)"),
        "{subscribe}"
    );
    // A filter on a column without an index still scans the table: the same estimate.
    let filtered = ws_sql(&fx, "oneoff", "SELECT * FROM person WHERE name = 'Ann'");
    assert!(filtered.contains("exceeds limit (1 rows)"), "{filtered}");
    assert_eq!(fx.sql("SET row_limit = 2"), "OK");
    let fits = ws_sql(&fx, "oneoff", "SELECT * FROM person");
    assert!(
        fits.contains("Ann") && fits.contains("Bob") && !fits.contains("exceeds"),
        "{fits}"
    );
}

/// Settings are the database's, like upstream's `st_var` rows: they survive a restart.
#[test]
fn sql_settings_survive_a_restart() {
    let mut fx = Fixture::new(BASIC, Bindings::Ours, "settings-kept");
    assert_eq!(fx.sql("SET row_limit = 3"), "OK");
    assert_eq!(fx.sql("SET slow_ad_hoc_query_ms = 250"), "OK");
    fx.server.restart();
    assert_eq!(
        fx.sql("SELECT * FROM st_var"),
        " name                   | value\n\
         ------------------------+-------------\n \
         \"row_limit\"            | (U64 = 3)\n \
         \"slow_ad_hoc_query_ms\" | (U64 = 250)"
    );
}

/// `st_scheduled`: each scheduled table with the reducer its rows call.
#[test]
fn sql_st_scheduled_names_each_schedule() {
    let fx = Fixture::new(SCHEDULE, Bindings::Ours, "scheduled");
    assert_eq!(
        fx.sql("SELECT reducer_name, schedule_name, at_column FROM st_scheduled"),
        " reducer_name | schedule_name    | at_column\n\
         --------------+------------------+-----------\n \
         \"fire_once\"  | \"one_shot_sched\" | 1\n \
         \"tick\"       | \"ticker_sched\"   | 1"
    );
}
