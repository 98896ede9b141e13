//! Writes the seed corpora under `fuzz/corpus/<target>/`, from the product's own encoders:
//! meaningful inputs the fuzzer mutates from, which the replay test also runs.
//!
//! ```text
//! cargo run -p spacetime-fuzz-targets --example seed_corpus [MODULE.wasm ...]
//! ```
//!
//! Each seed's file name is a hash of its bytes (as libFuzzer names corpus files), so running
//! it again adds nothing twice. Every `.wasm` given on the command line adds its module
//! definition (read through the host, as publish reads it) to the `module_def` seeds.

use spacetime_fuzz_targets::fixture;
use spacetime_protocol::v2::{
    CallFlags, CallProcedure, CallReducer, ClientMessage, OneOffQuery, Subscribe, Unsubscribe, UnsubscribeFlags,
};
use spacetime_protocol::{v3, QuerySetId};
use spacetime_sats::bsatn::value::value_to_vec;
use spacetime_sats::bsatn::{to_vec, Encode};
use spacetime_sats::def::raw::{RawModuleDef, RawModuleDefV10Section};
use spacetime_sats::json::{value_from_json, value_to_json};
use spacetime_sats::{AlgebraicType as T, AlgebraicTypeRef, Typespace};
use std::path::{Path, PathBuf};

/// Statements for `sql_text`: the subset, its edges, and what it refuses.
const SQL: &[&str] = &[
    "SELECT * FROM user",
    "SELECT * FROM message WHERE sender = :sender",
    "SELECT name, online FROM user WHERE online = TRUE",
    "SELECT u.name AS n FROM user AS u",
    "SELECT COUNT(*) AS n FROM score",
    "SELECT * FROM score WHERE player = 1 AND level = 2",
    "SELECT * FROM score WHERE player = 1 OR player = 2 OR points < 0",
    "SELECT * FROM score WHERE (player = 1 AND level >= 2) OR (color = 'blue')",
    "SELECT * FROM score WHERE points <> 90 LIMIT 2",
    "SELECT * FROM score WHERE points != -5",
    "SELECT score.* FROM score JOIN user ON score.player = user.online",
    "SELECT m.* FROM message m JOIN user u ON m.sender = u.identity WHERE u.name = 'alice'",
    "SELECT * FROM message WHERE sent > '1970-01-01T00:00:01.5Z'",
    "SELECT * FROM message WHERE id = 1",
    "SELECT * FROM user WHERE identity = 0xc2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2",
    "SELECT * FROM secret",
    "SELECT * FROM every",
    "SELECT * FROM every WHERE u256 = 0x01 AND i128 = -170141183460469231731687303715884105728",
    "SELECT * FROM every WHERE f32 = 1.5 AND f64 = 1e300 AND s = 'it''s'",
    "SELECT * FROM every WHERE color = 'green'",
    "SELECT * FROM \"user\"",
    "select * from User where Name = 'bob'",
    "INSERT INTO user VALUES (0x01, 'carol', TRUE)",
    "INSERT INTO message (sender, text, sent) VALUES (0x02, 'new', 5)",
    "INSERT INTO message VALUES (0, 0x1111111111111111111111111111111111111111111111111111111111111111, 'new', 5)",
    "INSERT INTO score (player, level, points, color) VALUES (9, 9, 9223372036854775807, 'red'), (9, 8, 1, 'blue')",
    "INSERT INTO secret VALUES (4294967295, '')",
    "UPDATE user SET online = FALSE WHERE name = 'alice'",
    "UPDATE score SET points = 0, color = 'red' WHERE player = 1",
    "DELETE FROM message WHERE sender = :sender",
    "DELETE FROM score",
    "INSERT INTO user VALUES (0xc2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2, 'dup', TRUE)",
    "SELECT * FROM nowhere",
    "SELECT nope FROM user",
    "SELECT * FROM score WHERE level = 256",
    "SELECT * FROM user GROUP BY name",
    "SELECT * FROM user ORDER BY name",
    "SELECT * FROM (SELECT * FROM user)",
    "SELECT * FROM score WHERE ((((player = 1))))",
    "SELECT * FROM score WHERE NOT player = 1",
    "DROP TABLE user",
    "SELECT * FROM user; SELECT * FROM score",
    "",
    "SELECT",
];

