//! Database names: what a valid name looks like, and telling names from identities.
//!
//! A name is one or more `/`-separated segments of lower-case letters, digits and
//! single inner hyphens (`^[a-z0-9]+(-[a-z0-9]+)*$`, as the CLI checks), e.g. `chat` or
//! `team/chat-dev`. A 64-digit hex string is an identity, never a name.

use spacetime_sats::Identity;
use std::fmt;

/// The longest accepted name, in bytes.
const MAX_NAME_LEN: usize = 253;

/// A validated database name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatabaseName(String);

/// Why a name was rejected; the message says what a valid name looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid database name {name:?}: {reason}; use lower-case letters, digits and inner hyphens, with `/` between parts, e.g. `my-db` or `team/my-db`")]
pub struct NameError {
    /// The rejected name.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl DatabaseName {
    /// Checks `name` against the naming rules.
    ///
    /// # Errors
    /// Returns [`NameError`] saying which rule `name` breaks.
    pub fn parse(name: &str) -> Result<Self, NameError> {
        let fail = |reason| {
            Err(NameError {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty() {
            return fail("it is empty");
        }
        if name.len() > MAX_NAME_LEN {
            return fail("it is longer than 253 bytes");
        }
        if Identity::from_hex(name).is_ok() {
            return fail("it would be read as a database identity");
        }
        for segment in name.split('/') {
            if segment.is_empty() {
                return fail("it has an empty part (a leading, trailing or double `/`)");
            }
            if segment.chars().any(|c| c.is_ascii_uppercase()) {
                return fail("it has upper-case letters");
            }
            if !segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return fail("it has characters other than a-z, 0-9, `-` and `/`");
            }
            if segment.starts_with('-') || segment.ends_with('-') || segment.contains("--") {
                return fail("a hyphen must sit between two letters or digits");
            }
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DatabaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a `:name_or_identity` path segment is to be looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrIdentity {
    /// 64 hex digits (optionally `0x`-prefixed).
    Identity(Identity),
    /// Anything else, looked up as a name.
    Name(String),
}

impl NameOrIdentity {
    /// Reads a path segment.
    pub fn parse(s: &str) -> Self {
        match Identity::from_hex(s) {
            Ok(id) => Self::Identity(id),
            Err(_) => Self::Name(s.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_naming_rules_hold_with_slashes_between_parts() {
        for ok in ["chat", "my-db-2", "team/chat", "0abc"] {
            assert!(DatabaseName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Chat",
            "a//b",
            "a/",
            "/a",
            "-a",
            "a-",
            "a--b",
            "a_b",
            "a b",
            &"c2".repeat(32),
        ] {
            assert!(DatabaseName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex_of_the_right_length_is_an_identity() {
        assert!(matches!(
            NameOrIdentity::parse(&"c2".repeat(32)),
            NameOrIdentity::Identity(_)
        ));
        assert_eq!(NameOrIdentity::parse("chat"), NameOrIdentity::Name("chat".into()));
    }
}
