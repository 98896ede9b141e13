#![allow(non_snake_case)]

#[derive(spacetimedb::EnvironmentValue)]
pub enum Mode {
    Fast,
    #[env(value = "slow and steady")]
    Slow,
}

#[spacetimedb::env]
pub struct Env {
    pub PORT: u16,
    #[env(values("a", "b"))]
    pub MODE: Mode,
}

fn main() {}
