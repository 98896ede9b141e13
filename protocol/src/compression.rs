//! The envelope of server → client payloads: one tag byte naming the compression, then the
//! body. Client → server payloads have no envelope and are never compressed.

use crate::common::Compression;
use crate::ProtocolError;
use std::borrow::Cow;
use std::io::{Read, Write};

/// Tag of an uncompressed body.
pub const TAG_NONE: u8 = 0;
/// Tag of a brotli-compressed body.
pub const TAG_BROTLI: u8 = 1;
/// Tag of a gzip-compressed body.
pub const TAG_GZIP: u8 = 2;

/// Bodies at most this long are sent uncompressed whatever the client asked for, as
/// SpacetimeDB does: compressing small messages costs more than it saves.
pub const COMPRESS_THRESHOLD: usize = 1024;

/// The brotli quality the server uses: fast, since every transaction is compressed.
const BROTLI_QUALITY: u32 = 1;
const BROTLI_WINDOW: u32 = 22;

/// Wraps `body` (one v2 message, or several for v3) for sending to a client that asked for
/// `compression`, compressing only bodies over [`COMPRESS_THRESHOLD`].
pub fn compress(body: &[u8], compression: Compression) -> Vec<u8> {
    if body.len() <= COMPRESS_THRESHOLD {
        return wrap(TAG_NONE, body);
    }
    compress_always(body, compression)
}

/// Like [`compress`], but compresses whatever the size (for tests and callers with their
/// own threshold).
pub fn compress_always(body: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::None => wrap(TAG_NONE, body),
        Compression::Brotli => {
            let mut out = vec![TAG_BROTLI];
            {
                let mut writer = brotli::CompressorWriter::new(&mut out, 4096, BROTLI_QUALITY, BROTLI_WINDOW);
                writer.write_all(body).expect("writing to a Vec cannot fail");
            }
            out
        }
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(vec![TAG_GZIP], flate2::Compression::fast());
            encoder.write_all(body).expect("writing to a Vec cannot fail");
            encoder.finish().expect("writing to a Vec cannot fail")
        }
    }
}

fn wrap(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 1);
    out.push(tag);
    out.extend_from_slice(body);
    out
}

/// Unwraps a server payload: reads the tag byte and decompresses the body if needed.
///
/// # Errors
/// [`ProtocolError::EmptyPayload`], [`ProtocolError::UnknownCompression`] or
/// [`ProtocolError::Decompress`].
pub fn decompress(payload: &[u8]) -> Result<Cow<'_, [u8]>, ProtocolError> {
    let (&tag, body) = payload.split_first().ok_or(ProtocolError::EmptyPayload)?;
    let failed = |algorithm| {
        move |e: std::io::Error| ProtocolError::Decompress {
            algorithm,
            message: e.to_string(),
        }
    };
    match tag {
        TAG_NONE => Ok(Cow::Borrowed(body)),
        TAG_BROTLI => {
            let mut out = Vec::new();
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .map_err(failed("brotli"))?;
            Ok(Cow::Owned(out))
        }
        TAG_GZIP => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .map_err(failed("gzip"))?;
            Ok(Cow::Owned(out))
        }
        other => Err(ProtocolError::UnknownCompression(other)),
    }
}
