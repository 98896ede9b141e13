//! End-to-end tests: real `spacetime start` servers, the real CLI, real modules. One
//! module per concern; a test that publishes a test module runs twice (`…::ours` and
//! `…::upstream`), with the module built against our bindings and against the crates.io
//! `spacetimedb` 2.10.1 crate.
//!
//! Needs the `spacetime` binary: `cargo build -p spacetime-cli` first.

mod common;

mod backup;
mod bad_modules;
mod bank;
mod browser_chat;
mod chat_csharp;
mod chat_python;
mod chat_rust;
mod chat_typescript;
mod cli_basics;
mod cli_parity;
mod client_connection_errors;
mod client_limits;
mod constraints;
mod csharp_every_type;
mod csharp_reconnect;
mod delete_database;
mod durability;
mod environment;
mod generate;
mod getting_started;
mod graceful_shutdown;
mod http_limits;
mod http_routes;
mod lifecycle;
mod logs;
mod lost_data;
mod metrics;
mod migrations;
mod npm_compat;
mod packaging;
mod permissions;
mod pg_wire;
mod procedure_clients;
mod procedures;
mod publish_call;
mod publish_limits;
mod python_every_type;
mod python_reconnect;
mod quickstart;
mod realtime;
mod realtime_restart;
mod replication;
mod replication_bootstrap;
mod replication_ops;
mod replication_partition;
mod replication_placement;
mod replication_power;
mod replication_readers;
mod replication_workload;
mod retention;
mod rls;
mod rollback;
mod runaway;
mod schedule;
mod sdk_clients;
mod sql;
mod sql_limits;
mod start_config;
mod start_restart;
mod subscribe;
mod toolchains;
mod typescript_every_type;
mod typescript_reconnect;
mod view_clients;
mod views;
