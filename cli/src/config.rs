//! The CLI's configuration file, `cli.toml`: saved servers, the default server, the login
//! token and the `listen_addr` for `spacetime start`.
//!
//! The file lives at `~/.config/spacetime/cli.toml` unless `--config-path` names another
//! one. A missing file reads as the fresh configuration (one server, `local` =
//! `http://127.0.0.1:3000`, as the default); nothing is written until a verb changes
//! something. Keys this version does not know are kept when the file is saved again.

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The nickname of the server a fresh configuration starts with.
pub const LOCAL_NICKNAME: &str = "local";
/// The host of the server a fresh configuration starts with.
pub const LOCAL_HOST: &str = "127.0.0.1:3000";

/// One saved server (`[[server_configs]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The short name used with `--server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// `host[:port]`, without the scheme.
    pub host: String,
    /// `http` or `https`.
    pub protocol: String,
    /// The server's PEM public key, saved by `server fingerprint` / `server add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecdsa_public_key: Option<String>,
}

impl ServerConfig {
    /// The server's base URL, `protocol://host`.
    pub fn url(&self) -> String {
        format!("{}://{}", self.protocol, self.host)
    }

    fn is_named(&self, name: &str) -> bool {
        self.nickname.as_deref() == Some(name) || self.host == name || self.url() == name.trim_end_matches('/')
    }
}

/// The contents of `cli.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigFile {
    /// The nickname (or host) of the server verbs use without `--server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_server: Option<String>,
    /// The token sent as `Authorization: Bearer …`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spacetimedb_token: Option<String>,
    /// The address `spacetime start` listens on when no `--listen-addr` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_addr: Option<String>,
    /// Saved servers.
    #[serde(default)]
    pub server_configs: Vec<ServerConfig>,
    /// Keys this version does not use, kept so that saving does not drop them.
    #[serde(flatten)]
    pub other: toml::Table,
}

impl Default for ConfigFile {
    fn default() -> Self {
        Self {
            default_server: Some(LOCAL_NICKNAME.to_owned()),
            spacetimedb_token: None,
            listen_addr: None,
            server_configs: vec![ServerConfig {
                nickname: Some(LOCAL_NICKNAME.to_owned()),
                host: LOCAL_HOST.to_owned(),
                protocol: "http".to_owned(),
                ecdsa_public_key: None,
            }],
            other: toml::Table::new(),
        }
    }
}

/// The loaded configuration plus where it is saved.
#[derive(Debug)]
pub struct Config {
    path: PathBuf,
    /// The file's contents.
    pub file: ConfigFile,
}

impl Config {
    /// The default location, `$HOME/.config/spacetime/cli.toml` (or under `XDG_CONFIG_HOME`).
    pub fn default_path() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir).join("spacetime").join("cli.toml"));
        }
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).ok_or_else(|| {
            anyhow!("cannot find the configuration directory: HOME is not set; pass --config-path <file>")
        })?;
        Ok(PathBuf::from(home).join(".config").join("spacetime").join("cli.toml"))
    }

    /// Reads the file at `path`, or the fresh configuration if it does not exist.
    ///
    /// # Errors
    /// When the file exists but cannot be read or is not a valid `cli.toml`.
    pub fn load(path: &Path) -> Result<Self> {
        let file = match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text)
                .with_context(|| format!("{} is not a valid cli.toml; fix or delete it", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigFile::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }

    /// Where the configuration is saved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the configuration (also where `start` keeps its JWT keys).
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Writes the configuration back, creating the directory if needed.
    ///
    /// # Errors
    /// When the directory or file cannot be written.
    pub fn save(&self) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = toml::to_string(&self.file).context("cannot serialize the configuration")?;
        std::fs::write(&self.path, text).with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// The saved server named `name` (nickname, host or URL).
    pub fn find_server(&self, name: &str) -> Option<&ServerConfig> {
        self.file.server_configs.iter().find(|s| s.is_named(name))
    }

    fn find_server_mut(&mut self, name: &str) -> Option<&mut ServerConfig> {
        self.file.server_configs.iter_mut().find(|s| s.is_named(name))
    }

    /// The base URL for `--server` (or the default server when `None`).
    ///
    /// A value containing `://` is used as the URL as it is; otherwise it must name a saved
    /// server by nickname or host.
    ///
    /// # Errors
    /// When the name matches no saved server, or there is no default server.
    pub fn server_url(&self, server: Option<&str>) -> Result<String> {
        let name = match server {
            Some(s) => s,
            None => self.file.default_server.as_deref().ok_or_else(|| {
                anyhow!("no default server is set: pass --server <url>, or run `spacetime server set-default <name>`")
            })?,
        };
        if name.contains("://") {
            return Ok(name.trim_end_matches('/').to_owned());
        }
        match self.find_server(name) {
            Some(s) => Ok(s.url()),
            None => bail!(
                "no saved server is called `{name}`: pass a URL such as http://127.0.0.1:3000, \
                 or save it with `spacetime server add --url <url> {name}`"
            ),
        }
    }

    /// Saves a new server.
    ///
    /// # Errors
    /// When the nickname or host is already saved.
    pub fn add_server(&mut self, server: ServerConfig) -> Result<()> {
        if let Some(nick) = &server.nickname {
            if self
                .file
                .server_configs
                .iter()
                .any(|s| s.nickname.as_ref() == Some(nick))
            {
                bail!(
                    "a server called `{nick}` is already saved; remove it first with `spacetime server remove {nick}`"
                );
            }
        }
        if self.file.server_configs.iter().any(|s| s.host == server.host) {
            bail!("a server with host `{}` is already saved", server.host);
        }
        self.file.server_configs.push(server);
        Ok(())
    }

    /// Makes the saved server `name` the default.
    ///
    /// # Errors
    /// When no saved server has that name.
    pub fn set_default_server(&mut self, name: &str) -> Result<()> {
        let server = self.find_server(name).ok_or_else(|| no_such_saved_server(name))?;
        self.file.default_server = Some(server.nickname.clone().unwrap_or_else(|| server.host.clone()));
        Ok(())
    }

    /// Removes the saved server `name`, and the default-server setting if it pointed there.
    ///
    /// # Errors
    /// When no saved server has that name.
    pub fn remove_server(&mut self, name: &str) -> Result<ServerConfig> {
        let index = self
            .file
            .server_configs
            .iter()
            .position(|s| s.is_named(name))
            .ok_or_else(|| no_such_saved_server(name))?;
        let removed = self.file.server_configs.remove(index);
        if self.file.default_server.as_deref().is_some_and(|d| removed.is_named(d)) {
            self.file.default_server = None;
        }
        Ok(removed)
    }

    /// Whether `server` is the default server.
    pub fn is_default(&self, server: &ServerConfig) -> bool {
        self.file.default_server.as_deref().is_some_and(|d| server.is_named(d))
    }

    /// Records the fingerprint (PEM public key) of the saved server `name`.
    ///
    /// # Errors
    /// When no saved server has that name.
    pub fn set_fingerprint(&mut self, name: &str, pem: String) -> Result<()> {
        let server = self.find_server_mut(name).ok_or_else(|| no_such_saved_server(name))?;
        server.ecdsa_public_key = Some(pem);
        Ok(())
    }

    /// The saved login token, if any.
    pub fn token(&self) -> Option<&str> {
        self.file.spacetimedb_token.as_deref()
    }

    /// Stores a login token.
    pub fn set_token(&mut self, token: String) {
        self.file.spacetimedb_token = Some(token);
    }

    /// Forgets every login token (ours and a web session token from upstream's CLI).
    /// Returns the token that was removed, if any.
    pub fn clear_tokens(&mut self) -> Option<String> {
        self.file.other.remove("web_session_token");
        self.file.spacetimedb_token.take()
    }
}

