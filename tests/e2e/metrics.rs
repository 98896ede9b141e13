//! `GET /metrics` and `GET /v1/health` of a real server (issue 16): the text parses as
//! Prometheus exposition format (checked line by line here, with the histogram rules),
//! and after known reducer calls, a subscription and a snapshot the per-database series
//! moved by exactly the right amounts; `/v1/health` is ready only while every database
//! runs; `metrics = off` turns the endpoint off.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use spacetime_protocol::v2::{self, ClientMessage, Subscribe};
use spacetime_protocol::QuerySetId;
use spacetime_testing::cli::Cli;
use spacetime_testing::modules::{build_module, Bindings};
use spacetime_testing::server::TestServer;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// One sample: metric name and sorted labels.
type Key = (String, BTreeMap<String, String>);

/// Parses the Prometheus text exposition format (0.0.4) strictly: every sample's
/// family has a `# TYPE` line before it, names and labels are well formed, values are
/// floats, a histogram's buckets never decrease and end with `+Inf`, which equals its
/// `_count`. Panics with the offending line otherwise.
fn parse_exposition(text: &str) -> BTreeMap<Key, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.chars()
                .enumerate()
                .all(|(i, c)| c == '_' || c == ':' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
    };
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("HELP"), Some(name), _) => assert!(valid_name(name), "bad HELP line: {line}"),
                (Some("TYPE"), Some(name), Some(kind)) => {
                    assert!(valid_name(name), "bad TYPE line: {line}");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                        "unknown type: {line}"
                    );
                    assert!(
                        types.insert(name.to_owned(), kind.to_owned()).is_none(),
                        "TYPE twice: {line}"
                    );
                }
                _ => panic!("a comment that is neither HELP nor TYPE: {line}"),
            }
            continue;
        }
        let (name, labels, value) = match line.split_once('{') {
            Some((name, rest)) => {
                let (labels, value) = rest
                    .rsplit_once("} ")
                    .unwrap_or_else(|| panic!("unclosed labels: {line}"));
                (name, parse_labels(labels, line), value)
            }
            None => {
                let (name, value) = line.split_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
                (name, BTreeMap::new(), value)
            }
        };
        assert!(valid_name(name), "bad metric name: {line}");
        let family = ["_bucket", "_sum", "_count", "_total"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|base| types.contains_key(*base)))
            .unwrap_or(name);
        assert!(
            types.contains_key(family) || types.contains_key(name),
            "sample before its TYPE line: {line}"
        );
        let value = value.split(' ').next().unwrap_or_default();
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        samples.insert((name.to_owned(), labels), value);
    }
    // Histogram rules, per series.
    for (family, _) in types.iter().filter(|(_, kind)| *kind == "histogram") {
        let bucket_name = format!("{family}_bucket");
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for ((name, labels), value) in &samples {
            if *name == bucket_name {
                let mut rest = labels.clone();
                let le = rest.remove("le").expect("a bucket has le");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("le is a float")
                };
                series.entry(rest).or_default().push((le, *value));
            }
        }
        for (labels, mut buckets) in series {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family} {labels:?}: buckets decrease"
            );
            let last = buckets.last().expect("buckets");
            assert!(last.0.is_infinite(), "{family} {labels:?}: no +Inf bucket");
            let count = samples[&(format!("{family}_count"), labels.clone())];
            assert_eq!(last.1, count, "{family} {labels:?}: +Inf bucket != _count");
        }
    }
    samples
}

