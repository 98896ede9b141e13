//! `spacetime publish [name]`: uploads a module (a `.wasm` file, or a crate directory that
//! is built first) to create a database or update an existing one.

mod plan;

use crate::api::JsonBody;
use crate::util::{self, identity_from_json, parse_identity_hex};
use crate::{Auth, Ctx};
use anyhow::{anyhow, bail, Context, Result};
use reqwest::Method;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Arguments of `publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The database name (or identity) to create or update. Without one, a new unnamed
    /// database is created.
    pub name: Option<String>,
    /// A compiled module to upload.
    #[arg(short = 'b', long, value_name = "WASM", conflicts_with = "module_path")]
    pub bin_path: Option<PathBuf>,
    /// The module crate to build and upload (default: ./spacetimedb if present, else .).
    #[arg(short = 'p', long, value_name = "DIR")]
    pub module_path: Option<PathBuf>,
    /// Delete the database's data before publishing: `always` (the default when the flag is
    /// given without a value), `on-conflict` (only if the update would be rejected) or `never`.
    #[arg(
        short = 'c',
        long,
        alias = "clear-database",
        value_enum,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "always",
        value_name = "WHEN"
    )]
    pub delete_data: Option<DeleteData>,
    /// Accept an update whose plan disconnects every connected client (it adds
    /// columns, which clients built against the old bindings cannot read).
    /// `--yes=break-clients` means the same.
    #[arg(long)]
    pub break_clients: bool,
    /// Print what publishing would do to an existing database (the migration plan, or
    /// why it cannot migrate automatically), then stop without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Set an environment value of the database with this publish (repeatable); `init`
    /// and every later call read them with `ctx.env` (see `spacetime env`).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// In a cluster: how many nodes hold a new database (its leader and N-1 standbys,
    /// chosen by fewest databases and most free memory). Default 2. Ignored when
    /// updating an existing database.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub replicas: Option<u32>,
}

/// When `publish` deletes the existing data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeleteData {
    /// Always start from an empty database.
    Always,
    /// Only when the server rejects the update as incompatible.
    OnConflict,
    /// Never.
    Never,
}

/// Runs `publish`.
///
/// # Errors
/// When the module cannot be built or read, the name is invalid, or the server rejects it.
pub fn exec(ctx: &mut Ctx, mut args: PublishArgs) -> Result<()> {
    crate::project::fill_publish_args(ctx, &mut args)?;
    if let Some(name) = &args.name {
        if parse_identity_hex(name).is_none() {
            util::validate_database_name(name)?;
        }
    }
    let program = match &args.bin_path {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read the module {}", path.display()))?,
        None => {
            let dir = module_dir(args.module_path.as_deref())?;
            let wasm = build_module(&dir)?;
            std::fs::read(&wasm).with_context(|| format!("cannot read the built module {}", wasm.display()))?
        }
    };
    if !program.starts_with(b"\0asm") {
        bail!("the module is not a WebAssembly file (it does not start with `\\0asm`); pass the .wasm that `cargo build --target wasm32-unknown-unknown --release` produced");
    }

    let api = ctx.api(Auth::Required)?;
    let delete_data = args.delete_data.unwrap_or(DeleteData::Never);
    let mut clear = false;
    if delete_data == DeleteData::Always {
        if let Some(name) = &args.name {
            if api.resolve_database(name).is_ok() {
                confirm_clear(ctx, name)?;
                clear = true;
            }
        }
    }
    let break_clients = args.break_clients || ctx.yes_break_clients;
    let existing = args.name.as_deref().filter(|name| api.resolve_database(name).is_ok());
    if let (Some(name), false) = (existing, clear) {
        match plan::fetch(&api, name, &program)? {
            plan::Outcome::Auto(plan) => {
                plan::print(name, &plan);
                if args.dry_run {
                    println!("Dry run: nothing was published.");
                    return Ok(());
                }
                if plan.break_clients && !break_clients {
                    bail!(
                        "this update disconnects every connected client; publish again with --break-clients \
                         (or --yes=break-clients) to accept that"
                    );
                }
                // `--break-clients` is the publisher's explicit yes to a breaking plan.
                let accepted = ctx.yes || plan.steps.is_empty() || plan.break_clients;
                if !accepted && !util::confirm("Apply this migration plan?", false)? {
                    bail!("publishing was cancelled: `{name}` keeps its current module");
                }
            }
            plan::Outcome::Manual(reason) => {
                println!("{reason}");
                if args.dry_run {
                    println!("Dry run: nothing was published.");
                    return Ok(());
                }
                if delete_data != DeleteData::OnConflict {
                    bail!(
                        "`{name}` cannot be updated automatically; publish with --delete-data to clear its data, \
                         or revert the change"
                    );
                }
                confirm_clear(ctx, name)?;
                clear = true;
            }
        }
    } else if args.dry_run {
        match args.name.as_deref() {
            Some(name) if clear => println!("Dry run: `{name}` would be cleared and start over with this module."),
            Some(name) => println!("Dry run: a new database `{name}` would be created."),
            None => println!("Dry run: a new database would be created."),
        }
        return Ok(());
    }
    let env_changes = super::env::parse_pairs(&args.env)?;
    eprintln!("Publishing module to {} …", api.base());
    let send = |clear: bool| {
        let flags = (clear, break_clients, args.replicas);
        upload(&api, args.name.as_deref(), &program, flags, &env_changes)
    };
    let mut response = send(clear)?;
    if !response.status().is_success() && delete_data == DeleteData::OnConflict && !clear {
        if let Some(name) = &args.name {
            let text = response.text().unwrap_or_default();
            eprintln!("The update was rejected: {}", text.trim());
            confirm_clear(ctx, name)?;
            response = send(true)?;
        }
    }
    if response.status().is_success() {
        let body = response.json_body("the publish result")?;
        report(&body, args.name.as_deref())?;
        return Ok(());
    }
    // A refusal may still be a `PublishResult` (`PermissionDenied`), which says it best.
    let status = response.status();
    let text = response.text().unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(body) if body.get("PermissionDenied").is_some() => report(&body, args.name.as_deref()),
        _ => Err(crate::api::error_for(status, &text, "publishing")),
    }
}

fn confirm_clear(ctx: &Ctx, name: &str) -> Result<()> {
    let question = format!(
        "This will DESTROY the current {name} module, and ALL corresponding data. Are you sure you want to proceed?"
    );
    if ctx.yes || util::confirm(&question, false)? {
        Ok(())
    } else {
        bail!("publishing was cancelled: the data of `{name}` was left as it was")
    }
}

fn upload(
    api: &crate::api::Api,
    name: Option<&str>,
    program: &[u8],
    (clear, break_clients, replicas): (bool, bool, Option<u32>),
    env: &serde_json::Map<String, serde_json::Value>,
) -> Result<reqwest::blocking::Response> {
    let request = match name {
        Some(name) => api.request(Method::PUT, &format!("/database/{name}")),
        None => api.request(Method::POST, "/database"),
    };
    let mut request = request
        .query(&[("host_type", "Wasm")])
        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
        .body(program.to_vec());
    if clear {
        request = request.query(&[("clear", "true")]);
    }
    if break_clients {
        request = request.query(&[("break_clients", "true")]);
    }
    if let Some(replicas) = replicas {
        request = request.query(&[("replicas", replicas.to_string())]);
    }
    if !env.is_empty() {
        // With the module, so a new database's `init` reads them and a module that
        // requires a value is refused before anything changes.
        request = request.query(&[("env", serde_json::Value::Object(env.clone()).to_string())]);
    }
    api.send(request)
}

/// The refusal of a publish (or its plan) over another identity's database `db`.
fn not_owner(db: &str) -> anyhow::Error {
    anyhow!(
        "permission denied: database `{db}` belongs to another identity. Publish under another name, or log in as its owner"
    )
}

/// Prints the outcome of a publish from the server's `PublishResult`.
fn report(body: &serde_json::Value, name: Option<&str>) -> Result<()> {
    if let Some(denied) = body.get("PermissionDenied") {
        let db = denied
            .get("name")
            .and_then(serde_json::Value::as_str)
            .or(name)
            .unwrap_or("?");
        return Err(not_owner(db));
    }
    let success = body
        .get("Success")
        .ok_or_else(|| anyhow!("the server answered the publish with an unexpected body: {body}"))?;
    let identity = success
        .get("database_identity")
        .and_then(identity_from_json)
        .ok_or_else(|| anyhow!("the publish result names no database identity: {body}"))?;
    let domain = success.get("domain").and_then(|d| match d {
        serde_json::Value::String(s) => Some(s.clone()),
        // An `Option` in SATS-JSON: {"some": "name"} or {"none": []}.
        serde_json::Value::Object(o) => o.get("some").and_then(serde_json::Value::as_str).map(str::to_owned),
        _ => None,
    });
    let op = success.get("op").and_then(|op| match op {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.keys().next().cloned(),
        _ => None,
    });
    match (op.as_deref(), domain) {
        (Some("Updated"), _) => println!("Updated database with identity: {identity}"),
        (_, Some(domain)) => println!("Created new database with name: {domain}, identity: {identity}"),
        (_, None) => println!("Created new database with identity: {identity}"),
    }
    Ok(())
}

/// The crate directory to build: the given one, else `./spacetimedb` if it holds a crate,
/// else the current directory.
fn module_dir(given: Option<&Path>) -> Result<PathBuf> {
    let dir = match given {
        Some(dir) => dir.to_owned(),
        None if Path::new("spacetimedb/Cargo.toml").is_file() => PathBuf::from("spacetimedb"),
        None => PathBuf::from("."),
    };
    if !dir.join("Cargo.toml").is_file() {
        bail!(
            "{} has no Cargo.toml: pass the module crate's directory with --module-path, or a built module with --bin-path",
            dir.display()
        );
    }
    Ok(dir)
}

/// Builds the module crate in `dir` for wasm32 and returns the `.wasm` it produced.
///
/// Cargo's progress goes to stderr as usual; its JSON messages on stdout name the artifact,
/// wherever the target directory is.
pub fn build_module(dir: &Path) -> Result<PathBuf> {
    check_wasm_target(dir)?;
    eprintln!("Building the module in {} …", dir.display());
    let mut child = Command::new(cargo())
        .args([
            "build",
            "--target",
            "wasm32-unknown-unknown",
            "--release",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot run `cargo`: is Rust installed? See https://rustup.rs")?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("cannot read cargo's output"))?;
    let mut wasm = None;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.context("cannot read cargo's output")?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if message.get("reason").and_then(serde_json::Value::as_str) != Some("compiler-artifact") {
            continue;
        }
        let files = message.get("filenames").and_then(serde_json::Value::as_array);
        if let Some(file) = files
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            .find(|f| f.ends_with(".wasm"))
        {
            wasm = Some(PathBuf::from(file));
        }
    }
    let status = child.wait().context("cannot wait for cargo")?;
    if !status.success() {
        bail!(
            "building the module in {} failed (see cargo's errors above)",
            dir.display()
        );
    }
    wasm.ok_or_else(|| {
        anyhow!(
            "`cargo build` in {} produced no .wasm file: the module crate needs `crate-type = [\"cdylib\"]` in its [lib] section",
            dir.display()
        )
    })
}

fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Fails early, with the fix, when the toolchain that would build `dir` lacks the wasm32
/// standard library (cargo's own error for that is obscure).
fn check_wasm_target(dir: &Path) -> Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
        .context("cannot run `rustc`: is Rust installed? See https://rustup.rs")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if output.status.success() && !sysroot.join("lib/rustlib/wasm32-unknown-unknown").is_dir() {
        bail!(
            "the wasm32-unknown-unknown target is not installed for the toolchain at {}: run `rustup target add wasm32-unknown-unknown`",
            sysroot.display()
        );
    }
    Ok(())
}
