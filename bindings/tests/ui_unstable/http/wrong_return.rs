use spacetimedb::http::{handler, HandlerContext, Request};

#[handler]
fn hello(_ctx: &mut HandlerContext, _req: Request) -> String {
    "hi".to_owned()
}

fn main() {}
