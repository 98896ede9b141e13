//! Types both directions of the protocol share: query-set ids, the packed row list and the
//! compression choice.

use bytes::Bytes;
use spacetime_sats::bsatn::{decode_len, decode_tag, encode_len, take, Decode, DecodeError, Encode};
use std::ops::Range;

wire_struct! {
    /// Names one query set (one `Subscribe`) on one connection. The client picks it; it
    /// must be unique among the connection's live query sets and may be reused after the
    /// set ends.
    #[derive(Copy, Hash, PartialOrd, Ord)]
    pub struct QuerySetId {
        /// The number the client chose.
        pub id: u32,
    }
}

impl QuerySetId {
    /// The query set numbered `id`.
    pub const fn new(id: u32) -> Self {
        Self { id }
    }
}

/// How the rows of a [`BsatnRowList`] are delimited inside its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowSizeHint {
    /// Every row is this many bytes (tag 0). Never zero in a valid list.
    FixedSize(u16),
    /// The start offset of each row (tag 1); a row ends where the next starts, or at the
    /// end of the data.
    RowOffsets(Vec<u64>),
}

/// A packed list of rows, each the BSATN of one row of some table: the rows' bytes
/// concatenated in `rows_data`, delimited by `size_hint`.
///
/// Decoding checks that the hint fits the data, so [`BsatnRowList::get`] and
/// [`BsatnRowList::iter`] never index out of bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BsatnRowList {
    size_hint: RowSizeHint,
    rows_data: Bytes,
}

impl Default for BsatnRowList {
    fn default() -> Self {
        Self {
            size_hint: RowSizeHint::RowOffsets(Vec::new()),
            rows_data: Bytes::new(),
        }
    }
}

/// Why a row list's size hint does not describe its data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowListError {
    /// `FixedSize(0)` with data, or data that is not a whole number of rows.
    #[error("{len} bytes of row data do not split into rows of {size} bytes")]
    BadFixedSize {
        /// The fixed row size.
        size: u16,
        /// The data length.
        len: usize,
    },
    /// Offsets that decrease, or point past the data, or do not start at 0.
    #[error("row offsets must start at 0, never decrease and stay within the {len} bytes of data")]
    BadOffsets {
        /// The data length.
        len: usize,
    },
}

impl BsatnRowList {
    /// A list of rows that all have `size` bytes.
    ///
    /// # Errors
    /// [`RowListError::BadFixedSize`] if `data` is not a whole number of such rows.
    pub fn fixed_size(size: u16, data: impl Into<Bytes>) -> Result<Self, RowListError> {
        Self::new(RowSizeHint::FixedSize(size), data.into())
    }

    /// A list with an explicit hint.
    ///
    /// # Errors
    /// A [`RowListError`] if the hint does not describe `data`.
    pub fn new(size_hint: RowSizeHint, rows_data: Bytes) -> Result<Self, RowListError> {
        let len = rows_data.len();
        match &size_hint {
            RowSizeHint::FixedSize(size) => {
                if (*size == 0 && len != 0) || (*size != 0 && len % usize::from(*size) != 0) {
                    return Err(RowListError::BadFixedSize { size: *size, len });
                }
            }
            RowSizeHint::RowOffsets(offsets) => {
                let starts_at_zero = offsets.first().is_none_or(|&first| first == 0);
                let ordered = offsets.windows(2).all(|w| w[0] <= w[1]);
                let in_bounds = offsets.last().is_none_or(|&last| last <= len as u64);
                // With no offsets there are no rows, so there must be no data either.
                let no_orphan_data = !offsets.is_empty() || len == 0;
                if !(starts_at_zero && ordered && in_bounds && no_orphan_data) {
                    return Err(RowListError::BadOffsets { len });
                }
            }
        }
        Ok(Self { size_hint, rows_data })
    }

