//! Local macros that give each message struct and enum its BSATN codec from one
//! declaration, so the field order, which is the wire order, is written exactly once.

/// Declares a struct whose BSATN encoding is its fields in declaration order.
macro_rules! wire_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name { $($(#[$fmeta])* pub $field: $ty),* }

        impl ::spacetime_sats::bsatn::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                $(::spacetime_sats::bsatn::Encode::encode(&self.$field, out);)*
            }
        }

        impl ::spacetime_sats::bsatn::Decode for $name {
            fn decode(input: &mut &[u8]) -> Result<Self, ::spacetime_sats::bsatn::DecodeError> {
                Ok(Self { $($field: ::spacetime_sats::bsatn::Decode::decode(input)?),* })
            }
        }
    };
}

/// Declares an enum whose BSATN encoding is a `u8` tag (the variant's index) followed by
/// the variant's payload; unit variants have none.
macro_rules! wire_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident $(($payload:ty))?),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name { $($(#[$vmeta])* $variant $(($payload))?),* }

        impl ::spacetime_sats::bsatn::Encode for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                let mut tag = 0u8;
                $(
                    wire_enum!(@encode self, out, tag, $name, $variant $(($payload))?);
                    tag += 1;
                )*
                let _ = tag;
            }
        }

        impl ::spacetime_sats::bsatn::Decode for $name {
            fn decode(input: &mut &[u8]) -> Result<Self, ::spacetime_sats::bsatn::DecodeError> {
                const VARIANTS: usize = [$(stringify!($variant)),*].len();
                let tag = ::spacetime_sats::bsatn::decode_tag(input, stringify!($name), VARIANTS)?;
                let mut expected = 0u8;
                $(
                    if tag == expected {
                        return Ok(wire_enum!(@decode input, $name, $variant $(($payload))?));
                    }
                    expected += 1;
                )*
                let _ = expected;
                unreachable!("decode_tag checked the tag against the variant count")
            }
        }
    };
    (@encode $self:ident, $out:ident, $tag:ident, $name:ident, $variant:ident ($payload:ty)) => {
        #[allow(irrefutable_let_patterns)]
        if let $name::$variant(payload) = $self {
            $out.push($tag);
            ::spacetime_sats::bsatn::Encode::encode(payload, $out);
            return;
        }
    };
    (@encode $self:ident, $out:ident, $tag:ident, $name:ident, $variant:ident) => {
        #[allow(irrefutable_let_patterns)]
        if let $name::$variant = $self {
            $out.push($tag);
            return;
        }
    };
    (@decode $input:ident, $name:ident, $variant:ident ($payload:ty)) => {
        $name::$variant(<$payload as ::spacetime_sats::bsatn::Decode>::decode($input)?)
    };
    (@decode $input:ident, $name:ident, $variant:ident) => {
        $name::$variant
    };
}
