//! [`Typespace`], the table of named types a module defines, and [`SpacetimeType`],
//! the link from a Rust type to its [`AlgebraicType`].

use crate::bsatn::DecodeError;
use crate::{i256, u256, AlgebraicType, AlgebraicTypeRef, F32, F64};
use std::any::TypeId;

/// The types a module defines, addressed by [`AlgebraicTypeRef`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Typespace {
    /// The types, indexed by `AlgebraicTypeRef.0`.
    pub types: Vec<AlgebraicType>,
}

/// How deep [`Typespace::resolve`] follows chains of references before giving up.
pub const MAX_REF_DEPTH: usize = 64;

impl Typespace {
    /// A typespace holding `types`.
    pub fn new(types: Vec<AlgebraicType>) -> Self {
        Self { types }
    }

    /// The type at `r`, if it exists.
    pub fn get(&self, r: AlgebraicTypeRef) -> Option<&AlgebraicType> {
        self.types.get(r.0 as usize)
    }

    /// Follows `ty` through references until it is not a `Ref`.
    ///
    /// # Errors
    /// Returns [`DecodeError::UnresolvedRef`] for a dangling reference and
    /// [`DecodeError::TooDeep`] for a cycle of references.
    pub fn resolve<'a>(&'a self, mut ty: &'a AlgebraicType) -> Result<&'a AlgebraicType, DecodeError> {
        for _ in 0..MAX_REF_DEPTH {
            match ty {
                AlgebraicType::Ref(r) => ty = self.get(*r).ok_or(DecodeError::UnresolvedRef(r.0))?,
                other => return Ok(other),
            }
        }
        Err(DecodeError::TooDeep(MAX_REF_DEPTH))
    }

    /// Adds `ty` and returns its reference.
    pub fn add(&mut self, ty: AlgebraicType) -> AlgebraicTypeRef {
        let r = AlgebraicTypeRef(self.types.len() as u32);
        self.types.push(ty);
        r
    }
}

/// Collects the named types of a module while Rust types describe themselves.
///
/// The module-side bindings implement this to build the `Typespace` and `Types`
/// sections of the module definition.
pub trait TypespaceBuilder {
    /// Registers the named type `type_id` (once) and returns a `Ref` to it.
    ///
    /// `make_ty` builds the type's structure; it may register further types. The slot
    /// is reserved before `make_ty` runs, so a type's reference precedes those of the
    /// types it contains.
    fn add(
        &mut self,
        type_id: TypeId,
        name: Option<&'static str>,
        make_ty: impl FnOnce(&mut Self) -> AlgebraicType,
    ) -> AlgebraicType;
}

/// A Rust type with a fixed SATS type.
///
/// Derive it with `#[derive(SpacetimeType)]` in modules; the special types and Rust's
/// primitive and standard types implement it here.
pub trait SpacetimeType {
    /// Returns this type's [`AlgebraicType`], registering named types in `typespace`.
    fn make_type<S: TypespaceBuilder>(typespace: &mut S) -> AlgebraicType;
}

macro_rules! primitive_type {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl SpacetimeType for $ty {
            fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
                AlgebraicType::$variant
            }
        }
    )*};
}

primitive_type!(
    bool => Bool, i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32,
    i64 => I64, u64 => U64, i128 => I128, u128 => U128, i256 => I256, u256 => U256,
    f32 => F32, f64 => F64, F32 => F32, F64 => F64, String => String, str => String,
);

impl<T: SpacetimeType> SpacetimeType for Vec<T> {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        AlgebraicType::array(T::make_type(ts))
    }
}

impl<T: SpacetimeType> SpacetimeType for [T] {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        AlgebraicType::array(T::make_type(ts))
    }
}

impl<T: SpacetimeType> SpacetimeType for Option<T> {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        AlgebraicType::option(T::make_type(ts))
    }
}

impl<T: SpacetimeType, E: SpacetimeType> SpacetimeType for Result<T, E> {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        let ok = T::make_type(ts);
        AlgebraicType::result(ok, E::make_type(ts))
    }
}

impl<T: SpacetimeType + ?Sized> SpacetimeType for &T {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        T::make_type(ts)
    }
}

impl<T: SpacetimeType + ?Sized> SpacetimeType for Box<T> {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        T::make_type(ts)
    }
}

impl<T: SpacetimeType + ?Sized> SpacetimeType for std::rc::Rc<T> {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        T::make_type(ts)
    }
}

impl<T: SpacetimeType + ?Sized> SpacetimeType for std::sync::Arc<T> {
    fn make_type<S: TypespaceBuilder>(ts: &mut S) -> AlgebraicType {
        T::make_type(ts)
    }
}

impl SpacetimeType for () {
    fn make_type<S: TypespaceBuilder>(_: &mut S) -> AlgebraicType {
        AlgebraicType::unit()
    }
}

/// A [`TypespaceBuilder`] that inlines every named type instead of registering it.
///
/// Useful where only the structure matters (tests, one-off decoding). Recursive types
/// cannot be described this way.
#[derive(Debug, Default)]
pub struct InlineTypes;

impl TypespaceBuilder for InlineTypes {
    fn add(
        &mut self,
        _: TypeId,
        _: Option<&'static str>,
        make_ty: impl FnOnce(&mut Self) -> AlgebraicType,
    ) -> AlgebraicType {
        make_ty(self)
    }
}

/// A [`TypespaceBuilder`] that registers each named type once, in a real [`Typespace`],
/// and returns `Ref`s to it, so recursive types (such as [`AlgebraicType`] itself) can be
/// described.
///
/// # Examples
/// ```
/// use spacetime_sats::{AlgebraicType, typespace::TypespaceCollector};
/// let mut c = TypespaceCollector::default();
/// let ty = c.add_type::<AlgebraicType>();
/// assert!(matches!(ty, AlgebraicType::Ref(_)));
/// assert_eq!(c.names()[0].1, "AlgebraicType");
/// ```
#[derive(Debug, Default, Clone)]
pub struct TypespaceCollector {
    typespace: Typespace,
    names: Vec<(AlgebraicTypeRef, &'static str)>,
    refs: std::collections::HashMap<TypeId, AlgebraicTypeRef>,
}

impl TypespaceCollector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Describes `T`, registering the named types it uses; returns its type.
    pub fn add_type<T: SpacetimeType + ?Sized>(&mut self) -> AlgebraicType {
        T::make_type(self)
    }

    /// The types registered so far.
    pub fn typespace(&self) -> &Typespace {
        &self.typespace
    }

    /// The names given to registered types, in registration order.
    pub fn names(&self) -> &[(AlgebraicTypeRef, &'static str)] {
        &self.names
    }

    /// The collected typespace.
    pub fn into_typespace(self) -> Typespace {
        self.typespace
    }
}

impl TypespaceBuilder for TypespaceCollector {
    fn add(
        &mut self,
        type_id: TypeId,
        name: Option<&'static str>,
        make_ty: impl FnOnce(&mut Self) -> AlgebraicType,
    ) -> AlgebraicType {
        if let Some(r) = self.refs.get(&type_id) {
            return AlgebraicType::Ref(*r);
        }
        // Reserve the slot first so a recursive mention inside `make_ty` finds it.
        let r = self.typespace.add(AlgebraicType::unit());
        self.refs.insert(type_id, r);
        if let Some(name) = name {
            self.names.push((r, name));
        }
        let ty = make_ty(self);
        self.typespace.types[r.0 as usize] = ty;
        AlgebraicType::Ref(r)
    }
}
