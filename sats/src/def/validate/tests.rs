//! One failing definition per validation rule, checking the message, plus a valid module
//! checked for generated and canonical names.

use super::*;
use crate::def::model::IndexAlgorithm;
use crate::def::raw::*;
use crate::def::raw_v9::*;
use crate::{AlgebraicType as T, AlgebraicValue, ProductTypeElement};

/// A V10 module under construction.
#[derive(Default)]
struct Module {
    ts: Typespace,
    types: Vec<RawTypeDefV10>,
    tables: Vec<RawTableDefV10>,
    reducers: Vec<RawReducerDefV10>,
    schedules: Vec<RawScheduleDefV10>,
    lifecycles: Vec<RawLifeCycleReducerDefV10>,
    extra: Vec<RawModuleDefV10Section>,
}

fn cols(c: &[u16]) -> RawIndexAlgorithm {
    RawIndexAlgorithm::BTree(RawIndexColumns { columns: c.to_vec() })
}

fn unique(c: &[u16]) -> RawConstraintDefV10 {
    RawConstraintDefV10 {
        source_name: None,
        data: RawConstraintDataV9::Unique(RawUniqueConstraintDataV9 { columns: c.to_vec() }),
    }
}

impl Module {
    /// Adds a named type and returns its ref.
    fn add_type(&mut self, name: &str, ty: T) -> AlgebraicTypeRef {
        let r = self.ts.add(ty);
        self.types.push(RawTypeDefV10 {
            source_name: RawScopedTypeNameV10 {
                scope: vec![],
                source_name: name.to_owned(),
            },
            ty: r,
            custom_ordering: true,
        });
        r
    }

    /// Adds a table with a row type (named `Row`, scoped by the table) of the given columns;
    /// returns it for further edits.
    fn table(&mut self, name: &str, columns: Vec<(&str, T)>) -> &mut RawTableDefV10 {
        let r = self.ts.add(T::product(columns));
        self.types.push(RawTypeDefV10 {
            source_name: RawScopedTypeNameV10 {
                scope: vec![format!("t{}", self.tables.len())],
                source_name: "Row".into(),
            },
            ty: r,
            custom_ordering: true,
        });
        self.tables.push(RawTableDefV10 {
            source_name: name.to_owned(),
            product_type_ref: r,
            primary_key: vec![],
            indexes: vec![],
            constraints: vec![],
            sequences: vec![],
            table_type: TableType::User,
            table_access: TableAccess::Public,
            default_values: vec![],
            is_event: false,
        });
        self.tables.last_mut().expect("just pushed")
    }

    fn reducer(&mut self, name: &str, params: Vec<(&str, T)>) {
        self.reducers.push(RawReducerDefV10 {
            source_name: name.to_owned(),
            params: ProductType::named(params),
            visibility: FunctionVisibility::ClientCallable,
            ok_return_type: T::unit(),
            err_return_type: T::String,
        });
    }

    fn build(self) -> RawModuleDefV10 {
        let mut sections = vec![
            RawModuleDefV10Section::Typespace(self.ts),
            RawModuleDefV10Section::Types(self.types),
            RawModuleDefV10Section::Tables(self.tables),
            RawModuleDefV10Section::Reducers(self.reducers),
            RawModuleDefV10Section::Schedules(self.schedules),
            RawModuleDefV10Section::LifeCycleReducers(self.lifecycles),
        ];
        sections.extend(self.extra);
        RawModuleDefV10 { sections }
    }

    fn validate(self) -> Result<ModuleDef, ValidationErrors> {
        ModuleDef::try_from(self.build())
    }

    /// Validation must fail with exactly one error whose message contains every fragment.
    fn fails_with(self, fragments: &[&str]) {
        let errors = self.validate().expect_err("the definition must be rejected");
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 1, "expected one error, got {messages:#?}");
        for f in fragments {
            assert!(messages[0].contains(f), "{:?} does not contain {f:?}", messages[0]);
        }
    }
}

