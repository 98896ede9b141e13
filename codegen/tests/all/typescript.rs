//! The TypeScript output for each example module must equal its golden copies exactly (the
//! Node and web chat clients' committed bindings, and
//! `codegen/tests/golden/typescript/all-features/`, which `UPDATE_GOLDEN=1` rewrites), and
//! has the accessors the module's indexes call for. `scripts/test-typescript.sh` checks
//! the same output with `tsc --strict`.

use super::{assert_golden, file, module_def, MODULES};
use spacetime_codegen::{generate, Options, OutputFile, TypeScript};
use spacetime_sats::def::model::{ModuleDef, ReducerDef};
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::{AlgebraicType, ProductType};

fn ts_files_of(def: &ModuleDef, options: &Options) -> Vec<OutputFile> {
    generate(def, &TypeScript, options).unwrap_or_else(|e| panic!("{e}"))
}

fn ts_files(name: &str) -> Vec<OutputFile> {
    ts_files_of(&module_def(name), &Options::default())
}

#[test]
fn typescript_output_matches_golden_files() {
    for module in MODULES {
        assert_golden("typescript", module, &ts_files(module));
    }
}

#[test]
fn chat_bindings_have_the_expected_files_and_api() {
    let files = ts_files("quickstart-chat");
    let mut paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "index.ts",
            "message_table.ts",
            "message_type.ts",
            "send_message_reducer.ts",
            "set_name_reducer.ts",
            "user_table.ts",
            "user_type.ts",
        ]
    );
    let user = file(&files, "user_type.ts");
    assert!(user.contains("identity: __sdk.Identity;"), "{user}");
    assert!(user.contains("name: string | undefined;"), "{user}");
    let table = file(&files, "user_table.ts");
    assert!(
        table.contains("extends __sdk.TableHandleWithUpdate<User, EventContext>"),
        "{table}"
    );
    assert!(
        table.contains("readonly identity: __sdk.UniqueIndex<User, __sdk.Identity>"),
        "{table}"
    );
    assert!(table.contains("primaryKey: 'identity',"), "{table}");
    let message = file(&files, "message_table.ts");
    assert!(
        message.contains("extends __sdk.TableHandle<Message, EventContext>"),
        "{message}"
    );
    let index = file(&files, "index.ts");
    assert!(
        index.contains("sendMessage(args: SendMessageArgs): Promise<void>"),
        "{index}"
    );
    assert!(
        index.contains("this.conn.callReducer('send_message', SendMessageArgs, args)"),
        "{index}"
    );
    assert!(index.contains("static builder()"), "{index}");
}

#[test]
fn indexes_get_find_and_filter_and_wide_integers_are_bigint() {
    let files = ts_files("all-features");
    let player = file(&files, "player_table.ts");
    assert!(
        player.contains("readonly level: __sdk.BtreeIndex<Player, number> = this.btree('level', __sdk.t.u32());"),
        "{player}"
    );
    assert!(
        player.contains("readonly color: __sdk.BtreeIndex<Player, Color>"),
        "{player}"
    );
    assert!(player.contains("import { Color } from './color_type.js';"), "{player}");
    assert!(
        player.contains("readonly name: __sdk.UniqueIndex<Player, string>"),
        "{player}"
    );
    // The multi-column btree index filters by a prefix, the last column maybe a range; the
    // hash index answers only whole keys, so it gets no prefix filter.
    assert!(
        player.contains(
            "readonly byLevelAndScore: __sdk.BtreePrefixIndex<Player, [number] | [__sdk.Range<number>] | [number, "
        ),
        "{player}"
    );
    assert!(
        player.contains("this.btreePrefix(['level', 'score'], [__sdk.t.u32(), "),
        "{player}"
    );
    assert!(!player.contains("byColorAndLevel"), "{player}");
    let every = file(&files, "every_type_type.ts");
    for line in [
        "aU64: bigint;",
        "aI128: bigint;",
        "aU256: bigint;",
        "aU32: number;",
        "aBytes: Uint8Array;",
    ] {
        assert!(every.contains(line), "{line} in {every}");
    }
    let shape = file(&files, "shape_type.ts");
    assert!(shape.contains("| { tag: '"), "{shape}");
    // A renamed reducer is called by its wire name through its source name.
    assert!(file(&files, "index.ts")
        .contains("roll(): Promise<void> {\n    return this.conn.callReducer('roll_die', RollArgs, {});"));
}

#[test]
fn nested_options_stay_apart() {
    let mut def = module_def("quickstart-chat");
    def.reducers.push(ReducerDef {
        name: "odd".into(),
        source_name: "odd".into(),
        params: ProductType::named([("arg", AlgebraicType::option(AlgebraicType::option(AlgebraicType::U64)))]),
        visibility: FunctionVisibility::ClientCallable,
        lifecycle: None,
    });
    let files = ts_files_of(&def, &Options::default());
    let odd = file(&files, "odd_reducer.ts");
    assert!(odd.contains("arg: __sdk.NestedOption<bigint | undefined>;"), "{odd}");
    assert!(
        odd.contains("__sdk.t.nestedOption(__sdk.t.option(__sdk.t.u64()))"),
        "{odd}"
    );
}

#[test]
fn event_tables_have_no_indexes_and_no_updates() {
    let mut def = module_def("quickstart-chat");
    def.tables
        .iter_mut()
        .filter(|t| t.name == "message")
        .for_each(|t| t.is_event = true);
    def.tables
        .iter_mut()
        .filter(|t| t.name == "user")
        .for_each(|t| t.is_event = true);
    let files = ts_files_of(&def, &Options::default());
    let user = file(&files, "user_table.ts");
    assert!(user.contains("isEvent: true,"), "{user}");
    assert!(user.contains("uniqueColumns: [],"), "{user}");
    assert!(!user.contains("primaryKey"), "{user}");
    assert!(user.contains("extends __sdk.TableHandle<User, EventContext>"), "{user}");
    assert!(!user.contains("UniqueIndex"), "{user}");
}
