//! One test per automatic step and per refusal, over definitions built by hand.

use crate::{plan, Refusal, Step};
use spacetime_sats::def::model::*;
use spacetime_sats::def::raw::{CaseConversionPolicy, FunctionVisibility, Lifecycle, TableAccess, TableType};
use spacetime_sats::{AlgebraicType as T, AlgebraicTypeRef, AlgebraicValue, ColId, ProductType, Typespace};

/// A table of `columns` with nothing else.
fn table(name: &str, columns: &[(&str, T)]) -> TableDef {
    TableDef {
        name: name.into(),
        accessor_name: name.into(),
        product_type_ref: AlgebraicTypeRef(0),
        row_type: ProductType::named(columns.iter().map(|(n, t)| (*n, t.clone()))),
        columns: columns
            .iter()
            .enumerate()
            .map(|(i, (n, t))| ColumnDef {
                col_id: ColId(i as u16),
                name: (*n).into(),
                accessor_name: (*n).into(),
                ty: t.clone(),
            })
            .collect(),
        primary_key: None,
        indexes: vec![],
        unique_constraints: vec![],
        sequences: vec![],
        schedule: None,
        table_type: TableType::User,
        access: TableAccess::Public,
        is_event: false,
        default_values: vec![],
    }
}

fn module(tables: Vec<TableDef>) -> ModuleDef {
    ModuleDef {
        typespace: Typespace::default(),
        types: vec![],
        tables,
        reducers: vec![],
        procedures: vec![],
        environment: vec![],
        http_handlers: vec![],
        http_routes: vec![],
        views: vec![],
        case_conversion_policy: CaseConversionPolicy::SnakeCase,
        row_level_security: vec![],
    }
}

fn reducer(name: &str, params: &[(&str, T)]) -> ReducerDef {
    ReducerDef {
        name: name.into(),
        source_name: name.into(),
        params: ProductType::named(params.iter().map(|(n, t)| (*n, t.clone()))),
        visibility: FunctionVisibility::ClientCallable,
        lifecycle: None,
    }
}

fn btree(name: &str, cols: &[u16]) -> IndexDef {
    IndexDef {
        name: name.into(),
        source_name: name.into(),
        accessor_name: None,
        algorithm: IndexAlgorithm::BTree {
            columns: cols.iter().map(|c| ColId(*c)).collect(),
        },
    }
}

fn unique(name: &str, cols: &[u16]) -> UniqueConstraintDef {
    UniqueConstraintDef {
        name: name.into(),
        columns: cols.iter().map(|c| ColId(*c)).collect(),
    }
}

fn sequence(column: u16, start: i128) -> SequenceDef {
    SequenceDef {
        name: "seq".into(),
        column: ColId(column),
        start,
        min_value: 1,
        max_value: i128::from(u32::MAX),
        increment: 1,
    }
}

/// The base table every test edits: `person(id: u32, name: string)`.
fn person() -> TableDef {
    table("person", &[("id", T::U32), ("name", T::String)])
}

/// The steps of migrating `old` to `new`, which must be automatic.
fn steps(old: Vec<TableDef>, new: Vec<TableDef>) -> Vec<Step> {
    match plan(&module(old), &module(new)) {
        Ok(plan) => plan.steps,
        Err(refusals) => panic!("refused: {refusals}"),
    }
}

/// The refusals of migrating `old` to `new`, which must be refused.
fn refusals(old: Vec<TableDef>, new: Vec<TableDef>) -> Vec<Refusal> {
    match plan(&module(old), &module(new)) {
        Ok(plan) => panic!("planned: {plan:?}"),
        Err(refusals) => refusals.0,
    }
}

#[test]
fn unchanged_module_is_an_empty_plan() {
    let p = plan(&module(vec![person()]), &module(vec![person()])).expect("plan");
    assert!(p.is_empty());
    assert!(!p.breaks_clients());
    assert_eq!(p.summary(), "no schema change");
}

#[test]
fn add_and_remove_table() {
    let other = table("pet", &[("id", T::U32)]);
    assert_eq!(
        steps(vec![person()], vec![person(), other.clone()]),
        vec![Step::AddTable { table: "pet".into() }]
    );
    assert_eq!(
        steps(vec![person(), other], vec![person()]),
        vec![Step::RemoveTable { table: "pet".into() }]
    );
}

