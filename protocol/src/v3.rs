//! v3 framing: the same v2 messages, but one WebSocket payload may carry several of them
//! back to back. A sender may split or merge messages freely as long as it keeps their
//! order; an empty payload is an error.

use crate::ProtocolError;
use spacetime_sats::bsatn::{Decode, Encode};

/// The `Sec-WebSocket-Protocol` of v3.
pub const BIN_PROTOCOL: &str = "v3.bsatn.spacetimedb";

/// Concatenates the BSATN of `messages` into one payload.
pub fn encode_frame<'a, M: Encode + 'a>(messages: impl IntoIterator<Item = &'a M>) -> Vec<u8> {
    let mut out = Vec::new();
    for message in messages {
        message.encode(&mut out);
    }
    out
}

/// Decodes every message of a payload, in order.
///
/// # Errors
/// [`ProtocolError::EmptyPayload`] for an empty payload, and [`ProtocolError::Decode`] if
/// any message is malformed (the messages before it are not returned: the frame as a
/// whole is bad).
pub fn decode_frame<M: Decode>(mut payload: &[u8]) -> Result<Vec<M>, ProtocolError> {
    if payload.is_empty() {
        return Err(ProtocolError::EmptyPayload);
    }
    let mut messages = Vec::new();
    while !payload.is_empty() {
        messages.push(M::decode(&mut payload)?);
    }
    Ok(messages)
}
