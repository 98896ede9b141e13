//! `spacetime init <name>`: writes a new project from the templates `install.sh` puts in
//! `<prefix>/share/spacetime/templates`: a Rust module in `spacetimedb/` (the `basic` or
//! `chat` template), a client in `client/` (chat only; Rust, Python, TypeScript, C# or a React web page), `spacetime.json` naming the
//! database, the module and the bindings to generate, and a README. The client's bindings
//! come with the template, so it builds at once.

use crate::project::FILE_NAME;
use crate::util;
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};

/// The crates.io release of upstream's module library that `--crates-io` uses.
const CRATES_IO_SPACETIMEDB: &str = "2.10.1";

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The project's name; also the database's name, so lower-case letters, digits and
    /// hyphens (e.g. `my-chat`).
    pub name: Option<String>,
    /// Where to create the project (default: ./<name>).
    #[arg(long, value_name = "DIR")]
    pub project_path: Option<PathBuf>,
    /// The module's language. Only `rust` is supported.
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    /// `chat` (users and messages, with a client) or `basic` (one table, no client).
    #[arg(short = 't', long, value_enum, default_value_t = Template::Chat)]
    pub template: Template,
    /// The client of the chat template.
    #[arg(long, value_enum, default_value_t = Client::Rust)]
    pub client: Client,
    /// Only the module, no client.
    #[arg(long)]
    pub server_only: bool,
    /// Depend on the crates.io `spacetimedb` crate instead of this installation's bindings.
    #[arg(long)]
    pub crates_io: bool,
    /// Never ask: the name and --lang must be given.
    #[arg(long)]
    pub non_interactive: bool,
}

/// The module templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Template {
    /// One table and two reducers.
    Basic,
    /// Users and messages, and a terminal chat client.
    Chat,
}

/// The clients of the chat template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    /// A terminal client on the Rust SDK.
    Rust,
    /// A terminal client on the Python SDK (asyncio).
    Python,
    /// A terminal client on the TypeScript SDK (Node 20).
    Typescript,
    /// A terminal client on the C# SDK (.NET, or Mono's `mcs`).
    Csharp,
    /// A web page: React on Vite, with the TypeScript SDK's React hooks.
    React,
}

impl Client {
    /// The template directory, the `generate` language and the bindings directory.
    fn layout(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Rust => ("client-rust", "rust", "client/src/module_bindings"),
            Self::Python => ("client-python", "python", "client/module_bindings"),
            Self::Typescript => ("client-typescript", "typescript", "client/src/module_bindings"),
            Self::Csharp => ("client-csharp", "csharp", "client/module_bindings"),
            Self::React => ("client-react", "typescript", "client/src/module_bindings"),
        }
    }

    /// How to run it, from the project directory.
    fn run_command(self) -> &'static str {
        match self {
            Self::Rust => "cd client && cargo run",
            Self::Python => "pip install ~/.local/share/spacetime/sdks/python && cd client && python main.py",
            Self::Typescript => "cd client && npm install && npm run build && npm start",
            Self::Csharp => "cd client && dotnet run",
            Self::React => "cd client && npm install && npm run dev",
        }
    }

    /// How to chat once it runs.
    fn how_to_chat(self) -> &'static str {
        match self {
            Self::React => "open the page Vite prints; its forms set your name and send messages",
            _ => "each line you type is a message; `/name <name>` sets your name",
        }
    }
}