/// Arguments of the fixture's `every` reducer (whose parameters are the columns of its
/// `every` table), with each type in one of its accepted forms.
const EVERY_ARGS: &str = "[true, -1, 255, -300, 65535, -70000, 4000000000, \"-1\", \"18446744073709551615\", \
                \"-0x5\", 5, \"-0x10\", \"0xff\", 1.5, -2.25, \"\u{fc}n\u{ef}code\", \"0xdead\", [\"a\", \"b\"], \
                [[1], [2, 3]], {\"some\": 9}, \
                \"c200000000000000000000000000000000000000000000000000000000000001\", \
                {\"__connection_id__\": 2}, \"1970-01-01T00:00:00.000003Z\", 4, \
                \"00000000-0000-0000-0000-000000000000\", {\"blue\": []}, [1, 2], {\"empty\": []}]";

/// Bodies for `http_json_args`: every form the server accepts, and some it refuses.
const JSON_BODIES: &[&str] = &[
    "",
    "[]",
    "{}",
    "[\"hello\"]",
    "{\"text\": \"hello\"}",
    "[1, 2, -3, \"green\"]",
    "[1, 2, -3, {\"green\": {}}]",
    "{\"player\": 1, \"level\": 2, \"points\": \"-3\", \"color\": {\"2\": []}}",
    "[[{\"circle\": 1.5}, {\"poly\": [{\"x\": 0, \"y\": 1}, [2.5, \"NaN\"]]}, {\"empty\": []}], {\"x\": 1e3, \"y\": -0.0}]",
    "[[[\"poly\", []], [1, 2.0]], [\"Infinity\", \"-Infinity\"]]",
    "[\"hello\", 1]",
    "[null]",
    "{\"text\": 5}",
    "[1, 256, 0, \"red\"]",
    "[1, 2, 1.5, \"red\"]",
    "[-1, 2, 3, \"Purple\"]",
    "{\"player\": 1}",
    "\"text\"",
    "null",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
];

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let wasm: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let mut total = 0;
    for (target, seeds) in [
        ("ws_client_message", ws_client_message()),
        ("bsatn_value", bsatn_value()),
        ("module_def", module_def(&wasm)),
        ("sql_text", SQL.iter().map(|s| s.as_bytes().to_vec()).collect()),
        ("http_json_args", http_json_args()),
    ] {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        for seed in &seeds {
            let name = format!("seed-{}", &content_hash(seed)[..16]);
            std::fs::write(dir.join(name), seed).expect("write a seed");
        }
        println!("{target}: {} seeds", seeds.len());
        total += seeds.len();
    }
    println!("{total} seeds in {}", corpus.display());
}

