//! cargo-fuzz entry of the `sql_text` target; the body is
//! [`spacetime_fuzz_targets::sql_text`], which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spacetime_fuzz_targets::sql_text(data));
