//! SpacetimeDB 2.14's additions to the module API, in one module that builds against our
//! bindings and against the crates.io `spacetimedb = "=2.14.0"` crate
//! (`tests/fixtures/upstream-2.14/env-views`), so that the twin test can compare the two
//! definitions: an `#[env]` declaration with every kind of key (required, optional,
//! `values(..)` unions and a single literal, an `EnvironmentValue` enum, a hand-written
//! `EnvironmentValue`, the reserved `get`), and views that take parameters after their
//! context and read the environment.

#![allow(non_snake_case)]

use spacetimedb::{
    reducer, table, view, AnonymousViewContext, EnvironmentValue, Identity, ReducerContext, SpacetimeType, Table,
    ViewContext,
};

/// A key whose values are the variants' strings.
#[derive(EnvironmentValue, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    #[env(value = "free")]
    Free,
    #[env(value = "paid plan")]
    Paid,
    Trial,
}

/// A hand-written environment value type, through the paths SpacetimeDB's crate has.
pub struct Port(pub u16);

impl spacetimedb::rt::EnvironmentValue for Port {
    const OPTIONAL: bool = false;

    fn constraint() -> spacetimedb::spacetimedb_lib::db::raw_def::v10::RawEnvVarTypeV10 {
        spacetimedb::spacetimedb_lib::db::raw_def::v10::RawEnvVarTypeV10::String
    }

    fn from_environment(value: Option<String>, key: &str) -> Self {
        match value.map(|v| v.parse()) {
            Some(Ok(port)) => Port(port),
            _ => panic!("environment key {key} is not a port"),
        }
    }
}

impl spacetimedb::rt::RequiredEnvironmentValue for Port {}

/// The keys this module reads.
#[spacetimedb::env]
pub struct Env {
    pub GREETING: String,
    pub SUFFIX: Option<String>,
    #[env(values("on", "off"))]
    pub FEATURE: String,
    #[env(values("only"))]
    pub SINGLE: Option<String>,
    pub TIER: Option<Tier>,
    pub PORT: Option<Port>,
    pub get: Option<String>,
}

/// Notes, read by the views.
#[table(accessor = note, public)]
pub struct Note {
    #[primary_key]
    #[auto_inc]
    pub id: u64,
    #[index(btree)]
    pub owner: Identity,
    #[index(btree)]
    pub score: u32,
    pub text: String,
}

/// A view's own row type.
#[derive(SpacetimeType)]
pub struct Greeting {
    pub text: String,
    pub tier: String,
}

/// An anonymous view with a parameter.
#[view(accessor = notes_above, public)]
pub fn notes_above(ctx: &AnonymousViewContext, min_score: u32) -> Vec<Note> {
    ctx.db.note().score().filter(min_score..).collect()
}

/// A per-caller view with two parameters and a primary key.
#[view(accessor = my_note, public, primary_key = id)]
pub fn my_note(ctx: &ViewContext, text: String, min_score: u32) -> Option<Note> {
    ctx.db
        .note()
        .owner()
        .filter(ctx.sender())
        .find(|n| n.text == text && n.score >= min_score)
}

/// An anonymous view that reads the environment.
#[view(accessor = greeting, name = "greeting_v1", public)]
pub fn greeting(ctx: &AnonymousViewContext) -> Option<Greeting> {
    let tier = match ctx.env.TIER() {
        Some(Tier::Free) => "free",
        Some(Tier::Paid) => "paid",
        Some(Tier::Trial) => "trial",
        None => "none",
    };
    Some(Greeting {
        text: format!("{}{}", ctx.env.GREETING(), ctx.env.SUFFIX().unwrap_or_default()),
        tier: tier.to_owned(),
    })
}

/// Adds a note for the caller, with the environment's feature switch in its text.
#[reducer]
pub fn add_note(ctx: &ReducerContext, score: u32, text: String) {
    let feature = ctx.env.FEATURE();
    let single = ctx.env.SINGLE().is_some();
    let raw = ctx.env.get("GREETING").unwrap_or_default();
    let port = ctx.env.PORT().map_or(0, |p| p.0);
    log::info!("port {port}");
    log::info!("feature {feature}, single {single}, greeting {raw}");
    ctx.db.note().insert(Note {
        id: 0,
        owner: ctx.sender(),
        score,
        text,
    });
}
