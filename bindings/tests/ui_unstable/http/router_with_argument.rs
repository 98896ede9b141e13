use spacetimedb::http::{router, Router};

#[router]
fn routes(prefix: String) -> Router {
    let _ = prefix;
    Router::new()
}

fn main() {}