/// A content hash for file names, without a new dependency: FNV-1a, twice with different
/// offsets, as 32 hex digits.
fn content_hash(bytes: &[u8]) -> String {
    let fnv = |seed: u64| {
        bytes
            .iter()
            .fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
    };
    format!("{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4))
}

fn ws_client_message() -> Vec<Vec<u8>> {
    let def = fixture::module_def();
    let mut messages = vec![
        ClientMessage::Subscribe(Subscribe {
            request_id: 1,
            query_set_id: QuerySetId { id: 1 },
            query_strings: vec!["SELECT * FROM user".into()],
        }),
        ClientMessage::Subscribe(Subscribe {
            request_id: 2,
            query_set_id: QuerySetId { id: 7 },
            query_strings: vec![
                "SELECT * FROM message WHERE sender = :sender".into(),
                "SELECT * FROM score".into(),
                "SELECT m.* FROM message m JOIN user u ON m.sender = u.identity".into(),
            ],
        }),
        ClientMessage::Subscribe(Subscribe {
            request_id: u32::MAX,
            query_set_id: QuerySetId { id: 0 },
            query_strings: vec![],
        }),
        ClientMessage::Unsubscribe(Unsubscribe {
            request_id: 3,
            query_set_id: QuerySetId { id: 1 },
            flags: UnsubscribeFlags::Default,
        }),
        ClientMessage::Unsubscribe(Unsubscribe {
            request_id: 4,
            query_set_id: QuerySetId { id: 7 },
            flags: UnsubscribeFlags::SendDroppedRows,
        }),
        ClientMessage::OneOffQuery(OneOffQuery {
            request_id: 5,
            query_string: "SELECT COUNT(*) AS n FROM score".into(),
        }),
        ClientMessage::OneOffQuery(OneOffQuery {
            request_id: 6,
            query_string: "SELECT * FROM \u{e9}t\u{e9}".into(),
        }),
        ClientMessage::CallProcedure(CallProcedure {
            request_id: 7,
            flags: CallFlags::Default,
            procedure: "fetch".into(),
            args: vec![],
        }),
    ];
    for (i, args) in [
        ("no_args", "[]"),
        ("send_message", "[\"hello\"]"),
        ("add_score", "[1, 2, -3, {\"green\": {}}]"),
        ("draw", "[[{\"circle\": 1.5}], {\"x\": 1, \"y\": 2}]"),
    ]
    .iter()
    .enumerate()
    {
        let (_, reducer) = def.reducer(args.0).expect("the fixture has the reducer");
        let params = T::Product(reducer.params.clone());
        let json: serde_json::Value = serde_json::from_str(args.1).expect("seed JSON parses");
        let value = value_from_json(&json, &params, &def.typespace).expect("seed arguments fit");
        messages.push(ClientMessage::CallReducer(CallReducer {
            request_id: 100 + i as u32,
            flags: CallFlags::Default,
            reducer: args.0.into(),
            args: value_to_vec(&value),
        }));
    }
    let mut seeds: Vec<Vec<u8>> = messages.iter().map(ClientMessage::to_bytes).collect();
    seeds.push(v3::encode_frame(&messages[..2]));
    seeds.push(v3::encode_frame(&messages[3..6]));
    seeds.push(v3::encode_frame(&messages));
    // Malformed frames the server must refuse: a bad tag, bad call flags, a truncated
    // message, a length prefix past the end, invalid UTF-8.
    seeds.push(vec![9]);
    let mut bad_flags = messages[8].to_bytes();
    bad_flags[5] = 1;
    seeds.push(bad_flags);
    let full = messages[1].to_bytes();
    seeds.push(full[..full.len() - 3].to_vec());
    seeds.push(vec![2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]);
    seeds.push(vec![2, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0x28]);
    seeds
}

fn bsatn_value() -> Vec<Vec<u8>> {
    let def = fixture::module_def();
    let mut seeds = Vec::new();
    // Every fixture table's rows, typed through the module's typespace.
    let mut ds = fixture::datastore();
    for table in &def.tables {
        let select = format!("SELECT * FROM {}", table.name);
        let outcome = spacetime_sql::execute(&select, &fixture::owner_auth(), fixture::catalog(), &mut ds)
            .expect("the fixture's tables read");
        for row in outcome.rows {
            let mut seed = to_vec(&def.typespace);
            T::Ref(table.product_type_ref).encode(&mut seed);
            row.encode(&mut seed);
            seeds.push(seed);
        }
    }
    // Each reducer's arguments, from JSON.
    for (name, args) in [
        ("every", EVERY_ARGS),
        ("add_score", "[1, 2, -3, {\"green\": {}}]"),
        (
            "draw",
            "[[{\"circle\": 1.5}, {\"poly\": [[0, 1], [2, 3]]}, {\"empty\": {}}], {\"x\": 1, \"y\": 2}]",
        ),
    ] {
        let (_, reducer) = def.reducer(name).expect("the fixture has the reducer");
        let params = T::Product(reducer.params.clone());
        let json: serde_json::Value = serde_json::from_str(args).expect("seed JSON parses");
        let value = value_from_json(&json, &params, &def.typespace).expect("seed arguments fit");
        let mut seed = to_vec(&def.typespace);
        params.encode(&mut seed);
        value.encode(&mut seed);
        seeds.push(seed);
    }
    // Primitives and structural types over an empty typespace, and a recursive list type.
    let empty = Typespace::default();
    let list = Typespace::new(vec![T::sum([
        ("Nil", T::unit()),
        (
            "Cons",
            T::product([("head", T::I32), ("tail", T::Ref(AlgebraicTypeRef(0)))]),
        ),
    ])]);
    let cases: Vec<(&Typespace, T, &str)> = vec![
        (&empty, T::Bool, "true"),
        (&empty, T::I8, "-128"),
        (&empty, T::U16, "65535"),
        (&empty, T::I32, "-1"),
        (&empty, T::U64, "18446744073709551615"),
        (&empty, T::I128, "\"-0x80000000000000000000000000000000\""),
        (&empty, T::U256, "\"0xffff\""),
        (&empty, T::F32, "0.1"),
        (&empty, T::F64, "\"NaN\""),
        (&empty, T::String, "\"h\u{e9}llo\""),
        (&empty, T::bytes(), "\"00ff\""),
        (&empty, T::array(T::unit()), "[[], [], []]"),
        (&empty, T::array(T::option(T::String)), "[null, {\"some\": \"x\"}]"),
        (&empty, T::result(T::U8, T::String), "{\"err\": \"no\"}"),
        (&empty, T::unit(), "{}"),
        (
            &empty,
            T::identity(),
            "\"0x00000000000000000000000000000000000000000000000000000000000000c2\"",
        ),
        (
            &empty,
            T::schedule_at(),
            "{\"Interval\": {\"__time_duration_micros__\": 5}}",
        ),
        (&empty, T::uuid(), "\"00000000-0000-0000-0000-000000000001\""),
        (
            &list,
            T::Ref(AlgebraicTypeRef(0)),
            "{\"Cons\": [1, {\"Cons\": [2, {\"Nil\": {}}]}]}",
        ),
    ];
    for (ts, ty, json) in cases {
        let json: serde_json::Value = serde_json::from_str(json).expect("seed JSON parses");
        let value = match value_from_json(&json, &ty, ts) {
            Ok(value) => value,
            Err(e) => panic!("seed value {json} does not fit {ty:?}: {e}"),
        };
        let mut seed = to_vec(ts);
        ty.encode(&mut seed);
        value.encode(&mut seed);
        seeds.push(seed);
    }
    seeds
}

fn module_def(wasm: &[PathBuf]) -> Vec<Vec<u8>> {
    let raw = fixture::raw_module_def();
    let mut seeds = vec![to_vec(&raw)];
    // Parts of the fixture: each section alone, and the fixture without each section.
    if let RawModuleDef::V10(v10) = &raw {
        for i in 0..v10.sections.len() {
            let mut only = v10.clone();
            only.sections = vec![v10.sections[i].clone()];
            seeds.push(to_vec(&RawModuleDef::V10(only)));
            let mut without = v10.clone();
            without.sections.remove(i);
            seeds.push(to_vec(&RawModuleDef::V10(without)));
        }
        // Invalid on purpose: a table listed twice, an empty module, an unknown section tag.
        let mut twice = v10.clone();
        if let Some(RawModuleDefV10Section::Tables(tables)) = twice
            .sections
            .iter_mut()
            .find(|s| matches!(s, RawModuleDefV10Section::Tables(_)))
        {
            let first = tables[0].clone();
            tables.push(first);
        }
        seeds.push(to_vec(&RawModuleDef::V10(twice)));
    }
    seeds.push(vec![2, 0, 0, 0, 0]);
    seeds.push(vec![2, 1, 0, 0, 0, 15]);
    seeds.push(vec![0]);
    for path in wasm {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        match spacetime_host::extract_raw_module_def(&bytes) {
            Ok(def) => seeds.push(to_vec(&def)),
            Err(e) => eprintln!("skipping {}: {e}", path.display()),
        }
    }
    seeds
}

fn http_json_args() -> Vec<Vec<u8>> {
    let def = fixture::module_def();
    let mut seeds: Vec<Vec<u8>> = JSON_BODIES.iter().map(|s| s.as_bytes().to_vec()).collect();
    // The server's own output for a full `every` call, which the input side must accept.
    let (_, every) = def.reducer("every").expect("the fixture has `every`");
    let params = T::Product(every.params.clone());
    let args = EVERY_ARGS;
    let json: serde_json::Value = serde_json::from_str(args).expect("seed JSON parses");
    let value = value_from_json(&json, &params, &def.typespace).expect("seed arguments fit `every`");
    seeds.push(args.as_bytes().to_vec());
    let printed = value_to_json(&value, &params, &def.typespace);
    seeds.push(printed.to_string().into_bytes());
    seeds
}
