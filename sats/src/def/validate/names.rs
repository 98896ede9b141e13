//! Names during validation: the identifier rule, canonical names under the case conversion
//! policy and explicit names, the names the host generates, and short type descriptions
//! for error messages.

use super::error::ValidationError;
use crate::def::raw::{CaseConversionPolicy, ExplicitNameEntry, ExplicitNames};
use crate::{AlgebraicType, ProductType};
use convert_case::{Case, Casing};
use std::collections::HashMap;
use unicode_normalization::UnicodeNormalization;

/// Checks SpacetimeDB's identifier rule: non-empty, Unicode NFC, starting with XID_Start or
/// `_` and continuing with XID_Continue.
///
/// # Errors
/// [`ValidationError::InvalidIdentifier`], saying which rule `name` breaks.
pub fn check_identifier(what: &str, name: &str) -> Result<(), ValidationError> {
    let err = |reason: String| ValidationError::InvalidIdentifier {
        what: what.to_owned(),
        name: name.to_owned(),
        reason,
    };
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(err("it is empty".to_owned()));
    };
    if !name.nfc().eq(name.chars()) {
        return Err(err("it is not in Unicode normalization form C".to_owned()));
    }
    if first != '_' && !unicode_ident::is_xid_start(first) {
        return Err(err(format!(
            "it starts with {first:?}, but must start with a letter or `_`"
        )));
    }
    if let Some(bad) = chars.find(|&c| !unicode_ident::is_xid_continue(c)) {
        return Err(err(format!(
            "it contains {bad:?}; only letters, digits and `_` are allowed"
        )));
    }
    Ok(())
}

/// Which case conversion applies to a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameCase {
    /// Keep the name.
    Keep,
    /// `snake_case` (tables, columns, reducers under the SnakeCase policy).
    Snake,
    /// `camelCase` (sum variants under the SnakeCase policy).
    Camel,
    /// `PascalCase` (type names under the SnakeCase policy).
    Pascal,
}

/// Converts `name` with SpacetimeDB's word boundaries (convert_case 0.6).
pub(super) fn convert(name: &str, casing: NameCase) -> String {
    match casing {
        NameCase::Keep => name.to_owned(),
        NameCase::Snake => name.to_case(Case::Snake),
        NameCase::Camel => name.to_case(Case::Camel),
        NameCase::Pascal => name.to_case(Case::Pascal),
    }
}

/// Resolves source names to canonical names.
#[derive(Debug, Default)]
pub(super) struct Namer {
    policy_snake: bool,
    tables: HashMap<String, String>,
    functions: HashMap<String, String>,
    indexes: HashMap<String, String>,
}

impl Namer {
    pub(super) fn new(policy: &CaseConversionPolicy, explicit: Option<&ExplicitNames>) -> Self {
        let mut namer = Self {
            policy_snake: *policy == CaseConversionPolicy::SnakeCase,
            ..Self::default()
        };
        for entry in explicit.into_iter().flat_map(|e| &e.entries) {
            let (map, m) = match entry {
                ExplicitNameEntry::Table(m) => (&mut namer.tables, m),
                ExplicitNameEntry::Function(m) => (&mut namer.functions, m),
                ExplicitNameEntry::Index(m) => (&mut namer.indexes, m),
            };
            map.insert(m.source_name.clone(), m.canonical_name.clone());
        }
        namer
    }

    /// The casing of column, parameter and product field names.
    pub(super) fn field_casing(&self) -> NameCase {
        if self.policy_snake {
            NameCase::Snake
        } else {
            NameCase::Keep
        }
    }

    /// The casing of sum variant names.
    pub(super) fn variant_casing(&self) -> NameCase {
        if self.policy_snake {
            NameCase::Camel
        } else {
            NameCase::Keep
        }
    }

    /// The casing of type names.
    pub(super) fn type_casing(&self) -> NameCase {
        if self.policy_snake {
            NameCase::Pascal
        } else {
            NameCase::Keep
        }
    }

    /// A table's canonical name.
    pub(super) fn table(&self, source: &str) -> String {
        self.tables
            .get(source)
            .cloned()
            .unwrap_or_else(|| convert(source, self.field_casing()))
    }

    /// A reducer's (or other function's) canonical name.
    pub(super) fn function(&self, source: &str) -> String {
        self.functions
            .get(source)
            .cloned()
            .unwrap_or_else(|| convert(source, self.field_casing()))
    }

    /// An index's explicit canonical name, if the module gave one.
    pub(super) fn explicit_index(&self, source: &str) -> Option<String> {
        self.indexes.get(source).cloned()
    }
}