fn parse_labels(text: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad label: {line}"));
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => panic!("bad escape: {line}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        };
        labels.insert(name.trim_start_matches(',').to_owned(), value);
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    labels
}

fn scrape(server: &TestServer) -> BTreeMap<Key, f64> {
    let response = reqwest::blocking::get(format!("{}/metrics", server.url())).expect("GET /metrics");
    assert!(response.status().is_success(), "{}", response.status());
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    parse_exposition(&response.text().expect("a body"))
}

/// The value of `name` with exactly `labels`, 0 if absent.
fn value(samples: &BTreeMap<Key, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    samples.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
}

#[test]
fn metrics_move_by_the_right_amounts_and_parse_as_prometheus_text() {
    let fx = Fixture::new(CONSTRAINTS, Bindings::Ours, "metrics-db");
    let db = fx.identity.clone();
    let before = scrape(&fx.server);
    for name in ["a", "b", "c", "d", "e"] {
        fx.call("add", &[name]).ok();
    }
    for id in ["900", "901"] {
        fx.call("rename", &[id, "nobody"]).err();
    }
    // A subscriber, then one more call: its update goes to the subscriber.
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut socket = runtime.block_on(async {
        let url = format!(
            "{}/v1/database/{db}/subscribe?compression=None",
            fx.server.url().replace("http://", "ws://")
        );
        let mut request = url.into_client_request().expect("a URL");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", v2::BIN_PROTOCOL.parse().expect("a header"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
        let subscribe = ClientMessage::Subscribe(Subscribe {
            request_id: 1,
            query_set_id: QuerySetId::new(1),
            query_strings: vec!["SELECT * FROM person".into()],
        });
        socket
            .send(Message::Binary(subscribe.to_bytes().into()))
            .await
            .expect("send");
        socket
    });
    fx.call("add", &["f"]).ok();
    // The update reaches the subscriber (its frame counts as sent).
    runtime.block_on(async {
        let mut frames = 0;
        while frames < 2 {
            let frame = tokio::time::timeout(Duration::from_secs(20), socket.next()).await;
            match frame {
                Ok(Some(Ok(Message::Binary(_)))) => frames += 1,
                Ok(Some(Ok(_))) => {}
                other => panic!("no SubscribeApplied and update: {other:?}"),
            }
        }
    });
    let snapshot = reqwest::blocking::Client::new()
        .post(format!("{}/v1/database/{db}/snapshot", fx.server.url()))
        .bearer_auth(fx.owner.token().expect("the owner's token"))
        .send()
        .expect("POST snapshot");
    assert!(snapshot.status().is_success(), "{}", snapshot.status());
    let after = scrape(&fx.server);

    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    let add = [("database", db.as_str()), ("reducer", "add")];
    let rename = [("database", db.as_str()), ("reducer", "rename")];
    let database = [("database", db.as_str())];
    assert_eq!(delta("spacetime_reducer_calls_total", &add), 6.0);
    assert_eq!(delta("spacetime_reducer_errors_total", &add), 0.0);
    assert_eq!(delta("spacetime_reducer_calls_total", &rename), 2.0);
    assert_eq!(delta("spacetime_reducer_errors_total", &rename), 2.0);
    assert_eq!(delta("spacetime_reducer_duration_seconds_count", &add), 6.0);
    assert!(delta("spacetime_reducer_duration_seconds_sum", &add) > 0.0);
    assert_eq!(delta("spacetime_committed_transactions_total", &database), 6.0);
    let rows = value(
        &after,
        "spacetime_table_rows",
        &[("database", db.as_str()), ("table", "person")],
    );
    assert_eq!(rows, 6.0);
    assert_eq!(value(&after, "spacetime_connected_clients", &database), 1.0);
    assert_eq!(value(&after, "spacetime_subscriptions", &database), 1.0);
    assert!(
        delta("spacetime_ws_messages_sent_total", &database) >= 2.0,
        "SubscribeApplied and an update"
    );
    assert!(delta("spacetime_ws_bytes_sent_total", &database) > 0.0);
    assert!(delta("spacetime_commitlog_fsync_duration_seconds_count", &database) >= 1.0);
    assert!(value(&after, "spacetime_commitlog_size_bytes", &database) > 0.0);
    let age = value(&after, "spacetime_snapshot_age_seconds", &database);
    assert!(
        after.contains_key(&("spacetime_snapshot_age_seconds".to_owned(), key_labels(&database))) && age < 60.0,
        "a fresh snapshot's age: {age}"
    );
    assert!(value(&after, "process_resident_memory_bytes", &[]) > 1e6);
    drop(socket);
}

fn key_labels(labels: &[(&str, &str)]) -> BTreeMap<String, String> {
    labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn the_parser_refuses_what_prometheus_would() {
    let good = "# TYPE a counter\na_total 1\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n";
    assert_eq!(parse_exposition(good).len(), 5);
    for bad in [
        "b 1\n",
        "# TYPE a counter\na_total one\n",
        "# TYPE 1a gauge\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
        "# TYPE g gauge\ng{x=\"1} 2\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_exposition(bad)).is_err(),
            "accepted: {bad:?}"
        );
    }
}

#[test]
fn health_is_ready_only_while_every_database_runs_and_metrics_can_be_off() {
    let wasm = build_module(CONSTRAINTS, Bindings::Ours);
    let mut server = TestServer::start_with_args(&["--metrics", "off"]);
    let cli = Cli::new(&server);
    cli.publish(&wasm, Some("healthy"));
    cli.publish(&wasm, Some("doomed"));
    cli.call("doomed", "add", &["x"]).ok();
    let health = |server: &TestServer| {
        let r = reqwest::blocking::get(format!("{}/v1/health", server.url())).expect("GET /v1/health");
        (r.status().as_u16(), r.text().unwrap_or_default())
    };
    let (status, body) = health(&server);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"ready\"") && body.contains("\"databases\":2"), "{body}");
    let off = reqwest::blocking::get(format!("{}/metrics", server.url())).expect("GET /metrics");
    assert_eq!(off.status().as_u16(), 404);
    assert!(off.text().unwrap_or_default().contains("SPACETIME_METRICS"));

    // One database's log is gone: it cannot start, so the server is not ready.
    let doomed = cli.sql("doomed", "SELECT * FROM person").ok();
    drop(doomed);
    server.restart_after(|data| {
        let replicas = data.join("replicas");
        let mut dirs: Vec<_> = std::fs::read_dir(&replicas)
            .expect("replicas")
            .flatten()
            .map(|e| e.path())
            .collect();
        dirs.sort();
        // The second database published has the later replica directory.
        let clog = dirs.last().expect("two replicas").join("clog");
        std::fs::remove_dir_all(&clog).expect("remove the log");
    });
    let (status, body) = health(&server);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not_running") && body.contains("reason"), "{body}");
}
