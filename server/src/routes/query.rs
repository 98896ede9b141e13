//! Reading query parameters with errors that name the parameter and its valid values
//! (axum's `Query` rejection would only say that deserialization failed).

use crate::api_error::ApiError;
use std::collections::HashMap;

/// The query parameters of a request.
pub type Params = HashMap<String, String>;

/// A boolean parameter: `true`/`false` (or absent, giving `default`).
pub fn flag(params: &Params, name: &str, default: bool) -> Result<bool, ApiError> {
    match params.get(name).map(String::as_str) {
        None => Ok(default),
        Some("true") | Some("") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::BadRequest(format!(
            "query parameter `{name}` must be `true` or `false`, not `{other}`"
        ))),
    }
}

/// An unsigned integer parameter, if present.
pub fn number(params: &Params, name: &str) -> Result<Option<usize>, ApiError> {
    params
        .get(name)
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::BadRequest(format!(
                    "query parameter `{name}` must be a non-negative integer, not `{v}`"
                ))
            })
        })
        .transpose()
}

/// Refuses `host_type` other than `Wasm`.
pub fn check_host_type(params: &Params) -> Result<(), ApiError> {
    match params.get("host_type").map(String::as_str) {
        None | Some("Wasm") | Some("wasm") => Ok(()),
        Some(other) => Err(ApiError::BadRequest(format!(
            "host_type `{other}` is not supported: this server runs WebAssembly modules only (host_type=Wasm)"
        ))),
    }
}