#[test]
fn add_remove_and_redefine_index() {
    let mut indexed = person();
    indexed.indexes.push(btree("person_name_idx_btree", &[1]));
    assert_eq!(
        steps(vec![person()], vec![indexed.clone()]),
        vec![Step::AddIndex {
            table: "person".into(),
            index: "person_name_idx_btree".into()
        }]
    );
    assert_eq!(
        steps(vec![indexed.clone()], vec![person()]),
        vec![Step::RemoveIndex {
            table: "person".into(),
            index: "person_name_idx_btree".into()
        }]
    );
    // Same name, other kind: dropped first, then made again.
    let mut hashed = person();
    hashed.indexes.push(IndexDef {
        algorithm: IndexAlgorithm::Hash {
            columns: vec![ColId(1)],
        },
        ..btree("person_name_idx_btree", &[1])
    });
    let s = steps(vec![indexed], vec![hashed]);
    assert!(
        matches!(s.as_slice(), [Step::RemoveIndex { .. }, Step::AddIndex { .. }]),
        "{s:?}"
    );
}

#[test]
fn unique_constraints_added_after_a_check_or_removed() {
    let mut keyed = person();
    keyed.unique_constraints.push(unique("person_name_key", &[1]));
    let added = steps(vec![person()], vec![keyed.clone()]);
    assert_eq!(
        added,
        vec![Step::AddUniqueConstraint {
            table: "person".into(),
            constraint: "person_name_key".into(),
            columns: vec!["name".into()]
        }]
    );
    assert!(added[0].to_string().contains("existing rows are checked"));
    assert_eq!(
        steps(vec![keyed], vec![person()]),
        vec![Step::RemoveUniqueConstraint {
            table: "person".into(),
            constraint: "person_name_key".into()
        }]
    );
}

#[test]
fn sequences_added_removed_or_redefined() {
    let mut counted = person();
    counted.sequences.push(sequence(0, 1));
    assert_eq!(
        steps(vec![person()], vec![counted.clone()]),
        vec![Step::AddSequence {
            table: "person".into(),
            column: "id".into()
        }]
    );
    assert_eq!(
        steps(vec![counted.clone()], vec![person()]),
        vec![Step::RemoveSequence {
            table: "person".into(),
            column: "id".into()
        }]
    );
    let mut restarted = person();
    restarted.sequences.push(sequence(0, 100));
    let s = steps(vec![counted], vec![restarted]);
    assert!(
        matches!(s.as_slice(), [Step::RemoveSequence { .. }, Step::AddSequence { .. }]),
        "{s:?}"
    );
}

#[test]
fn schedules_added_removed_or_retargeted() {
    let base = table("tick", &[("id", T::U64), ("at", T::schedule_at())]);
    let scheduled = |reducer: &str| {
        let mut t = base.clone();
        t.schedule = Some(ScheduleDef {
            name: "tick_sched".into(),
            function_name: reducer.into(),
            at_column: ColId(1),
            id_column: ColId(0),
        });
        t
    };
    assert_eq!(
        steps(vec![base.clone()], vec![scheduled("run")]),
        vec![Step::AddSchedule {
            table: "tick".into(),
            reducer: "run".into()
        }]
    );
    assert_eq!(
        steps(vec![scheduled("run")], vec![base.clone()]),
        vec![Step::RemoveSchedule {
            table: "tick".into(),
            reducer: "run".into()
        }]
    );
    assert_eq!(
        steps(vec![scheduled("run")], vec![scheduled("walk")]),
        vec![
            Step::RemoveSchedule {
                table: "tick".into(),
                reducer: "run".into()
            },
            Step::AddSchedule {
                table: "tick".into(),
                reducer: "walk".into()
            }
        ]
    );
}

#[test]
fn access_and_primary_key_changes() {
    let mut private = person();
    private.access = TableAccess::Private;
    let s = steps(vec![person()], vec![private.clone()]);
    assert_eq!(
        s,
        vec![Step::ChangeAccess {
            table: "person".into(),
            public: false
        }]
    );
    assert_eq!(s[0].to_string(), "make table `person` private");
    let mut keyed = person();
    keyed.primary_key = Some(ColId(0));
    let mut rekeyed = person();
    rekeyed.primary_key = Some(ColId(1));
    let s = steps(vec![keyed], vec![rekeyed]);
    assert_eq!(
        s,
        vec![Step::ChangePrimaryKey {
            table: "person".into(),
            old: Some("id".into()),
            new: Some("name".into())
        }]
    );
    assert_eq!(
        s[0].to_string(),
        "change the primary key of table `person` from `id` to `name`"
    );
}

