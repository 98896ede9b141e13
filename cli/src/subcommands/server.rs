//! `spacetime server …`: the saved servers in cli.toml (`list`, `add`, `set-default`,
//! `edit`, `remove`, `fingerprint`), `ping`, which checks that a server answers, and `clear`,
//! which deletes the local server's data directory.

use crate::api::Api;
use crate::config::{split_url, ServerConfig};
use crate::{util, Ctx};
use anyhow::{Context, Result};
use reqwest::Method;

/// The `server` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum ServerCommand {
    /// List the saved servers.
    List,
    /// Save a server.
    Add {
        /// The server's URL, e.g. http://127.0.0.1:3000.
        #[arg(long)]
        url: String,
        /// A nickname to use with --server.
        name: String,
        /// Make it the default server.
        #[arg(short, long)]
        default: bool,
        /// Do not fetch and save the server's public key.
        #[arg(long)]
        no_fingerprint: bool,
    },
    /// Make a saved server the default.
    SetDefault {
        /// The nickname, host or URL of a saved server.
        server: String,
    },
    /// Forget a saved server.
    Remove {
        /// The nickname, host or URL of a saved server.
        server: String,
    },
    /// Fetch a saved server's public key and save it as its fingerprint.
    Fingerprint {
        /// The nickname, host or URL of a saved server (default: the default server).
        server: Option<String>,
    },
    /// Change a saved server's nickname or URL.
    Edit {
        /// The nickname, host or URL of a saved server.
        server: String,
        /// A new nickname.
        #[arg(short = 'n', long, alias = "nickname", value_name = "NAME")]
        new_name: Option<String>,
        /// A new URL, e.g. http://127.0.0.1:4000.
        #[arg(long)]
        url: Option<String>,
        /// Do not fetch the public key of the new URL (the saved fingerprint is dropped).
        #[arg(long)]
        no_fingerprint: bool,
    },
    /// Delete all data of the local server (its data directory). Stop the server first.
    Clear {
        /// The data directory (default: `<--root-dir>/data`, else ~/.local/share/spacetime/data,
        /// as `spacetime start`).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Check that a server is online.
    Ping {
        /// The nickname, host or URL of the server (default: --server or the default server).
        server: Option<String>,
    },
}

/// Runs a `server` subcommand.
///
/// # Errors
/// When a named server is unknown, a server cannot be reached, or cli.toml cannot be saved.
pub fn exec(ctx: &mut Ctx, command: ServerCommand) -> Result<()> {
    util::warn_unstable();
    match command {
        ServerCommand::List => {
            list(ctx);
            Ok(())
        }
        ServerCommand::Add {
            url,
            name,
            default,
            no_fingerprint,
        } => {
            let (host, protocol) = split_url(&url)?;
            let url = format!("{protocol}://{host}");
            let ecdsa_public_key = if no_fingerprint {
                None
            } else {
                let pem = fetch_fingerprint(&url).with_context(|| {
                    format!("cannot fetch the fingerprint of {url}; is the server running? Save it without one with `spacetime server add --url {url} {name} --no-fingerprint`")
                })?;
                println!("For server {url}, got fingerprint:\n{pem}");
                Some(pem)
            };
            ctx.config.add_server(ServerConfig {
                nickname: Some(name.clone()),
                host: host.clone(),
                protocol: protocol.clone(),
                ecdsa_public_key,
            })?;
            if default {
                ctx.config.set_default_server(&name)?;
            }
            ctx.config.save()?;
            println!("Host: {host}");
            println!("Protocol: {protocol}");
            Ok(())
        }
        ServerCommand::SetDefault { server } => {
            ctx.config.set_default_server(&server)?;
            ctx.config.save()?;
            println!("Default server set to {server}");
            Ok(())
        }
        ServerCommand::Remove { server } => {
            let removed = ctx.config.remove_server(&server)?;
            ctx.config.save()?;
            println!("Removed server {}", removed.url());
            Ok(())
        }
        ServerCommand::Fingerprint { server } => {
            let name = server
                .or_else(|| ctx.server.clone())
                .or_else(|| ctx.config.file.default_server.clone());
            let name = name.ok_or_else(|| anyhow::anyhow!("no server given and no default server is set"))?;
            let saved = ctx
                .config
                .find_server(&name)
                .ok_or_else(|| {
                    anyhow::anyhow!("no saved server is called `{name}`; save it first with `spacetime server add`")
                })?
                .clone();
            let pem = fetch_fingerprint(&saved.url())?;
            match &saved.ecdsa_public_key {
                Some(old) if *old == pem => println!("Fingerprint is unchanged for server {name}:\n{pem}"),
                Some(old) => println!("Fingerprint has changed for server {name}.\nWas:\n{old}\nNew:\n{pem}"),
                None => println!("No saved fingerprint for server {name}. New fingerprint:\n{pem}"),
            }
            if saved.ecdsa_public_key.as_deref() != Some(pem.as_str()) {
                if !ctx.yes && !util::confirm("Save the new fingerprint?", true)? {
                    println!("Aborting");
                    return Ok(());
                }
                ctx.config.set_fingerprint(&name, pem)?;
                ctx.config.save()?;
            }
            Ok(())
        }
        ServerCommand::Edit {
            server,
            new_name,
            url,
            no_fingerprint,
        } => edit(ctx, &server, new_name, url, no_fingerprint),
        ServerCommand::Clear { data_dir } => clear(ctx, data_dir),
        ServerCommand::Ping { server } => {
            let url = ctx.config.server_url(server.as_deref().or(ctx.server.as_deref()))?;
            let api = Api::new(&url, None)?;
            api.send_ok(api.request(Method::GET, "/ping"), &format!("pinging {url}"))?;
            println!("Server is online: {url}");
            Ok(())
        }
    }
}

