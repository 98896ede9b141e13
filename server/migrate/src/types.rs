//! Whether a column keeps its stored rows readable when its type changes.
//!
//! Rows are stored and logged as BSATN, so a new type is compatible with the old one
//! when every old value's bytes decode as the same value of the new type. That holds
//! for an unchanged type and for a sum type that only gains variants after its
//! existing ones (a variant's tag is its position), at any depth. Everything else
//! (another primitive, a renamed or removed variant, a product's fields changed) is a
//! manual migration.

use spacetime_sats::def::validate::describe_type;
use spacetime_sats::{AlgebraicType, ProductType, SumType, Typespace};

/// How deep a comparison follows nested types before giving up; module types are far
/// shallower, and a deeper (or recursive) type is treated as changed.
const MAX_DEPTH: usize = 64;

/// How the type of a kept column changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeChange {
    /// The same type.
    Same,
    /// A different type every stored value still decodes as (sums gained variants at
    /// the end).
    Compatible,
    /// Stored values would not decode, for this reason.
    Incompatible(Incompatibility),
}

/// Why a type change is not layout-compatible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incompatibility {
    /// A sum type lost variants.
    FewerVariants,
    /// A sum type's variant was renamed or moved.
    RenamedVariant,
    /// Anything else: another primitive, a product's fields changed, a sum became a
    /// product, …
    Other,
}

impl Incompatibility {
    /// Plain words for a refusal message.
    pub fn describe(self) -> &'static str {
        match self {
            Self::FewerVariants => "the enum lost variants, so stored values may name a variant that is gone",
            Self::RenamedVariant => "an enum variant was renamed or moved; new variants may only be added at the end",
            Self::Other => "stored values cannot be read as the new type",
        }
    }
}

impl TypeChange {
    /// Combines the changes of two parts of one type: the worse wins.
    fn and(self, other: TypeChange) -> TypeChange {
        match (self, other) {
            (Self::Incompatible(r), _) | (_, Self::Incompatible(r)) => Self::Incompatible(r),
            (Self::Compatible, _) | (_, Self::Compatible) => Self::Compatible,
            (Self::Same, Self::Same) => Self::Same,
        }
    }
}

/// Compares `old` (of typespace `old_ts`) with `new` (of `new_ts`), following refs.
pub fn compare(old: &AlgebraicType, old_ts: &Typespace, new: &AlgebraicType, new_ts: &Typespace) -> TypeChange {
    compare_at(old, old_ts, new, new_ts, 0)
}

fn compare_at(
    old: &AlgebraicType,
    old_ts: &Typespace,
    new: &AlgebraicType,
    new_ts: &Typespace,
    depth: usize,
) -> TypeChange {
    let other = TypeChange::Incompatible(Incompatibility::Other);
    if depth > MAX_DEPTH {
        return other;
    }
    let (Ok(old), Ok(new)) = (old_ts.resolve(old), new_ts.resolve(new)) else {
        return other;
    };
    match (old, new) {
        (AlgebraicType::Product(a), AlgebraicType::Product(b)) => compare_products(a, old_ts, b, new_ts, depth),
        (AlgebraicType::Sum(a), AlgebraicType::Sum(b)) => compare_sums(a, old_ts, b, new_ts, depth),
        (AlgebraicType::Array(a), AlgebraicType::Array(b)) => {
            compare_at(&a.elem_ty, old_ts, &b.elem_ty, new_ts, depth + 1)
        }
        (a, b) if a == b => TypeChange::Same,
        _ => other,
    }
}

fn compare_products(a: &ProductType, a_ts: &Typespace, b: &ProductType, b_ts: &Typespace, depth: usize) -> TypeChange {
    if a.elements.len() != b.elements.len() {
        return TypeChange::Incompatible(Incompatibility::Other);
    }
    a.elements
        .iter()
        .zip(&b.elements)
        .fold(TypeChange::Same, |acc, (x, y)| {
            if x.name != y.name {
                return TypeChange::Incompatible(Incompatibility::Other);
            }
            acc.and(compare_at(&x.algebraic_type, a_ts, &y.algebraic_type, b_ts, depth + 1))
        })
}

fn compare_sums(a: &SumType, a_ts: &Typespace, b: &SumType, b_ts: &Typespace, depth: usize) -> TypeChange {
    let kept = a
        .variants
        .iter()
        .zip(&b.variants)
        .fold(TypeChange::Same, |acc, (x, y)| {
            if x.name != y.name {
                return acc.and(TypeChange::Incompatible(Incompatibility::RenamedVariant));
            }
            acc.and(compare_at(&x.algebraic_type, a_ts, &y.algebraic_type, b_ts, depth + 1))
        });
    match b.variants.len().cmp(&a.variants.len()) {
        std::cmp::Ordering::Less => kept.and(TypeChange::Incompatible(Incompatibility::FewerVariants)),
        std::cmp::Ordering::Equal => kept,
        std::cmp::Ordering::Greater => kept.and(TypeChange::Compatible),
    }
}

/// A readable name for `ty` with its refs replaced by what they name (`u32`,
/// `Option<String>`, `Color(Red | Green)`), for messages.
pub fn type_name(ty: &AlgebraicType, ts: &Typespace) -> String {
    describe_type(&inline(ty, ts, 0))
}

/// `ty` with every ref inlined, up to [`MAX_DEPTH`] (deeper refs stay refs).
fn inline(ty: &AlgebraicType, ts: &Typespace, depth: usize) -> AlgebraicType {
    if depth > MAX_DEPTH {
        return ty.clone();
    }
    match ty {
        AlgebraicType::Ref(r) => match ts.get(*r) {
            Some(t) => inline(t, ts, depth + 1),
            None => ty.clone(),
        },
        AlgebraicType::Product(p) => {
            let mut p = p.clone();
            for e in &mut p.elements {
                e.algebraic_type = inline(&e.algebraic_type, ts, depth + 1);
            }
            AlgebraicType::Product(p)
        }
        AlgebraicType::Sum(s) => {
            let mut s = s.clone();
            for v in &mut s.variants {
                v.algebraic_type = inline(&v.algebraic_type, ts, depth + 1);
            }
            AlgebraicType::Sum(s)
        }
        AlgebraicType::Array(a) => AlgebraicType::array(inline(&a.elem_ty, ts, depth + 1)),
        other => other.clone(),
    }
}
