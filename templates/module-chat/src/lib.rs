//! A chat: every client that connects is a user; users set a name and send messages.
//! Clients subscribe to `user` and `message` and see every change as it commits.

use spacetimedb::{reducer, table, Identity, ReducerContext, Table, Timestamp};

/// A client that connected at least once.
#[table(accessor = user, public)]
pub struct User {
    #[primary_key]
    identity: Identity,
    name: Option<String>,
    online: bool,
}

/// A chat message.
#[table(accessor = message, public)]
pub struct Message {
    sender: Identity,
    sent: Timestamp,
    text: String,
}

/// Sets the caller's name; it must not be empty.
#[reducer]
pub fn set_name(ctx: &ReducerContext, name: String) -> Result<(), String> {
    if name.is_empty() {
        return Err("Names must not be empty".into());
    }
    let user = ctx
        .db
        .user()
        .identity()
        .find(ctx.sender())
        .ok_or("Cannot set the name of an unknown user")?;
    ctx.db.user().identity().update(User {
        name: Some(name),
        ..user
    });
    Ok(())
}

/// Posts a message from the caller; it must not be empty.
#[reducer]
pub fn send_message(ctx: &ReducerContext, text: String) -> Result<(), String> {
    if text.is_empty() {
        return Err("Messages must not be empty".into());
    }
    log::info!("{text}");
    ctx.db.message().insert(Message {
        sender: ctx.sender(),
        sent: ctx.timestamp,
        text,
    });
    Ok(())
}

/// Marks the caller online, creating its user on first connect.
#[reducer(client_connected)]
pub fn client_connected(ctx: &ReducerContext) {
    match ctx.db.user().identity().find(ctx.sender()) {
        Some(user) => {
            ctx.db.user().identity().update(User { online: true, ..user });
        }
        None => {
            ctx.db.user().insert(User {
                identity: ctx.sender(),
                name: None,
                online: true,
            });
        }
    }
}

/// Marks the caller offline.
#[reducer(client_disconnected)]
pub fn client_disconnected(ctx: &ReducerContext) {
    if let Some(user) = ctx.db.user().identity().find(ctx.sender()) {
        ctx.db.user().identity().update(User { online: false, ..user });
    }
}
