//! cargo-fuzz entry of the `bsatn_value` target; the body is
//! [`spacetime_fuzz_targets::bsatn_value`], which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spacetime_fuzz_targets::bsatn_value(data));
