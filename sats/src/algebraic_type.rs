//! [`AlgebraicType`]: the shape of every value Spacetime stores or sends.
//!
//! The variant order of [`AlgebraicType`] is part of the wire format: the BSATN tag of
//! a type is its variant index (`Ref` = 0 … `F64` = 19), exactly as in SpacetimeDB.

/// An index into a [`Typespace`](crate::Typespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlgebraicTypeRef(pub u32);

/// The type of a SATS value.
///
/// Products and sums are structural; named types are expressed as a [`Ref`](Self::Ref)
/// to a typespace slot plus a name in the module definition's `Types` section.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlgebraicType {
    /// A reference to a type in a [`Typespace`](crate::Typespace).
    Ref(AlgebraicTypeRef),
    /// A tagged union.
    Sum(SumType),
    /// A record: an ordered list of (optionally named) elements.
    Product(ProductType),
    /// A homogeneous, variable-length array.
    Array(ArrayType),
    /// A UTF-8 string.
    String,
    /// A boolean.
    Bool,
    /// A signed 8-bit integer.
    I8,
    /// An unsigned 8-bit integer.
    U8,
    /// A signed 16-bit integer.
    I16,
    /// An unsigned 16-bit integer.
    U16,
    /// A signed 32-bit integer.
    I32,
    /// An unsigned 32-bit integer.
    U32,
    /// A signed 64-bit integer.
    I64,
    /// An unsigned 64-bit integer.
    U64,
    /// A signed 128-bit integer.
    I128,
    /// An unsigned 128-bit integer.
    U128,
    /// A signed 256-bit integer.
    I256,
    /// An unsigned 256-bit integer.
    U256,
    /// An IEEE 754 single-precision float.
    F32,
    /// An IEEE 754 double-precision float.
    F64,
}

/// One element (field) of a [`ProductType`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductTypeElement {
    /// The field name, if the product is named.
    pub name: Option<Box<str>>,
    /// The field's type.
    pub algebraic_type: AlgebraicType,
}

/// A product (record) type.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductType {
    /// The fields, in encoding order.
    pub elements: Vec<ProductTypeElement>,
}

/// One variant of a [`SumType`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SumTypeVariant {
    /// The variant name, if the sum is named.
    pub name: Option<Box<str>>,
    /// The variant's payload type; `()` (the empty product) for a unit variant.
    pub algebraic_type: AlgebraicType,
}

/// A sum (tagged union) type. The tag of a variant is its index.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SumType {
    /// The variants, in tag order.
    pub variants: Vec<SumTypeVariant>,
}

/// An array type. BSATN encodes it as just its element type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArrayType {
    /// The element type.
    pub elem_ty: Box<AlgebraicType>,
}

/// The magic field name of [`Identity`](crate::Identity)'s product type.
pub const IDENTITY_TAG: &str = "__identity__";
/// The magic field name of [`ConnectionId`](crate::ConnectionId)'s product type.
pub const CONNECTION_ID_TAG: &str = "__connection_id__";
/// The magic field name of [`Timestamp`](crate::Timestamp)'s product type.
pub const TIMESTAMP_TAG: &str = "__timestamp_micros_since_unix_epoch__";
/// The magic field name of [`TimeDuration`](crate::TimeDuration)'s product type.
pub const TIME_DURATION_TAG: &str = "__time_duration_micros__";
/// The magic field name of [`Uuid`](crate::Uuid)'s product type.
pub const UUID_TAG: &str = "__uuid__";

impl ProductTypeElement {
    /// A named element.
    pub fn named(name: &str, algebraic_type: AlgebraicType) -> Self {
        Self {
            name: Some(name.into()),
            algebraic_type,
        }
    }

    /// An unnamed element.
    pub fn unnamed(algebraic_type: AlgebraicType) -> Self {
        Self {
            name: None,
            algebraic_type,
        }
    }

    /// The element's name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl SumTypeVariant {
    /// A named variant.
    pub fn named(name: &str, algebraic_type: AlgebraicType) -> Self {
        Self {
            name: Some(name.into()),
            algebraic_type,
        }
    }

    /// A named variant with no payload.
    pub fn unit(name: &str) -> Self {
        Self::named(name, AlgebraicType::unit())
    }

    /// The variant's name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether the payload is `()`.
    pub fn is_unit(&self) -> bool {
        self.algebraic_type.is_unit()
    }
}

impl ProductType {
    /// A product of the given elements.
    pub fn new(elements: Vec<ProductTypeElement>) -> Self {
        Self { elements }
    }