/// A table with a `u64` auto-inc primary key, as the Rust bindings emit it.
fn person(m: &mut Module) {
    let t = m.table("person", vec![("id", T::U64), ("name", T::String)]);
    t.primary_key = vec![0];
    t.constraints = vec![unique(&[0])];
    t.indexes = vec![RawIndexDefV10 {
        source_name: Some("person_id_idx_btree".into()),
        accessor_name: Some("id".into()),
        algorithm: cols(&[0]),
    }];
    t.sequences = vec![RawSequenceDefV10 {
        source_name: None,
        column: 0,
        start: None,
        min_value: None,
        max_value: None,
        increment: 1,
    }];
}

/// A scheduled table `tick` calling reducer `on_tick`.
fn scheduled(m: &mut Module, at_ty: T, id_ty: T) {
    let t = m.table("tick", vec![("scheduled_id", id_ty), ("scheduled_at", at_ty)]);
    t.primary_key = vec![0];
    t.constraints = vec![unique(&[0])];
    t.indexes = vec![RawIndexDefV10 {
        source_name: Some("tick_scheduled_id_idx_btree".into()),
        accessor_name: Some("scheduled_id".into()),
        algorithm: cols(&[0]),
    }];
    let row = t.product_type_ref;
    m.schedules.push(RawScheduleDefV10 {
        source_name: None,
        table_name: "tick".into(),
        schedule_at_col: 1,
        function_name: "on_tick".into(),
    });
    m.reducers.push(RawReducerDefV10 {
        source_name: "on_tick".into(),
        params: ProductType::named([("arg", T::Ref(row))]),
        visibility: FunctionVisibility::ClientCallable,
        ok_return_type: T::unit(),
        err_return_type: T::String,
    });
}

#[test]
fn valid_module_gets_generated_names_and_defaults() {
    let mut m = Module::default();
    person(&mut m);
    scheduled(&mut m, T::schedule_at(), T::U64);
    m.reducer("add", vec![("name", T::String)]);
    m.reducer("init", vec![]);
    m.lifecycles.push(RawLifeCycleReducerDefV10 {
        lifecycle_spec: Lifecycle::Init,
        function_name: "init".into(),
    });
    let def = m.validate().expect("valid");

    let person = def.table("person").expect("person");
    assert_eq!(
        person.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["id", "name"]
    );
    assert_eq!(person.row_type.elements.len(), 2);
    assert_eq!(person.primary_key, Some(ColId(0)));
    assert_eq!(person.indexes[0].name, "person_id_idx_btree");
    assert_eq!(
        person.indexes[0].algorithm,
        IndexAlgorithm::BTree {
            columns: vec![ColId(0)]
        }
    );
    assert_eq!(person.unique_constraints[0].name, "person_id_key");
    let seq = &person.sequences[0];
    assert_eq!(seq.name, "person_id_seq");
    assert_eq!((seq.min_value, seq.start, seq.max_value), (1, 1, i128::from(u64::MAX)));

    let tick = def.table("tick").expect("tick");
    let sched = tick.schedule.as_ref().expect("scheduled");
    assert_eq!(sched.name, "tick_sched");
    assert_eq!((sched.at_column, sched.id_column), (ColId(1), ColId(0)));
    assert_eq!(sched.function_name, "on_tick");

    let (_, on_tick) = def.reducer("on_tick").expect("on_tick");
    assert_eq!(on_tick.visibility, FunctionVisibility::Private);
    let (id, init) = def.lifecycle_reducer(Lifecycle::Init).expect("init");
    assert_eq!(
        (id.0, init.name.as_str(), &init.visibility),
        (2, "init", &FunctionVisibility::Private)
    );
    assert_eq!(
        def.reducer("add").map(|(_, r)| &r.visibility),
        Some(&FunctionVisibility::ClientCallable)
    );
}