/// Runs `init`.
///
/// # Errors
/// When the name is missing or invalid, the directory is not empty, the templates cannot be
/// found, or a file cannot be written.
pub fn exec(args: InitArgs) -> Result<()> {
    let lang = match (&args.lang, args.non_interactive) {
        (Some(lang), _) => lang.to_ascii_lowercase(),
        (None, true) => bail!("--lang is required with --non-interactive: pass --lang rust"),
        (None, false) => "rust".to_owned(),
    };
    if !matches!(lang.as_str(), "rust" | "rs") {
        bail!("modules in `{lang}` are not supported: this Spacetime builds Rust modules only (--lang rust)");
    }
    let name = args.name.clone().ok_or_else(|| {
        anyhow!("name the project: `spacetime init <name>` (lower-case letters, digits and hyphens, e.g. my-chat)")
    })?;
    util::validate_database_name(&name).context("the project name is also its database's name")?;
    let root = args.project_path.clone().unwrap_or_else(|| PathBuf::from(&name));
    if root.exists() && std::fs::read_dir(&root).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!(
            "{} already exists and is not empty: choose another name, or --project-path <empty dir>",
            root.display()
        );
    }
    let share = share_dir()?;
    let templates = share.join("templates");
    let client = (args.template == Template::Chat && !args.server_only).then_some(args.client);
    let vars = Vars {
        project_name: name.clone(),
        share_dir: share.display().to_string(),
        spacetimedb_dep: if args.crates_io {
            format!("spacetimedb = \"={CRATES_IO_SPACETIMEDB}\"")
        } else {
            format!(
                "spacetimedb = {{ path = {}, package = \"spacetime-bindings\" }}",
                toml_string(&share.join("bindings"))
            )
        },
        sdk_dep: format!(
            "spacetimedb-sdk = {{ path = {}, package = \"spacetime-sdk\" }}",
            toml_string(&share.join("sdks/rust"))
        ),
    };

    let module = root.join("spacetimedb");
    copy_template(&templates.join("module"), &module, &vars)?;
    let module_template = match args.template {
        Template::Basic => "module-basic",
        Template::Chat => "module-chat",
    };
    copy_template(&templates.join(module_template), &module, &vars)?;
    if let Some(client) = client {
        copy_template(&templates.join(client.layout().0), &root.join("client"), &vars)?;
    }
    copy_file(&templates.join("project/gitignore"), &root.join(".gitignore"), &vars)?;
    write(&root.join(FILE_NAME), &project_file(&name, client))?;
    write(&root.join("README.md"), &readme(&name, client))?;

    println!("Created the project `{name}` in {}", root.display());
    println!("Next: start a server (`spacetime start`), then in {}:", root.display());
    println!("    spacetime publish");
    if let Some(client) = client {
        println!("    {}", client.run_command());
    } else {
        println!("    spacetime call add Alice && spacetime call say_hello && spacetime logs");
    }
    Ok(())
}

