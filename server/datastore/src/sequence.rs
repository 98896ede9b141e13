//! [`Sequence`]: the counter behind an `auto_inc` column.
//!
//! A sequence hands out `start`, `start + increment`, … and fails once the next value
//! would leave `min_value..=max_value` (also clamped to the column type's range). The
//! datastore writes a generated value into the column bytes in place, because integer
//! columns have a fixed width in BSATN.

use crate::error::{DatastoreError, Result};
use spacetime_sats::def::model::SequenceDef;
use spacetime_sats::{AlgebraicType, ColId, SequenceId};

/// An integer column type a sequence can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IntType {
    width: usize,
    signed: bool,
}

impl IntType {
    pub(crate) fn of(ty: &AlgebraicType) -> Option<Self> {
        let (width, signed) = match ty {
            AlgebraicType::I8 => (1, true),
            AlgebraicType::U8 => (1, false),
            AlgebraicType::I16 => (2, true),
            AlgebraicType::U16 => (2, false),
            AlgebraicType::I32 => (4, true),
            AlgebraicType::U32 => (4, false),
            AlgebraicType::I64 => (8, true),
            AlgebraicType::U64 => (8, false),
            AlgebraicType::I128 => (16, true),
            AlgebraicType::U128 => (16, false),
            AlgebraicType::I256 => (32, true),
            AlgebraicType::U256 => (32, false),
            _ => return None,
        };
        Some(Self { width, signed })
    }

    /// The type's range, clamped to what an `i128` holds.
    fn range(self) -> (i128, i128) {
        match (self.width, self.signed) {
            (w, true) if w < 16 => (-(1i128 << (w * 8 - 1)), (1i128 << (w * 8 - 1)) - 1),
            (w, false) if w < 16 => (0, (1i128 << (w * 8)) - 1),
            (_, true) => (i128::MIN, i128::MAX),
            (_, false) => (0, i128::MAX),
        }
    }

    /// Writes `value` (which fits the type) as little-endian bytes of the type's width.
    pub(crate) fn write(self, value: i128, out: &mut [u8]) {
        let bytes = value.to_le_bytes();
        let fill = if value < 0 { 0xff } else { 0 };
        for (i, b) in out.iter_mut().enumerate().take(self.width) {
            *b = bytes.get(i).copied().unwrap_or(fill);
        }
    }
}

/// The live state of one sequence.
#[derive(Debug)]
pub(crate) struct Sequence {
    pub(crate) id: SequenceId,
    pub(crate) name: String,
    pub(crate) column: ColId,
    pub(crate) ty: IntType,
    min: i128,
    max: i128,
    increment: i128,
    /// The value the next insert gets; `None` once the counter left `i128`.
    pub(crate) next: Option<i128>,
}

impl Sequence {
    /// A sequence for `def` over a column of type `col_ty`.
    pub(crate) fn new(id: SequenceId, def: &SequenceDef, col_ty: &AlgebraicType, table: &str) -> Result<Self> {
        let invalid = |reason: String| DatastoreError::InvalidSchema {
            table: table.to_owned(),
            reason,
        };
        let ty = IntType::of(col_ty).ok_or_else(|| {
            invalid(format!(
                "sequence `{}` is on a column of type {col_ty:?}; auto_inc needs an integer column",
                def.name
            ))
        })?;
        if def.increment == 0 {
            return Err(invalid(format!("sequence `{}` has increment 0", def.name)));
        }
        let (type_min, type_max) = ty.range();
        let (min, max) = (def.min_value.max(type_min), def.max_value.min(type_max));
        if !(min..=max).contains(&def.start) {
            return Err(invalid(format!(
                "sequence `{}` starts at {} outside its range {min}..={max}",
                def.name, def.start
            )));
        }
        Ok(Self {
            id,
            name: def.name.clone(),
            column: def.column,
            ty,
            min,
            max,
            increment: def.increment,
            next: Some(def.start),
        })
    }

    /// Takes the next value.
    ///
    /// # Errors
    /// [`DatastoreError::AutoIncOverflow`] once the sequence is exhausted.
    pub(crate) fn take(&mut self) -> Result<i128> {
        let limit = if self.increment > 0 { self.max } else { self.min };
        let value =
            self.next
                .filter(|v| (self.min..=self.max).contains(v))
                .ok_or_else(|| DatastoreError::AutoIncOverflow {
                    sequence: self.name.clone(),
                    limit,
                })?;
        self.next = value.checked_add(self.increment);
        Ok(value)
    }

    /// Moves the counter so it never hands out `value` or anything before it (in the
    /// direction of the increment). Never moves it back.
    pub(crate) fn advance_past(&mut self, value: i128) {
        let Some(next) = self.next else { return };
        let behind = if self.increment > 0 {
            next <= value
        } else {
            next >= value
        };
        if behind {
            self.next = value.checked_add(self.increment);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_sign_extended_values() {
        let ty = IntType::of(&AlgebraicType::I256).unwrap();
        let mut out = [0u8; 32];
        ty.write(-2, &mut out);
        assert_eq!(out[0], 0xfe);
        assert!(out[1..].iter().all(|&b| b == 0xff));
        let ty = IntType::of(&AlgebraicType::U16).unwrap();
        let mut out = [0u8; 2];
        ty.write(0x1234, &mut out);
        assert_eq!(out, [0x34, 0x12]);
        assert_eq!(IntType::of(&AlgebraicType::I8).unwrap().range(), (-128, 127));
        assert_eq!(IntType::of(&AlgebraicType::U64).unwrap().range(), (0, u64::MAX as i128));
    }
}
