//! HTTP handlers (`unstable`, as in SpacetimeDB): [`HandlerContext`], [`Handler`],
//! [`Router`], the registration that `#[spacetimedb::http::handler]` and
//! `#[spacetimedb::http::router]` generate, and the `__call_http_handler__` export.
//!
//! A handler runs outside any transaction, like a procedure: it opens its own with
//! [`HandlerContext::with_tx`] and may make outbound requests with `ctx.http`. The host
//! serves the router under `/v1/database/:name/route`, matching paths exactly.
//!
//! Handlers are described in the `HttpHandlers` section in registration order (a
//! handler's id is its position), the router's routes in `HttpRoutes`, as SpacetimeDB's
//! crate does: handlers register at `__preinit__20_register_http_handler_<name>`, the
//! router at `__preinit__30_register_http_router`.

use crate::http::{version_from_wire, version_to_wire, Body, HttpClient, Request, Response};
use crate::procedure::ProcedureContext;
use crate::rt::{register_describer, ModuleBuilder};
use crate::{sys, Environment, Identity, Timestamp, TxContext};
use spacetime_sats::bsatn;
use spacetime_sats::def::raw::{HttpMethod, MethodOrAny};
use spacetime_sats::http::{HttpHeaderPair, HttpHeaders, HttpRequest, HttpResponse};
use std::sync::Mutex;

/// What an HTTP handler receives: the time, outbound HTTP, environment values and
/// transactions.
#[non_exhaustive]
pub struct HandlerContext {
    /// The database's environment values.
    pub env: Environment,
    /// When the handler started.
    pub timestamp: Timestamp,
    /// Outbound HTTP requests.
    pub http: HttpClient,
    inner: ProcedureContext,
}

impl HandlerContext {
    fn new(sender: Identity, timestamp: Timestamp) -> Self {
        Self {
            env: Environment::default(),
            timestamp,
            http: HttpClient {},
            inner: ProcedureContext::new(sender, None, timestamp),
        }
    }

    /// The random identity the host made for this request; it is also the sender of the
    /// transactions the handler opens.
    pub fn sender(&self) -> Identity {
        self.inner.sender()
    }

    /// The identity of this database.
    pub fn database_identity(&self) -> Identity {
        Identity::from_byte_array(sys::identity())
    }

    /// The identity of this database.
    #[deprecated(note = "use `HandlerContext::database_identity` instead")]
    pub fn identity(&self) -> Identity {
        self.database_identity()
    }

    /// The random number generator of this request, seeded from its timestamp.
    pub fn rng(&self) -> &crate::StdbRng {
        self.inner.rng()
    }

    /// A random value of type `T` from [`HandlerContext::rng`].
    pub fn random<T>(&self) -> T
    where
        rand::distributions::Standard: rand::distributions::Distribution<T>,
    {
        self.inner.random()
    }

    /// A random (version 4) [`Uuid`](crate::Uuid) from [`HandlerContext::rng`].
    ///
    /// # Errors
    /// None in practice; the `Result` matches SpacetimeDB's signature.
    pub fn new_uuid_v4(&self) -> Result<crate::Uuid, spacetime_sats::special::UuidError> {
        self.inner.new_uuid_v4()
    }

    /// A time-ordered (version 7) [`Uuid`](crate::Uuid) from the request's timestamp, a
    /// counter and [`HandlerContext::rng`].
    ///
    /// # Errors
    /// If the timestamp is before 1970.
    pub fn new_uuid_v7(&self) -> Result<crate::Uuid, spacetime_sats::special::UuidError> {
        self.inner.new_uuid_v7()
    }

    /// Runs `body` in a new transaction and commits it; a panic rolls it back.
    pub fn with_tx<T>(&mut self, body: impl Fn(&TxContext) -> T) -> T {
        self.inner.with_tx(body)
    }

    /// Runs `body` in a new transaction: commits on `Ok`, rolls back on `Err`.
    pub fn try_with_tx<T, E>(&mut self, body: impl Fn(&TxContext) -> Result<T, E>) -> Result<T, E> {
        self.inner.try_with_tx(body)
    }
}

/// A handler, for binding to routes: `#[handler]` defines one named like the function.
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    name: &'static str,
}

