#[derive(spacetimedb::EnvironmentValue)]
pub enum Mode {
    #[env(value = "fast")]
    Quick,
    #[env(value = "fast")]
    Rapid,
}

fn main() {}
