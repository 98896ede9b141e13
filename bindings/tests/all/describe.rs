//! The module definition that `#[table]` and `#[reducer]` describe, built without a host.

use spacetimedb::rt::{describe_reducer, ModuleBuilder};
use spacetimedb::sats::def::raw::{
    ExplicitNameEntry, FunctionVisibility, Lifecycle, NameMapping, RawConstraintDataV9, RawIndexAlgorithm,
    RawIndexColumns, RawModuleDefV10Section as Section, RawScopedTypeNameV10, TableAccess,
};
use spacetimedb::sats::{AlgebraicType, AlgebraicTypeRef};
use spacetimedb::{reducer, table, Identity, ReducerContext, ScheduleAt, SpacetimeType};

#[derive(SpacetimeType)]
#[sats(name = "Shop.Price")]
pub struct Price {
    cents: u64,
}

#[derive(SpacetimeType, Clone, Copy)]
pub enum Kind {
    Tool,
    Toy,
}

#[table(accessor = item, public, name = "items",
        index(accessor = by_kind_and_price, name = "kind_price", btree(columns = [kind, price_cents])))]
pub struct Item {
    #[primary_key]
    #[auto_inc]
    id: u32,
    #[unique]
    #[index(hash)]
    sku: String,
    kind: Kind,
    price_cents: u64,
    price: Price,
    #[index(btree)]
    owner: Identity,
    #[default(7)]
    stock: u16,
}

#[table(accessor = job, scheduled(run_job))]
pub struct Job {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
}

#[reducer]
fn run_job(_ctx: &ReducerContext, _job: Job) {}

#[reducer(client_connected, name = "hello")]
fn connect(_ctx: &ReducerContext) {}

#[reducer]
fn buy(_ctx: &ReducerContext, sku: String, _: Price) -> Result<(), String> {
    Err(sku)
}

fn sections() -> Vec<Section> {
    // The host runs describers sorted by export name: buy, connect, item, job, run_job.
    let mut module = ModuleBuilder::default();
    describe_reducer::<buy>(&mut module);
    describe_reducer::<connect>(&mut module);
    module.add_table::<item__TableHandle>();
    module.add_table::<job__TableHandle>();
    describe_reducer::<run_job>(&mut module);
    module.finish().0.sections
}

#[test]
fn sections_appear_in_first_use_order() {
    let kinds: Vec<&str> = sections()
        .iter()
        .map(|s| match s {
            Section::Typespace(_) => "Typespace",
            Section::Types(_) => "Types",
            Section::Tables(_) => "Tables",
            Section::Reducers(_) => "Reducers",
            Section::Schedules(_) => "Schedules",
            Section::LifeCycleReducers(_) => "LifeCycleReducers",
            Section::ExplicitNames(_) => "ExplicitNames",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "Typespace",
            "Types",
            "Reducers",
            "ExplicitNames",
            "LifeCycleReducers",
            "Tables",
            "Schedules"
        ]
    );
}

#[test]
fn named_types_reserve_their_slot_before_their_fields() {
    let sections = sections();
    let Some(Section::Types(types)) = sections.iter().find(|s| matches!(s, Section::Types(_))) else {
        panic!("no Types section")
    };
    let names: Vec<(Vec<String>, String, u32, bool)> = types
        .iter()
        .map(|t| {
            (
                t.source_name.scope.clone(),
                t.source_name.source_name.clone(),
                t.ty.0,
                t.custom_ordering,
            )
        })
        .collect();
    // `buy` registers Price first; Item reserves slot 1 before Kind (2); Job is 3.
    assert_eq!(
        names,
        [
            (vec!["Shop".to_string()], "Price".to_string(), 0, true),
            (vec![], "Item".to_string(), 1, true),
            (vec![], "Kind".to_string(), 2, true),
            (vec![], "Job".to_string(), 3, true),
        ]
    );
    let Some(Section::Typespace(ts)) = sections.first() else {
        panic!("typespace first")
    };
    let item = ts.types[1].as_product().expect("Item is a product");
    assert_eq!(item.elements[2].algebraic_type, AlgebraicType::Ref(AlgebraicTypeRef(2)));
    assert_eq!(item.elements[4].algebraic_type, AlgebraicType::Ref(AlgebraicTypeRef(0)));
    assert_eq!(
        RawScopedTypeNameV10 {
            scope: vec![],
            source_name: "x".into()
        }
        .source_name,
        "x"
    );
}

