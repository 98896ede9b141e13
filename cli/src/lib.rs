//! The `spacetime` command-line tool.
//!
//! # Brief overview
//! - [`Cli`] is the command line (clap derive): global flags plus one [`Command`] per verb.
//! - [`run`] loads the configuration ([`config`]), builds a [`Ctx`] and runs the verb from
//!   [`subcommands`], one file per verb.
//! - Every verb but `start` talks to a server over HTTP through [`api`]; `start` runs the
//!   `spacetime-server` library in this process.
//! - [`render`] draws SQL results as the psql-style tables upstream's CLI prints.
#![deny(missing_docs)]

pub mod api;
pub mod config;
pub mod logging;
pub mod project;
pub mod render;
pub mod schema;
pub mod subcommands;
pub mod util;

use anyhow::{bail, Result};
use api::Api;
use clap::{Parser, Subcommand};
use config::Config;
use std::ffi::OsString;
use std::path::PathBuf;

/// The `spacetime` command line.
#[derive(Debug, Parser)]
#[command(
    name = "spacetime",
    version,
    about = "Publish and manage Spacetime databases, and run a local server."
)]
pub struct Cli {
    /// The cli.toml to use instead of ~/.config/spacetime/cli.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config_path: Option<PathBuf>,
    /// The installation root, as upstream's `--root-dir`: cli.toml is
    /// `<root-dir>/config/cli.toml` unless `--config-path` is given, and `start` keeps
    /// `config.toml`, `data/` and the key pair (`config/`) there.
    #[arg(long, global = true, value_name = "DIR")]
    pub root_dir: Option<PathBuf>,
    /// The nickname, host or URL of the server to talk to (default: the default server).
    #[arg(short = 's', long, global = true, value_name = "SERVER")]
    pub server: Option<String>,
    /// Answer yes to every question, and log in to the server automatically if needed.
    /// Accepts upstream's `--yes=all` form too.
    #[arg(
        short = 'y',
        long,
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "all",
        value_name = "WHAT"
    )]
    pub yes: Option<String>,
    /// Ignore the project file (spacetime.json).
    #[arg(long, global = true)]
    pub no_config: bool,
    /// The verb to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Spacetime server in this process.
    Start(Box<subcommands::start::StartArgs>),
    /// Create or update a database from a module (.wasm file or crate directory).
    Publish(subcommands::publish::PublishArgs),
    /// Call a reducer (or procedure) of a database. UNSTABLE.
    Call(subcommands::call::CallArgs),
    /// Run one SQL statement against a database. UNSTABLE.
    Sql(subcommands::sql::SqlArgs),
    /// Print a database's module logs.
    Logs(subcommands::logs::LogsArgs),
    /// List, set or unset a database's environment values (read by modules with `ctx.env`).
    Env(subcommands::env::EnvArgs),
    /// Print a database's schema as JSON. UNSTABLE.
    Describe(subcommands::describe::DescribeArgs),
    /// Delete a database.
    Delete(subcommands::delete::DeleteArgs),
    /// List a database's versions (one per publish), the current one marked.
    Versions(subcommands::versions::VersionsArgs),
    /// Publish an earlier version of a database's module again, if it migrates automatically.
    Rollback(subcommands::versions::RollbackArgs),
    /// Save a hot backup of a database (owner only): its module and its state,
    /// checksummed, taken while it keeps serving.
    Backup(subcommands::backup::BackupArgs),
    /// Create a database from a backup made by `spacetime backup`.
    Restore(subcommands::restore::RestoreArgs),
    /// List the databases you own. UNSTABLE.
    List,
    /// Get a login token (an identity) from a server, or show the current one.
    Login(subcommands::login::LoginArgs),
    /// Forget the saved login token.
    Logout,
    /// Manage saved servers. UNSTABLE.
    #[command(subcommand)]
    Server(subcommands::server::ServerCommand),
    /// Give a database a new name.
    Rename(subcommands::rename::RenameArgs),
    /// Stream a database's subscription updates as JSON lines. UNSTABLE.
    Subscribe(subcommands::subscribe::SubscribeArgs),
    /// Generate client bindings from a module, locally.
    Generate(subcommands::generate::GenerateArgs),
    /// Print the version of this tool and the commit it was built from.
    Version(subcommands::version::VersionArgs),
    /// Create a new project (module, client, spacetime.json) from a template.
    Init(subcommands::init::InitArgs),
    /// Build a module crate for wasm32.
    Build(subcommands::build::BuildArgs),
    /// Build, publish, regenerate and stream logs on every change of the module.
    Dev(subcommands::dev::DevArgs),
    /// Lock a database: it cannot be deleted or cleared until unlocked.
    Lock(subcommands::lock::LockArgs),
    /// Unlock a locked database.
    Unlock(subcommands::lock::LockArgs),
    /// Operate a database in a cluster: hand it over to a standby, show where it lives.
    #[command(subcommand)]
    Cluster(subcommands::cluster::ClusterCommand),
}

