//! cargo-fuzz entry of the `http_json_args` target; the body is
//! [`spacetime_fuzz_targets::http_json_args`], which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spacetime_fuzz_targets::http_json_args(data));
