//! The `HttpHandlers` and `HttpRoutes` sections (unstable in SpacetimeDB): handlers are
//! functions named once, routes name a declared handler, their paths are empty or start
//! with `/` and use only the characters SpacetimeDB's router accepts, and no two routes
//! overlap (the same path with the same method, or `Any` on either).

use super::{ValidationError, Validator};
use crate::def::model::{HttpHandlerDef, HttpRouteDef};
use crate::def::raw::{MethodOrAny, RawHttpHandlerDefV10, RawHttpRouteDefV10};
use std::collections::HashSet;

/// The characters a route path may hold, as SpacetimeDB's router describes them.
pub const ROUTE_PATH_CHARS: &str = "ASCII lowercase letters, digits and `-_~/`";

/// Why `path` cannot be a route path, if it cannot.
pub fn route_path_problem(path: &str) -> Option<String> {
    if !path.is_empty() && !path.starts_with('/') {
        return Some("it must be empty (the root) or start with `/`".to_owned());
    }
    let bad = path
        .chars()
        .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "-_~/".contains(c)))?;
    Some(format!("it holds {bad:?}; paths may contain only {ROUTE_PATH_CHARS}"))
}

fn method_name(method: &MethodOrAny) -> String {
    match method {
        MethodOrAny::Any => "any method".to_owned(),
        MethodOrAny::Method(m) => format!("{m:?}").to_uppercase(),
    }
}

fn overlap(a: &MethodOrAny, b: &MethodOrAny) -> bool {
    matches!(a, MethodOrAny::Any) || matches!(b, MethodOrAny::Any) || a == b
}

impl Validator<'_> {
    pub(super) fn validate_http_handlers(&mut self, input: Vec<RawHttpHandlerDefV10>) -> Vec<HttpHandlerDef> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for handler in input {
            self.ident(|| "HTTP handler".to_owned(), &handler.source_name);
            if !seen.insert(handler.source_name.clone()) {
                self.err(ValidationError::DuplicateHttpHandler {
                    name: handler.source_name.clone(),
                });
            }
            // Kept even when invalid, so handler ids stay the module's positions.
            out.push(HttpHandlerDef {
                name: handler.source_name,
            });
        }
        out
    }

    pub(super) fn validate_http_routes(
        &mut self,
        input: Vec<RawHttpRouteDefV10>,
        handlers: &[HttpHandlerDef],
    ) -> Vec<HttpRouteDef> {
        let mut out: Vec<HttpRouteDef> = Vec::new();
        for route in input {
            if let Some(problem) = route_path_problem(&route.path) {
                self.err(ValidationError::HttpRoutePath {
                    path: route.path.clone(),
                    problem,
                });
            }
            let Some(handler_id) = handlers.iter().position(|h| h.name == route.handler_function) else {
                self.err(ValidationError::HttpRouteWithoutHandler {
                    path: route.path,
                    handler: route.handler_function,
                });
                continue;
            };
            if let Some(other) = out
                .iter()
                .find(|r| r.path == route.path && overlap(&r.method, &route.method))
            {
                self.err(ValidationError::HttpRouteConflict {
                    path: route.path.clone(),
                    first: method_name(&other.method),
                    second: method_name(&route.method),
                });
                continue;
            }
            out.push(HttpRouteDef {
                method: route.method,
                path: route.path,
                handler_id: handler_id as u32,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::route_path_problem;

    #[test]
    fn route_paths_follow_the_router_rules() {
        for ok in ["", "/", "/foo", "/foo/", "/a-b_c~d/9"] {
            assert_eq!(route_path_problem(ok), None, "{ok:?}");
        }
        assert!(route_path_problem("foo").is_some_and(|p| p.contains("start with `/`")));
        assert!(route_path_problem("/Foo").is_some_and(|p| p.contains("'F'")));
        assert!(route_path_problem("/a.css").is_some_and(|p| p.contains("'.'")));
    }
}
