//! Views: one evaluation of a view through the module's `__call_view__` (per caller,
//! with the caller's identity) or `__call_view_anon__` (anonymous).
//!
//! A view runs in a transaction of its own that is always rolled back: it reads the
//! committed state and must not write (a write is an error naming the view, not a
//! change). While it runs, the table reads it makes through the ABI (scans, index
//! scans, row counts) are recorded, so the engine can re-evaluate it only when a
//! transaction changes a table it read. A view with parameters gets the BSATN of its
//! arguments as the call's bytes source. Its result is a `ViewResultHeader` then either
//! the BSATN of `Vec<T>` (`RowData`, tag 0; `Option<T>` arrives as a zero- or one-element
//! `Vec<T>`), split into rows but not decoded, or the SQL text of a query (`RawSql`, tag
//! 1, from a query-builder view), which the engine runs.

use crate::env::{CallInfo, InstanceEnv};
use crate::error::ReducerError;
use crate::instance::{limbs, ModuleInstance};
use crate::limits::SinkKind;
use crate::program::classify_trap;
use crate::view_reads::ViewReads;
use spacetime_datastore::Datastore;
use spacetime_sats::bsatn::value::skip_value;
use spacetime_sats::bsatn::{decode_len, take_array};
use spacetime_sats::def::model::ViewDef;
use spacetime_sats::{AlgebraicType, Identity, Timestamp, Typespace};
use std::time::{Duration, Instant};

/// What one view evaluation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewOutcome {
    /// The BSATN of each row, in the order the view returned them (none when it
    /// returned a query).
    pub rows: Vec<Box<[u8]>>,
    /// The SQL query a query-builder view returned instead of rows: its result is the
    /// view's rows.
    pub query: Option<String>,
    /// What the view read (whole tables, or index keys and ranges): a transaction
    /// that touches none of it cannot change its result.
    pub reads: ViewReads,
    /// How long the call took.
    pub duration: Duration,
}

/// Why a view evaluation produced no rows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ViewError {
    /// The module failed: it trapped, panicked, ran out of time or memory.
    #[error("view `{view}` failed: {reason}")]
    Failed {
        /// The view.
        view: String,
        /// What happened.
        reason: ReducerError,
    },
    /// The view wrote to a table (its writes were rolled back).
    #[error("view `{view}` tried to write to the database, but views are read-only; make the change in a reducer")]
    Wrote {
        /// The view.
        view: String,
    },
    /// The result is not what the view's type says.
    #[error("view `{view}` returned bytes that are not its rows: {reason}")]
    BadResult {
        /// The view.
        view: String,
        /// What is wrong.
        reason: String,
    },
    /// The module lacks the export the view needs.
    #[error(
        "view `{view}` cannot run: the module does not export `{export}`; rebuild it with a SpacetimeDB 2.x library"
    )]
    NotExported {
        /// The view.
        view: String,
        /// The missing export.
        export: &'static str,
    },
}

/// Splits the BSATN of `Vec<row>` into the bytes of each row.
fn split_rows(mut bytes: &[u8], row: &AlgebraicType, typespace: &Typespace) -> Result<Vec<Box<[u8]>>, String> {
    let input = &mut bytes;
    let count = decode_len(input, 0).map_err(|e| format!("the row count: {e}"))?;
    let mut rows = Vec::with_capacity(count.min(input.len()));
    for i in 0..count {
        let before = *input;
        skip_value(row, typespace, input).map_err(|e| format!("row {i}: {e}"))?;
        rows.push(before[..before.len() - input.len()].into());
    }
    if !input.is_empty() {
        return Err(format!("{} bytes left over after the last row", input.len()));
    }
    Ok(rows)
}

/// Decodes the BSATN string of a `RawSql` result: the whole rest of the result.
fn decode_query(mut bytes: &[u8]) -> Result<String, String> {
    let input = &mut bytes;
    let len = decode_len(input, 0).map_err(|e| format!("the query's length: {e}"))?;
    if input.len() != len {
        return Err(format!(
            "the query is {len} bytes long, but {} bytes follow",
            input.len()
        ));
    }
    String::from_utf8(input.to_vec()).map_err(|_| "the query is not UTF-8".to_owned())
}

impl ModuleInstance {
    /// Evaluates `view`, which takes no parameters, for `sender`: [`Self::call_view_with`]
    /// without arguments.
    ///
    /// # Errors
    /// As [`Self::call_view_with`].
    pub fn call_view(
        &mut self,
        ds: &mut Datastore,
        view: &ViewDef,
        sender: Identity,
        timestamp: Timestamp,
    ) -> Result<ViewOutcome, ViewError> {
        self.call_view_with(ds, view, sender, &[], timestamp)
    }