/// The local server's data directory: `$XDG_DATA_HOME/spacetime/data`, else
/// `~/.local/share/spacetime/data`.
///
/// # Errors
/// When neither `XDG_DATA_HOME` nor `HOME` is set.
pub fn default_data_dir() -> Result<PathBuf> {
    crate::subcommands::start::settings::default_root_dir(&|key| std::env::var(key).ok())
        .map(|root| root.join("data"))
        .ok_or_else(|| anyhow!("cannot find the data directory: HOME is not set; pass --data-dir <dir>"))
}

fn no_such_saved_server(name: &str) -> anyhow::Error {
    anyhow!("no saved server is called `{name}`; `spacetime server list` shows the saved ones")
}

/// Splits `http://host:port/` into (`host:port`, `http`).
///
/// # Errors
/// When the URL has no `http://` or `https://` scheme.
pub fn split_url(url: &str) -> Result<(String, String)> {
    let url = url.trim_end_matches('/');
    let (protocol, host) = url
        .split_once("://")
        .ok_or_else(|| anyhow!("`{url}` is not a URL: write it with its scheme, e.g. http://127.0.0.1:3000"))?;
    if protocol != "http" && protocol != "https" {
        bail!("unsupported protocol `{protocol}` in `{url}`: use http or https");
    }
    if host.is_empty() {
        bail!("`{url}` has no host");
    }
    Ok((host.to_owned(), protocol.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_config_has_local_as_default() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(&dir.path().join("cli.toml")).unwrap();
        assert_eq!(config.server_url(None).unwrap(), "http://127.0.0.1:3000");
        assert_eq!(config.server_url(Some("local")).unwrap(), "http://127.0.0.1:3000");
        assert_eq!(
            config.server_url(Some("http://1.2.3.4:5/")).unwrap(),
            "http://1.2.3.4:5"
        );
        assert!(config
            .server_url(Some("nope"))
            .unwrap_err()
            .to_string()
            .contains("server add"));
    }

    #[test]
    fn round_trip_keeps_unknown_keys_and_clears_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("cli.toml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "default_server = \"local\"\nweb_session_token = \"w\"\nfuture_key = 3\nspacetimedb_token = \"t\"\n\n\
             [[server_configs]]\nnickname = \"local\"\nhost = \"127.0.0.1:3000\"\nprotocol = \"http\"\n",
        )
        .unwrap();
        let mut config = Config::load(&path).unwrap();
        assert_eq!(config.token(), Some("t"));
        assert_eq!(config.clear_tokens().as_deref(), Some("t"));
        config.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("future_key = 3"), "{text}");
        assert!(!text.contains("web_session_token"), "{text}");
        assert!(!text.contains("spacetimedb_token"), "{text}");
    }

    #[test]
    fn add_set_default_remove() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::load(&dir.path().join("cli.toml")).unwrap();
        let (host, protocol) = split_url("https://example.com/").unwrap();
        config
            .add_server(ServerConfig {
                nickname: Some("ex".into()),
                host,
                protocol,
                ecdsa_public_key: None,
            })
            .unwrap();
        config.set_default_server("ex").unwrap();
        assert_eq!(config.server_url(None).unwrap(), "https://example.com");
        assert!(config.add_server(config.file.server_configs[1].clone()).is_err());
        config.remove_server("example.com").unwrap();
        assert!(config.server_url(None).is_err());
        assert!(split_url("example.com").is_err());
    }
}