#[test]
fn enum_gaining_variants_at_the_end_is_layout_compatible() {
    let color = |names: &[&str]| T::simple_enum(names.iter().copied());
    let old = table("paint", &[("id", T::U32), ("color", color(&["Red", "Green"]))]);
    let new = table("paint", &[("id", T::U32), ("color", color(&["Red", "Green", "Blue"]))]);
    let s = steps(vec![old.clone()], vec![new]);
    assert!(
        matches!(&s[..], [Step::ChangeColumnTypes { table, columns }] if table == "paint" && columns[0].0 == "color"),
        "{s:?}"
    );
    // Nested in an Option and an array, still compatible.
    let nested = |names: &[&str]| T::array(T::option(color(names)));
    let s = steps(
        vec![table("paint", &[("c", nested(&["Red"]))])],
        vec![table("paint", &[("c", nested(&["Red", "Blue"]))])],
    );
    assert!(matches!(&s[..], [Step::ChangeColumnTypes { .. }]), "{s:?}");
    // No client breaks: old rows read the same.
    assert!(!s.contains(&Step::DisconnectAllClients));
}

#[test]
fn refs_are_followed_across_typespaces() {
    let mut old = module(vec![table("paint", &[("color", T::Ref(AlgebraicTypeRef(0)))])]);
    old.typespace.add(T::simple_enum(["Red"]));
    let mut new = module(vec![table("paint", &[("color", T::Ref(AlgebraicTypeRef(1)))])]);
    new.typespace.add(T::U8);
    new.typespace.add(T::simple_enum(["Red", "Blue"]));
    let p = plan(&old, &new).expect("plan");
    let [Step::ChangeColumnTypes { columns, .. }] = &p.steps[..] else {
        panic!("{p:?}")
    };
    assert_eq!(columns[0].1, "enum { Red }");
    assert_eq!(columns[0].2, "enum { Red | Blue }");
}

#[test]
fn event_tables_change_freely() {
    let mut old = table("hit", &[("x", T::U32)]);
    old.is_event = true;
    let mut new = table("hit", &[("y", T::String), ("z", T::U8)]);
    new.is_event = true;
    assert_eq!(
        steps(vec![old], vec![new]),
        vec![Step::ReschemaEventTable { table: "hit".into() }]
    );
}

#[test]
fn reducers_added_removed_and_changed_are_reported() {
    let mut old = module(vec![]);
    old.reducers = vec![reducer("say", &[("text", T::String)]), reducer("gone", &[])];
    let mut new = module(vec![]);
    let mut init = reducer("init", &[]);
    init.lifecycle = Some(Lifecycle::Init);
    new.reducers = vec![reducer("say", &[("text", T::String), ("loud", T::Bool)]), init];
    let p = plan(&old, &new).expect("plan");
    assert_eq!(
        p.steps,
        vec![
            Step::AddReducer { reducer: "init".into() },
            Step::RemoveReducer { reducer: "gone".into() },
            Step::ChangeReducer {
                reducer: "say".into(),
                change: "its parameters changed from (text: String) to (text: String, loud: Bool)".into()
            },
        ]
    );
}

#[test]
fn add_columns_with_defaults_breaks_clients() {
    let mut new = table("person", &[("id", T::U32), ("name", T::String), ("age", T::U8)]);
    new.default_values.push((ColId(2), AlgebraicValue::U8(18)));
    let p = plan(&module(vec![person()]), &module(vec![new])).expect("plan");
    assert!(p.breaks_clients());
    assert_eq!(
        p.steps,
        vec![
            Step::AddColumns {
                table: "person".into(),
                columns: vec![("age".into(), "U8".into(), "18".into())]
            },
            Step::DisconnectAllClients
        ]
    );
    assert!(p.summary().contains("needs --break-clients"), "{}", p.summary());
}

#[test]
fn add_column_without_default_is_refused() {
    let new = table("person", &[("id", T::U32), ("name", T::String), ("age", T::U8)]);
    let r = refusals(vec![person()], vec![new]);
    assert_eq!(
        r,
        vec![Refusal::AddColumnWithoutDefault {
            table: "person".into(),
            column: "age".into(),
            ty: "U8".into()
        }]
    );
    let message = r[0].to_string();
    assert!(message.contains("`age` (U8)") && message.contains("`person`") && message.contains("#[default"));
}

