//! `config.toml` in the root directory: the server settings an operator writes once.
//!
//! Keys are kebab-case as in upstream's file; sections name their settings with a dot
//! (`[logs] level` is `logs.level`). Every value is turned into text here and parsed by
//! the same function as a flag or an environment variable, so a bad value reads the same
//! whatever its source. Upstream's `[logs] directives` list joins the level as one filter.
//! Sections upstream has and we have no use for (`[wasm]`, `[v8]`, ...) are skipped with a
//! warning, so upstream's file can be reused; any other unknown key is an error, since a
//! misspelt setting silently doing nothing is worse.

use super::settings::SettingsError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Upstream sections that configure parts we do not have.
const IGNORED_SECTIONS: [&str; 4] = ["wasm", "v8", "v8-heap-policy", "websocket"];

/// A loaded `config.toml`: each known key's value as text.
#[derive(Debug, Default)]
pub struct ConfigFile {
    /// The file (whether or not it exists).
    pub path: PathBuf,
    /// Whether the file exists.
    pub found: bool,
    /// Values by dotted key.
    pub values: BTreeMap<String, String>,
    /// What was skipped, to log once logging is set up.
    pub warnings: Vec<String>,
}

impl ConfigFile {
    /// Reads `path`, accepting the dotted keys in `known`. A missing file is an empty one.
    ///
    /// # Errors
    /// When the file cannot be read, is not TOML, or has a key not in `known` or a value
    /// that is not a string, number, boolean or list of strings.
    pub fn load(path: &Path, known: &[&str]) -> Result<Self, SettingsError> {
        let mut file = Self {
            path: path.to_owned(),
            ..Self::default()
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(file),
            Err(source) => {
                return Err(SettingsError::ReadFile {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        file.found = true;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| SettingsError::ParseFile {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        file.flatten("", &table, known)?;
        file.join_log_directives();
        Ok(file)
    }

    fn flatten(&mut self, prefix: &str, table: &toml::Table, known: &[&str]) -> Result<(), SettingsError> {
        for (name, value) in table {
            let key = format!("{prefix}{name}");
            if prefix.is_empty() && IGNORED_SECTIONS.contains(&name.as_str()) {
                self.warnings.push(format!(
                    "{}: section [{name}] configures a part of upstream SpacetimeDB this server does not have; it is \
                     ignored",
                    self.path.display()
                ));
                continue;
            }
            if let toml::Value::Table(inner) = value {
                if known.iter().any(|k| k.starts_with(&format!("{key}."))) {
                    self.flatten(&format!("{key}."), inner, known)?;
                    continue;
                }
            }
            if !known.contains(&key.as_str()) && key != LOG_DIRECTIVES {
                return Err(SettingsError::UnknownKey {
                    key,
                    path: self.path.clone(),
                    known: known.join(", "),
                });
            }
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| self.wrong_type(&key))?
                    .join(","),
                _ => return Err(self.wrong_type(&key)),
            };
            self.values.insert(key, text);
        }
        Ok(())
    }

    fn wrong_type(&self, key: &str) -> SettingsError {
        SettingsError::WrongType {
            key: key.to_owned(),
            path: self.path.clone(),
        }
    }

    /// Upstream's `[logs] directives = [...]` extends `[logs] level`: one filter.
    fn join_log_directives(&mut self) {
        if let Some(directives) = self.values.remove(LOG_DIRECTIVES) {
            let joined = match self.values.remove(LOG_LEVEL) {
                Some(level) if !directives.is_empty() => format!("{level},{directives}"),
                Some(level) => level,
                None => directives,
            };
            self.values.insert(LOG_LEVEL.to_owned(), joined);
        }
    }
}

const LOG_LEVEL: &str = "logs.level";
const LOG_DIRECTIVES: &str = "logs.directives";

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<ConfigFile, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        ConfigFile::load(&path, &["listen-addr", "logs.level", "logs.format", "snapshot-every"])
    }

    #[test]
    fn values_become_text_and_sections_dotted_keys() {
        let file = load("listen-addr = \"127.0.0.1:1\"\nsnapshot-every = 5\n[logs]\nformat = \"json\"\n").unwrap();
        assert!(file.found);
        assert_eq!(file.values["listen-addr"], "127.0.0.1:1");
        assert_eq!(file.values["snapshot-every"], "5");
        assert_eq!(file.values["logs.format"], "json");
    }

    #[test]
    fn upstreams_file_loads_with_its_directives_joined_and_other_sections_skipped() {
        let file = load(
            "[logs]\nlevel = \"ERROR\"\ndirectives = [\"spacetimedb=debug\", \"axum::rejection=trace\"]\n[wasm]\n\
             procedure-instance-pool-size = 8\n",
        )
        .unwrap();
        assert_eq!(
            file.values["logs.level"],
            "ERROR,spacetimedb=debug,axum::rejection=trace"
        );
        assert_eq!(file.warnings.len(), 1, "{:?}", file.warnings);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused() {
        let e = load("listen-adr = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("listen-adr") && e.contains("listen-addr"), "{e}");
        let e = load("[logs]\nlevel = { a = 1 }\n").unwrap_err().to_string();
        assert!(e.contains("logs.level"), "{e}");
        let e = load("listen-addr = ").unwrap_err().to_string();
        assert!(e.contains("not valid TOML"), "{e}");
    }

    #[test]
    fn a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::load(&dir.path().join("config.toml"), &[]).unwrap();
        assert!(!file.found && file.values.is_empty());
    }
}
