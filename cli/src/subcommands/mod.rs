//! One module per verb. Each holds the verb's clap arguments and its `exec` function.

pub mod backup;
pub mod build;
pub mod call;
pub mod cluster;
pub mod delete;
pub mod describe;
pub mod dev;
pub mod env;
pub mod generate;
pub mod init;
pub mod list;
pub mod lock;
pub mod login;
pub mod logout;
pub mod logs;
pub mod publish;
pub mod rename;
pub mod restore;
pub mod server;
pub mod sql;
pub mod start;
pub mod subscribe;
pub mod version;
pub mod versions;