/// What a verb needs to run: the configuration and the global flags.
pub struct Ctx {
    /// The loaded cli.toml.
    pub config: Config,
    /// `--server`, if given.
    pub server: Option<String>,
    /// Whether `--yes` was given.
    pub yes: bool,
    /// Whether `--yes=break-clients` was given: `publish` then accepts a plan that
    /// disconnects every client, as with `--break-clients`.
    pub yes_break_clients: bool,
    /// `--root-dir`, if given.
    pub root_dir: Option<PathBuf>,
    /// Whether `--no-config` was given.
    pub no_config: bool,
    /// The project file, once read (`None` inside: there is none).
    pub project: std::cell::OnceCell<Option<project::Project>>,
}

/// How a verb authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Send no token (the server then mints a throwaway identity for the request).
    Anonymous,
    /// Send the saved token; without one, log in if `--yes` was given or the user agrees,
    /// else go on anonymously.
    IfAvailable,
    /// Send the saved token; without one, log in (asking first at a terminal, silently
    /// otherwise, as upstream does), and fail if the user declines: the verb acts as an owner.
    Required,
}

impl Ctx {
    /// The base URL of the target server.
    ///
    /// # Errors
    /// When `--server` names no saved server and is not a URL.
    pub fn server_url(&self) -> Result<String> {
        let project_server = match &self.server {
            Some(_) => None,
            None => self.project()?.and_then(|p| p.server.clone()),
        };
        self.config
            .server_url(self.server.as_deref().or(project_server.as_deref()))
    }

    /// The project file (spacetime.json) of the current directory or a parent, unless
    /// `--no-config`; read once, announced on stderr the first time.
    ///
    /// # Errors
    /// When the file is unreadable or malformed (the message names the field).
    pub fn project(&self) -> Result<Option<&project::Project>> {
        if let Some(loaded) = self.project.get() {
            return Ok(loaded.as_ref());
        }
        let loaded = project::Project::current(self.no_config)?;
        if let Some(project) = &loaded {
            project.announce();
        }
        Ok(self.project.get_or_init(|| loaded).as_ref())
    }

    /// The database a verb acts on: the one given, else the project's `database`.
    ///
    /// # Errors
    /// When neither is there.
    pub fn database(&self, given: Option<String>) -> Result<String> {
        if let Some(name) = given {
            return Ok(name);
        }
        match self.project()? {
            Some(project) => project.database.clone().ok_or_else(|| {
                anyhow::anyhow!(
                    "no database given, and {} has no `database` field: pass the database name, or add \
                     \"database\": \"<name>\" to the file",
                    project.path.display()
                )
            }),
            None => bail!(
                "no database given: pass the database name, or run this inside a project whose spacetime.json \
                 names one (`spacetime init` creates one)"
            ),
        }
    }