impl Handler {
    /// Emitted by `#[handler]`; `name` must be a function it registered.
    #[doc(hidden)]
    pub const fn new(name: &'static str) -> Self {
        Self { name }
    }
}

/// Routes bound to handlers; register one with `#[spacetimedb::http::router]`.
///
/// A path is `""` (the root, `/route`) or starts with `/`, and holds only ASCII lowercase
/// letters, digits and `-_~/`. Matching is strict: `/foo` and `/foo/` are different paths.
/// Registering two handlers for the same method and path (or [`Router::any`] and another
/// on one path) panics, as does an invalid path.
#[derive(Clone, Default, Debug)]
pub struct Router {
    routes: Vec<Route>,
}

#[derive(Clone, Debug)]
struct Route {
    method: MethodOrAny,
    path: String,
    handler: Handler,
}

macro_rules! method_routes {
    ($($(#[$doc:meta])* $fn_name:ident => $method:ident;)*) => {$(
        $(#[$doc])*
        pub fn $fn_name(self, path: impl Into<String>, handler: Handler) -> Self {
            self.add_route(MethodOrAny::Method(HttpMethod::$method), path.into(), handler)
        }
    )*};
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    method_routes! {
        /// Binds `GET` requests for `path` to `handler`.
        get => Get;
        /// Binds `HEAD` requests for `path` to `handler` (`HEAD` is not derived from `GET`).
        head => Head;
        /// Binds `OPTIONS` requests for `path` to `handler`.
        options => Options;
        /// Binds `PUT` requests for `path` to `handler`.
        put => Put;
        /// Binds `DELETE` requests for `path` to `handler`.
        delete => Delete;
        /// Binds `POST` requests for `path` to `handler`.
        post => Post;
        /// Binds `PATCH` requests for `path` to `handler`.
        patch => Patch;
    }

    /// Binds requests of every method for `path` to `handler`.
    pub fn any(self, path: impl Into<String>, handler: Handler) -> Self {
        self.add_route(MethodOrAny::Any, path.into(), handler)
    }

    /// Serves `sub_router`'s routes below `path` (its paths appended to `path`).
    ///
    /// # Panics
    /// If a route of `self` already starts with `path`, or on a conflict or bad path.
    pub fn nest(self, path: impl Into<String>, sub_router: Router) -> Self {
        let path = path.into();
        assert_valid_path(&path);
        if self.routes.iter().any(|r| r.path.starts_with(&path)) {
            panic!("cannot nest a router at `{path}`: existing routes start with that path");
        }
        sub_router.routes.into_iter().fold(self, |router, route| {
            let joined = join_paths(&path, &route.path);
            router.add_route(route.method, joined, route.handler)
        })
    }

    /// Adds every route of `other`.
    ///
    /// # Panics
    /// On a conflict between the two routers.
    pub fn merge(self, other: Router) -> Self {
        other.routes.into_iter().fold(self, |router, route| {
            router.add_route(route.method, route.path, route.handler)
        })
    }

    fn add_route(mut self, method: MethodOrAny, path: String, handler: Handler) -> Self {
        assert_valid_path(&path);
        let overlaps = |r: &Route| {
            r.path == path
                && (matches!(r.method, MethodOrAny::Any) || matches!(method, MethodOrAny::Any) || r.method == method)
        };
        if self.routes.iter().any(overlaps) {
            panic!("route conflict for `{path}`: a handler is already bound to this method and path");
        }
        self.routes.push(Route { method, path, handler });
        self
    }
}

fn join_paths(prefix: &str, suffix: &str) -> String {
    if prefix == "/" {
        return suffix.to_owned();
    }
    if suffix == "/" {
        return prefix.to_owned();
    }
    format!("{}/{}", prefix.trim_end_matches('/'), suffix.trim_start_matches('/'))
}

fn assert_valid_path(path: &str) {
    if let Some(problem) = spacetime_sats::def::validate::route_path_problem(path) {
        panic!("invalid route path `{path}`: {problem}");
    }
}

/// The dispatch entry of a handler.
pub type HttpHandlerFn = fn(&mut HandlerContext, Request) -> Response;

static HANDLERS: Mutex<Vec<(&'static str, HttpHandlerFn)>> = Mutex::new(Vec::new());
static ROUTER: Mutex<Option<fn() -> Router>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Registers handler `name` (emitted by `#[handler]`). The first registration adds the
/// describer of every handler, which runs after all of them registered.
#[doc(hidden)]
pub fn register_http_handler(name: &'static str, handler: HttpHandlerFn) {
    let mut handlers = lock(&HANDLERS);
    if handlers.is_empty() {
        register_describer(describe_handlers);
    }
    handlers.push((name, handler));
}

fn describe_handlers(module: &mut ModuleBuilder) {
    for (name, _) in lock(&HANDLERS).iter() {
        module.add_http_handler(name);
    }
}

/// Registers the router (emitted by `#[router]`).
#[doc(hidden)]
pub fn register_http_router(build: fn() -> Router) {
    *lock(&ROUTER) = Some(build);
    register_describer(describe_router);
}

fn describe_router(module: &mut ModuleBuilder) {
    let Some(build) = *lock(&ROUTER) else { return };
    for route in build().routes {
        module.add_http_route(route.handler.name, route.method, route.path);
    }
}

/// Checks that a handler's first parameter is `&mut HandlerContext`.
#[diagnostic::on_unimplemented(
    message = "the first argument of an HTTP handler must be `&mut HandlerContext`",
    label = "first argument must be `&mut HandlerContext`"
)]
#[doc(hidden)]
pub trait HttpHandlerContextArg {}
impl HttpHandlerContextArg for &mut HandlerContext {}

/// Checks that a handler's second parameter is `spacetimedb::http::Request`.
#[diagnostic::on_unimplemented(message = "the second argument of an HTTP handler must be `spacetimedb::http::Request`")]
#[doc(hidden)]
pub trait HttpHandlerRequestArg {}
impl HttpHandlerRequestArg for Request {}

/// Checks that a handler returns `spacetimedb::http::Response`.
#[diagnostic::on_unimplemented(message = "HTTP handlers must return `spacetimedb::http::Response`")]
#[doc(hidden)]
pub trait HttpHandlerReturn {}
impl HttpHandlerReturn for Response {}

/// Asserts at compile time that `T` is `&mut HandlerContext`.
#[doc(hidden)]
pub const fn assert_http_handler_context_arg<T: HttpHandlerContextArg>() {}
/// Asserts at compile time that `T` is `spacetimedb::http::Request`.
#[doc(hidden)]
pub const fn assert_http_handler_request_arg<T: HttpHandlerRequestArg>() {}
/// Asserts at compile time that `T` is `spacetimedb::http::Response`.
#[doc(hidden)]
pub const fn assert_http_handler_return<T: HttpHandlerReturn>() {}

fn read_source(source: sys::raw::BytesSource) -> Vec<u8> {
    let mut buf = Vec::new();
    if source != sys::raw::BytesSource::INVALID {
        sys::read_bytes_source(source, &mut buf)
            .unwrap_or_else(|e| panic!("reading the HTTP request from the host failed: {e}"));
    }
    buf
}

/// Runs HTTP handler `id` (its position in the `HttpHandlers` section) for the request
/// `request` (BSATN `HttpRequest`) with body `request_body` (no source when empty), and
/// writes the response head (BSATN `HttpResponse`) and body to the sinks. Returns 0; a
/// failure traps.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub extern "C" fn __call_http_handler__(
    id: usize,
    sender_0: u64,
    sender_1: u64,
    sender_2: u64,
    sender_3: u64,
    _sender_jwt: sys::raw::BytesSource,
    timestamp: u64,
    request: sys::raw::BytesSource,
    request_body: sys::raw::BytesSource,
    response_sink: sys::raw::BytesSink,
    response_body_sink: sys::raw::BytesSink,
) -> i16 {
    let limbs = [sender_0, sender_1, sender_2, sender_3];
    let mut sender = [0u8; 32];
    for (chunk, limb) in sender.chunks_exact_mut(8).zip(limbs) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    let timestamp = Timestamp::from_micros_since_unix_epoch(timestamp as i64);
    let mut ctx = HandlerContext::new(Identity::from_byte_array(sender), timestamp);
    let handler = match lock(&HANDLERS).get(id) {
        Some((_, f)) => *f,
        None => panic!("no HTTP handler with id {id} (was __describe_module__ called?)"),
    };
    let head = bsatn::from_slice::<HttpRequest>(&read_source(request))
        .unwrap_or_else(|e| panic!("the host sent a malformed HTTP request: {e}"));
    let request = request_from_wire(head, read_source(request_body));
    let response = handler(&mut ctx, request);
    let (head, body) = response_into_wire(response);
    sys::write_bytes_sink(response_sink, &bsatn::to_vec(&head))
        .unwrap_or_else(|e| panic!("writing the HTTP response failed: {e}"));
    sys::write_bytes_sink(response_body_sink, &body)
        .unwrap_or_else(|e| panic!("writing the HTTP response body failed: {e}"));
    0
}