/// The name of column `col` for generated names: its name, or `col_{n}`.
fn column_name(row: &ProductType, col: u16) -> String {
    row.elements
        .get(usize::from(col))
        .and_then(|e| e.name())
        .map_or_else(|| format!("col_{col}"), str::to_owned)
}

/// Column names joined by `_`.
pub(super) fn column_names(row: &ProductType, cols: &[u16]) -> String {
    cols.iter().map(|&c| column_name(row, c)).collect::<Vec<_>>().join("_")
}

/// `{table}_{cols}_idx_{algo}`.
pub(super) fn index_name(table: &str, row: &ProductType, cols: &[u16], algo: &str) -> String {
    format!("{table}_{}_idx_{algo}", column_names(row, cols))
}

/// `{table}_{cols}_key`.
pub(super) fn unique_constraint_name(table: &str, row: &ProductType, cols: &[u16]) -> String {
    format!("{table}_{}_key", column_names(row, cols))
}

/// `{table}_{col}_seq`.
pub(super) fn sequence_name(table: &str, row: &ProductType, col: u16) -> String {
    format!("{table}_{}_seq", column_name(row, col))
}

/// `{table}_sched`.
pub(super) fn schedule_name(table: &str) -> String {
    format!("{table}_sched")
}

/// A short description of a type for error messages (`U32`, `Array<String>`, `{ x: U8 }`).
pub fn describe_type(ty: &AlgebraicType) -> String {
    match ty {
        AlgebraicType::Ref(r) => format!("&{}", r.0),
        AlgebraicType::Array(a) => format!("Array<{}>", describe_type(&a.elem_ty)),
        AlgebraicType::Product(p) if p.is_identity() => "Identity".to_owned(),
        AlgebraicType::Product(p) if p.is_connection_id() => "ConnectionId".to_owned(),
        AlgebraicType::Product(p) if p.is_timestamp() => "Timestamp".to_owned(),
        AlgebraicType::Product(p) if p.is_time_duration() => "TimeDuration".to_owned(),
        AlgebraicType::Product(p) if p.is_uuid() => "Uuid".to_owned(),
        AlgebraicType::Product(p) => {
            let fields: Vec<String> = p
                .elements
                .iter()
                .map(|e| match e.name() {
                    Some(n) => format!("{n}: {}", describe_type(&e.algebraic_type)),
                    None => describe_type(&e.algebraic_type),
                })
                .collect();
            if fields.is_empty() {
                "()".to_owned()
            } else {
                format!("{{ {} }}", fields.join(", "))
            }
        }
        AlgebraicType::Sum(s) if s.is_schedule_at() => "ScheduleAt".to_owned(),
        AlgebraicType::Sum(s) => match (s.as_option(), s.as_result()) {
            (Some(t), _) => format!("Option<{}>", describe_type(t)),
            (_, Some((ok, err))) => format!("Result<{}, {}>", describe_type(ok), describe_type(err)),
            _ => {
                let variants: Vec<String> = s
                    .variants
                    .iter()
                    .map(|v| {
                        let name = v.name().unwrap_or("_");
                        if v.is_unit() {
                            name.to_owned()
                        } else {
                            format!("{name}({})", describe_type(&v.algebraic_type))
                        }
                    })
                    .collect();
                format!("enum {{ {} }}", variants.join(" | "))
            }
        },
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_matches_upstream() {
        // Pairs observed from SpacetimeDB 2.x's conversion (convert_case 0.6).
        for (source, snake) in [
            ("user", "user"),
            ("Person", "person"),
            ("sendMessage", "send_message"),
            ("SendMessage", "send_message"),
            ("player2", "player_2"),
            ("HTTPServer", "http_server"),
            ("UserID", "user_id"),
            ("__private", "private"),
            ("already_snake", "already_snake"),
        ] {
            assert_eq!(convert(source, NameCase::Snake), snake, "{source}");
        }
        assert_eq!(convert("my_type", NameCase::Pascal), "MyType");
        assert_eq!(convert("Active", NameCase::Camel), "active");
    }

    #[test]
    fn identifiers() {
        assert!(check_identifier("table", "person_2").is_ok());
        assert!(check_identifier("table", "_x").is_ok());
        assert!(check_identifier("table", "Äpfel").is_ok());
        for bad in ["", "2x", "a-b", "a b", "A\u{30a}"] {
            let err = check_identifier("table", bad).expect_err(bad).to_string();
            assert!(
                err.starts_with(&format!("table `{bad}` is not a valid identifier")),
                "{err}"
            );
        }
    }
}