    /// A client for the target server, logging in first when `auth` asks for a token and
    /// none is saved.
    ///
    /// # Errors
    /// When the server is unknown, or `auth` is [`Auth::Required`] and no token was had.
    pub fn api(&mut self, auth: Auth) -> Result<Api> {
        let url = self.server_url()?;
        if auth == Auth::Anonymous {
            return Api::new(&url, None);
        }
        if let Some(token) = self.config.token() {
            return Api::new(&url, Some(token.to_owned()));
        }
        // Non-interactively, a verb that acts as an owner gets a server-issued identity
        // without asking, as upstream's CLI does; a person at a terminal is asked first.
        let log_in = if self.yes {
            true
        } else if util::stdin_is_terminal() {
            util::confirm(
                &format!("You are not logged in. Log in to {url} now? The server will issue you a new identity."),
                true,
            )?
        } else {
            auth == Auth::Required
        };
        if log_in {
            let (identity, token) = Api::new(&url, None)?.server_issued_login()?;
            self.config.set_token(token.clone());
            self.config.save()?;
            eprintln!(
                "Logged in to {url} with identity {identity} (a server-issued identity; `spacetime login show` shows it)"
            );
            return Api::new(&url, Some(token));
        }
        if auth == Auth::Required {
            bail!(
                "you are not logged in, and declined to log in. Run `spacetime login --server-issued-login {url}`, or \
                 pass --yes to log in automatically"
            );
        }
        Api::new(&url, None)
    }
}

/// Parses `args` (including the program name) and runs the verb.
///
/// # Errors
/// Whatever the verb fails with; `main` prints it as `Error: …`.
pub fn run(args: impl IntoIterator<Item = OsString>) -> Result<()> {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let config_path = match (cli.config_path, &cli.root_dir) {
        (Some(path), _) => path,
        (None, Some(root)) => root.join("config").join("cli.toml"),
        (None, None) => Config::default_path()?,
    };
    let mut ctx = Ctx {
        config: Config::load(&config_path)?,
        server: cli.server,
        yes: cli.yes.is_some(),
        yes_break_clients: cli.yes.as_deref() == Some("break-clients"),
        root_dir: cli.root_dir,
        no_config: cli.no_config,
        project: std::cell::OnceCell::new(),
    };
    use subcommands::*;
    match cli.command {
        Command::Start(args) => start::exec(&ctx, *args),
        Command::Publish(args) => publish::exec(&mut ctx, args),
        Command::Call(args) => call::exec(&mut ctx, args),
        Command::Sql(args) => sql::exec(&mut ctx, args),
        Command::Logs(args) => logs::exec(&mut ctx, args),
        Command::Env(args) => env::exec(&mut ctx, args),
        Command::Describe(args) => describe::exec(&mut ctx, args),
        Command::Delete(args) => delete::exec(&mut ctx, args),
        Command::Versions(args) => versions::exec_versions(&mut ctx, args),
        Command::Rollback(args) => versions::exec_rollback(&mut ctx, args),
        Command::Backup(args) => backup::exec(&mut ctx, args),
        Command::Restore(args) => restore::exec(&mut ctx, args),
        Command::List => list::exec(&mut ctx),
        Command::Login(args) => login::exec(&mut ctx, args),
        Command::Logout => logout::exec(&mut ctx),
        Command::Server(command) => server::exec(&mut ctx, command),
        Command::Rename(args) => rename::exec(&mut ctx, args),
        Command::Subscribe(args) => subscribe::exec(&mut ctx, args),
        Command::Generate(args) => generate::exec(&ctx, args),
        Command::Version(args) => version::exec(args),
        Command::Init(args) => init::exec(args),
        Command::Build(args) => build::exec(&ctx, args),
        Command::Dev(args) => dev::exec(&ctx, args),
        Command::Lock(args) => lock::exec(&mut ctx, args, true),
        Command::Unlock(args) => lock::exec(&mut ctx, args, false),
        Command::Cluster(command) => cluster::exec(&mut ctx, command),
    }
}