#[test]
fn snake_case_policy_converts_names_and_explicit_names_win() {
    let mut m = Module::default();
    let status = m.add_type("status", T::simple_enum(["Active", "Gone"]));
    m.table("Person", vec![("userName", T::String), ("status", T::Ref(status))])
        .indexes = vec![RawIndexDefV10 {
        source_name: Some("Person_userName_idx_btree".into()),
        accessor_name: Some("by_name".into()),
        algorithm: cols(&[0]),
    }];
    m.table("Player2", vec![("x", T::U8)]);
    m.reducer("sendMessage", vec![("text", T::String)]);
    m.reducer("renamed", vec![]);
    m.extra.push(RawModuleDefV10Section::ExplicitNames(ExplicitNames {
        entries: vec![
            ExplicitNameEntry::Table(NameMapping {
                source_name: "Player2".into(),
                canonical_name: "players".into(),
            }),
            ExplicitNameEntry::Function(NameMapping {
                source_name: "renamed".into(),
                canonical_name: "Other".into(),
            }),
        ],
    }));
    let def = m.validate().expect("valid");
    let person = def.table("person").expect("snake_cased table");
    assert_eq!(person.accessor_name, "Person");
    assert_eq!(
        (
            person.columns[0].name.as_str(),
            person.columns[0].accessor_name.as_str()
        ),
        ("user_name", "userName")
    );
    assert_eq!(person.indexes[0].name, "person_user_name_idx_btree");
    assert_eq!(person.indexes[0].source_name, "Person_userName_idx_btree");
    assert!(person.index("Person_userName_idx_btree").is_some());
    assert_eq!(def.tables[1].name, "players");
    assert_eq!(def.reducers[0].name, "send_message");
    assert_eq!(def.reducers[0].source_name, "sendMessage");
    assert_eq!(def.reducers[1].name, "Other");
    assert_eq!(def.types[0].name, "Status");
    // Variants are camelCased in the validated typespace, as upstream does.
    let variants = def.typespace.get(status).and_then(T::as_sum).expect("sum");
    assert_eq!(variants.variants[0].name(), Some("active"));
}

#[test]
fn none_policy_keeps_names() {
    let mut m = Module::default();
    m.table("Person", vec![("userName", T::String)]);
    m.extra
        .push(RawModuleDefV10Section::CaseConversionPolicy(CaseConversionPolicy::None));
    let def = m.validate().expect("valid");
    assert_eq!(def.tables[0].name, "Person");
    assert_eq!(def.tables[0].columns[0].name, "userName");
}

#[test]
fn invalid_identifier() {
    let mut m = Module::default();
    m.table("1person", vec![("x", T::U8)]);
    m.fails_with(&["table `1person` is not a valid identifier", "must start with a letter"]);
}

#[test]
fn duplicate_table_names() {
    let mut m = Module::default();
    m.table("t", vec![("x", T::U8)]);
    m.tables.push(m.tables[0].clone());
    m.fails_with(&["`t` is used more than once among tables"]);
}

#[test]
fn duplicate_type_names() {
    let mut m = Module::default();
    m.add_type("Point", T::unit());
    m.add_type("Point", T::unit());
    m.fails_with(&["`Point` is used more than once among types"]);
}

#[test]
fn duplicate_reducer_names() {
    let mut m = Module::default();
    m.reducer("add", vec![]);
    m.reducer("add", vec![]);
    m.fails_with(&["`add` is used more than once among reducers"]);
}

#[test]
fn reserved_table_prefix() {
    let mut m = Module::default();
    m.table("st_mine", vec![("x", T::U8)]);
    m.fails_with(&["table `st_mine`", "reserved for system tables"]);
}

#[test]
fn unique_constraint_needs_an_index() {
    let mut m = Module::default();
    m.table("t", vec![("x", T::U8)]).constraints = vec![unique(&[0])];
    m.fails_with(&["unique constraint `t_x_key` on columns [x] has no index"]);
}

#[test]
fn primary_key_needs_a_unique_constraint() {
    let mut m = Module::default();
    let t = m.table("t", vec![("x", T::U8)]);
    t.primary_key = vec![0];
    m.fails_with(&["table `t`: primary key column `x` has no unique constraint"]);
}

#[test]
fn primary_key_has_one_column() {
    let mut m = Module::default();
    m.table("t", vec![("x", T::U8), ("y", T::U8)]).primary_key = vec![0, 1];
    m.fails_with(&["the primary key has 2 columns"]);
}

#[test]
fn sequence_needs_an_integer_column() {
    let mut m = Module::default();
    m.table("t", vec![("x", T::String)]).sequences = vec![RawSequenceDefV10 {
        source_name: None,
        column: 0,
        start: None,
        min_value: None,
        max_value: None,
        increment: 1,
    }];
    m.fails_with(&["sequence `t_x_seq` is on column `x` of type String", "integer column"]);
}