fn request_from_wire(head: HttpRequest, body: Vec<u8>) -> Request {
    let method = match head.method {
        HttpMethod::Get => http::Method::GET,
        HttpMethod::Head => http::Method::HEAD,
        HttpMethod::Post => http::Method::POST,
        HttpMethod::Put => http::Method::PUT,
        HttpMethod::Delete => http::Method::DELETE,
        HttpMethod::Connect => http::Method::CONNECT,
        HttpMethod::Options => http::Method::OPTIONS,
        HttpMethod::Trace => http::Method::TRACE,
        HttpMethod::Patch => http::Method::PATCH,
        HttpMethod::Extension(name) => http::Method::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("the host sent an invalid HTTP method {name:?}: {e}")),
    };
    let mut request = http::Request::new(Body::from(body));
    *request.method_mut() = method;
    *request.uri_mut() = head
        .uri
        .parse()
        .unwrap_or_else(|e| panic!("the host sent an invalid URI {:?}: {e}", head.uri));
    *request.version_mut() = version_from_wire(head.version);
    for HttpHeaderPair { name, value } in head.headers.entries {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("the host sent an invalid header name {name:?}: {e}"));
        let value = http::HeaderValue::from_bytes(&value)
            .unwrap_or_else(|e| panic!("the host sent an invalid value for header {name}: {e}"));
        request.headers_mut().append(name, value);
    }
    request
}