#[test]
fn table_entry_mirrors_the_attributes() {
    let sections = sections();
    let Some(Section::Tables(tables)) = sections.iter().find(|s| matches!(s, Section::Tables(_))) else {
        panic!("no Tables section")
    };
    let item = &tables[0];
    assert_eq!(item.source_name, "item");
    assert_eq!(item.product_type_ref, AlgebraicTypeRef(1));
    assert_eq!(item.primary_key, [0]);
    assert_eq!(item.table_access, TableAccess::Public);
    let indexes: Vec<(Option<&str>, Option<&str>, &RawIndexAlgorithm)> = item
        .indexes
        .iter()
        .map(|i| (i.source_name.as_deref(), i.accessor_name.as_deref(), &i.algorithm))
        .collect();
    let btree = |c: &[u16]| RawIndexAlgorithm::BTree(RawIndexColumns { columns: c.to_vec() });
    let hash = |c: &[u16]| RawIndexAlgorithm::Hash(RawIndexColumns { columns: c.to_vec() });
    // Unique indexes first (the hash on `sku` serves its unique constraint; `id` gets an
    // implicit btree), then the others in declaration order.
    assert_eq!(
        indexes,
        [
            (Some("item_sku_idx_hash"), Some("sku"), &hash(&[1])),
            (Some("item_id_idx_btree"), Some("id"), &btree(&[0])),
            (
                Some("item_kind_price_cents_idx_btree"),
                Some("by_kind_and_price"),
                &btree(&[2, 3])
            ),
            (Some("item_owner_idx_btree"), Some("owner"), &btree(&[5])),
        ]
    );
    let unique: Vec<&[u16]> = item
        .constraints
        .iter()
        .map(|c| match &c.data {
            RawConstraintDataV9::Unique(u) => u.columns.as_slice(),
        })
        .collect();
    assert_eq!(unique, [&[0u16][..], &[1u16][..]]);
    assert!(item.constraints.iter().all(|c| c.source_name.is_none()));
    assert_eq!(item.sequences.len(), 1);
    assert_eq!(
        (
            item.sequences[0].column,
            item.sequences[0].increment,
            item.sequences[0].start
        ),
        (0, 1, None)
    );
    assert_eq!(item.default_values.len(), 1);
    assert_eq!(
        (item.default_values[0].col_id, item.default_values[0].value.as_slice()),
        (6, &[7u8, 0][..])
    );

    let job = &tables[1];
    assert_eq!(job.table_access, TableAccess::Private);
    let Some(Section::Schedules(schedules)) = sections.iter().find(|s| matches!(s, Section::Schedules(_))) else {
        panic!("no Schedules section")
    };
    assert_eq!(
        (
            schedules[0].table_name.as_str(),
            schedules[0].schedule_at_col,
            schedules[0].function_name.as_str()
        ),
        ("job", 1, "run_job")
    );
}

#[test]
fn reducers_lifecycles_and_explicit_names() {
    let sections = sections();
    let Some(Section::Reducers(reducers)) = sections.iter().find(|s| matches!(s, Section::Reducers(_))) else {
        panic!("no Reducers section")
    };
    let summary: Vec<(&str, FunctionVisibility, Vec<Option<&str>>)> = reducers
        .iter()
        .map(|r| {
            (
                r.source_name.as_str(),
                r.visibility.clone(),
                r.params.elements.iter().map(|e| e.name()).collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("buy", FunctionVisibility::ClientCallable, vec![Some("sku"), None]),
            ("connect", FunctionVisibility::Private, vec![]),
            ("run_job", FunctionVisibility::ClientCallable, vec![Some("_job")]),
        ]
    );
    assert!(reducers
        .iter()
        .all(|r| r.ok_return_type == AlgebraicType::unit() && r.err_return_type == AlgebraicType::String));
    let Some(Section::LifeCycleReducers(lc)) = sections.iter().find(|s| matches!(s, Section::LifeCycleReducers(_)))
    else {
        panic!("no LifeCycleReducers section")
    };
    assert_eq!(
        (lc[0].lifecycle_spec.clone(), lc[0].function_name.as_str()),
        (Lifecycle::OnConnect, "connect")
    );
    let Some(Section::ExplicitNames(names)) = sections.iter().find(|s| matches!(s, Section::ExplicitNames(_))) else {
        panic!("no ExplicitNames section")
    };
    let mapping = |s: &str, c: &str| NameMapping {
        source_name: s.into(),
        canonical_name: c.into(),
    };
    assert_eq!(
        names.entries,
        [
            ExplicitNameEntry::Function(mapping("connect", "hello")),
            ExplicitNameEntry::Table(mapping("item", "items")),
            ExplicitNameEntry::Index(mapping("item_kind_price_cents_idx_btree", "kind_price")),
        ]
    );
}

#[spacetimedb::client_visibility_filter]
const MY_ITEMS: spacetimedb::Filter = spacetimedb::Filter::Sql("SELECT * FROM items WHERE owner = :sender");

#[spacetimedb::client_visibility_filter]
const TOOLS: spacetimedb::Filter = spacetimedb::Filter::Sql("SELECT * FROM items WHERE price_cents > 100");

#[test]
fn visibility_filters_fill_the_row_level_security_section_in_registration_order() {
    assert_eq!(MY_ITEMS.sql_text(), "SELECT * FROM items WHERE owner = :sender");
    // The host calls the `__preinit__20_register_row_level_security_<const>` exports sorted
    // by name; natively, register them by hand in that order.
    spacetimedb::rt::register_row_level_security(MY_ITEMS.sql_text());
    spacetimedb::rt::register_row_level_security(TOOLS.sql_text());
    let (spacetimedb::sats::def::raw::RawModuleDef::V10(def), _) = spacetimedb::rt::build_module() else {
        panic!("the bindings build a V10 definition");
    };
    let rules: Vec<String> = def
        .sections
        .iter()
        .filter_map(|s| match s {
            Section::RowLevelSecurity(rules) => Some(rules.iter().map(|r| r.sql.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(
        rules,
        [
            "SELECT * FROM items WHERE owner = :sender",
            "SELECT * FROM items WHERE price_cents > 100"
        ]
    );
}