    /// The empty product `()`.
    pub fn unit() -> Self {
        Self::default()
    }

    /// A product whose elements are all named.
    pub fn named<'a>(fields: impl IntoIterator<Item = (&'a str, AlgebraicType)>) -> Self {
        Self::new(
            fields
                .into_iter()
                .map(|(n, t)| ProductTypeElement::named(n, t))
                .collect(),
        )
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether this is the unit product.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The position of the element called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.elements.iter().position(|e| e.name() == Some(name))
    }

    /// If this is one of the special single-field products, the magic tag of that field.
    pub fn special_tag(&self) -> Option<&str> {
        match &*self.elements {
            [ProductTypeElement {
                name: Some(name),
                algebraic_type,
            }] => {
                let expected = match &**name {
                    IDENTITY_TAG => AlgebraicType::U256,
                    CONNECTION_ID_TAG | UUID_TAG => AlgebraicType::U128,
                    TIMESTAMP_TAG | TIME_DURATION_TAG => AlgebraicType::I64,
                    _ => return None,
                };
                (*algebraic_type == expected).then_some(&**name)
            }
            _ => None,
        }
    }

    /// Whether this is the [`Identity`](crate::Identity) type.
    pub fn is_identity(&self) -> bool {
        self.special_tag() == Some(IDENTITY_TAG)
    }

    /// Whether this is the [`ConnectionId`](crate::ConnectionId) type.
    pub fn is_connection_id(&self) -> bool {
        self.special_tag() == Some(CONNECTION_ID_TAG)
    }

    /// Whether this is the [`Timestamp`](crate::Timestamp) type.
    pub fn is_timestamp(&self) -> bool {
        self.special_tag() == Some(TIMESTAMP_TAG)
    }

    /// Whether this is the [`TimeDuration`](crate::TimeDuration) type.
    pub fn is_time_duration(&self) -> bool {
        self.special_tag() == Some(TIME_DURATION_TAG)
    }

    /// Whether this is the [`Uuid`](crate::Uuid) type.
    pub fn is_uuid(&self) -> bool {
        self.special_tag() == Some(UUID_TAG)
    }
}

impl SumType {
    /// A sum of the given variants.
    pub fn new(variants: Vec<SumTypeVariant>) -> Self {
        Self { variants }
    }

    /// The tag of the variant called `name`.
    pub fn tag_of(&self, name: &str) -> Option<u8> {
        self.variants
            .iter()
            .position(|v| v.name() == Some(name))
            .and_then(|i| u8::try_from(i).ok())
    }

    /// If this is `Option<T>` (`{some: T, none: ()}`), returns `T`.
    pub fn as_option(&self) -> Option<&AlgebraicType> {
        match &*self.variants {
            [some, none] if some.name() == Some("some") && none.name() == Some("none") && none.is_unit() => {
                Some(&some.algebraic_type)
            }
            _ => None,
        }
    }

    /// If this is `Result<T, E>` (`{ok: T, err: E}`), returns `(T, E)`.
    pub fn as_result(&self) -> Option<(&AlgebraicType, &AlgebraicType)> {
        match &*self.variants {
            [ok, err] if ok.name() == Some("ok") && err.name() == Some("err") => {
                Some((&ok.algebraic_type, &err.algebraic_type))
            }
            _ => None,
        }
    }

    /// Whether this is [`ScheduleAt`](crate::ScheduleAt) (`{Interval: TimeDuration, Time: Timestamp}`).
    pub fn is_schedule_at(&self) -> bool {
        match &*self.variants {
            [interval, time] => {
                interval.name() == Some("Interval")
                    && time.name() == Some("Time")
                    && matches!(&interval.algebraic_type, AlgebraicType::Product(p) if p.is_time_duration())
                    && matches!(&time.algebraic_type, AlgebraicType::Product(p) if p.is_timestamp())
            }
            _ => false,
        }
    }

    /// Whether every variant has a unit payload (a "plain" enum).
    pub fn is_simple_enum(&self) -> bool {
        self.variants.iter().all(SumTypeVariant::is_unit)
    }
}

impl AlgebraicType {
    /// The unit type `()`, the empty product.
    pub fn unit() -> Self {
        Self::Product(ProductType::unit())
    }

    /// An array of `elem`.
    pub fn array(elem: AlgebraicType) -> Self {
        Self::Array(ArrayType {
            elem_ty: Box::new(elem),
        })
    }

    /// `Vec<u8>`.
    pub fn bytes() -> Self {
        Self::array(Self::U8)
    }