#[test]
fn remove_column_is_refused_naming_its_type() {
    let r = refusals(vec![person()], vec![table("person", &[("id", T::U32)])]);
    assert_eq!(
        r,
        vec![Refusal::RemoveColumn {
            table: "person".into(),
            column: "name".into(),
            ty: "String".into()
        }]
    );
}

#[test]
fn reorder_and_a_column_added_in_the_middle_are_refused() {
    let swapped = table("person", &[("name", T::String), ("id", T::U32)]);
    let r = refusals(vec![person()], vec![swapped]);
    assert_eq!(
        r,
        vec![Refusal::ReorderColumns {
            table: "person".into(),
            old: "id, name".into(),
            new: "name, id".into()
        }]
    );
    let mut middle = table("person", &[("id", T::U32), ("age", T::U8), ("name", T::String)]);
    middle.default_values.push((ColId(1), AlgebraicValue::U8(0)));
    let r = refusals(vec![person()], vec![middle]);
    assert!(matches!(&r[..], [Refusal::ReorderColumns { .. }]), "{r:?}");
}

#[test]
fn other_type_changes_are_refused_naming_both_types() {
    let r = refusals(
        vec![person()],
        vec![table("person", &[("id", T::U64), ("name", T::String)])],
    );
    let [Refusal::ChangeColumnType {
        table,
        column,
        old,
        new,
        ..
    }] = &r[..]
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        (&table[..], &column[..], &old[..], &new[..]),
        ("person", "id", "U32", "U64")
    );
    assert!(r[0].to_string().contains("from U32 to U64"), "{}", r[0]);
}

#[test]
fn enums_losing_or_renaming_variants_are_refused() {
    let paint = |names: &[&str]| table("paint", &[("color", T::simple_enum(names.iter().copied()))]);
    let r = refusals(vec![paint(&["Red", "Green"])], vec![paint(&["Red"])]);
    assert!(r[0].to_string().contains("lost variants"), "{}", r[0]);
    let r = refusals(vec![paint(&["Red", "Green"])], vec![paint(&["Red", "Blue", "Green"])]);
    assert!(r[0].to_string().contains("renamed or moved"), "{}", r[0]);
}

#[test]
fn every_refusal_is_reported_at_once() {
    let mut old_pet = table("pet", &[("id", T::U32)]);
    old_pet.is_event = false;
    let mut new_pet = old_pet.clone();
    new_pet.is_event = true;
    let r = refusals(
        vec![person(), old_pet],
        vec![table("person", &[("id", T::I32), ("age", T::U8)]), new_pet],
    );
    assert_eq!(r.len(), 4, "{r:?}");
    let text = crate::Refusals(r).to_string();
    for part in ["`id`", "`name`", "`age`", "into an event table"] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
}

#[test]
fn table_type_change_is_refused() {
    let mut system = person();
    system.table_type = TableType::System;
    let r = refusals(vec![person()], vec![system]);
    assert_eq!(r, vec![Refusal::ChangeTableType { table: "person".into() }]);
}

#[test]
fn removals_come_before_additions() {
    let mut old = person();
    old.indexes.push(btree("a", &[0]));
    let mut new = person();
    new.indexes.push(btree("b", &[1]));
    new.access = TableAccess::Private;
    let s = steps(vec![old], vec![new, table("pet", &[("id", T::U32)])]);
    let kinds: Vec<_> = s.iter().map(Step::kind).collect();
    assert_eq!(kinds, vec!["remove_index", "add_table", "add_index", "change_access"]);
}

#[test]
fn procedures_added_removed_and_changed_are_reported() {
    let procedure = |name: &str, ret: T| ProcedureDef {
        name: name.into(),
        source_name: name.into(),
        params: ProductType::named([("x", T::U32)]),
        return_type: ret,
        visibility: FunctionVisibility::ClientCallable,
    };
    let mut old = module(vec![]);
    old.procedures = vec![procedure("fetch", T::String), procedure("gone", T::unit())];
    let mut new = module(vec![]);
    new.procedures = vec![procedure("fetch", T::U64), procedure("fresh", T::unit())];
    let p = plan(&old, &new).expect("procedures never refuse");
    let what: Vec<String> = p.steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        what,
        vec![
            "add procedure `fresh`",
            "change procedure `fetch`: it now takes (x: U32) and returns U64",
            "remove procedure `gone`",
        ]
    );
    assert!(!p.breaks_clients());
}

