//! [`Encode`] and [`Decode`] for Rust's primitive and standard types.

use super::{decode_len, decode_tag, encode_len, take, take_array, Decode, DecodeError, Encode};
use crate::{i256, u256, F32, F64};

macro_rules! le_int {
    ($($ty:ty),*) => {$(
        impl Encode for $ty {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }

        impl Decode for $ty {
            fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok(<$ty>::from_le_bytes(take_array(input)?))
            }
        }
    )*};
}

le_int!(i8, u8, i16, u16, i32, u32, i64, u64, i128, u128, f32, f64, i256, u256);

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Decode for bool {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match u8::decode(input)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::InvalidBool(other)),
        }
    }
}

impl Encode for F32 {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
}

impl Decode for F32 {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        f32::decode(input).map(F32)
    }
}

impl Encode for F64 {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
}

impl Decode for F64 {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        f64::decode(input).map(F64)
    }
}

impl Encode for str {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_len(self.len(), out);
        out.extend_from_slice(self.as_bytes());
    }
}

impl Encode for String {
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_str().encode(out)
    }
}

impl Decode for String {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let len = decode_len(input, 1)?;
        let bytes = take(input, len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8)
    }
}

impl Decode for Box<str> {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        String::decode(input).map(String::into_boxed_str)
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_len(self.len(), out);
        for elem in self {
            elem.encode(out);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_slice().encode(out)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        // Every element takes at least one byte except `()`; a zero-sized element type
        // therefore gets no length check, but it also allocates nothing per element.
        let min = usize::from(std::mem::size_of::<T>() != 0);
        let len = decode_len(input, min)?;
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(T::decode(input)?);
        }
        Ok(out)
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out)
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        T::decode(input).map(Box::new)
    }
}

impl<T: Decode> Decode for Box<[T]> {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        Vec::<T>::decode(input).map(Vec::into_boxed_slice)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Some(x) => {
                out.push(0);
                x.encode(out);
            }
            None => out.push(1),
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match decode_tag(input, "Option", 2)? {
            0 => T::decode(input).map(Some),
            _ => Ok(None),
        }
    }
}

impl<T: Encode, E: Encode> Encode for Result<T, E> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Ok(x) => {
                out.push(0);
                x.encode(out);
            }
            Err(e) => {
                out.push(1);
                e.encode(out);
            }
        }
    }
}

impl<T: Decode, E: Decode> Decode for Result<T, E> {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        match decode_tag(input, "Result", 2)? {
            0 => T::decode(input).map(Ok),
            _ => E::decode(input).map(Err),
        }
    }
}

macro_rules! tuple {
    ($($name:ident),*) => {
        impl<$($name: Encode),*> Encode for ($($name,)*) {
            #[allow(non_snake_case, unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                let ($($name,)*) = self;
                $($name.encode(out);)*
            }
        }

        impl<$($name: Decode),*> Decode for ($($name,)*) {
            #[allow(unused_variables)]
            fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
                Ok(($($name::decode(input)?,)*))
            }
        }
    };
}

tuple!();
tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
