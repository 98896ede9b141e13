//! A reducer that never returns is stopped by the host's time budget; meanwhile other
//! databases keep answering, and afterwards the same database works again.

use crate::common::*;
use std::time::{Duration, Instant};

both_bindings!(fn runaway_reducer_is_stopped(bindings) {
    let fx = Fixture::new(RUNAWAY, bindings, "runaway");
    let other = fx.owner.publish(&fx.wasm, Some("bystander"));

    let spinner = {
        let cli = spacetime_testing::cli::Cli::new(&fx.server);
        std::fs::copy(fx.owner.config_path(), cli.config_path()).expect("share the owner's login");
        std::thread::spawn(move || cli.call("runaway", "spin", &[]))
    };
    // Until `spin` is stopped (after the host's time budget, seconds), another database
    // keeps answering: every call below must succeed, and many happen during the spin.
    let started = Instant::now();
    let mut bumps = 0;
    while !spinner.is_finished() {
        fx.owner.call(&other, "bump", &[]).ok();
        bumps += 1;
    }
    assert!(bumps >= 2, "only {bumps} calls completed while the runaway reducer ran");
    assert_eq!(fx.owner.sql(&other, "SELECT count FROM counter").ok().trimmed_stdout(), format!(" count\n-------\n {bumps}"));

    let spun = spinner.join().expect("the spinning call returns");
    assert!(!spun.success(), "the runaway call must fail: {}", spun.stdout);
    assert!(spun.stderr.contains("Error: "), "{}", spun.stderr);
    assert!(started.elapsed() < Duration::from_secs(120), "the runaway call took {:?}", started.elapsed());

    fx.call("bump", &[]).ok();
    assert_eq!(fx.sql("SELECT count FROM counter"), " count\n-------\n 1");
});
