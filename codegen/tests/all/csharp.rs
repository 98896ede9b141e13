//! C# output: golden files for both example modules (the chat client's committed bindings,
//! and `codegen/tests/golden/csharp/all-features/`, rewritten with `UPDATE_GOLDEN=1`) and
//! for the procedures module with views, a compile check of the generated code together
//! with `sdks/csharp` by Mono's `mcs` with warnings as errors, and the C#-specific errors.

use super::{
    assert_golden, codegen_dir, file, module_def, procedures_files, scratch_dir, with_compound_procedures, MODULES,
};
use spacetime_codegen::{generate, CSharp, CodegenError, Options, OutputFile};
use spacetime_sats::def::model::{ProcedureDef, ReducerDef};
use spacetime_sats::def::raw::FunctionVisibility;
use spacetime_sats::{AlgebraicType, ProductType};
use std::collections::BTreeSet;
use std::process::Command;

fn csharp_files(name: &str, options: &Options) -> Vec<OutputFile> {
    generate(&module_def(name), &CSharp::default(), options).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn csharp_output_matches_golden_files() {
    for module in MODULES {
        assert_golden("csharp", module, &csharp_files(module, &Options::default()));
    }
}

#[test]
fn chat_bindings_have_the_expected_files_and_names() {
    let files = csharp_files("quickstart-chat", &Options::default());
    let paths: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let expected = [
        "Reducers/SendMessage.g.cs",
        "Reducers/SetName.g.cs",
        "SpacetimeDBClient.g.cs",
        "Tables/Message.g.cs",
        "Tables/User.g.cs",
        "Types/Message.g.cs",
        "Types/User.g.cs",
    ];
    assert_eq!(paths, expected.into_iter().collect());
    let user = files.iter().find(|f| f.path == "Tables/User.g.cs").expect("user table");
    assert!(
        user.contents.contains(
            "public readonly SpacetimeDB.UniqueIndex<global::SpacetimeDB.Types.User, SpacetimeDB.Identity> Identity;"
        ),
        "{}",
        user.contents
    );
    assert!(
        user.contents.contains(".SetPrimaryKey(row => row.Identity)"),
        "{}",
        user.contents
    );
    let set_name = files
        .iter()
        .find(|f| f.path == "Reducers/SetName.g.cs")
        .expect("set_name");
    assert!(
        set_name
            .contents
            .contains("public System.Threading.Tasks.Task<ReducerEventContext> SetName(string name)"),
        "{}",
        set_name.contents
    );
    assert!(
        set_name.contents.contains("public event SetNameHandler OnSetName;"),
        "{}",
        set_name.contents
    );
}

/// Properties of option type hold `null` for none, and their docs say so; the others' do not.
#[test]
fn docs_say_which_properties_may_be_null() {
    let files = csharp_files("quickstart-chat", &Options::default());
    let user = files.iter().find(|f| f.path == "Types/User.g.cs").expect("user type");
    assert!(
        user.contents
            .contains("/// <summary>The field <c>name</c>. May be null.</summary>\n        public string Name"),
        "{}",
        user.contents
    );
    assert!(
        user.contents.contains(
            "/// <summary>The field <c>identity</c>.</summary>\n        public SpacetimeDB.Identity Identity"
        ),
        "{}",
        user.contents
    );
    let files = csharp_files("all-features", &Options::default());
    let every = files
        .iter()
        .find(|f| f.path == "Types/EveryType.g.cs")
        .expect("every type");
    let nullable = every.contents.matches("May be null.").count();
    let options = every.contents.matches("ReadOption").count();
    assert!(nullable >= 1 && nullable == options, "{}", every.contents);
}

#[test]
fn namespace_option_and_btree_filters() {
    let def = module_def("all-features");
    let files = generate(&def, &CSharp::new("Game.Net"), &Options::default()).expect("generates");
    assert!(
        files.iter().all(|f| f.contents.contains("namespace Game.Net\n")),
        "every file is in the namespace"
    );
    let player = files
        .iter()
        .find(|f| f.path == "Tables/Player.g.cs")
        .expect("player table");
    assert!(
        player
            .contents
            .contains("public readonly SpacetimeDB.BTreeIndex<global::Game.Net.Player, uint> Level;"),
        "{}",
        player.contents
    );
    assert!(
        player
            .contents
            .contains("public readonly SpacetimeDB.UniqueIndex<global::Game.Net.Player, string> Name;"),
        "{}",
        player.contents
    );
    // The multi-column btree index gets a Filter per prefix, with a range on the last column.
    for line in [
        "public readonly ByLevelAndScoreIndex ByLevelAndScore;",
        "ByLevelAndScore = new ByLevelAndScoreIndex(MakeBTreePrefixIndex(row => row.Level, row => row.Score));",
        "Filter(uint level) { return index.Filter(level); }",
        "Filter(SpacetimeDB.Range<uint> level) { return index.FilterRange(level); }",
        "Filter(uint level, SpacetimeDB.Range<",
    ] {
        assert!(player.contents.contains(line), "missing `{line}`:\n{}", player.contents);
    }
    // A hash index answers only whole keys, so it gets no prefix filter.
    assert!(!player.contents.contains("ByColorAndLevel"), "{}", player.contents);

    let err = generate(&def, &CSharp::new("Game Net"), &Options::default()).unwrap_err();
    assert!(matches!(err, CodegenError::Unsupported { lang: "C#", .. }), "{err}");
    assert!(err.to_string().contains("--namespace"), "{err}");
}

#[test]
fn an_option_of_an_option_is_a_named_error() {
    let mut def = module_def("quickstart-chat");
    def.reducers.push(ReducerDef {
        name: "odd".into(),
        source_name: "odd".into(),
        params: ProductType::named([("arg", AlgebraicType::option(AlgebraicType::option(AlgebraicType::U8)))]),
        visibility: FunctionVisibility::ClientCallable,
        lifecycle: None,
    });
    let err = generate(&def, &CSharp::default(), &Options::default()).unwrap_err();
    assert!(
        err.to_string().contains("field `arg` of `reducer odd`") && err.to_string().contains("option of an option"),
        "{err}"
    );
}

/// Compiles `sources` with mcs, warnings as errors, and fails with its output otherwise.
fn mcs(args: &[String], what: &str) {
    let output = Command::new("mcs")
        .args([
            "-warnaserror+",
            "-r:System.Numerics.dll",
            "-r:System.IO.Compression.dll",
        ])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run mcs ({e}): install Mono with scripts/install-deps.sh"));
    assert!(
        output.status.success(),
        "{what} does not compile with mcs:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn generated_csharp_compiles_with_mcs_and_warnings_as_errors() {
    let scratch = scratch_dir("codegen-csharp-check");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let sdk: Vec<String> = std::fs::read_dir(codegen_dir().join("../sdks/csharp/src"))
        .expect("sdks/csharp/src")
        .map(|e| e.expect("entry").path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".cs"))
        .collect();
    let dll = scratch.join("SpacetimeDB.ClientSDK.dll");
    let mut args = vec!["-target:library".to_owned(), format!("-out:{}", dll.display())];
    args.extend(sdk);
    mcs(&args, "the SDK");
    let mut chat_events = module_def("quickstart-chat");
    chat_events
        .tables
        .iter_mut()
        .filter(|t| t.name == "message")
        .for_each(|t| t.is_event = true);
    let sets = [
        ("chat", module_def("quickstart-chat"), Options::default()),
        ("chat_events", chat_events, Options::default()),
        ("all_features", module_def("all-features"), Options::default()),
        (
            "all_features_private",
            module_def("all-features"),
            Options { include_private: true },
        ),
        (
            "procedures",
            with_compound_procedures(),
            Options { include_private: true },
        ),
    ];
    for (name, def, options) in &sets {
        let dir = scratch.join(name);
        let mut args = vec![
            "-target:library".to_owned(),
            format!("-r:{}", dll.display()),
            format!("-out:{}.dll", dir.display()),
        ];
        let lang = CSharp::new(format!("Check.{name}"));
        for f in generate(def, &lang, options).unwrap_or_else(|e| panic!("{name}: {e}")) {
            let path = dir.join(&f.path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create dir");
            std::fs::write(&path, f.contents).expect("write generated file");
            args.push(path.to_string_lossy().into_owned());
        }
        mcs(&args, &format!("the generated bindings of {name}"));
    }
}

#[test]
fn procedures_and_views_match_golden_files() {
    assert_golden("csharp", "procedures", &procedures_files(&CSharp::default()));
}

#[test]
fn procedures_are_task_returning_methods_and_views_are_table_handles() {
    let files = procedures_files(&CSharp::default());
    let add = file(&files, "Procedures/Add.g.cs");
    assert!(
        add.contains("public System.Threading.Tasks.Task<uint> Add(uint a, uint b)"),
        "{add}"
    );
    assert!(add.contains("return Conn.Procedure(\"add\", w =>"), "{add}");
    assert!(add.contains("}, r => r.ReadU32());"), "{add}");
    let unit = file(&files, "Procedures/PanicInTx.g.cs");
    assert!(unit.contains("Task<SpacetimeDB.Unit> PanicInTx()"), "{unit}");
    // A scheduled procedure is private: clients cannot call it.
    assert!(!files.iter().any(|f| f.path == "Procedures/RunJob.g.cs"));

    let keyed = file(&files, "Views/RecentFetches.g.cs");
    assert!(
        keyed.contains("The cached rows of the view <c>recent_fetches</c>"),
        "{keyed}"
    );
    assert!(keyed.contains(".SetPrimaryKey(row => row.Id)"), "{keyed}");
    assert!(keyed.contains("public readonly SpacetimeDB.UniqueIndex<"), "{keyed}");
    let unkeyed = file(&files, "Views/MyLastBump.g.cs");
    assert!(!unkeyed.contains("SetPrimaryKey"), "{unkeyed}");
    assert!(!unkeyed.contains("UniqueIndex"), "{unkeyed}");
    let client = file(&files, "SpacetimeDBClient.g.cs");
    assert!(
        client.contains("RecentFetches = new RecentFetchesHandle(conn);"),
        "{client}"
    );
    assert!(
        client.contains("public RemoteProcedures Procedures { get; private set; }"),
        "{client}"
    );
    assert!(
        client.contains("Task<SpacetimeDB.QueryResult> Query(string sql) { return conn.Query(sql); }"),
        "contexts run one-off queries: {client}"
    );
}

#[test]
fn a_procedure_parameter_never_shadows_the_writer_or_reader() {
    let mut def = module_def("quickstart-chat");
    def.procedures.push(ProcedureDef {
        name: "clash".into(),
        source_name: "clash".into(),
        params: ProductType::named([
            ("w", AlgebraicType::U8),
            ("r", AlgebraicType::U8),
            ("r1", AlgebraicType::U8),
        ]),
        return_type: AlgebraicType::U8,
        visibility: FunctionVisibility::ClientCallable,
    });
    let files = generate(&def, &CSharp::default(), &Options::default()).expect("generates");
    let clash = file(&files, "Procedures/Clash.g.cs");
    assert!(clash.contains("Clash(byte w_, byte r_, byte r1_)"), "{clash}");
    assert!(clash.contains("w.WriteU8(w_);"), "{clash}");
}
