//! The SQL settings (`SET row_limit = …`, upstream's `st_var`) kept across restarts: a
//! text file `sql-settings` in the database's replica directory, one `name = value` line
//! per setting, replaced whole (a temporary file, synced, renamed over it) on every
//! change, so a crash leaves the old settings or the new. A database without storage
//! keeps them in memory only. Not replicated: a cluster's new leader starts without them.

use spacetime_sql::vars::SqlVars;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The settings file of the database whose replica directory is `dir`.
pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join("sql-settings")
}

/// The settings stored in `file`: none if it does not exist. A file that cannot be read,
/// or a line that is not `name = number` for a setting upstream knows, is logged and
/// skipped, so a damaged file never keeps the database from starting.
pub(crate) fn load(file: &Path) -> SqlVars {
    let mut vars = SqlVars::default();
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return vars,
        Err(e) => {
            log::error!(
                "cannot read the SQL settings {}: {e}; starting without them",
                file.display()
            );
            return vars;
        }
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let parsed = line
            .split_once('=')
            .and_then(|(name, value)| Some((name.trim(), value.trim().parse::<u64>().ok()?)));
        let restored = parsed.map(|(name, value)| vars.restore(name, value));
        if !matches!(restored, Some(Ok(()))) {
            log::error!(
                "skipping `{line}` in the SQL settings {}: not `name = number` for a known setting",
                file.display()
            );
        }
    }
    vars
}

/// Writes `vars` as the settings in `file`.
///
/// # Errors
/// The temporary file could not be written, synced or renamed; `file` is then unchanged.
pub(crate) fn store(file: &Path, vars: &SqlVars) -> std::io::Result<()> {
    let text: String = vars.iter().map(|(name, value)| format!("{name} = {value}\n")).collect();
    let tmp = file.with_extension("tmp");
    let mut out = std::fs::File::create(&tmp)?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&tmp, file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_sats::Identity;
    use spacetime_sql::{SqlAuth, SqlError};

    fn set(vars: &mut SqlVars, name: &str, value: &str) -> Result<(), SqlError> {
        let owner = SqlAuth {
            caller: Identity::ZERO,
            owner: Identity::ZERO,
        };
        vars.set(name, &spacetime_sql::parse::SqlLit::Number(value.into()), &owner)
    }

    #[test]
    fn settings_survive_a_store_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path());
        assert_eq!(load(&file), SqlVars::default(), "no file: no settings");
        let mut vars = SqlVars::default();
        set(&mut vars, "row_limit", "1000").unwrap();
        set(&mut vars, "slow_tx_update_ms", "50").unwrap();
        store(&file, &vars).unwrap();
        assert_eq!(load(&file), vars);
        assert!(!file.with_extension("tmp").exists());
    }

    #[test]
    fn a_damaged_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path());
        std::fs::write(&file, "row_limit = 7\nrow_limit = many\nnot_a_setting = 3\ngarbage\n").unwrap();
        let vars = load(&file);
        assert_eq!(vars.iter().collect::<Vec<_>>(), [("row_limit", 7)]);
    }
}