/// Where `install.sh` put the bindings, SDKs and templates: `$SPACETIME_SHARE_DIR`, else
/// `<dir of the binary>/../share/spacetime`, else the source checkout this binary was built
/// from (a development build run from the repository's target directory).
///
/// # Errors
/// When none of them holds the templates.
pub fn share_dir() -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("SPACETIME_SHARE_DIR").filter(|d| !d.is_empty()) {
        candidates.push(PathBuf::from(dir));
    }
    if let Some(bin_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        candidates.push(bin_dir.join("../share/spacetime"));
    }
    if let Some(checkout) = Path::new(env!("CARGO_MANIFEST_DIR")).parent() {
        candidates.push(checkout.to_path_buf());
    }
    candidates
        .iter()
        .find(|dir| dir.join("templates/module/Cargo.toml").is_file() && dir.join("bindings/Cargo.toml").is_file())
        .map(|dir| dir.canonicalize().unwrap_or_else(|_| dir.clone()))
        .ok_or_else(|| {
            anyhow!(
                "cannot find the templates (looked in {}): install Spacetime with ./install.sh, or set \
                 SPACETIME_SHARE_DIR to its share/spacetime directory",
                candidates
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// The placeholders of the templates.
struct Vars {
    project_name: String,
    share_dir: String,
    spacetimedb_dep: String,
    sdk_dep: String,
}

impl Vars {
    fn fill(&self, text: &str) -> String {
        text.replace("{{project_name}}", &self.project_name)
            .replace("{{database}}", &self.project_name)
            .replace("{{share_dir}}", &self.share_dir)
            .replace("{{spacetimedb_dep}}", &self.spacetimedb_dep)
            .replace("{{sdk_dep}}", &self.sdk_dep)
    }
}

/// Copies the template directory `from` into `to`, filling placeholders in every file.
fn copy_template(from: &Path, to: &Path, vars: &Vars) -> Result<()> {
    let entries = std::fs::read_dir(from).with_context(|| format!("cannot read the template {}", from.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read the template {}", from.display()))?
            .path();
        let Some(file_name) = path.file_name() else {
            continue;
        };
        let target = to.join(file_name);
        if path.is_dir() {
            copy_template(&path, &target, vars)?;
        } else {
            copy_file(&path, &target, vars)?;
        }
    }
    Ok(())
}

fn copy_file(from: &Path, to: &Path, vars: &Vars) -> Result<()> {
    let text = std::fs::read_to_string(from).with_context(|| format!("cannot read the template {}", from.display()))?;
    write(to, &vars.fill(&text))
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A path as a TOML string (JSON string escapes are valid TOML basic-string escapes).
fn toml_string(path: &Path) -> String {
    serde_json::Value::String(path.display().to_string()).to_string()
}

/// The project's spacetime.json.
fn project_file(name: &str, client: Option<Client>) -> String {
    let mut file = serde_json::json!({
        "database": name,
        "module-path": "spacetimedb",
    });
    if let Some(client) = client {
        let (_, language, out_dir) = client.layout();
        file["generate"] = serde_json::json!([{ "language": language, "out-dir": out_dir }]);
    }
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

/// The project's README.
fn readme(name: &str, client: Option<Client>) -> String {
    let mut text = format!(
        "# {name}\n\n\
         A Spacetime project: the module (server logic) is in `spacetimedb/`, and `spacetime.json` says which \
         database it is published to (`{name}`).\n\n\
         ```sh\n\
         spacetime start &          # a local server on port 3000\n\
         spacetime publish          # build the module and publish it as `{name}`\n\
         spacetime logs             # the module's log\n\
         spacetime sql \"SELECT * FROM {table}\"\n\
         spacetime dev              # rebuild, republish and regenerate on every change\n\
         ```\n",
        table = if client.is_some() { "message" } else { "person" }
    );
    if let Some(client) = client {
        text.push_str(&format!(
            "\nThe client is in `client/`: `{}` ({}). After changing the module, `spacetime generate` rewrites \
             `{}`.\n",
            client.run_command(),
            client.how_to_chat(),
            client.layout().2
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_file_names_database_module_and_bindings() {
        let json: serde_json::Value = serde_json::from_str(&project_file("my-chat", Some(Client::Rust))).unwrap();
        assert_eq!(json["database"], "my-chat");
        assert_eq!(json["module-path"], "spacetimedb");
        assert_eq!(json["generate"][0]["out-dir"], "client/src/module_bindings");
        let react: serde_json::Value = serde_json::from_str(&project_file("x", Some(Client::React))).unwrap();
        assert_eq!(react["generate"][0]["language"], "typescript");
        assert_eq!(react["generate"][0]["out-dir"], "client/src/module_bindings");
        assert!(readme("x", Some(Client::React)).contains("open the page Vite prints"));
        let python: serde_json::Value = serde_json::from_str(&project_file("x", Some(Client::Python))).unwrap();
        assert_eq!(python["generate"][0]["language"], "python");
        assert_eq!(python["generate"][0]["out-dir"], "client/module_bindings");
        let basic: serde_json::Value = serde_json::from_str(&project_file("x", None)).unwrap();
        assert!(basic.get("generate").is_none());
    }

    #[test]
    fn paths_become_toml_strings() {
        assert_eq!(toml_string(Path::new("/a \"b\"\\c")), r#""/a \"b\"\\c""#);
    }
}
