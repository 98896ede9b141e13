//! The project file, `spacetime.json`: what database a project publishes to, from which
//! module, on which server, and where its client bindings go. Upstream's format (kebab-case
//! keys):
//!
//! ```json
//! {
//!   "database": "my-game",
//!   "server": "local",
//!   "module-path": "./spacetimedb",
//!   "generate": [{ "language": "typescript", "out-dir": "./client/src/module_bindings" }],
//!   "dev": { "run": "npm run dev" }
//! }
//! ```
//!
//! It is found in the current directory or the nearest parent; paths in it are relative to
//! its directory. A command-line argument always wins over the file, and the global
//! `--no-config` ignores it. A malformed file is an error naming the file and the field.

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The project file's name.
pub const FILE_NAME: &str = "spacetime.json";

/// The top-level keys a project file may have.
const TOP_LEVEL_KEYS: &[&str] = &["database", "server", "module-path", "generate", "dev", "children"];
/// The keys of one `generate` entry.
const GENERATE_KEYS: &[&str] = &["language", "out-dir", "namespace", "module-path", "include-private"];

/// Why a project file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("{path} is not valid JSON: {source}. Fix the file, or pass --no-config to ignore it")]
    Json {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        source: serde_json::Error,
    },
    /// A field is unknown or has the wrong type.
    #[error("{path}: {problem}. Fix the file, or pass --no-config to ignore it")]
    Field {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        problem: String,
    },
}

/// A loaded `spacetime.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The file itself.
    pub path: PathBuf,
    /// The directory holding it (relative paths in the file are relative to it).
    pub dir: PathBuf,
    /// `database`: the name publish, call, sql, logs, … use when none is given.
    pub database: Option<String>,
    /// `server`: the server (nickname or URL) used when `--server` is not given.
    pub server: Option<String>,
    /// `module-path`, resolved against [`Project::dir`].
    pub module_path: Option<PathBuf>,
    /// `generate`: the client bindings to write.
    pub generate: Vec<GenerateTarget>,
    /// `dev.run`: the command `spacetime dev` runs the client with.
    pub dev_run: Option<String>,
}

/// One entry of `generate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateTarget {
    /// `language`: as `--lang` takes it (`typescript`, `ts`, `rust`, …).
    pub language: String,
    /// `out-dir`, resolved against the project's directory.
    pub out_dir: PathBuf,
    /// `namespace` (C# only).
    pub namespace: Option<String>,
    /// `module-path` of this entry, resolved; else the project's.
    pub module_path: Option<PathBuf>,
    /// `include-private`.
    pub include_private: bool,
}

impl Project {
    /// The project file in `start` or its nearest parent directory, if any.
    ///
    /// # Errors
    /// When a file is found but is unreadable or malformed.
    pub fn find(start: &Path) -> Result<Option<Self>, ProjectError> {
        for dir in start.ancestors() {
            let path = dir.join(FILE_NAME);
            if path.is_file() {
                return Self::load(&path).map(Some);
            }
        }
        Ok(None)
    }

    /// The project file of the current directory, unless `no_config`.
    ///
    /// # Errors
    /// As [`Project::find`], and when the current directory is unknown.
    pub fn current(no_config: bool) -> Result<Option<Self>, ProjectError> {
        if no_config {
            return Ok(None);
        }
        let cwd = std::env::current_dir().map_err(|source| ProjectError::Read {
            path: PathBuf::from("."),
            source,
        })?;
        Self::find(&cwd)
    }

    /// Reads and checks the project file at `path`.
    ///
    /// # Errors
    /// When it is unreadable, not JSON, or has an unknown field or a field of the wrong type.
    pub fn load(path: &Path) -> Result<Self, ProjectError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProjectError::Read {
            path: path.to_owned(),
            source,
        })?;
        let json: Value = serde_json::from_str(&text).map_err(|source| ProjectError::Json {
            path: path.to_owned(),
            source,
        })?;
        let dir = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Self::from_json(&json, path, dir)
    }

    /// Checks `json` (the contents of the file at `path`, in `dir`).
    fn from_json(json: &Value, path: &Path, dir: PathBuf) -> Result<Self, ProjectError> {
        let field = |problem: String| ProjectError::Field {
            path: path.to_owned(),
            problem,
        };
        let root = json
            .as_object()
            .ok_or_else(|| field(format!("the file must hold a JSON object, not {}", kind(json))))?;
        check_keys(root, TOP_LEVEL_KEYS, "").map_err(field)?;
        if root.contains_key("children") {
            return Err(field(
                "`children` (several databases in one project) is not supported by this CLI; keep one database per \
                 spacetime.json"
                    .into(),
            ));
        }
        let database = string(root, "database").map_err(field)?;
        if let Some(name) = &database {
            if crate::util::parse_identity_hex(name).is_none() {
                crate::util::validate_database_name(name)
                    .map_err(|e| field(format!("`database` is not a valid database name: {e}")))?;
            }
        }
        let server = string(root, "server").map_err(field)?;
        let module_path = string(root, "module-path").map_err(field)?.map(|p| dir.join(p));
        let generate = match root.get("generate") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(entries)) => entries
                .iter()
                .enumerate()
                .map(|(i, entry)| generate_target(entry, i, &dir).map_err(field))
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(field(format!("`generate` must be an array, not {}", kind(other)))),
        };
        let dev_run = match root.get("dev") {
            None | Some(Value::Null) => None,
            Some(Value::Object(dev)) => {
                check_keys(dev, &["run"], "dev.").map_err(field)?;
                string_at(dev, "dev.", "run").map_err(field)?
            }
            Some(other) => return Err(field(format!("`dev` must be an object, not {}", kind(other)))),
        };
        Ok(Self {
            path: path.to_owned(),
            dir,
            database,
            server,
            module_path,
            generate,
            dev_run,
        })
    }

    /// Says on stderr that this file is in use (once per command, as upstream does).
    pub fn announce(&self) {
        eprintln!("Using configuration from {}", self.path.display());
    }
}