#[test]
fn routes_added_removed_and_pointed_at_another_handler_are_listed() {
    use spacetime_sats::def::raw::{HttpMethod, MethodOrAny};
    let handlers = |names: &[&str]| -> Vec<HttpHandlerDef> {
        names.iter().map(|n| HttpHandlerDef { name: (*n).into() }).collect()
    };
    let route = |method: MethodOrAny, path: &str, handler_id: u32| HttpRouteDef {
        method,
        path: path.into(),
        handler_id,
    };
    let get = || MethodOrAny::Method(HttpMethod::Get);
    let mut old = module(vec![]);
    old.http_handlers = handlers(&["hello", "count", "legacy"]);
    old.http_routes = vec![
        route(get(), "/hello", 0),
        route(get(), "/count", 1),
        route(MethodOrAny::Any, "/old", 2),
    ];
    let mut new = module(vec![]);
    // Handler ids move with the handler list: only names matter.
    new.http_handlers = handlers(&["count", "hello", "tally"]);
    new.http_routes = vec![
        route(get(), "/hello", 1),
        route(get(), "/count", 2),
        route(MethodOrAny::Method(HttpMethod::Post), "/hello", 1),
        route(get(), "", 0),
    ];
    let p = plan(&old, &new).expect("routes never refuse");
    let what: Vec<String> = p.steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        what,
        vec![
            "remove HTTP route any `/route/old` (handler `legacy`)",
            "add HTTP route GET `/route` (handler `count`)",
            "add HTTP route POST `/route/hello` (handler `hello`)",
            "change HTTP route GET `/route/count`: handler `count` -> `tally`",
        ]
    );
    assert!(!p.breaks_clients());
    assert!(plan(&old, &old).expect("same module").is_empty());
}

#[test]
fn views_added_removed_and_redefined_are_listed() {
    let view = |name: &str, anonymous: bool, columns: &[(&str, T)]| {
        let t = table(name, columns);
        ViewDef {
            name: name.into(),
            source_name: name.into(),
            index: 0,
            is_public: true,
            is_anonymous: anonymous,
            returns_option: false,
            returns_query: false,
            params: ProductType::named([]),
            product_type_ref: AlgebraicTypeRef(0),
            row_type: t.row_type,
            columns: t.columns,
            primary_key: None,
        }
    };
    let with_rows = |columns: &[(&str, T)], views: Vec<ViewDef>| {
        let mut def = module(vec![]);
        def.typespace = Typespace::new(vec![T::Product(ProductType::named(
            columns.iter().map(|(n, t)| (*n, t.clone())),
        ))]);
        def.views = views;
        def
    };
    let row = [("id", T::U64)];
    let old = with_rows(
        &row,
        vec![
            view("mine", false, &row),
            view("gone", true, &row),
            view("same", true, &row),
        ],
    );
    let mut keyed = view("mine", true, &row);
    keyed.primary_key = Some(ColId(0));
    keyed.returns_option = true;
    keyed.is_public = false;
    let new = with_rows(&row, vec![keyed, view("same", true, &row), view("fresh", false, &row)]);
    let p = plan(&old, &new).expect("views never refuse");
    let what: Vec<String> = p.steps.iter().map(ToString::to_string).collect();
    assert_eq!(
        what,
        vec![
            "remove view `gone`",
            "add view `fresh`",
            "change view `mine`: it is now anonymous (was per caller); it now returns Option (was Vec); it is now \
             private; its primary key changed from none to `id`",
        ]
    );
    // A changed row type is named with both types.
    let wider = [("id", T::U64), ("name", T::String)];
    let new = with_rows(&wider, vec![view("mine", false, &wider)]);
    let old = with_rows(&row, vec![view("mine", false, &row)]);
    let p = plan(&old, &new).expect("views never refuse");
    assert_eq!(p.steps.len(), 1, "{p:?}");
    let text = p.steps[0].to_string();
    assert!(text.starts_with("change view `mine`: its rows changed from "), "{text}");
    assert!(text.contains("name"), "{text}");
}