#[test]
fn sequence_range_is_ordered() {
    let mut m = Module::default();
    m.table("t", vec![("x", T::U32)]).sequences = vec![RawSequenceDefV10 {
        source_name: None,
        column: 0,
        start: Some(5),
        min_value: Some(10),
        max_value: None,
        increment: 1,
    }];
    m.fails_with(&["min_value <= start <= max_value", "min_value 10, start 5"]);
}

#[test]
fn schedule_needs_schedule_at_column() {
    let mut m = Module::default();
    scheduled(&mut m, T::U64, T::U64);
    m.fails_with(&["scheduled table `tick`: column 1 is not a `ScheduleAt`"]);
}

#[test]
fn schedule_needs_u64_primary_key() {
    let mut m = Module::default();
    scheduled(&mut m, T::schedule_at(), T::U32);
    m.fails_with(&["scheduled table `tick`: its primary key is missing or not a `u64`"]);
}

#[test]
fn scheduled_function_must_exist() {
    let mut m = Module::default();
    scheduled(&mut m, T::schedule_at(), T::U64);
    m.reducers.clear();
    m.fails_with(&["calls `on_tick`, but there is no reducer of that name"]);
}

#[test]
fn scheduled_function_takes_the_row() {
    let mut m = Module::default();
    scheduled(&mut m, T::schedule_at(), T::U64);
    m.reducers[0].params = ProductType::named([("x", T::U8)]);
    m.fails_with(&["reducer `on_tick`, which must take exactly one argument of the table's row type, but takes (U8)"]);
}

#[test]
fn lifecycle_reducer_must_exist() {
    let mut m = Module::default();
    m.lifecycles.push(RawLifeCycleReducerDefV10 {
        lifecycle_spec: Lifecycle::OnConnect,
        function_name: "hi".into(),
    });
    m.fails_with(&["lifecycle OnConnect names reducer `hi`, which does not exist"]);
}

#[test]
fn lifecycle_kind_at_most_once() {
    let mut m = Module::default();
    m.reducer("a", vec![]);
    m.reducer("b", vec![]);
    for f in ["a", "b"] {
        m.lifecycles.push(RawLifeCycleReducerDefV10 {
            lifecycle_spec: Lifecycle::Init,
            function_name: f.into(),
        });
    }
    m.fails_with(&["more than one reducer is marked Init"]);
}

#[test]
fn inline_product_columns_are_not_client_usable() {
    let mut m = Module::default();
    m.table("t", vec![("pos", T::product([("x", T::U8)]))]);
    m.fails_with(&["column `t.pos` has type { x: U8 }", "declare it as a named type"]);
}

#[test]
fn inline_enum_params_are_not_client_usable() {
    let mut m = Module::default();
    m.reducer("r", vec![("e", T::simple_enum(["A"]))]);
    m.fails_with(&["parameter `e` of reducer `r` has type enum { A }"]);
}

#[test]
fn unsorted_type_needs_custom_ordering() {
    let mut m = Module::default();
    m.add_type("Point", T::product([("y", T::U8), ("x", T::U8)]));
    m.types[0].custom_ordering = false;
    m.fails_with(&["type `Point` does not declare a custom ordering"]);
}

#[test]
fn direct_index_needs_small_unsigned_column() {
    let mut m = Module::default();
    m.table("t", vec![("s", T::String)]).indexes = vec![RawIndexDefV10 {
        source_name: Some("t_s_idx_direct".into()),
        accessor_name: None,
        algorithm: RawIndexAlgorithm::Direct(RawDirectIndexColumn { column: 0 }),
    }];
    m.fails_with(&["direct index `t_s_idx_direct` is on column `s` of type String"]);
}

#[test]
fn index_column_must_exist() {
    let mut m = Module::default();
    m.table("t", vec![("s", T::String)]).indexes = vec![RawIndexDefV10 {
        source_name: Some("i".into()),
        accessor_name: None,
        algorithm: cols(&[3]),
    }];
    m.fails_with(&["table `t`: index `t_col_3_idx_btree` refers to column 3, but the table has only 1 columns"]);
}

