//! Writes `pad.bin` into `OUT_DIR`: 2 MiB of pseudo-random bytes (xorshift64, fixed
//! seed), which the module embeds so its program is larger than etcd accepts in one
//! request (1.5 MiB). Random rather than zero, so the bytes land in a data section
//! of the `.wasm` instead of being left to zero-initialised memory.

use std::io::Write;

const PAD_BYTES: usize = 2 << 20;

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let path = std::path::Path::new(&out).join("pad.bin");
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(PAD_BYTES);
    while bytes.len() < PAD_BYTES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    let mut file = std::fs::File::create(&path).expect("create pad.bin");
    file.write_all(&bytes).expect("write pad.bin");
    println!("cargo:rerun-if-changed=build.rs");
}
