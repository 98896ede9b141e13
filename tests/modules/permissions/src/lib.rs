//! The smoketests' "permissions-private": `init` fills a private table, which only the
//! owner may read, and a public one, which anyone may.

use spacetimedb::{reducer, table, ReducerContext, Table};

#[table(accessor = secret)]
pub struct Secret {
    answer: u8,
}

#[table(accessor = common_knowledge, public)]
pub struct CommonKnowledge {
    thing: String,
}

#[reducer(init)]
pub fn init(ctx: &ReducerContext) {
    ctx.db.secret().insert(Secret { answer: 42 });
    ctx.db.common_knowledge().insert(CommonKnowledge {
        thing: "The sky is blue".to_string(),
    });
}

/// Anyone may call this.
#[reducer]
pub fn learn(ctx: &ReducerContext, thing: String) {
    ctx.db.common_knowledge().insert(CommonKnowledge { thing });
}
