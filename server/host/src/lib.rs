//! Runs Spacetime modules in wasmtime and links the spacetime_10.x ABI.
