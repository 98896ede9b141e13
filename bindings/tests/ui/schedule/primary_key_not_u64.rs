use spacetimedb::{reducer, ReducerContext, ScheduleAt};

#[spacetimedb::table(accessor = job, scheduled(run_job))]
struct Job {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u32,
    scheduled_at: ScheduleAt,
}

#[reducer]
fn run_job(_ctx: &ReducerContext, _job: Job) {}

fn main() {}
