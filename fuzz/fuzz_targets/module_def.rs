//! cargo-fuzz entry of the `module_def` target; the body is
//! [`spacetime_fuzz_targets::module_def`], which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spacetime_fuzz_targets::module_def(data));
