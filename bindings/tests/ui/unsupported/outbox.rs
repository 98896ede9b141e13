use spacetimedb::{reducer, table, ReducerContext};

#[table(accessor = transfer, outbox(bank::deposit))]
pub struct Transfer {
    #[primary_key]
    #[auto_inc]
    id: u64,
}

#[reducer(on_result(transfer))]
fn deposited(_ctx: &ReducerContext) {}

fn main() {}
