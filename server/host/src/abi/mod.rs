//! The module ABI as the host sees it: the versioned import table (every
//! `spacetime_10.x` function, linked once into the runtime's `Linker`), the errno
//! codes, and ABI-version detection from a module's imports.
//!
//! The shims themselves are in [`imports`]; guest-memory access and the one converter
//! from a shim's result to an errno or a trap are in [`memory`].

pub(crate) mod handles;
pub(crate) mod imports;
pub(crate) mod memory;
mod procedures;

use crate::env::InstanceEnv;
use crate::error::LoadError;
use wasmtime::{ExternType, Linker, Module};

/// The errno codes of the ABI (`shared/reference/module-api.md` §2.3); 0 is success.
/// The one table lives in `spacetime-sats`, shared with the datastore and the bindings.
pub use spacetime_sats::errno;

/// The ABI major version the host implements.
pub const ABI_MAJOR: u16 = 10;
/// The highest ABI minor version the host implements.
pub const ABI_MINOR: u16 = 6;

/// A module's ABI version: the highest `spacetime_<major>.<minor>` it imports from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbiVersion {
    /// The major version; must equal [`ABI_MAJOR`].
    pub major: u16,
    /// The minor version; at most [`ABI_MINOR`].
    pub minor: u16,
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Declares the import table once: the linker is filled from it and nothing else.
/// `alias = target` links a deprecated name to the shim of its replacement.
macro_rules! import_table {
    ($($module:literal => [$($name:ident $(= $target:ident)?),* $(,)?],)*) => {
        /// Every import the host provides, as `(module, name)`, in version order.
        pub const IMPORTS: &[(&str, &str)] = &[$($(($module, stringify!($name)),)*)*];

        /// Links every import of [`IMPORTS`] into `linker`.
        pub(crate) fn link_imports(linker: &mut Linker<InstanceEnv>) -> wasmtime::Result<()> {
            $($(linker.func_wrap($module, stringify!($name), import_table!(@shim $name $($target)?))?;)*)*
            Ok(())
        }
    };
    (@shim $name:ident) => { imports::$name };
    (@shim $name:ident $target:ident) => { imports::$target };
}

import_table! {
    "spacetime_10.0" => [
        table_id_from_name,
        index_id_from_name,
        datastore_table_row_count,
        datastore_table_scan_bsatn,
        datastore_index_scan_range_bsatn,
        datastore_delete_by_index_scan_range_bsatn,
        datastore_btree_scan_bsatn = datastore_index_scan_range_bsatn,
        datastore_delete_by_btree_scan_bsatn = datastore_delete_by_index_scan_range_bsatn,
        row_iter_bsatn_advance,
        row_iter_bsatn_close,
        datastore_insert_bsatn,
        datastore_update_bsatn,
        datastore_delete_all_by_eq_bsatn,
        bytes_source_read,
        bytes_sink_write,
        console_log,
        console_timer_start,
        console_timer_end,
        identity,
        volatile_nonatomic_schedule_immediate,
    ],
    "spacetime_10.1" => [bytes_source_remaining_length],
    "spacetime_10.2" => [get_jwt],
    "spacetime_10.3" => [
        procedure_start_mut_tx,
        procedure_commit_mut_tx,
        procedure_abort_mut_tx,
        procedure_sleep_until,
        procedure_http_request,
    ],
    "spacetime_10.4" => [datastore_index_scan_point_bsatn, datastore_delete_by_index_scan_point_bsatn],
    "spacetime_10.5" => [datastore_clear],
    "spacetime_10.6" => [env_get],
}

/// Parses `spacetime_<major>.<minor>`; `None` for any other module name.
fn parse_abi_module(name: &str) -> Option<Result<AbiVersion, ()>> {
    let version = name.strip_prefix("spacetime_")?;
    let parsed = version.split_once('.').and_then(|(major, minor)| {
        Some(AbiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    });
    Some(parsed.ok_or(()))
}

/// Checks every import of `module` and returns its ABI version.
///
/// # Errors
/// A non-function import, an import from a module other than `spacetime_<x>.<y>`, a
/// malformed version, mixed majors, no ABI import at all, a major other than
/// [`ABI_MAJOR`], a minor newer than [`ABI_MINOR`], or a function the host does not
/// provide under that name and version.
pub(crate) fn detect_abi_version(module: &Module) -> Result<AbiVersion, LoadError> {
    let mut found: Option<AbiVersion> = None;
    for import in module.imports() {
        let (module_name, name) = (import.module(), import.name());
        let version = match parse_abi_module(module_name) {
            Some(Ok(version)) => version,
            Some(Err(())) => {
                return Err(LoadError::BadImport {
                    module: module_name.into(),
                    name: name.into(),
                    reason: "the import module's version is not `<major>.<minor>`".into(),
                })
            }
            None => {
                return Err(LoadError::BadImport {
                    module: module_name.into(),
                    name: name.into(),
                    reason: "modules may import only `spacetime_10.x` functions; remove the dependency that \
                             needs it (WASI, `getrandom`, `wasm-bindgen` and the like do not work in a module)"
                        .into(),
                })
            }
        };
        if !matches!(import.ty(), ExternType::Func(_)) {
            return Err(LoadError::BadImport {
                module: module_name.into(),
                name: name.into(),
                reason: "only functions can be imported from the host".into(),
            });
        }
        if let Some(prev) = found {
            if prev.major != version.major {
                return Err(LoadError::MixedAbiMajors {
                    first: prev,
                    second: version,
                });
            }
        }
        found = Some(found.map_or(version, |prev| prev.max(version)));
        if version.major == ABI_MAJOR && version.minor <= ABI_MINOR && !IMPORTS.contains(&(module_name, name)) {
            let hint = match IMPORTS.iter().find(|(_, n)| *n == name) {
                Some((m, _)) => format!("the host provides `{name}` from `{m}`"),
                None => "the host has no function of that name; was the module built for another host?".into(),
            };
            return Err(LoadError::BadImport {
                module: module_name.into(),
                name: name.into(),
                reason: hint,
            });
        }
    }
    let version = found.ok_or(LoadError::NoAbiImports)?;
    if version.major != ABI_MAJOR || version.minor > ABI_MINOR {
        return Err(LoadError::UnsupportedAbi(version));
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::DiscardLogs;
    use std::sync::Arc;
    use wasmtime::{Engine, Store};

    #[test]
    fn every_listed_import_is_linked() {
        let engine = Engine::default();
        let mut linker = Linker::new(&engine);
        link_imports(&mut linker).expect("links");
        let env = InstanceEnv::new(
            spacetime_sats::Identity::ZERO,
            Arc::new(DiscardLogs),
            1 << 20,
            Arc::from(Vec::new()),
        );
        let mut store = Store::new(&engine, env);
        let linked: Vec<(String, String)> = linker
            .iter(&mut store)
            .map(|(m, n, _)| (m.to_owned(), n.to_owned()))
            .collect();
        assert_eq!(IMPORTS.len(), 31, "the ABI has 31 functions in 10.0 to 10.6");
        assert_eq!(linked.len(), IMPORTS.len());
        for (module, name) in IMPORTS {
            assert!(
                linked.iter().any(|(m, n)| m == module && n == name),
                "{module}::{name} is not linked"
            );
        }
    }

    #[test]
    fn abi_module_names_parse() {
        assert_eq!(
            parse_abi_module("spacetime_10.3"),
            Some(Ok(AbiVersion { major: 10, minor: 3 }))
        );
        assert_eq!(parse_abi_module("spacetime_ten"), Some(Err(())));
        assert_eq!(parse_abi_module("env"), None);
    }
}
