//! The `spacetime` binary: runs [`spacetime_cli::run`] and turns its outcome into an exit
//! code, printing a failure as `Error: …` on stderr (the form scripts and tests match on).

use std::process::ExitCode;

fn main() -> ExitCode {
    match spacetime_cli::run(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` keeps the whole context chain on one line: "what failed: why".
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