#[test]
fn default_values_decode_at_the_column_type() {
    let mut m = Module::default();
    m.table("t", vec![("x", T::U32)]).default_values = vec![RawColumnDefaultValueV10 {
        col_id: 0,
        value: vec![1],
    }];
    m.fails_with(&[
        "table `t`: the default value of column 0 is not a valid BSATN value",
        "unexpected end of input",
    ]);

    let mut m = Module::default();
    m.table("t", vec![("x", T::U32)]).default_values = vec![RawColumnDefaultValueV10 {
        col_id: 0,
        value: vec![7, 0, 0, 0],
    }];
    let def = m.validate().expect("valid");
    assert_eq!(def.tables[0].default_values, [(ColId(0), AlgebraicValue::U32(7))]);
}

#[test]
fn reducer_return_type_is_checked() {
    let mut m = Module::default();
    m.reducer("r", vec![]);
    m.reducers[0].err_return_type = T::U32;
    m.fails_with(&["reducer `r` returns Result<(), U32>"]);
}

#[test]
fn unnamed_columns_and_params_are_rejected() {
    let mut m = Module::default();
    let r = m.add_type(
        "t",
        T::Product(ProductType::new(vec![ProductTypeElement::unnamed(T::U8)])),
    );
    m.table("u", vec![]).product_type_ref = r;
    m.fails_with(&["table `u`: column 0 has no name"]);
}

fn procedure(name: &str, params: Vec<(&str, T)>, return_type: T) -> RawModuleDefV10Section {
    RawModuleDefV10Section::Procedures(vec![RawProcedureDefV10 {
        source_name: name.into(),
        params: ProductType::named(params),
        return_type,
        visibility: FunctionVisibility::ClientCallable,
    }])
}

#[test]
fn procedures_are_validated_and_kept() {
    let mut m = Module::default();
    m.extra
        .push(procedure("fetchPage", vec![("url", T::String)], T::option(T::U8)));
    let def = m.validate().expect("a procedure is accepted");
    let (id, p) = def.procedure("fetch_page").expect("found by canonical name");
    assert_eq!((id, p.source_name.as_str()), (0, "fetchPage"));
    assert_eq!(
        def.procedure("fetchPage").map(|(id, _)| id),
        Some(0),
        "and by source name"
    );
    assert_eq!(p.return_type, T::option(T::U8));
}

#[test]
fn procedures_share_the_function_namespace() {
    let mut m = Module::default();
    m.reducer("fetch", vec![]);
    m.extra.push(procedure("fetch", vec![], T::unit()));
    m.fails_with(&["fetch"]);
}

#[test]
fn procedure_parameters_must_be_named() {
    let mut m = Module::default();
    m.extra
        .push(RawModuleDefV10Section::Procedures(vec![RawProcedureDefV10 {
            source_name: "fetch".into(),
            params: ProductType::new(vec![ProductTypeElement::unnamed(T::U8)]),
            return_type: T::unit(),
            visibility: FunctionVisibility::ClientCallable,
        }]));
    m.fails_with(&["procedure `fetch`: parameter 0 has no name"]);
}

#[test]
fn unsupported_features_are_named() {
    let mut m = Module::default();
    m.extra.push(RawModuleDefV10Section::Submodules(vec![RawSubmoduleV10 {
        namespace: "inner".into(),
        module: RawModuleDefV10 { sections: vec![] },
    }]));
    m.fails_with(&["submodule `inner`: submodules are not supported by this server"]);
}

fn http_handlers(names: &[&str]) -> RawModuleDefV10Section {
    RawModuleDefV10Section::HttpHandlers(
        names
            .iter()
            .map(|n| RawHttpHandlerDefV10 {
                source_name: (*n).into(),
            })
            .collect(),
    )
}

fn http_routes(routes: &[(&str, MethodOrAny, &str)]) -> RawModuleDefV10Section {
    RawModuleDefV10Section::HttpRoutes(
        routes
            .iter()
            .map(|(handler, method, path)| RawHttpRouteDefV10 {
                handler_function: (*handler).into(),
                method: method.clone(),
                path: (*path).into(),
            })
            .collect(),
    )
}

