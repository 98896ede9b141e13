//! [`AlgebraicValue`]: a dynamically typed SATS value.
//!
//! Values carry no type; the same value may be read under several types (a `U8` array
//! and a `Vec<u8>` column are the same bytes). Ordering follows SpacetimeDB's index
//! semantics: integers numerically, strings by UTF-8 bytes, products and arrays
//! lexicographically, sums by tag and then payload, floats by IEEE total order.

use crate::{i256, u256};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

macro_rules! total_float {
    ($name:ident, $float:ty, $bits:ty, $doc:literal) => {
        #[doc = $doc]
        ///
        /// Equality, hashing and ordering use the IEEE 754 total order, so floats can be
        /// index keys and `NaN == NaN` when the bits match.
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name(pub $float);

        impl $name {
            /// The wrapped float.
            pub fn get(self) -> $float {
                self.0
            }

            /// The IEEE bit pattern.
            pub fn to_bits(self) -> $bits {
                self.0.to_bits()
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == Ordering::Equal
            }
        }

        impl Eq for $name {}

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }

        impl Ord for $name {
            fn cmp(&self, other: &Self) -> Ordering {
                self.0.total_cmp(&other.0)
            }
        }

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                self.0.to_bits().hash(state)
            }
        }

        impl From<$float> for $name {
            fn from(f: $float) -> Self {
                Self(f)
            }
        }
    };
}

total_float!(F32, f32, u32, "A totally ordered `f32`.");
total_float!(F64, f64, u64, "A totally ordered `f64`.");

/// A value of a sum type: the variant's tag and its payload.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SumValue {
    /// The variant index.
    pub tag: u8,
    /// The payload; `()` for a unit variant.
    pub value: Box<AlgebraicValue>,
}

/// A value of a product type: its elements in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductValue {
    /// The element values, in the order of the product type's elements.
    pub elements: Vec<AlgebraicValue>,
}

/// A value of an array type.
///
/// Arrays of `U8` are always held as [`ArrayValue::Bytes`] (decoding and the
/// constructors guarantee it), so blobs cost one byte per element, not one value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArrayValue {
    /// An array of `U8`.
    Bytes(Box<[u8]>),
    /// An array of any other element type.
    Values(Vec<AlgebraicValue>),
}

/// A dynamically typed value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlgebraicValue {
    /// A sum value.
    Sum(SumValue),
    /// A product value.
    Product(ProductValue),
    /// An array value.
    Array(ArrayValue),
    /// A string.
    String(Box<str>),
    /// A boolean.
    Bool(bool),
    /// An `i8`.
    I8(i8),
    /// A `u8`.
    U8(u8),
    /// An `i16`.
    I16(i16),
    /// A `u16`.
    U16(u16),
    /// An `i32`.
    I32(i32),
    /// A `u32`.
    U32(u32),
    /// An `i64`.
    I64(i64),
    /// A `u64`.
    U64(u64),
    /// An `i128`.
    I128(i128),
    /// A `u128`.
    U128(u128),
    /// An `i256`, boxed to keep the enum small.
    I256(Box<i256>),
    /// A `u256`, boxed to keep the enum small.
    U256(Box<u256>),
    /// An `f32`.
    F32(F32),
    /// An `f64`.
    F64(F64),
}

impl ArrayValue {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Self::Bytes(b) => b.len(),
            Self::Values(v) => v.len(),
        }
    }

    /// Whether the array is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at `index`, as a value.
    pub fn get(&self, index: usize) -> Option<AlgebraicValue> {
        match self {
            Self::Bytes(b) => b.get(index).map(|&x| AlgebraicValue::U8(x)),
            Self::Values(v) => v.get(index).cloned(),
        }
    }

    /// The elements as values (bytes are widened to `U8` values).
    pub fn to_values(&self) -> Vec<AlgebraicValue> {
        match self {
            Self::Bytes(b) => b.iter().map(|&x| AlgebraicValue::U8(x)).collect(),
            Self::Values(v) => v.clone(),
        }
    }
}

impl ProductValue {
    /// A product of the given elements.
    pub fn new(elements: Vec<AlgebraicValue>) -> Self {
        Self { elements }
    }

