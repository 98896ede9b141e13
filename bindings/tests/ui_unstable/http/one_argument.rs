use spacetimedb::http::{handler, Body, HandlerContext, Response};

#[handler]
fn hello(_ctx: &mut HandlerContext) -> Response {
    Response::new(Body::from_bytes("hi"))
}

fn main() {}
