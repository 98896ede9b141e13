//! [`RowLayout`]: where each column sits inside a row's BSATN bytes.
//!
//! Rows are stored as their BSATN encoding. To build index keys, fill sequence
//! columns or compare single columns, the datastore needs each column's byte range.
//! Tables whose columns all have a fixed width (integers, floats and products of
//! them, such as `Identity`) get constant offsets; other tables find the boundaries
//! by skipping over each column once, which also validates the row.

use spacetime_sats::bsatn::value::{decode_value, decode_value_exact, skip_value};
use spacetime_sats::bsatn::DecodeError;
use spacetime_sats::{AlgebraicType, AlgebraicValue, ColId, ProductValue, Typespace};
use std::sync::Arc;

/// The column boundaries of one row: `bounds[c]..bounds[c + 1]` is column `c`.
pub(crate) type Bounds = Vec<u32>;

/// How to find the columns of a table's rows.
#[derive(Debug)]
pub(crate) struct RowLayout {
    /// Column types with any top-level `Ref` resolved.
    col_types: Vec<AlgebraicType>,
    typespace: Arc<Typespace>,
    /// The constant bounds, when every column has a fixed width that needs no
    /// validation (any bit pattern is a valid value).
    fixed: Option<Bounds>,
}

/// How deep `fixed_width` looks through refs and nested products.
const MAX_FIXED_DEPTH: usize = 16;

/// The encoded width of `ty` if every value of it has the same width and every bit
/// pattern of that width is valid.
fn fixed_width(ty: &AlgebraicType, ts: &Typespace, depth: usize) -> Option<usize> {
    if depth > MAX_FIXED_DEPTH {
        return None;
    }
    Some(match ty {
        AlgebraicType::Ref(r) => return fixed_width(ts.get(*r)?, ts, depth + 1),
        AlgebraicType::Product(p) => p
            .elements
            .iter()
            .map(|e| fixed_width(&e.algebraic_type, ts, depth + 1))
            .sum::<Option<usize>>()?,
        AlgebraicType::I8 | AlgebraicType::U8 => 1,
        AlgebraicType::I16 | AlgebraicType::U16 => 2,
        AlgebraicType::I32 | AlgebraicType::U32 | AlgebraicType::F32 => 4,
        AlgebraicType::I64 | AlgebraicType::U64 | AlgebraicType::F64 => 8,
        AlgebraicType::I128 | AlgebraicType::U128 => 16,
        AlgebraicType::I256 | AlgebraicType::U256 => 32,
        // Bools and sums have invalid byte patterns; strings and arrays vary in width.
        AlgebraicType::Sum(_) | AlgebraicType::Array(_) | AlgebraicType::String | AlgebraicType::Bool => return None,
    })
}

