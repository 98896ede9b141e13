//! Rows grouped by table for a `QueryRows` (initial rows of a subscription, rows an
//! unsubscribe drops, a one-off query's result).

use spacetime_protocol::v2::{QueryRows, SingleTableRows};
use spacetime_protocol::BsatnRowList;

/// Rows grouped by table, one entry per table in first-seen order.
#[derive(Debug, Default)]
pub struct TableRows {
    tables: Vec<(String, Vec<Vec<u8>>)>,
    /// The rows' encoded size so far.
    bytes: usize,
}

impl TableRows {
    /// Adds `rows` (each one BSATN row) of `table`.
    pub fn add(&mut self, table: &str, rows: Vec<Vec<u8>>) {
        self.bytes += rows.iter().map(Vec::len).sum::<usize>();
        match self.tables.iter_mut().find(|(t, _)| t == table) {
            Some((_, existing)) => existing.extend(rows),
            None => self.tables.push((table.to_owned(), rows)),
        }
    }

    /// How many bytes of rows were added.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The wire form.
    pub fn finish(self) -> QueryRows {
        let tables = self
            .tables
            .into_iter()
            .map(|(table, rows)| SingleTableRows {
                table,
                rows: BsatnRowList::from_rows(rows),
            })
            .collect();
        QueryRows { tables }
    }
}
