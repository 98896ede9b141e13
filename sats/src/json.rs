//! SATS-JSON: the JSON form of SATS values and types used by the HTTP API.
