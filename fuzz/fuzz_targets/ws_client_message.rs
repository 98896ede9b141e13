//! cargo-fuzz entry of the `ws_client_message` target; the body is
//! [`spacetime_fuzz_targets::ws_client_message`], which the corpus replay test also runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| spacetime_fuzz_targets::ws_client_message(data));
