//! Saving and loading the token a client reconnects with, as SpacetimeDB's SDK does: one
//! file per key under `~/.spacetimedb_client_credentials/`, holding the BSATN of
//! `{ token: String }` (a little-endian `u32` length, then the UTF-8 bytes).
//!
//! ```no_run
//! use spacetimedb_sdk::credentials;
//! let token = credentials::File::new("my_app").load()?;
//! # Ok::<(), credentials::CredentialFileError>(())
//! ```

use spacetime_sats::bsatn;
use std::path::PathBuf;

/// The directory, under the home directory, that holds the credential files.
pub const CREDENTIALS_DIR: &str = ".spacetimedb_client_credentials";

/// Why credentials could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum CredentialFileError {
    /// Neither `HOME` nor `USERPROFILE` is set.
    #[error("cannot find the home directory to store credentials in: set HOME (or USERPROFILE on Windows), or use File::in_dir")]
    NoHomeDir,
    /// The directory could not be created.
    #[error("cannot create the credentials directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write credentials to {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be read.
    #[error("cannot read credentials from {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file does not hold saved credentials.
    #[error("{path} does not hold saved credentials (delete it to start with a new identity)")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: bsatn::DecodeError,
    },
}

/// A credentials file, which may or may not exist yet.
#[derive(Debug, Clone)]
pub struct File {
    dir: Option<PathBuf>,
    key: String,
}

impl File {
    /// The file `~/.spacetimedb_client_credentials/<key>`. Applications that should not
    /// share an identity use different keys.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            dir: None,
            key: key.into(),
        }
    }

    /// The file `<dir>/<key>`, for applications (and tests) that keep credentials elsewhere.
    pub fn in_dir(dir: impl Into<PathBuf>, key: impl Into<String>) -> Self {
        Self {
            dir: Some(dir.into()),
            key: key.into(),
        }
    }

    fn dir(&self) -> Result<PathBuf, CredentialFileError> {
        if let Some(dir) = &self.dir {
            return Ok(dir.clone());
        }
        let home = std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .filter(|h| !h.is_empty());
        home.map(|h| PathBuf::from(h).join(CREDENTIALS_DIR))
            .ok_or(CredentialFileError::NoHomeDir)
    }

    /// The file's path.
    ///
    /// # Errors
    /// [`CredentialFileError::NoHomeDir`].
    pub fn path(&self) -> Result<PathBuf, CredentialFileError> {
        Ok(self.dir()?.join(&self.key))
    }

    /// Saves `token`, creating the directory if needed; call it from `on_connect`.
    ///
    /// # Errors
    /// If the directory or file cannot be written.
    pub fn save(&self, token: impl Into<String>) -> Result<(), CredentialFileError> {
        let dir = self.dir()?;
        std::fs::create_dir_all(&dir).map_err(|source| CredentialFileError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(&self.key);
        let bytes = bsatn::to_vec(&(token.into(),));
        std::fs::write(&path, bytes).map_err(|source| CredentialFileError::Write { path, source })
    }

    /// The saved token, or `None` if none was saved; pass it to `with_token`.
    ///
    /// # Errors
    /// If the file exists but cannot be read or does not hold credentials.
    pub fn load(&self) -> Result<Option<String>, CredentialFileError> {
        let path = self.path()?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CredentialFileError::Read { path, source }),
        };
        let (token,): (String,) =
            bsatn::from_slice(&bytes).map_err(|source| CredentialFileError::Decode { path, source })?;
        Ok(Some(token))
    }
}
