//! The HTTP router's routes: added, removed, or calling another handler. Routes hold no
//! data, so every change is automatic; the plan lists them so a publisher sees which
//! URLs start or stop answering.

use crate::Step;
use spacetime_sats::def::model::{HttpRouteDef, ModuleDef};
use spacetime_sats::def::raw::{HttpMethod, MethodOrAny};

/// A route's method as a request line spells it, `any` for every method.
fn method_name(method: &MethodOrAny) -> String {
    let name = match method {
        MethodOrAny::Any => return "any".to_owned(),
        MethodOrAny::Method(HttpMethod::Extension(other)) => return other.clone(),
        MethodOrAny::Method(m) => m,
    };
    match name {
        HttpMethod::Get => "GET",
        HttpMethod::Head => "HEAD",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Connect => "CONNECT",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Trace => "TRACE",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Extension(_) => unreachable!("returned above"),
    }
    .to_owned()
}

/// The name of the handler `route` calls in `def` (validation guarantees it exists).
fn handler_name<'d>(route: &HttpRouteDef, def: &'d ModuleDef) -> &'d str {
    def.http_handlers
        .get(route.handler_id as usize)
        .map_or("?", |h| h.name.as_str())
}

/// Adds a step for each route of `old` or `new` that is not the same in both: a route
/// is its method and path; one that calls a handler of another name changed.
pub(crate) fn diff(old: &ModuleDef, new: &ModuleDef, steps: &mut Vec<Step>) {
    let same_route = |a: &HttpRouteDef, b: &HttpRouteDef| a.method == b.method && a.path == b.path;
    for route in &old.http_routes {
        let (method, path) = (method_name(&route.method), route.path.clone());
        let handler = handler_name(route, old).to_owned();
        match new.http_routes.iter().find(|r| same_route(r, route)) {
            None => steps.push(Step::RemoveRoute { method, path, handler }),
            Some(updated) if handler_name(updated, new) != handler => steps.push(Step::ChangeRoute {
                method,
                path,
                old: handler,
                new: handler_name(updated, new).to_owned(),
            }),
            Some(_) => {}
        }
    }
    for route in &new.http_routes {
        if !old.http_routes.iter().any(|r| same_route(r, route)) {
            steps.push(Step::AddRoute {
                method: method_name(&route.method),
                path: route.path.clone(),
                handler: handler_name(route, new).to_owned(),
            });
        }
    }
}
