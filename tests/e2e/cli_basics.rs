//! CLI plumbing that needs no module: ping, login/logout, saved servers.

use spacetime_testing::cli::Cli;
use spacetime_testing::server::TestServer;

#[test]
fn server_ping() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let out = cli.run(&["server", "ping", &server.url()]).ok();
    assert!(out.stdout.contains("Server is online"), "{}", out.stdout);
    assert!(out.stderr.contains("WARNING: This command is UNSTABLE"), "{}", out.stderr);
}