fn response_into_wire(response: Response) -> (HttpResponse, Vec<u8>) {
    let (parts, body) = response.into_parts();
    let head = HttpResponse {
        headers: HttpHeaders {
            entries: parts
                .headers
                .iter()
                .map(|(name, value)| HttpHeaderPair {
                    name: name.as_str().to_owned(),
                    value: value.as_bytes().to_vec(),
                })
                .collect(),
        },
        version: version_to_wire(parts.version),
        code: parts.status.as_u16(),
    };
    (head, body.into_bytes().to_vec())
}

/// Queues a call of reducer `R` with the arguments `args` (BSATN) to run right after the
/// current call, outside its transaction; `volatile_nonatomic_schedule_immediate!` calls it.
#[doc(hidden)]
pub fn schedule_immediate(reducer: &str, args: &[u8]) {
    sys::volatile_nonatomic_schedule_immediate(reducer, args);
}

/// Queues a reducer call to run right after the current call, outside its transaction:
/// `volatile_nonatomic_schedule_immediate!(my_reducer(arg1, arg2))`. It is not atomic with
/// the caller (it runs even if the caller fails) and not durable (a crash can lose it).
#[macro_export]
macro_rules! volatile_nonatomic_schedule_immediate {
    ($($tokens:tt)*) => {
        $crate::__volatile_nonatomic_schedule_immediate_impl!([] [$($tokens)*])
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __volatile_nonatomic_schedule_immediate_impl {
    ([$($reducer:tt)+] [($($arg:expr),* $(,)?)]) => {{
        if false {
            // Type-checks the call against the reducer's signature; never runs.
            #[allow(unreachable_code)]
            {
                let _ = $($reducer)+(::core::unreachable!(), $($arg),*);
            }
        } else {
            let mut __args = ::std::vec::Vec::<u8>::new();
            $(__args.extend($crate::__private::to_vec(&$arg));)*
            $crate::__private::schedule_immediate(
                <$($reducer)+ as $crate::__private::FunctionName>::NAME,
                &__args,
            );
        }
    }};
    ([$($reducer:tt)*] [$next:tt $($rest:tt)*]) => {
        $crate::__volatile_nonatomic_schedule_immediate_impl!([$($reducer)* $next] [$($rest)*])
    };
}
