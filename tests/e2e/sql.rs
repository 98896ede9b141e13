//! `spacetime sql` output, compared with the exact text upstream's CLI prints
//! (upstream's `test_sql_format`, without the 256-bit columns our bindings do not export).

use crate::common::*;

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
