//! Views through the host, with a hand-written module: a view's reads are recorded
//! (its read set), its rows are split from the `RowData` result, and a view that
//! writes is an error whose write is rolled back; a `RawSql` result is the view's query.

use crate::support::{runtime, wat_data, Db};
use spacetime_host::ViewError;
use spacetime_sats::bsatn::to_vec;
use spacetime_sats::def::raw::{
    RawModuleDef, RawModuleDefV10, RawModuleDefV10Section, RawTableDefV10, RawViewDefV10, TableAccess, TableType,
};
use spacetime_sats::{AlgebraicType, Identity, ProductType, Timestamp, Typespace};

/// One table `t (n: u32)` and three anonymous views over its row type: `reads` (counts
/// `t`'s rows and returns one row), `writes` (inserts into `t`) and `query` (returns a
/// SQL query, the RawSql header).
fn definition() -> Vec<u8> {
    let mut typespace = Typespace::default();
    let row = typespace.add(AlgebraicType::product([("n", AlgebraicType::U32)]));
    let view = |name: &str, index| RawViewDefV10 {
        source_name: name.into(),
        index,
        is_public: true,
        is_anonymous: true,
        params: ProductType::unit(),
        return_type: AlgebraicType::array(AlgebraicType::Ref(row)),
    };
    to_vec(&RawModuleDef::V10(RawModuleDefV10 {
        sections: vec![
            RawModuleDefV10Section::Typespace(typespace),
            RawModuleDefV10Section::Tables(vec![RawTableDefV10 {
                source_name: "t".into(),
                product_type_ref: row,
                primary_key: vec![],
                indexes: vec![],
                constraints: vec![],
                sequences: vec![],
                table_type: TableType::User,
                table_access: TableAccess::Public,
                default_values: vec![],
                is_event: false,
            }]),
            RawModuleDefV10Section::Views(vec![view("reads", 0), view("writes", 1), view("query", 2)]),
        ],
    }))
}

fn module() -> Vec<u8> {
    let def = definition();
    // Memory: 0 length cell, 8 table id, 16 "t", 20 one row (n = 7), 32 the result
    // `RowData` + one row, 48 the `RawSql` result, 64 the definition.
    let wat = format!(
        r#"(module
            (import "spacetime_10.0" "bytes_sink_write" (func $w (param i32 i32 i32) (result i32)))
            (import "spacetime_10.0" "table_id_from_name" (func $tid (param i32 i32 i32) (result i32)))
            (import "spacetime_10.0" "datastore_table_row_count" (func $count (param i32 i32) (result i32)))
            (import "spacetime_10.0" "datastore_insert_bsatn" (func $ins (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 16) "t")
            (data (i32.const 20) "\07\00\00\00")
            (data (i32.const 32) "\00\01\00\00\00\07\00\00\00")
            (data (i32.const 48) "\01\01\00\00\00x")
            (data (i32.const 64) "{data}")
            (func $write (param $sink i32) (param $at i32) (param $len i32)
                (i32.store (i32.const 0) (local.get $len))
                (drop (call $w (local.get $sink) (local.get $at) (i32.const 0))))
            (func (export "__describe_module__") (param $sink i32)
                (call $write (local.get $sink) (i32.const 64) (i32.const {def_len})))
            (func (export "__call_reducer__") (param i32 i64 i64 i64 i64 i64 i64 i64 i32 i32) (result i32)
                i32.const 0)
            (func (export "__call_view_anon__") (param $id i32) (param $args i32) (param $sink i32) (result i32)
                (drop (call $tid (i32.const 16) (i32.const 1) (i32.const 8)))
                (block (block (block
                    (br_table 0 1 2 (local.get $id)))
                  ;; reads: count t's rows, return one row
                  (drop (call $count (i32.load (i32.const 8)) (i32.const 24)))
                  (call $write (local.get $sink) (i32.const 32) (i32.const 9))
                  (return (i32.const 2)))
                  ;; writes: insert a row, return no error
                  (i32.store (i32.const 0) (i32.const 4))
                  (drop (call $ins (i32.load (i32.const 8)) (i32.const 20) (i32.const 0)))
                  (call $write (local.get $sink) (i32.const 32) (i32.const 9))
                  (return (i32.const 2)))
                ;; query: a RawSql header
                (call $write (local.get $sink) (i32.const 48) (i32.const 6))
                (i32.const 2)))"#,
        data = wat_data(&def),
        def_len = def.len(),
    );
    wat::parse_str(wat).expect("valid WAT")
}

#[test]
fn a_view_returns_its_rows_and_the_tables_it_read() {
    let program = runtime().load(&module()).expect("the module loads");
    let mut db = Db::new(&program);
    let def = program.module_def();
    let t = db.ds.table_id_from_name("t").expect("t exists");
    let now = Timestamp::from_micros_since_unix_epoch(0);
    let outcome = db
        .instance
        .call_view(&mut db.ds, &def.views[0], Identity::ZERO, now)
        .expect("the view runs");
    assert_eq!(outcome.rows, vec![Box::from(&7u32.to_le_bytes()[..])]);
    assert_eq!(outcome.reads.tables().collect::<Vec<_>>(), [t]);
    // A full scan reads the whole table: any change to it may change the view.
    assert_eq!(outcome.reads.table(t), Some(&spacetime_host::TableReads::All));
}

#[test]
fn a_view_that_writes_is_refused_and_its_write_undone() {
    let program = runtime().load(&module()).expect("the module loads");
    let mut db = Db::new(&program);
    let def = program.module_def();
    let now = Timestamp::from_micros_since_unix_epoch(0);
    let e = db
        .instance
        .call_view(&mut db.ds, &def.views[1], Identity::ZERO, now)
        .expect_err("a write is refused");
    assert!(matches!(&e, ViewError::Wrote { view } if view == "writes"), "{e:?}");
    assert!(e.to_string().contains("views are read-only"), "{e}");
    let t = db.ds.table_id_from_name("t").expect("t exists");
    assert_eq!(db.ds.row_count(t).expect("t exists"), 0, "the insert was rolled back");
}

#[test]
fn a_query_view_returns_its_sql() {
    let program = runtime().load(&module()).expect("the module loads");
    let mut db = Db::new(&program);
    let def = program.module_def();
    let now = Timestamp::from_micros_since_unix_epoch(0);
    let outcome = db
        .instance
        .call_view(&mut db.ds, &def.views[2], Identity::ZERO, now)
        .expect("a RawSql result is the view's query");
    assert_eq!(outcome.query.as_deref(), Some("x"));
    assert!(outcome.rows.is_empty());
}
