//! The compression envelope of server messages.

use spacetime_protocol::compression::{compress, compress_always, decompress, TAG_BROTLI, TAG_GZIP, TAG_NONE};
use spacetime_protocol::{Compression, ProtocolError};

fn big_body() -> Vec<u8> {
    (0..5000u32).flat_map(|i| (i % 97).to_le_bytes()).collect()
}

#[test]
fn every_algorithm_round_trips() {
    let body = big_body();
    for (compression, tag) in [
        (Compression::None, TAG_NONE),
        (Compression::Brotli, TAG_BROTLI),
        (Compression::Gzip, TAG_GZIP),
    ] {
        let wrapped = compress(&body, compression);
        assert_eq!(wrapped[0], tag, "{compression:?}");
        if compression != Compression::None {
            assert!(
                wrapped.len() < body.len() / 2,
                "{compression:?} did not compress: {} bytes",
                wrapped.len()
            );
        }
        assert_eq!(decompress(&wrapped).unwrap().as_ref(), &body[..], "{compression:?}");
    }
}

#[test]
fn small_bodies_are_never_compressed() {
    let body = vec![7u8; 1024];
    assert_eq!(compress(&body, Compression::Brotli), [&[TAG_NONE][..], &body].concat());
    assert_eq!(compress(&vec![7u8; 1025], Compression::Gzip)[0], TAG_GZIP);
    // Forced compression of a tiny body still round-trips.
    assert_eq!(
        decompress(&compress_always(b"hi", Compression::Brotli))
            .unwrap()
            .as_ref(),
        b"hi"
    );
}

#[test]
fn bad_envelopes_are_named() {
    assert_eq!(decompress(&[]), Err(ProtocolError::EmptyPayload));
    assert_eq!(decompress(&[9, 1, 2]), Err(ProtocolError::UnknownCompression(9)));
    let err = decompress(&[TAG_GZIP, 1, 2, 3]).unwrap_err();
    assert!(
        matches!(err, ProtocolError::Decompress { algorithm: "gzip", .. }),
        "{err}"
    );
    let err = decompress(&[TAG_BROTLI, 0xff, 0xff, 0xff]).unwrap_err();
    assert!(
        matches!(
            err,
            ProtocolError::Decompress {
                algorithm: "brotli",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn query_parameter_names() {
    assert_eq!(Compression::default(), Compression::Brotli);
    for c in [Compression::None, Compression::Brotli, Compression::Gzip] {
        assert_eq!(Compression::from_query_value(c.as_query_value()), Some(c));
    }
    assert_eq!(Compression::from_query_value("gzip"), Some(Compression::Gzip));
    assert_eq!(Compression::from_query_value("zstd"), None);
}
