use spacetimedb::{procedure, ProcedureContext};

#[procedure]
async fn fetch(_ctx: &mut ProcedureContext) -> u32 {
    1
}

fn main() {}