    /// The element at `index`.
    pub fn get(&self, index: usize) -> Option<&AlgebraicValue> {
        self.elements.get(index)
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether this is the unit value.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The product of the elements at `cols`, in that order; `None` if one is out of range.
    pub fn project(&self, cols: &[usize]) -> Option<ProductValue> {
        cols.iter()
            .map(|&c| self.elements.get(c).cloned())
            .collect::<Option<Vec<_>>>()
            .map(ProductValue::new)
    }
}

impl SumValue {
    /// A sum value with the given tag and payload.
    pub fn new(tag: u8, value: AlgebraicValue) -> Self {
        Self {
            tag,
            value: Box::new(value),
        }
    }
}

impl AlgebraicValue {
    /// The unit value `()`.
    pub fn unit() -> Self {
        Self::Product(ProductValue::default())
    }

    /// `Some(value)` as a value of `Option<T>`.
    pub fn some(value: AlgebraicValue) -> Self {
        Self::Sum(SumValue::new(0, value))
    }

    /// `None` as a value of `Option<T>`.
    pub fn none() -> Self {
        Self::Sum(SumValue::new(1, Self::unit()))
    }

    /// A product value.
    pub fn product(elements: Vec<AlgebraicValue>) -> Self {
        Self::Product(ProductValue::new(elements))
    }

    /// A sum value.
    pub fn sum(tag: u8, value: AlgebraicValue) -> Self {
        Self::Sum(SumValue::new(tag, value))
    }

    /// A string value.
    pub fn string(s: impl Into<Box<str>>) -> Self {
        Self::String(s.into())
    }

    /// A byte-array value.
    pub fn bytes(b: impl Into<Box<[u8]>>) -> Self {
        Self::Array(ArrayValue::Bytes(b.into()))
    }

    /// An array value. Arrays of `U8` values are stored as bytes, as decoding does.
    pub fn array(values: Vec<AlgebraicValue>) -> Self {
        if !values.is_empty() && values.iter().all(|v| matches!(v, Self::U8(_))) {
            let bytes = values
                .iter()
                .map(|v| if let Self::U8(b) = v { *b } else { 0 })
                .collect::<Vec<u8>>();
            return Self::bytes(bytes);
        }
        Self::Array(ArrayValue::Values(values))
    }

    /// The product value, if this is one.
    pub fn as_product(&self) -> Option<&ProductValue> {
        match self {
            Self::Product(p) => Some(p),
            _ => None,
        }
    }

    /// Consumes `self`, returning the product value if this is one.
    pub fn into_product(self) -> Result<ProductValue, Self> {
        match self {
            Self::Product(p) => Ok(p),
            other => Err(other),
        }
    }

    /// The sum value, if this is one.
    pub fn as_sum(&self) -> Option<&SumValue> {
        match self {
            Self::Sum(s) => Some(s),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Any integer variant that fits an `i128`, widened to it.
    pub fn as_i128(&self) -> Option<i128> {
        Some(match self {
            Self::I8(x) => (*x).into(),
            Self::U8(x) => (*x).into(),
            Self::I16(x) => (*x).into(),
            Self::U16(x) => (*x).into(),
            Self::I32(x) => (*x).into(),
            Self::U32(x) => (*x).into(),
            Self::I64(x) => (*x).into(),
            Self::U64(x) => (*x).into(),
            Self::I128(x) => *x,
            Self::U128(x) => i128::try_from(*x).ok()?,
            Self::I256(x) => i128::try_from(**x).ok()?,
            Self::U256(x) => i128::try_from(**x).ok()?,
            _ => return None,
        })
    }
}

macro_rules! value_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for AlgebraicValue {
            fn from(x: $ty) -> Self {
                Self::$variant(x.into())
            }
        })*
    };
}

value_from!(
    bool => Bool, i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32,
    i64 => I64, u64 => U64, i128 => I128, u128 => U128, f32 => F32, f64 => F64,
    String => String, &str => String, ProductValue => Product, SumValue => Sum, ArrayValue => Array,
);

impl From<i256> for AlgebraicValue {
    fn from(x: i256) -> Self {
        Self::I256(Box::new(x))
    }
}

impl From<u256> for AlgebraicValue {
    fn from(x: u256) -> Self {
        Self::U256(Box::new(x))
    }
}
