//! The `Environment` section (2.14): each key a POSIX environment name of at most 256
//! bytes, declared once, and a `Union` of at least one value.

use super::{ValidationError, Validator};
use crate::def::model::EnvironmentDef;
use crate::def::raw::{RawEnvVarTypeV10, RawEnvironmentDeclarationV10};
use std::collections::HashSet;

/// The longest environment key, in bytes.
pub const MAX_ENV_KEY_BYTES: usize = 256;

/// Why `key` is not a POSIX environment name of at most [`MAX_ENV_KEY_BYTES`] bytes.
pub fn env_key_problem(key: &str) -> Option<&'static str> {
    let mut chars = key.chars();
    match chars.next() {
        None => Some("it is empty"),
        Some(_) if key.len() > MAX_ENV_KEY_BYTES => Some("it is longer than 256 bytes"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => Some("it must start with an ASCII letter or `_`"),
        Some(_) if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            Some("it may hold only ASCII letters, digits and `_`")
        }
        Some(_) => None,
    }
}

impl Validator<'_> {
    pub(super) fn validate_environment(&mut self, input: Vec<RawEnvironmentDeclarationV10>) -> Vec<EnvironmentDef> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for decl in input {
            let problem = env_key_problem(&decl.name)
                .or_else(|| (!seen.insert(decl.name.clone())).then_some("it is declared twice"));
            let allowed = match decl.ty {
                RawEnvVarTypeV10::String => None,
                RawEnvVarTypeV10::StringLiteral(value) => Some(vec![value]),
                RawEnvVarTypeV10::Union(values) => Some(values),
            };
            let problem = problem.or_else(|| {
                allowed
                    .as_ref()
                    .is_some_and(Vec::is_empty)
                    .then_some("it allows no value")
            });
            match problem {
                Some(problem) => self.err(ValidationError::EnvironmentKey {
                    key: decl.name,
                    problem,
                }),
                None => out.push(EnvironmentDef {
                    name: decl.name,
                    allowed,
                    optional: decl.optional,
                }),
            }
        }
        out
    }
}
