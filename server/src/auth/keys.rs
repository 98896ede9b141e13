//! The server's ES256 key pair: loaded from PEM files, or created there on first start.
//!
//! The private key is PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`; SEC1 `EC PRIVATE KEY`
//! is read too) and the public key SPKI PEM (`-----BEGIN PUBLIC KEY-----`), the layout of
//! `id_ecdsa` / `id_ecdsa.pub` that `spacetime start` shares with the CLI.

use jsonwebtoken::{DecodingKey, EncodingKey};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use std::fs;
use std::path::{Path, PathBuf};

/// Why the key pair could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file exists but could not be read, or a new one could not be written.
    #[error("cannot access key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file is not a P-256 key in PEM form.
    #[error(
        "key file {path} is not a P-256 {what} in PEM form ({detail}); delete both key files to have new ones created"
    )]
    BadPem {
        /// The file.
        path: PathBuf,
        /// "private key" or "public key".
        what: &'static str,
        /// What the parser said.
        detail: String,
    },
    /// Only one of the two files exists.
    #[error("found {present} but not {missing}; restore it, or delete {present} to have a new key pair created")]
    HalfPair {
        /// The file that exists.
        present: PathBuf,
        /// The file that is missing.
        missing: PathBuf,
    },
    /// The public key file belongs to another private key.
    #[error(
        "public key {public} does not belong to private key {private}; delete both to have a new key pair created"
    )]
    Mismatch {
        /// The public key file.
        public: PathBuf,
        /// The private key file.
        private: PathBuf,
    },
}

/// The key pair that signs and verifies this server's tokens.
#[derive(Clone)]
pub struct JwtKeys {
    signing: SigningKey,
    public_pem: String,
    /// The same private key, as jsonwebtoken signs with it.
    encoding: EncodingKey,
    /// The same public key, as jsonwebtoken verifies with it.
    decoding: DecodingKey,
}

impl JwtKeys {
    /// A fresh random key pair, kept only in memory.
    pub fn generate() -> Self {
        Self::from_signing(SigningKey::random(&mut rand_core::OsRng))
    }

    fn from_signing(signing: SigningKey) -> Self {
        let public_pem = signing
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encoding a valid P-256 public key as SPKI PEM cannot fail");
        let private_pem = signing
            .to_pkcs8_pem(LineEnding::LF)
            .expect("encoding a valid P-256 secret key as PKCS#8 PEM cannot fail");
        let encoding = EncodingKey::from_ec_pem(private_pem.as_bytes())
            .expect("jsonwebtoken reads the PKCS#8 PEM p256 just wrote");
        let decoding =
            DecodingKey::from_ec_pem(public_pem.as_bytes()).expect("jsonwebtoken reads the SPKI PEM p256 just wrote");
        Self {
            signing,
            public_pem,
            encoding,
            decoding,
        }
    }

    /// Loads the pair from `private` and `public`, or creates both files if neither exists.
    ///
    /// # Errors
    /// Fails if a file cannot be read or written, is not a P-256 PEM key, only one of the
    /// two exists, or the public key does not match the private one.
    pub fn load_or_create(private: &Path, public: &Path) -> Result<Self, KeyError> {
        match (private.exists(), public.exists()) {
            (true, true) => Self::load(private, public),
            (false, false) => {
                let keys = Self::generate();
                keys.write(private, public)?;
                Ok(keys)
            }
            (true, false) => Err(KeyError::HalfPair {
                present: private.to_owned(),
                missing: public.to_owned(),
            }),
            (false, true) => Err(KeyError::HalfPair {
                present: public.to_owned(),
                missing: private.to_owned(),
            }),
        }
    }

    fn load(private: &Path, public: &Path) -> Result<Self, KeyError> {
        let private_pem = read(private)?;
        let signing = SigningKey::from_pkcs8_pem(&private_pem)
            .or_else(|e| {
                p256::SecretKey::from_sec1_pem(&private_pem)
                    .map(SigningKey::from)
                    .map_err(|_| e)
            })
            .map_err(|e| bad_pem(private, "private key", e))?;
        let public_pem = read(public)?;
        let verifying = VerifyingKey::from_public_key_pem(&public_pem).map_err(|e| bad_pem(public, "public key", e))?;
        if verifying != *signing.verifying_key() {
            return Err(KeyError::Mismatch {
                public: public.to_owned(),
                private: private.to_owned(),
            });
        }
        Ok(Self::from_signing(signing))
    }

    fn write(&self, private: &Path, public: &Path) -> Result<(), KeyError> {
        let private_pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .expect("encoding a valid P-256 secret key as PKCS#8 PEM cannot fail");
        for path in [private, public] {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(|source| KeyError::Io {
                    path: dir.to_owned(),
                    source,
                })?;
            }
        }
        write_private(private, private_pem.as_bytes()).map_err(|source| KeyError::Io {
            path: private.to_owned(),
            source,
        })?;
        fs::write(public, &self.public_pem).map_err(|source| KeyError::Io {
            path: public.to_owned(),
            source,
        })
    }

    /// The key that signs tokens.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The key that verifies tokens.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public key as SPKI PEM, as served by `GET /v1/identity/public-key`.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

fn bad_pem(path: &Path, what: &'static str, e: impl std::fmt::Display) -> KeyError {
    KeyError::BadPem {
        path: path.to_owned(),
        what,
        detail: e.to_string(),
    }
}

/// Writes a secret readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_keys_load_back_and_a_half_pair_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (dir.path().join("id_ecdsa"), dir.path().join("id_ecdsa.pub"));
        let created = JwtKeys::load_or_create(&private, &public).unwrap();
        let loaded = JwtKeys::load_or_create(&private, &public).unwrap();
        assert_eq!(created.public_pem(), loaded.public_pem());
        assert!(loaded.public_pem().starts_with("-----BEGIN PUBLIC KEY-----"));

        fs::remove_file(&public).unwrap();
        let err = JwtKeys::load_or_create(&private, &public).err().unwrap();
        assert!(matches!(err, KeyError::HalfPair { .. }), "{err}");
    }

    #[test]
    fn a_public_key_of_another_pair_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (dir.path().join("k"), dir.path().join("k.pub"));
        JwtKeys::load_or_create(&private, &public).unwrap();
        fs::write(&public, JwtKeys::generate().public_pem()).unwrap();
        let err = JwtKeys::load_or_create(&private, &public).err().unwrap();
        assert!(matches!(err, KeyError::Mismatch { .. }), "{err}");
    }
}