/// `server edit`: renames a saved server and/or points it at a new URL (refetching the
/// fingerprint unless told not to), after showing the changes and asking.
fn edit(
    ctx: &mut Ctx,
    server: &str,
    new_name: Option<String>,
    url: Option<String>,
    no_fingerprint: bool,
) -> Result<()> {
    if new_name.is_none() && url.is_none() {
        anyhow::bail!("nothing to change: pass --new-name <name> and/or --url <url>");
    }
    let old = ctx
        .config
        .find_server(server)
        .ok_or_else(|| {
            anyhow::anyhow!("no saved server is called `{server}`; `spacetime server list` shows the saved ones")
        })?
        .clone();
    let mut new = old.clone();
    if let Some(name) = &new_name {
        println!(
            "Changing nickname from {} to {name}",
            old.nickname.as_deref().unwrap_or("(none)")
        );
        new.nickname = Some(name.clone());
    }
    if let Some(url) = &url {
        let (host, protocol) = split_url(url)?;
        if host != old.host {
            println!("Changing host from {} to {host}", old.host);
        }
        if protocol != old.protocol {
            println!("Changing protocol from {} to {protocol}", old.protocol);
        }
        new.host = host;
        new.protocol = protocol;
        if new.url() != old.url() {
            new.ecdsa_public_key = if no_fingerprint {
                None
            } else {
                let pem = fetch_fingerprint(&new.url()).with_context(|| {
                    format!(
                        "cannot fetch the fingerprint of {}; is the server running? Pass --no-fingerprint to skip it",
                        new.url()
                    )
                })?;
                println!("New fingerprint:\n{pem}");
                Some(pem)
            };
        }
    }
    if !ctx.yes && !util::confirm("Continue?", true)? {
        anyhow::bail!("aborted: the saved server `{server}` was left as it was");
    }
    let was_default = ctx.config.is_default(&old);
    ctx.config.remove_server(server)?;
    let name = new.nickname.clone().unwrap_or_else(|| new.host.clone());
    ctx.config.add_server(new)?;
    if was_default {
        ctx.config.set_default_server(&name)?;
    }
    ctx.config.save()?;
    println!("Saved server {name}");
    Ok(())
}

/// `server clear`: deletes the local data directory after asking.
fn clear(ctx: &Ctx, data_dir: Option<std::path::PathBuf>) -> Result<()> {
    // Where `spacetime start` keeps its data with the same flags: `<root-dir>/data`, else
    // the XDG default.
    let dir = match (data_dir, &ctx.root_dir) {
        (Some(dir), _) => dir,
        (None, Some(root)) => root.join("data"),
        (None, None) => crate::config::default_data_dir()?,
    };
    if !dir.exists() {
        println!(
            "Local database not found at {}. Nothing has been deleted.",
            dir.display()
        );
        return Ok(());
    }
    println!("Database path: {}", dir.display());
    let question = "Are you sure you want to delete all data from the local database? Stop the local server first.";
    if !ctx.yes && !util::confirm(question, false)? {
        println!("Aborting");
        return Ok(());
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot delete {}", dir.display()))?;
    println!("Deleted all data from the local database.");
    Ok(())
}

fn list(ctx: &Ctx) {
    let header = ["DEFAULT", "HOSTNAME", "PROTOCOL", "NICKNAME"].map(String::from);
    let rows: Vec<[String; 4]> = ctx
        .config
        .file
        .server_configs
        .iter()
        .map(|s| {
            let default = if ctx.config.is_default(s) { "***" } else { "" };
            [
                default.to_owned(),
                s.host.clone(),
                s.protocol.clone(),
                s.nickname.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 4]| {
        let default = format!(" {:>w$} ", cells[0], w = widths[0]);
        let rest: String = cells[1..]
            .iter()
            .zip(&widths[1..])
            .map(|(c, w)| format!(" {c:<w$} "))
            .collect();
        println!("{}", format!("{default}{rest}").trim_end());
    };
    line(&header);
    rows.iter().for_each(line);
}

/// `GET /v1/identity/public-key`: the server's PEM public key.
fn fetch_fingerprint(url: &str) -> Result<String> {
    let api = Api::new(url, None)?;
    let response = api.send_ok(
        api.request(Method::GET, "/identity/public-key"),
        "fetching the fingerprint",
    )?;
    Ok(response
        .text()
        .context("cannot read the server's public key")?
        .trim()
        .to_owned())
}
