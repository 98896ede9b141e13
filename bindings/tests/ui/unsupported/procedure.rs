#[spacetimedb::procedure]
fn fetch(ctx: &mut spacetimedb::ProcedureContext) -> String {
    String::new()
}

fn main() {}
