use spacetimedb::{table, view, ScheduleAt, ViewContext};

#[table(accessor = job, scheduled(run_job))]
pub struct Job {
    #[primary_key]
    #[auto_inc]
    scheduled_id: u64,
    scheduled_at: ScheduleAt,
}

#[view(accessor = run_job, public)]
fn run_job(_ctx: &ViewContext, _job: Job) -> Vec<Job> {
    Vec::new()
}

fn main() {}