    /// `Option<some>`: the sum `{some: T, none: ()}`.
    pub fn option(some: AlgebraicType) -> Self {
        Self::Sum(SumType::new(vec![
            SumTypeVariant::named("some", some),
            SumTypeVariant::unit("none"),
        ]))
    }

    /// `Result<ok, err>`: the sum `{ok: T, err: E}`.
    pub fn result(ok: AlgebraicType, err: AlgebraicType) -> Self {
        Self::Sum(SumType::new(vec![
            SumTypeVariant::named("ok", ok),
            SumTypeVariant::named("err", err),
        ]))
    }

    /// A product whose elements are all named.
    pub fn product<'a>(fields: impl IntoIterator<Item = (&'a str, AlgebraicType)>) -> Self {
        Self::Product(ProductType::named(fields))
    }

    /// A sum whose variants are all named.
    pub fn sum<'a>(variants: impl IntoIterator<Item = (&'a str, AlgebraicType)>) -> Self {
        Self::Sum(SumType::new(
            variants.into_iter().map(|(n, t)| SumTypeVariant::named(n, t)).collect(),
        ))
    }

    /// A plain enum: a sum of named unit variants.
    pub fn simple_enum<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self::Sum(SumType::new(names.into_iter().map(SumTypeVariant::unit).collect()))
    }

    /// The [`Identity`](crate::Identity) type.
    pub fn identity() -> Self {
        Self::product([(IDENTITY_TAG, Self::U256)])
    }

    /// The [`ConnectionId`](crate::ConnectionId) type.
    pub fn connection_id() -> Self {
        Self::product([(CONNECTION_ID_TAG, Self::U128)])
    }

    /// The [`Timestamp`](crate::Timestamp) type.
    pub fn timestamp() -> Self {
        Self::product([(TIMESTAMP_TAG, Self::I64)])
    }

    /// The [`TimeDuration`](crate::TimeDuration) type.
    pub fn time_duration() -> Self {
        Self::product([(TIME_DURATION_TAG, Self::I64)])
    }

    /// The [`Uuid`](crate::Uuid) type.
    pub fn uuid() -> Self {
        Self::product([(UUID_TAG, Self::U128)])
    }

    /// The [`ScheduleAt`](crate::ScheduleAt) type.
    pub fn schedule_at() -> Self {
        Self::sum([("Interval", Self::time_duration()), ("Time", Self::timestamp())])
    }

    /// Whether this is `()`.
    pub fn is_unit(&self) -> bool {
        matches!(self, Self::Product(p) if p.is_empty())
    }

    /// Whether this is a fixed-width or 128/256-bit integer type.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            Self::I8
                | Self::U8
                | Self::I16
                | Self::U16
                | Self::I32
                | Self::U32
                | Self::I64
                | Self::U64
                | Self::I128
                | Self::U128
                | Self::I256
                | Self::U256
        )
    }

    /// Whether this is a float type.
    pub fn is_float(&self) -> bool {
        matches!(self, Self::F32 | Self::F64)
    }

    /// Whether this is a primitive (bool, integer, float or string).
    pub fn is_primitive(&self) -> bool {
        matches!(self, Self::Bool | Self::String) || self.is_integer() || self.is_float()
    }

    /// The product type, if this is one.
    pub fn as_product(&self) -> Option<&ProductType> {
        match self {
            Self::Product(p) => Some(p),
            _ => None,
        }
    }

    /// The sum type, if this is one.
    pub fn as_sum(&self) -> Option<&SumType> {
        match self {
            Self::Sum(s) => Some(s),
            _ => None,
        }
    }

    /// If this is `Option<T>`, returns `T`.
    pub fn as_option(&self) -> Option<&AlgebraicType> {
        self.as_sum().and_then(SumType::as_option)
    }

    /// Whether this is one of the special product types (Identity, ConnectionId, …).
    pub fn is_special(&self) -> bool {
        self.as_product().is_some_and(|p| p.special_tag().is_some())
            || self.as_sum().is_some_and(SumType::is_schedule_at)
    }
}

impl From<ProductType> for AlgebraicType {
    fn from(p: ProductType) -> Self {
        Self::Product(p)
    }
}

impl From<SumType> for AlgebraicType {
    fn from(s: SumType) -> Self {
        Self::Sum(s)
    }
}

impl From<AlgebraicTypeRef> for AlgebraicType {
    fn from(r: AlgebraicTypeRef) -> Self {
        Self::Ref(r)
    }
}