    /// Evaluates `view` for `sender` (ignored by an anonymous view) with the arguments
    /// `args` (the BSATN of its parameters, checked by the caller against their types)
    /// on the committed state of `ds`, which it leaves unchanged.
    ///
    /// # Errors
    /// A [`ViewError`] naming the view: the module failed, wrote, returned malformed
    /// rows or query, or lacks the view export.
    pub fn call_view_with(
        &mut self,
        ds: &mut Datastore,
        view: &ViewDef,
        sender: Identity,
        args: &[u8],
        timestamp: Timestamp,
    ) -> Result<ViewOutcome, ViewError> {
        let start = Instant::now();
        let name = || view.name.clone();
        let failed = |reason| ViewError::Failed { view: name(), reason };
        let (warm, config) = self.warm_mut().map_err(failed)?;
        let export = if view.is_anonymous {
            "__call_view_anon__"
        } else {
            "__call_view__"
        };
        let (call_view, call_anon) = (warm.call_view.clone(), warm.call_view_anon.clone());
        if (view.is_anonymous && call_anon.is_none()) || (!view.is_anonymous && call_view.is_none()) {
            return Err(ViewError::NotExported { view: name(), export });
        }
        let env = warm.store.data_mut();
        env.call = CallInfo {
            reducer: None,
            timestamp,
        };
        env.panic_message = None;
        env.caller_jwt = None;
        env.view_reads = Some(ViewReads::default());
        let sink = env.new_sink(SinkKind::ViewResult);
        let args = env.new_source(args);
        warm.store.set_epoch_deadline(config.budget_ticks());
        let mut tx = ds.begin_mut_tx();
        let returned = InstanceEnv::lend_tx(&mut warm.store, &mut tx, |store| match (&call_view, &call_anon) {
            (_, Some(f)) if view.is_anonymous => f.call(store, (view.index, args, sink)),
            (Some(f), _) => {
                let [s0, s1, s2, s3] = limbs::<32, 4>(sender.to_byte_array());
                f.call(store, (view.index, s0, s1, s2, s3, args, sink))
            }
            _ => unreachable!("checked above that the export exists"),
        });
        let wrote = tx.has_writes();
        tx.rollback();
        let env = warm.store.data_mut();
        let reads = env.view_reads.take().unwrap_or_default();
        let result = match returned {
            Ok(code) => Ok((code, env.take_sink(sink))),
            Err(trap) => Err(classify_trap(&trap, env, config)),
        };
        env.end_call();
        let (code, output) = match result {
            Ok(ok) => ok,
            Err(reason) => {
                if reason.is_trap() {
                    self.replace();
                }
                return Err(failed(reason));
            }
        };
        if wrote {
            return Err(ViewError::Wrote { view: name() });
        }
        let bad = |reason: String| ViewError::BadResult { view: name(), reason };
        let mut rows_bytes = output.as_slice();
        match code {
            // The current format: a `ViewResultHeader` first.
            2 => match take_array::<1>(&mut rows_bytes).map_err(|e| bad(format!("the result header: {e}")))? {
                [0] => {}
                [1] => {
                    let query = decode_query(rows_bytes).map_err(bad)?;
                    return Ok(ViewOutcome {
                        rows: Vec::new(),
                        query: Some(query),
                        reads,
                        duration: start.elapsed(),
                    });
                }
                [tag] => return Err(bad(format!("unknown result header tag {tag}"))),
            },
            // The legacy format: the rows alone.
            0 => {}
            other => return Err(failed(ReducerError::InvalidReturn(other))),
        }
        let def = self.program().module_def();
        let row = AlgebraicType::Ref(view.product_type_ref);
        let rows = split_rows(rows_bytes, &row, &def.typespace).map_err(bad)?;
        Ok(ViewOutcome {
            rows,
            query: None,
            reads,
            duration: start.elapsed(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split_rows;
    use spacetime_sats::{AlgebraicType as T, Typespace};

    #[test]
    fn rows_are_split_at_their_boundaries() {
        let mut ts = Typespace::default();
        let row = T::Ref(ts.add(T::product([("id", T::U32), ("name", T::String)])));
        let mut bytes = 2u32.to_le_bytes().to_vec();
        let first = [7u32.to_le_bytes().as_slice(), &1u32.to_le_bytes(), b"a"].concat();
        let second = [9u32.to_le_bytes().as_slice(), &2u32.to_le_bytes(), b"bc"].concat();
        bytes.extend_from_slice(&first);
        bytes.extend_from_slice(&second);
        let rows = split_rows(&bytes, &row, &ts).expect("well formed");
        assert_eq!(rows, vec![first.into_boxed_slice(), second.into_boxed_slice()]);
        bytes.push(0);
        assert!(split_rows(&bytes, &row, &ts).unwrap_err().contains("1 bytes left over"));
        assert!(split_rows(&bytes[..15], &row, &ts).unwrap_err().contains("row 1"));
    }
}