/// Fills what `publish` was not given from the project file: the database name from
/// `database` and the module crate from `module-path` (unless a `.wasm` was given).
///
/// # Errors
/// When the project file is malformed.
pub fn fill_publish_args(ctx: &crate::Ctx, args: &mut crate::subcommands::publish::PublishArgs) -> anyhow::Result<()> {
    let Some(project) = ctx.project()? else {
        return Ok(());
    };
    if args.name.is_none() {
        args.name = project.database.clone();
    }
    if args.bin_path.is_none() && args.module_path.is_none() {
        args.module_path = project.module_path.clone();
    }
    Ok(())
}

/// One `generate[i]` entry.
fn generate_target(entry: &Value, i: usize, dir: &Path) -> Result<GenerateTarget, String> {
    let at = format!("generate[{i}].");
    let object = entry
        .as_object()
        .ok_or_else(|| format!("`generate[{i}]` must be an object, not {}", kind(entry)))?;
    check_keys(object, GENERATE_KEYS, &at)?;
    let language = string_at(object, &at, "language")?
        .ok_or_else(|| format!("`{at}language` is missing (e.g. \"typescript\")"))?;
    let out_dir = string_at(object, &at, "out-dir")?
        .ok_or_else(|| format!("`{at}out-dir` is missing (e.g. \"./src/module_bindings\")"))?;
    let include_private = match object.get("include-private") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "`{at}include-private` must be true or false, not {}",
                kind(other)
            ))
        }
    };
    Ok(GenerateTarget {
        language,
        out_dir: dir.join(out_dir),
        namespace: string_at(object, &at, "namespace")?,
        module_path: string_at(object, &at, "module-path")?.map(|p| dir.join(p)),
        include_private,
    })
}

/// Fails on the first key of `object` not in `allowed`, naming it (with `prefix`) and the
/// keys that are allowed.
fn check_keys(object: &Map<String, Value>, allowed: &[&str], prefix: &str) -> Result<(), String> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(format!(
            "unknown field `{prefix}{unknown}`; the fields are {}",
            allowed
                .iter()
                .map(|k| format!("`{prefix}{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Ok(()),
    }
}

/// The string at `key`, if present (`null` counts as absent); errors name the field as
/// `prefix` + `key`.
fn string_at(object: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{prefix}{key}` must be a string, not {}", kind(other))),
    }
}

/// [`string_at`] for a top-level field.
fn string(object: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    string_at(object, "", key)
}

/// "a number", "an array", … for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(json: Value) -> Result<Project, String> {
        Project::from_json(&json, Path::new("/p/spacetime.json"), PathBuf::from("/p")).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_upstream_format() {
        let project = parse(json!({
            "database": "my-game",
            "server": "local",
            "module-path": "./spacetimedb",
            "generate": [{ "language": "typescript", "out-dir": "./client/src/module_bindings" }],
            "dev": { "run": "npm run dev" }
        }))
        .unwrap();
        assert_eq!(project.database.as_deref(), Some("my-game"));
        assert_eq!(project.server.as_deref(), Some("local"));
        assert_eq!(project.module_path, Some(PathBuf::from("/p/./spacetimedb")));
        assert_eq!(project.generate[0].language, "typescript");
        assert_eq!(
            project.generate[0].out_dir,
            PathBuf::from("/p/./client/src/module_bindings")
        );
        assert_eq!(project.dev_run.as_deref(), Some("npm run dev"));
    }

    #[test]
    fn malformed_fields_are_named() {
        let cases = [
            (
                json!({ "databse": "x" }),
                "/p/spacetime.json: unknown field `databse`; the fields are `database`",
            ),
            (
                json!({ "database": 3 }),
                "/p/spacetime.json: `database` must be a string, not a number",
            ),
            (
                json!({ "database": "My Game" }),
                "`database` is not a valid database name",
            ),
            (json!({ "generate": {} }), "`generate` must be an array, not an object"),
            (
                json!({ "generate": [{ "language": "rust" }] }),
                "`generate[0].out-dir` is missing",
            ),
            (
                json!({ "generate": [{ "lang": "rust", "out-dir": "x" }] }),
                "unknown field `generate[0].lang`",
            ),
            (
                json!({ "dev": { "run": 1 } }),
                "`dev.run` must be a string, not a number",
            ),
            (
                json!({ "generate": [{ "language": 1 }] }),
                "`generate[0].language` must be a string, not a number",
            ),
            (json!([]), "the file must hold a JSON object, not an array"),
        ];
        for (json, expected) in cases {
            let error = parse(json.clone()).expect_err(&json.to_string());
            assert!(error.contains(expected), "{json}: {error}");
            assert!(
                error.ends_with("Fix the file, or pass --no-config to ignore it"),
                "{error}"
            );
        }
    }

    #[test]
    fn found_in_a_parent_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), r#"{"database": "chat"}"#).unwrap();
        let nested = dir.path().join("client/src");
        std::fs::create_dir_all(&nested).unwrap();
        let project = Project::find(&nested).unwrap().expect("found above");
        assert_eq!(project.database.as_deref(), Some("chat"));
        assert_eq!(project.dir, dir.path());
        let elsewhere = tempfile::tempdir().unwrap();
        assert_eq!(Project::find(elsewhere.path()).unwrap(), None);
    }
}