    /// Packs `rows` (each one row's BSATN) with a fixed size if they all have the same
    /// non-zero length that fits a `u16`, and with offsets otherwise, as SpacetimeDB does.
    pub fn from_rows<R: AsRef<[u8]>>(rows: impl IntoIterator<Item = R>) -> Self {
        let mut data = Vec::new();
        let mut offsets = Vec::new();
        for row in rows {
            offsets.push(data.len() as u64);
            data.extend_from_slice(row.as_ref());
        }
        let lens = offsets
            .iter()
            .zip(offsets.iter().skip(1).copied().chain([data.len() as u64]))
            .map(|(s, e)| e - s);
        let mut lens = lens.peekable();
        let first = lens.peek().copied();
        let size_hint = match first {
            Some(size @ 1..=0xffff) if lens.all(|l| l == size) => RowSizeHint::FixedSize(size as u16),
            _ => RowSizeHint::RowOffsets(offsets),
        };
        Self {
            size_hint,
            rows_data: data.into(),
        }
    }

    /// How the rows are delimited.
    pub fn size_hint(&self) -> &RowSizeHint {
        &self.size_hint
    }

    /// All rows' bytes, concatenated.
    pub fn rows_data(&self) -> &Bytes {
        &self.rows_data
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        match &self.size_hint {
            RowSizeHint::FixedSize(0) => 0,
            RowSizeHint::FixedSize(size) => self.rows_data.len() / usize::from(*size),
            RowSizeHint::RowOffsets(offsets) => offsets.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn range(&self, index: usize) -> Option<Range<usize>> {
        match &self.size_hint {
            RowSizeHint::FixedSize(size) => {
                let size = usize::from(*size);
                (index < self.len()).then(|| index * size..(index + 1) * size)
            }
            RowSizeHint::RowOffsets(offsets) => {
                let start = *offsets.get(index)? as usize;
                let end = offsets.get(index + 1).map_or(self.rows_data.len(), |&e| e as usize);
                Some(start..end)
            }
        }
    }

    /// The bytes of row `index`, sharing the list's buffer.
    pub fn get(&self, index: usize) -> Option<Bytes> {
        self.range(index).map(|r| self.rows_data.slice(r))
    }

    /// Each row's bytes, in order, sharing the list's buffer.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Bytes> + '_ {
        (0..self.len()).map(|i| self.rows_data.slice(self.range(i).expect("index below len")))
    }
}

impl Encode for BsatnRowList {
    fn encode(&self, out: &mut Vec<u8>) {
        match &self.size_hint {
            RowSizeHint::FixedSize(size) => {
                out.push(0);
                size.encode(out);
            }
            RowSizeHint::RowOffsets(offsets) => {
                out.push(1);
                offsets.encode(out);
            }
        }
        encode_len(self.rows_data.len(), out);
        out.extend_from_slice(&self.rows_data);
    }
}

impl Decode for BsatnRowList {
    fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let size_hint = match decode_tag(input, "RowSizeHint", 2)? {
            0 => RowSizeHint::FixedSize(u16::decode(input)?),
            _ => RowSizeHint::RowOffsets(Vec::decode(input)?),
        };
        let len = decode_len(input, 1)?;
        let data = Bytes::copy_from_slice(take(input, len)?);
        Self::new(size_hint, data).map_err(|e| DecodeError::Invalid(e.to_string()))
    }
}

/// Which compression a client asks the server to apply to messages over the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Never compress.
    None,
    /// Brotli (the server's default).
    #[default]
    Brotli,
    /// Gzip.
    Gzip,
}

impl Compression {
    /// The value of the `compression` query parameter: `None`, `Brotli` or `Gzip`.
    pub fn as_query_value(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Brotli => "Brotli",
            Self::Gzip => "Gzip",
        }
    }

    /// Parses the `compression` query parameter (case-insensitively, as the server does).
    pub fn from_query_value(value: &str) -> Option<Self> {
        [Self::None, Self::Brotli, Self::Gzip]
            .into_iter()
            .find(|c| c.as_query_value().eq_ignore_ascii_case(value))
    }
}
