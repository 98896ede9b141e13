//! Local macros that give the module-definition structs and enums their BSATN codec and
//! SATS type from one declaration, so field order is written once.

/// Declares a struct whose BSATN is its fields in order and whose SATS type is a named
/// product of those fields (registered in the typespace under the struct's name).
macro_rules! sats_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl $crate::bsatn::Encode for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                $($crate::bsatn::Encode::encode(&self.$field, out);)*
            }
        }

        impl $crate::bsatn::Decode for $name {
            #[allow(unused_variables)]
            fn decode(input: &mut &[u8]) -> Result<Self, $crate::bsatn::DecodeError> {
                Ok(Self { $($field: $crate::bsatn::Decode::decode(input)?),* })
            }
        }

        impl $crate::SpacetimeType for $name {
            fn make_type<S: $crate::TypespaceBuilder>(ts: &mut S) -> $crate::AlgebraicType {
                #[allow(unused_variables)]
                ts.add(::std::any::TypeId::of::<$name>(), Some(stringify!($name)), |ts| {
                    $crate::AlgebraicType::product([
                        $((stringify!($field), <$ty as $crate::SpacetimeType>::make_type(ts))),*
                    ])
                })
            }
        }
    };
}

/// Declares an enum whose BSATN is a `u8` tag (the variant index) followed by the
/// variant's payload, and whose SATS type is a named sum. Unit variants have payload `()`.
///
/// An optional leading `unknown_tag = "hint";` replaces the generic out-of-range tag error
/// with [`DecodeError::Invalid`](crate::bsatn::DecodeError::Invalid) carrying the hint,
/// for enums where an unknown tag has a likely cause worth naming (a newer producer).
macro_rules! sats_enum {
    (unknown_tag = $hint:literal; $($rest:tt)*) => {
        $crate::def::codec::sats_enum!(@impl [$hint] $($rest)*);
    };
    ($(#[$meta:meta])* pub enum $($rest:tt)*) => {
        $crate::def::codec::sats_enum!(@impl [] $(#[$meta])* pub enum $($rest)*);
    };
    (@impl [$($hint:literal)?] $(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident $(($payload:ty))?),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name { $($(#[$vmeta])* $variant $(($payload))?),* }

        impl $crate::bsatn::Encode for $name {
            #[allow(irrefutable_let_patterns)]
            fn encode(&self, out: &mut Vec<u8>) {
                let mut tag = 0u8;
                $(
                    $crate::def::codec::sats_enum!(@encode self, out, tag, $name, $variant $(($payload))?);
                    tag += 1;
                )*
                let _ = tag;
            }
        }

        impl $crate::bsatn::Decode for $name {
            fn decode(input: &mut &[u8]) -> Result<Self, $crate::bsatn::DecodeError> {
                const VARIANTS: &[&str] = &[$(stringify!($variant)),*];
                let tag = $crate::bsatn::decode_tag(input, stringify!($name), VARIANTS.len());
                $(let tag = tag.map_err(|e| match e {
                    $crate::bsatn::DecodeError::InvalidTag { tag, .. } => $crate::bsatn::DecodeError::Invalid(format!(
                        "unknown {} tag {tag} (this server knows tags 0 to {}): {}",
                        stringify!($name),
                        VARIANTS.len() - 1,
                        $hint
                    )),
                    other => other,
                });)?
                let tag = tag?;
                let mut expected = 0u8;
                $(
                    if tag == expected {
                        return Ok($crate::def::codec::sats_enum!(@decode input, $name, $variant $(($payload))?));
                    }
                    expected += 1;
                )*
                let _ = expected;
                unreachable!("decode_tag checked the tag against the variant count")
            }
        }

        impl $crate::SpacetimeType for $name {
            fn make_type<S: $crate::TypespaceBuilder>(ts: &mut S) -> $crate::AlgebraicType {
                #[allow(unused_variables)]
                ts.add(::std::any::TypeId::of::<$name>(), Some(stringify!($name)), |ts| {
                    $crate::AlgebraicType::sum([
                        $((stringify!($variant), $crate::def::codec::sats_enum!(@type ts $(, $payload)?))),*
                    ])
                })
            }
        }
    };
    (@encode $self:ident, $out:ident, $tag:ident, $name:ident, $variant:ident ($payload:ty)) => {
        if let $name::$variant(payload) = $self {
            $out.push($tag);
            $crate::bsatn::Encode::encode(payload, $out);
            return;
        }
    };
    (@encode $self:ident, $out:ident, $tag:ident, $name:ident, $variant:ident) => {
        if let $name::$variant = $self {
            $out.push($tag);
            return;
        }
    };
    (@decode $input:ident, $name:ident, $variant:ident ($payload:ty)) => {
        $name::$variant(<$payload as $crate::bsatn::Decode>::decode($input)?)
    };
    (@decode $input:ident, $name:ident, $variant:ident) => {
        $name::$variant
    };
    (@type $ts:ident, $payload:ty) => {
        <$payload as $crate::SpacetimeType>::make_type($ts)
    };
    (@type $ts:ident) => {
        $crate::AlgebraicType::unit()
    };
}

pub(crate) use sats_enum;
pub(crate) use sats_struct;
