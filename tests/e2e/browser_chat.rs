//! `examples/quickstart-chat/client-web` in a real browser against a real server: the page
//! is built with Vite, served from a small static file server on loopback, and driven by
//! `client-web/tests/browser-chat.mjs` (playwright-core in Debian's `/usr/bin/chromium`):
//! two pages, each with its own identity, rename, send a message each and see the other's,
//! and a screenshot is saved in the test's temp dir (kept, and its path printed, when
//! `SPACETIME_KEEP_SCREENSHOT` is set).

use crate::common::{ClientProcess, CHAT_DB};
use crate::toolchains::{build_typescript_sdk, npm_tool};
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, repo_root, Bindings, QUICKSTART_CHAT};
use spacetime_testing::server::TestServer;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Serves the files under `root` over HTTP on a loopback port, on a background thread that
/// lives as long as the test process; returns the base URL.
pub(crate) fn serve_static(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("local address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let root = root.clone();
            std::thread::spawn(move || {
                // A browser that goes away mid-request is not the test's concern.
                let _ = answer(&root, stream);
            });
        }
    });
    url
}

/// Answers one GET with the file it names (`/` is `index.html`), or 404.
fn answer(root: &Path, mut stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read (and ignore) the headers.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let relative = Path::new(path.trim_start_matches('/'));
    let safe = relative.components().all(|c| matches!(c, Component::Normal(_)));
    let file = if path == "/" {
        root.join("index.html")
    } else {
        root.join(relative)
    };
    let body = if safe { std::fs::read(&file).ok() } else { None };
    match body {
        Some(body) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                Some("svg") => "image/svg+xml",
                _ => "application/octet-stream",
            };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)
        }
        None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    }
}

#[test]
fn two_browser_pages_chat() {
    let web = repo_root().join("examples/quickstart-chat/client-web");
    build_typescript_sdk();
    npm_tool("vite", &["build", "--logLevel", "warn"], &web);
    let site = serve_static(web.join("dist"));

    let server = TestServer::start();
    let cli = Cli::new(&server);
    cli.publish(&build_module(QUICKSTART_CHAT, Bindings::Ours), Some(CHAT_DB));

    let out = tempfile::tempdir().unwrap();
    let page_url = format!("{site}/?host={}&db={CHAT_DB}", server.url());
    let mut driver = Command::new("node");
    driver
        .arg(web.join("tests/browser-chat.mjs"))
        .arg(&page_url)
        .arg(out.path())
        .current_dir(&web);
    // A browser starts and renders slowly on a loaded machine: one deadline for the whole run.
    let mut driver = ClientProcess::start(driver).with_deadline(Duration::from_secs(180));
    driver.finish();
    for step in [
        "bob sees \"alice: hello from alice\"",
        "alice sees \"bob: hi alice, bob here\"",
        "an empty name is refused",
        "browser chat: ok",
    ] {
        driver.assert_printed(step);
    }

    let shot = out.path().join("chat.png");
    let png = std::fs::read(&shot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "chat.png is a PNG");
    assert!(png.len() > 10_000, "chat.png has content ({} bytes)", png.len());
    if std::env::var_os("SPACETIME_KEEP_SCREENSHOT").is_some() {
        let kept = out.keep();
        eprintln!("screenshot kept at {}", kept.join("chat.png").display());
    }
}
