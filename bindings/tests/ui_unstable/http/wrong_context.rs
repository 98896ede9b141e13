use spacetimedb::http::{handler, Body, HandlerContext, Request, Response};

#[handler]
fn hello(_ctx: &HandlerContext, _req: Request) -> Response {
    Response::new(Body::from_bytes("hi"))
}

fn main() {}