#[test]
fn http_handlers_and_routes_validate_and_match_strictly() {
    let mut m = Module::default();
    m.extra.push(http_handlers(&["root", "slash", "foo", "any"]));
    m.extra.push(http_routes(&[
        ("root", MethodOrAny::Method(HttpMethod::Get), ""),
        ("slash", MethodOrAny::Method(HttpMethod::Get), "/"),
        ("foo", MethodOrAny::Method(HttpMethod::Get), "/foo"),
        ("foo", MethodOrAny::Method(HttpMethod::Post), "/foo"),
        ("any", MethodOrAny::Any, "/any"),
    ]));
    let def = m.validate().expect("valid");
    let handler = |method: HttpMethod, path: &str| def.match_http_route(&method, path).map(|(_, h)| h.name.as_str());
    assert_eq!(handler(HttpMethod::Get, ""), Some("root"));
    assert_eq!(handler(HttpMethod::Get, "/"), Some("slash"));
    assert_eq!(handler(HttpMethod::Post, "/foo"), Some("foo"));
    assert_eq!(handler(HttpMethod::Get, "/foo/"), None);
    assert_eq!(handler(HttpMethod::Get, "//foo"), None);
    assert_eq!(handler(HttpMethod::Delete, "/foo"), None);
    assert_eq!(handler(HttpMethod::Extension("PURGE".into()), "/any"), Some("any"));
    assert_eq!(
        def.match_http_route(&HttpMethod::Put, "/any").map(|(id, _)| id),
        Some(3)
    );
}

