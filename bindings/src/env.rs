//! The module environment of SpacetimeDB 2.14: [`Environment`], the `env` field of every
//! context, which reads the database's values through the `spacetime_10.6` import
//! `env_get`; and the runtime side of `#[env]` and `#[derive(EnvironmentValue)]`: the
//! [`EnvironmentValue`] trait that turns a value into a field's type and names the
//! constraint the module definition declares, and the describer that writes the
//! `Environment` section.
//!
//! Values belong to the database (set at publish), not to the module; the module only
//! declares which keys it reads, which values they may take and which are optional.

use crate::rt::{register_describer, ModuleBuilder};
use crate::sys;
use spacetime_sats::def::raw::{RawEnvVarTypeV10, RawEnvironmentDeclarationV10};
use std::sync::Mutex;

/// Read-only access to this database's environment values.
///
/// In a reducer or view a read sees the values of its transaction; in a procedure outside
/// `with_tx` each read is its own snapshot. Values are plain text that the database's
/// collaborators can read: do not treat them as secrets from them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Environment {
    _private: (),
}

impl Environment {
    /// The value of `key`: `None` when an optional key has no value, `Some("")` for a
    /// present empty value.
    ///
    /// # Panics
    /// If the module did not declare `key` (with `#[spacetimedb::env]`), if it is not a
    /// POSIX name of at most 256 bytes, or outside a reducer, view or procedure call.
    pub fn get(&self, key: &str) -> Option<String> {
        let bytes = sys::env_get(key).unwrap_or_else(|e| panic!("reading environment key `{key}` failed: {e}"));
        bytes.map(|bytes| {
            String::from_utf8(bytes).unwrap_or_else(|_| panic!("the host gave a non-UTF-8 value for `{key}`"))
        })
    }
}

/// A type an `#[env]` field may have: `String`, an enum deriving `EnvironmentValue`, or
/// an `Option` of either.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "environment fields must be `String`, an enum deriving `EnvironmentValue`, or an `Option` of either"
)]
pub trait EnvironmentValue: Sized {
    /// Whether the key may be absent.
    const OPTIONAL: bool;

    /// The values the key may take, as the module definition declares them.
    fn constraint() -> RawEnvVarTypeV10;

    /// The field's value from what the host returned. Panics name only the key, never the
    /// value, which may be confidential.
    fn from_environment(value: Option<String>, key: &str) -> Self;

    /// Reads `key` from `environment` as this type.
    fn get(environment: &Environment, key: &str) -> Self {
        Self::from_environment(environment.get(key), key)
    }
}

/// The required environment types that `Option<T>` may wrap (`Option<Option<_>>` is not
/// one).
#[doc(hidden)]
pub trait RequiredEnvironmentValue: EnvironmentValue {}

impl EnvironmentValue for String {
    const OPTIONAL: bool = false;

    fn constraint() -> RawEnvVarTypeV10 {
        RawEnvVarTypeV10::String
    }

    fn from_environment(value: Option<String>, key: &str) -> Self {
        value.unwrap_or_else(|| panic!("required environment key is missing: {key}"))
    }
}

impl RequiredEnvironmentValue for String {}

impl<T: RequiredEnvironmentValue> EnvironmentValue for Option<T> {
    const OPTIONAL: bool = true;

    fn constraint() -> RawEnvVarTypeV10 {
        T::constraint()
    }

    fn from_environment(value: Option<String>, key: &str) -> Self {
        value.map(|value| T::from_environment(Some(value), key))
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for String {}
    impl Sealed for Option<String> {}
}

/// The field types `#[env(values(..))]` may constrain: an enum's values come from its
/// variants instead.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`#[env(values(...))]` requires `String` or `Option<String>`; map enum variants with `#[env(value = \"...\")]` instead"
)]
pub trait StringEnvironmentValue: EnvironmentValue + sealed::Sealed {
    /// The constraint from `values(..)`, unchanged: the call is the type check.
    fn with_constraint(constraint: RawEnvVarTypeV10) -> RawEnvVarTypeV10 {
        constraint
    }
}

impl StringEnvironmentValue for String {}
impl StringEnvironmentValue for Option<String> {}

/// Registers the module's `#[env]` declaration: one `Environment` section with
/// `declarations()`.
#[doc(hidden)]
pub fn register_environment(declarations: Declarations) {
    // A module has one `#[env]` (its export symbol is fixed, so a second one fails to
    // link); the describer is a plain `fn`, so the declarations wait in a static.
    *DECLARATIONS.lock().unwrap_or_else(|p| p.into_inner()) = Some(declarations);
    register_describer(describe_environment);
}

/// What `#[env]` generates: the declarations, built when the module is described.
type Declarations = fn() -> Vec<RawEnvironmentDeclarationV10>;

static DECLARATIONS: Mutex<Option<Declarations>> = Mutex::new(None);

fn describe_environment(module: &mut ModuleBuilder) {
    let declarations = *DECLARATIONS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(declarations) = declarations {
        module.add_environment(declarations());
    }
}

/// The constraint of a string field limited to `values`: one literal or a union, as
/// upstream writes them.
#[doc(hidden)]
pub fn string_values(values: &[&str]) -> RawEnvVarTypeV10 {
    match values {
        [one] => RawEnvVarTypeV10::StringLiteral((*one).to_owned()),
        many => RawEnvVarTypeV10::Union(many.iter().map(|v| (*v).to_owned()).collect()),
    }
}