impl RowLayout {
    /// The layout of rows whose columns have types `columns`.
    ///
    /// # Errors
    /// Fails if a column's type is a dangling or cyclic reference.
    pub(crate) fn new(columns: &[AlgebraicType], typespace: Arc<Typespace>) -> Result<Self, DecodeError> {
        let col_types = columns
            .iter()
            .map(|ty| typespace.resolve(ty).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let mut fixed = Some(vec![0u32]);
        let mut end = 0usize;
        for ty in &col_types {
            match (fixed_width(ty, &typespace, 0), fixed.as_mut()) {
                (Some(w), Some(bounds)) => {
                    end += w;
                    bounds.push(
                        u32::try_from(end).map_err(|_| DecodeError::Invalid("row type is wider than 4 GiB".into()))?,
                    );
                }
                _ => fixed = None,
            }
        }
        Ok(Self {
            col_types,
            typespace,
            fixed,
        })
    }

    /// The resolved type of column `col`.
    pub(crate) fn col_type(&self, col: ColId) -> &AlgebraicType {
        &self.col_types[col.idx()]
    }

    /// The number of columns.
    pub(crate) fn len(&self) -> usize {
        self.col_types.len()
    }

    /// Validates the row at the front of `input` and writes its column bounds to `out`.
    /// Returns the row's length in bytes.
    pub(crate) fn measure(&self, input: &[u8], out: &mut Bounds) -> Result<usize, DecodeError> {
        out.clear();
        if let Some(fixed) = &self.fixed {
            let len = *fixed.last().unwrap_or(&0) as usize;
            if input.len() < len {
                return Err(DecodeError::Truncated {
                    needed: len,
                    remaining: input.len(),
                });
            }
            out.extend_from_slice(fixed);
            return Ok(len);
        }
        let mut rest = input;
        out.push(0);
        for ty in &self.col_types {
            skip_value(ty, &self.typespace, &mut rest)?;
            let at = input.len() - rest.len();
            out.push(u32::try_from(at).map_err(|_| DecodeError::Invalid("row is larger than 4 GiB".into()))?);
        }
        Ok(input.len() - rest.len())
    }

    /// Validates that `row` is exactly one row and writes its column bounds to `out`.
    pub(crate) fn bounds(&self, row: &[u8], out: &mut Bounds) -> Result<(), DecodeError> {
        let len = self.measure(row, out)?;
        if len != row.len() {
            return Err(DecodeError::TrailingBytes(row.len() - len));
        }
        Ok(())
    }

    /// The bytes of column `col` of a row with bounds `bounds`.
    pub(crate) fn col_bytes<'r>(row: &'r [u8], bounds: &[u32], col: ColId) -> &'r [u8] {
        &row[bounds[col.idx()] as usize..bounds[col.idx() + 1] as usize]
    }

    /// Decodes column `col` of a validated row.
    pub(crate) fn read_col(&self, row: &[u8], bounds: &[u32], col: ColId) -> AlgebraicValue {
        let bytes = Self::col_bytes(row, bounds, col);
        decode_value_exact(&self.col_types[col.idx()], &self.typespace, bytes)
            .expect("stored and checked rows were validated against this layout")
    }

    /// The index key of a validated row on `cols`: the bare value for one column, a
    /// product of the values for several.
    pub(crate) fn key(&self, row: &[u8], bounds: &[u32], cols: &[ColId]) -> AlgebraicValue {
        match cols {
            [col] => self.read_col(row, bounds, *col),
            cols => AlgebraicValue::product(cols.iter().map(|&c| self.read_col(row, bounds, c)).collect()),
        }
    }

    /// Decodes a whole validated row.
    pub(crate) fn decode_row(&self, row: &[u8]) -> ProductValue {
        let mut rest = row;
        let elements = self
            .col_types
            .iter()
            .map(|ty| decode_value(ty, &self.typespace, &mut rest))
            .collect::<Result<Vec<_>, _>>()
            .expect("stored rows were validated against this layout");
        ProductValue::new(elements)
    }

    /// Decodes one value of column `col`'s type from the front of `input`.
    pub(crate) fn decode_col_value(&self, col: ColId, input: &mut &[u8]) -> Result<AlgebraicValue, DecodeError> {
        decode_value(&self.col_types[col.idx()], &self.typespace, input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacetime_sats::bsatn::Encode;

    fn encode(values: &[AlgebraicValue]) -> Vec<u8> {
        let mut out = Vec::new();
        values.iter().for_each(|v| v.encode(&mut out));
        out
    }

    #[test]
    fn fixed_and_variable_layouts_agree() {
        let ts = Arc::new(Typespace::default());
        let fixed = RowLayout::new(
            &[AlgebraicType::U32, AlgebraicType::identity(), AlgebraicType::I8],
            ts.clone(),
        )
        .unwrap();
        assert!(fixed.fixed.is_some());
        let row = encode(&[
            AlgebraicValue::U32(1),
            AlgebraicValue::product(vec![AlgebraicValue::U256(Box::default())]),
            AlgebraicValue::I8(-1),
        ]);
        let mut b = Vec::new();
        fixed.bounds(&row, &mut b).unwrap();
        assert_eq!(b, vec![0, 4, 36, 37]);
        assert!(matches!(
            fixed.bounds(&row[..36], &mut b),
            Err(DecodeError::Truncated { .. })
        ));

        let var = RowLayout::new(&[AlgebraicType::U32, AlgebraicType::String, AlgebraicType::Bool], ts).unwrap();
        assert!(var.fixed.is_none());
        let row = encode(&[
            AlgebraicValue::U32(1),
            AlgebraicValue::string("ab"),
            AlgebraicValue::Bool(true),
        ]);
        var.bounds(&row, &mut b).unwrap();
        assert_eq!(b, vec![0, 4, 10, 11]);
        assert_eq!(var.read_col(&row, &b, ColId(1)), AlgebraicValue::string("ab"));
        let mut bad = row.clone();
        bad[10] = 2;
        assert_eq!(var.bounds(&bad, &mut b), Err(DecodeError::InvalidBool(2)));
        let mut long = row;
        long.push(0);
        assert_eq!(var.bounds(&long, &mut b), Err(DecodeError::TrailingBytes(1)));
    }
}
