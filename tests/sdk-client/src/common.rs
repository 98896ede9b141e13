//! What both test clients share: their command line and how they exit.

use std::process::ExitCode;
use std::time::Duration;

/// How long any one answer may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// The command line: `--uri URL --db NAME` and any other `--flag VALUE` pairs.
pub struct Args {
    args: Vec<String>,
}

impl Args {
    /// The value after `flag`, if given.
    pub fn value(&self, flag: &str) -> Option<String> {
        self.args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| self.args.get(i + 1))
            .cloned()
    }
}

/// Runs `run(uri, db, args)` with the process's arguments: exit 2 with `usage` when `--uri`
/// or `--db` is missing, 1 with the reason when `run` fails, 0 otherwise.
pub fn main_with(usage: &str, run: impl FnOnce(&str, &str, &Args) -> Result<(), String>) -> ExitCode {
    let args = Args {
        args: std::env::args().skip(1).collect(),
    };
    let (Some(uri), Some(db)) = (args.value("--uri"), args.value("--db")) else {
        eprintln!("usage: {usage}");
        return ExitCode::from(2);
    };
    match run(&uri, &db, &args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("Error: {message}");
            ExitCode::FAILURE
        }
    }
}