#[test]
fn bad_http_routes_are_named() {
    let mut m = Module::default();
    m.extra.push(http_handlers(&["h", "h"]));
    m.extra.push(http_routes(&[
        ("h", MethodOrAny::Method(HttpMethod::Get), "foo"),
        ("h", MethodOrAny::Method(HttpMethod::Get), "/Foo.css"),
        ("missing", MethodOrAny::Any, "/x"),
        ("h", MethodOrAny::Method(HttpMethod::Put), "/y"),
        ("h", MethodOrAny::Any, "/y"),
    ]));
    let errors = m.validate().expect_err("the definition must be rejected");
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let expected = [
        "HTTP handler `h` is defined twice",
        "HTTP route \"foo\": it must be empty (the root) or start with `/`",
        "HTTP route \"/Foo.css\": it holds 'F'",
        "HTTP route \"/x\" names handler `missing`, which is not an HTTP handler",
        "HTTP route \"/y\": any method overlaps the route for PUT",
    ];
    assert_eq!(messages.len(), expected.len(), "{messages:#?}");
    for (message, fragment) in messages.iter().zip(expected) {
        assert!(message.contains(fragment), "{message:?} does not contain {fragment:?}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut m = Module::default();
    m.table("st_x", vec![("x", T::U8)]);
    m.table("2y", vec![("y", T::U8)]);
    m.reducer("r", vec![]);
    m.reducer("r", vec![]);
    let errors = m.validate().expect_err("invalid");
    assert_eq!(errors.0.len(), 3, "{errors}");
    let text = errors.to_string();
    assert!(
        text.starts_with("invalid module definition (3 problems):\n- "),
        "{text}"
    );
    assert!(
        text.contains("st_x") && text.contains("2y") && text.contains("`r`"),
        "{text}"
    );
}

#[test]
fn every_type_reference_must_resolve() {
    // Found by the `module_def` fuzz target: a column whose type held a dangling reference
    // passed validation, and the datastore then refused the table at publish.
    let mut m = Module::default();
    m.table("t", vec![("c", T::option(T::Ref(AlgebraicTypeRef(99))))]);
    m.fails_with(&["typespace entry &0 refers to type &99", "has 1 entries"]);

    let mut m = Module::default();
    m.reducer("r", vec![("p", T::array(T::Ref(AlgebraicTypeRef(7))))]);
    m.fails_with(&["reducer `r` refers to type &7", "has 0 entries"]);
}

#[test]
fn v8_is_rejected() {
    let err = ModuleDef::from_raw(RawModuleDef::V8BackCompat(RawModuleDefV8Placeholder {})).expect_err("V8");
    assert!(err.to_string().contains("rebuild the module"), "{err}");
}

#[test]
fn v9_keeps_names_and_reads_inline_schedule_and_lifecycle() {
    let mut ts = Typespace::default();
    let row = ts.add(T::product([("scheduledId", T::U64), ("at", T::schedule_at())]));
    let def = RawModuleDefV9 {
        typespace: ts,
        tables: vec![RawTableDefV9 {
            name: "Tick".into(),
            product_type_ref: row,
            primary_key: vec![0],
            indexes: vec![RawIndexDefV9 {
                name: None,
                accessor_name: None,
                algorithm: cols(&[0]),
            }],
            constraints: vec![RawConstraintDefV9 {
                name: Some("my_key".into()),
                data: RawConstraintDataV9::Unique(RawUniqueConstraintDataV9 { columns: vec![0] }),
            }],
            sequences: vec![],
            schedule: Some(RawScheduleDefV9 {
                name: None,
                reducer_name: "fire".into(),
                scheduled_at_column: 1,
            }),
            table_type: TableType::User,
            table_access: TableAccess::Private,
        }],
        reducers: vec![
            RawReducerDefV9 {
                name: "fire".into(),
                params: ProductType::named([("t", T::Ref(row))]),
                lifecycle: None,
            },
            RawReducerDefV9 {
                name: "onConnect".into(),
                params: ProductType::unit(),
                lifecycle: Some(Lifecycle::OnConnect),
            },
        ],
        types: vec![],
        misc_exports: vec![],
        row_level_security: vec![],
    };
    let def = ModuleDef::from_raw(RawModuleDef::V9(def)).expect("valid");
    let t = &def.tables[0];
    assert_eq!((t.name.as_str(), t.columns[0].name.as_str()), ("Tick", "scheduledId"));
    assert_eq!(t.indexes[0].name, "Tick_scheduledId_idx_btree");
    assert_eq!(t.unique_constraints[0].name, "my_key");
    assert_eq!(t.schedule.as_ref().map(|s| s.name.as_str()), Some("Tick_sched"));
    assert_eq!(
        def.lifecycle_reducer(Lifecycle::OnConnect)
            .map(|(id, r)| (id.0, r.name.as_str())),
        Some((1, "onConnect"))
    );
}

#[test]
fn environment_declarations_are_validated_and_kept() {
    let mut m = Module::default();
    m.extra.push(RawModuleDefV10Section::Environment(vec![
        RawEnvironmentDeclarationV10 {
            name: "API_KEY".into(),
            ty: RawEnvVarTypeV10::String,
            optional: false,
        },
        RawEnvironmentDeclarationV10 {
            name: "LEVEL".into(),
            ty: RawEnvVarTypeV10::Union(vec!["debug".into(), "info".into()]),
            optional: true,
        },
    ]));
    let def = m.validate().expect("valid declarations");
    assert_eq!(def.environment.len(), 2);
    let level = def.environment_key("LEVEL").expect("declared");
    assert_eq!(
        (level.optional, level.allowed.clone()),
        (true, Some(vec!["debug".into(), "info".into()]))
    );
    assert_eq!(def.environment_key("API_KEY").and_then(|k| k.allowed.clone()), None);

    let mut bad = Module::default();
    bad.extra.push(RawModuleDefV10Section::Environment(vec![
        RawEnvironmentDeclarationV10 {
            name: "1BAD-KEY".into(),
            ty: RawEnvVarTypeV10::String,
            optional: false,
        },
    ]));
    bad.fails_with(&["environment key `1BAD-KEY`", "must start with an ASCII letter"]);
}

#[test]
fn outbox_tables_are_refused_by_name() {
    let mut m = Module::default();
    m.extra.push(RawModuleDefV10Section::Outboxes(vec![RawOutboxDefV10 {
        table_name: "to_bank".into(),
        remote_reducer: "deposit".into(),
        target_column: 0,
        arg_columns: vec![1],
        on_result_reducer: None,
        signature_hash: RawHashV10 { data: [7; 32] },
    }]));
    m.fails_with(&["outbox table `to_bank`: outbox tables are not supported by this server"]);
}
