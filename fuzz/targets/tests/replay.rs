//! Replays every committed fuzz input as a regression test: each file of
//! `fuzz/corpus/<target>/` (seeds and what fuzzing kept) and `fuzz/regressions/<target>/`
//! (inputs that once crashed) runs through the same function the fuzz target calls, so a
//! change that breaks one fails the normal test run without a fuzzer.

use spacetime_fuzz_targets::{run, TARGETS};
use std::path::{Path, PathBuf};

/// The fewest seed inputs a target's corpus may have: an emptied corpus must fail here,
/// not pass by replaying nothing.
const MIN_SEEDS: usize = 20;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in fuzz/targets")
        .to_path_buf()
}

/// The files of `dir`, sorted; none if it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("corpus directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `target`, naming the file of the first that fails.
fn replay(target: &str) {
    let corpus = inputs(&fuzz_dir().join("corpus").join(target));
    assert!(
        corpus.len() >= MIN_SEEDS,
        "fuzz/corpus/{target} has {} inputs, expected at least {MIN_SEEDS}: regenerate the seeds with \
         `cargo run -p spacetime-fuzz-targets --example seed_corpus`",
        corpus.len()
    );
    let regressions = inputs(&fuzz_dir().join("regressions").join(target));
    for path in corpus.iter().chain(&regressions) {
        let data = match std::fs::read(path) {
            Ok(data) => data,
            // A fuzzer running on the same corpus replaces inputs as it shrinks them.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        };
        let outcome = std::panic::catch_unwind(|| run(target, &data));
        match outcome {
            Ok(known) => assert!(known, "no fuzz target called {target}"),
            Err(_) => panic!("{target} fails on {}", path.display()),
        }
    }
}

#[test]
fn every_target_has_a_corpus_directory_and_nothing_else_is_there() {
    for entry in std::fs::read_dir(fuzz_dir().join("corpus")).expect("fuzz/corpus exists") {
        let name = entry.expect("corpus entry").file_name();
        let name = name.to_string_lossy();
        assert!(TARGETS.contains(&&*name), "fuzz/corpus/{name} belongs to no target");
    }
}

#[test]
fn ws_client_message_corpus() {
    replay("ws_client_message");
}

#[test]
fn bsatn_value_corpus() {
    replay("bsatn_value");
}

#[test]
fn module_def_corpus() {
    replay("module_def");
}

#[test]
fn sql_text_corpus() {
    replay("sql_text");
}

#[test]
fn http_json_args_corpus() {
    replay("http_json_args");
}
