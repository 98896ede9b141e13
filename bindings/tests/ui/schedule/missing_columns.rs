use spacetimedb::{reducer, ReducerContext};

#[spacetimedb::table(accessor = job, scheduled(run_job))]
struct Job {
    payload: String,
}

#[reducer]
fn run_job(_ctx: &ReducerContext, _job: Job) {}

fn main() {}
