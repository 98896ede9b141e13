//! The wire form of a procedure's outbound HTTP request and its response, as the
//! `procedure_http_request` import passes them (BSATN, layout as SpacetimeDB's
//! `spacetimedb_lib::http`). Bodies travel separately, as raw bytes.

use crate::def::codec::{sats_enum, sats_struct};
pub use crate::def::raw::HttpMethod;
use crate::TimeDuration;

sats_struct! {
    /// An HTTP request's head.
    pub struct HttpRequest {
        /// The method.
        pub method: HttpMethod,
        /// The header lines, in order.
        pub headers: HttpHeaders,
        /// The caller's timeout for the whole request, if any.
        pub timeout: Option<TimeDuration>,
        /// The absolute URI.
        pub uri: String,
        /// The HTTP version asked for.
        pub version: HttpVersion,
    }
}

sats_struct! {
    /// Header lines, in order; a name may repeat.
    pub struct HttpHeaders {
        /// The lines.
        pub entries: Vec<HttpHeaderPair>,
    }
}

sats_struct! {
    /// One header line.
    pub struct HttpHeaderPair {
        /// The header name.
        pub name: String,
        /// The header value, as bytes (it need not be UTF-8).
        pub value: Vec<u8>,
    }
}

sats_enum! {
    /// An HTTP protocol version.
    pub enum HttpVersion {
        /// HTTP/0.9.
        Http09,
        /// HTTP/1.0.
        Http10,
        /// HTTP/1.1.
        Http11,
        /// HTTP/2.
        Http2,
        /// HTTP/3.
        Http3,
    }
}

sats_struct! {
    /// An HTTP response's head.
    pub struct HttpResponse {
        /// The header lines, in order.
        pub headers: HttpHeaders,
        /// The version the server answered with.
        pub version: HttpVersion,
        /// The status code.
        pub code: u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bsatn::{from_slice, to_vec};

    #[test]
    fn request_round_trips_in_field_order() {
        let request = HttpRequest {
            method: HttpMethod::Post,
            headers: HttpHeaders {
                entries: vec![HttpHeaderPair {
                    name: "a".into(),
                    value: b"b".to_vec(),
                }],
            },
            timeout: None,
            uri: "http://x/".into(),
            version: HttpVersion::Http11,
        };
        let bytes = to_vec(&request);
        // Post = tag 2; one header (u32 count, then "a" and [b]); None = tag 1; the URI; Http11 = tag 2.
        let mut expected = vec![2, 1, 0, 0, 0, 1, 0, 0, 0, b'a', 1, 0, 0, 0, b'b', 1, 9, 0, 0, 0];
        expected.extend_from_slice(b"http://x/");
        expected.push(2);
        assert_eq!(bytes, expected);
        assert_eq!(from_slice::<HttpRequest>(&bytes), Ok(request));
    }
}
