//! The ledger module (`tests/modules/ledger`, the same tables and reducers) with a
//! 2 MiB data section: a program larger than the cluster catalog stores in etcd, so
//! other nodes must fetch it from a peer by its hash.

#[path = "../../ledger/src/lib.rs"]
mod ledger;

use spacetimedb::{reducer, ReducerContext};

/// The padding (see `build.rs`).
static PAD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pad.bin"));

/// Reads one byte of the padding, so the linker keeps all of it.
#[reducer]
pub fn pad_byte(_ctx: &ReducerContext, at: u32) {
    std::hint::black_box(PAD[at as usize % PAD.len()]);
}
