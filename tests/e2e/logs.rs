//! `spacetime logs`: text and JSON output, `-n`, and level filtering (upstream's
//! `logs_level_filter` tests).

use crate::common::*;

both_bindings!(fn logs_formats_and_levels(bindings) {
    let fx = Fixture::new(BASIC, bindings, "basic-db");
    fx.call("log_levels", &[]).ok();
    let all = fx.logs(1000);
    assert!(in_order(&all, &["level trace", "level debug", "level info", "level warn", "level error"]), "{all:?}");

    let level = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["logs", "--format=json"];
        full.extend_from_slice(args);
        full.push(&fx.name);
        let out = fx.owner.run(&full).ok();
        out.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|r| r["message"].as_str().map(str::to_owned))
            .filter(|m| m.starts_with("level "))
            .collect()
    };
    assert_eq!(level(&["--level", "warn"]), ["level warn", "level error"]);
    assert_eq!(level(&["--level", "info", "--level-exact"]), ["level info"]);
    assert_eq!(level(&[]).len(), 5);

    let last_two = fx.owner.run(&["logs", "--format=json", "-n", "2", &fx.name]).ok();
    assert_eq!(last_two.stdout.lines().count(), 2, "{}", last_two.stdout);

    let text = fx.owner.run(&["logs", &fx.name]).ok();
    let warn_line = text.stdout.lines().find(|l| l.contains("level warn")).expect("the warn line");
    assert!(warn_line.contains(" WARN: "), "text lines carry the level: {warn_line}");
    assert!(warn_line.contains("lib.rs:"), "text lines carry the file and line: {warn_line}");
});

both_bindings!(fn logs_follow_streams_new_lines(bindings) {
    use std::process::Command;
    use std::time::Duration;

    let fx = Fixture::new(BASIC, bindings, "basic-db");
    let mut command = Command::new(spacetime_testing::server::spacetime_bin());
    command.arg("--config-path").arg(fx.owner.config_path());
    command.args(["logs", "--server", fx.owner.server_url(), "--format=json", "-f", &fx.name]);
    let mut follower = ClientProcess::start(command);
    // Each call adds a line; calling until one shows up does not depend on when the
    // stream was opened.
    poll(
        "`logs -f` to print the reducer's new line",
        CLIENT_DEADLINE,
        || {
            fx.call("say_hello", &[]).ok();
            spacetime_testing::wait::until(Duration::from_millis(200), || follower.has_printed("Hello, World!").then_some(()))
        },
        || follower.output(),
    );
    assert!(follower.is_running(), "`logs -f` keeps running:\n{}", follower.output());
});
