//! Rules about types: which types clients can use inline, the default element ordering of
//! named types, and the case conversion the SnakeCase policy applies to the typespace.

use super::names::{convert, NameCase};
use crate::{AlgebraicType, ProductType, SumType, Typespace};

/// Whether a sum is one of the structural specials: `Option`, `Result` or `ScheduleAt`.
fn is_special_sum(s: &SumType) -> bool {
    s.as_option().is_some() || s.as_result().is_some() || s.is_schedule_at()
}

/// Whether `ty` is a special type whose names are fixed (and never case-converted).
fn is_special(ty: &AlgebraicType) -> bool {
    match ty {
        AlgebraicType::Product(p) => p.special_tag().is_some(),
        AlgebraicType::Sum(s) => is_special_sum(s),
        _ => false,
    }
}

/// The references in `ty` that name no entry of `ts`, in order of appearance.
pub(super) fn dangling_refs(ty: &AlgebraicType, ts: &Typespace) -> Vec<u32> {
    fn walk(ty: &AlgebraicType, ts: &Typespace, out: &mut Vec<u32>) {
        match ty {
            AlgebraicType::Ref(r) if ts.get(*r).is_none() => out.push(r.0),
            AlgebraicType::Sum(s) => s.variants.iter().for_each(|v| walk(&v.algebraic_type, ts, out)),
            AlgebraicType::Product(p) => p.elements.iter().for_each(|e| walk(&e.algebraic_type, ts, out)),
            AlgebraicType::Array(a) => walk(&a.elem_ty, ts, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(ty, ts, &mut out);
    out
}

/// Whether a client can name `ty` where it is used: a `Ref`, a primitive, a special type,
/// `()`, the empty sum, or an `Option`, `Result` or array of such. Inline structs and enums
/// are not, as clients need a type name to generate code for them.
pub(super) fn is_client_usable(ty: &AlgebraicType) -> bool {
    match ty {
        AlgebraicType::Sum(s) => match (s.as_option(), s.as_result()) {
            (Some(t), _) => is_client_usable(t),
            (_, Some((ok, err))) => is_client_usable(ok) && is_client_usable(err),
            _ => s.is_schedule_at() || s.variants.is_empty(),
        },
        AlgebraicType::Product(p) => p.special_tag().is_some() || p.is_empty(),
        AlgebraicType::Array(a) => is_client_usable(&a.elem_ty),
        _ => true,
    }
}

/// Whether the elements are in the default order: unnamed ones (by position) first, then
/// named ones sorted by name.
fn is_sorted<'a>(names: impl Iterator<Item = Option<&'a str>>) -> bool {
    let labels: Vec<(u8, usize, &str)> = names
        .enumerate()
        .map(|(i, n)| n.map_or((0, i, ""), |n| (1, 0, n)))
        .collect();
    labels.windows(2).all(|w| w[0] <= w[1])
}

/// Whether a named type's fields or variants follow the default ordering.
pub(super) fn has_default_ordering(ty: &AlgebraicType) -> bool {
    match ty {
        AlgebraicType::Product(p) => is_sorted(p.elements.iter().map(|e| e.name())),
        AlgebraicType::Sum(s) => is_sorted(s.variants.iter().map(|v| v.name())),
        _ => true,
    }
}

/// The element types of a named product or sum that clients could not use inline.
pub(super) fn unusable_members(ty: &AlgebraicType) -> Vec<(String, &AlgebraicType)> {
    let members: Vec<(String, &AlgebraicType)> = match ty {
        AlgebraicType::Product(p) if !is_special(ty) => p
            .elements
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name().map_or_else(|| i.to_string(), str::to_owned), &e.algebraic_type))
            .collect(),
        AlgebraicType::Sum(s) if !is_special(ty) => s
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| (v.name().map_or_else(|| i.to_string(), str::to_owned), &v.algebraic_type))
            .collect(),
        _ => Vec::new(),
    };
    members.into_iter().filter(|(_, t)| !is_client_usable(t)).collect()
}

/// Applies the case conversion to every field and variant name in the typespace, as
/// SpacetimeDB does for the SnakeCase policy: fields `snake_case`, variants `camelCase`,
/// special types (and everything inside them) untouched.
pub(super) fn convert_typespace(ts: &mut Typespace, fields: NameCase, variants: NameCase) {
    for ty in &mut ts.types {
        convert_type(ty, fields, variants);
    }
}

fn convert_type(ty: &mut AlgebraicType, fields: NameCase, variants: NameCase) {
    if is_special(ty) {
        return;
    }
    match ty {
        AlgebraicType::Product(p) => convert_product(p, fields, variants),
        AlgebraicType::Sum(s) => {
            for v in &mut s.variants {
                if let Some(name) = &v.name {
                    v.name = Some(convert(name, variants).into());
                }
                convert_type(&mut v.algebraic_type, fields, variants);
            }
        }
        AlgebraicType::Array(a) => convert_type(&mut a.elem_ty, fields, variants),
        _ => {}
    }
}

fn convert_product(p: &mut ProductType, fields: NameCase, variants: NameCase) {
    for e in &mut p.elements {
        if let Some(name) = &e.name {
            e.name = Some(convert(name, fields).into());
        }
        convert_type(&mut e.algebraic_type, fields, variants);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_usable() {
        use AlgebraicType as T;
        assert!(is_client_usable(&T::option(T::array(T::identity()))));
        assert!(is_client_usable(&T::result(T::unit(), T::String)));
        assert!(is_client_usable(&T::schedule_at()));
        assert!(!is_client_usable(&T::product([("x", T::U8)])));
        assert!(!is_client_usable(&T::option(T::simple_enum(["A"]))));
    }

    #[test]
    fn ordering() {
        use AlgebraicType as T;
        assert!(has_default_ordering(&T::product([("a", T::U8), ("b", T::U8)])));
        assert!(!has_default_ordering(&T::product([("b", T::U8), ("a", T::U8)])));
        assert!(has_default_ordering(&T::simple_enum(["A", "B"])));
    }
}
