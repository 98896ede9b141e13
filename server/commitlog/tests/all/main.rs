//! Integration tests of `spacetime-commitlog`, one module per concept: appending and
//! replaying, recovery from damage, the group-commit writer, snapshots and restore,
//! and a crash test with a real child process killed at random moments.

mod append_replay;
mod corruption;
mod crash;
mod durability;
mod power_loss;
mod rejoin;
mod replicated;
mod snapshot;
mod support;
