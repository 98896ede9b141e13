//! `spacetime cluster ...`: operating a database in a cluster (servers started with
//! `spacetime start --cluster`).
//!
//! - `cluster handover [db] [--to NODE]`: a planned handover of the database from the
//!   node that leads it to one of its standbys (the most caught-up live one unless
//!   `--to` names it), e.g. before taking the leader's machine down. The leader stops
//!   taking requests, drains its log to etcd and resigns; the target campaigns at once.
//!   Sent to any node: the CLI reads the leader's address from it and asks the leader.
//! - `cluster status [db] [--json]`: where the database lives: each node with its role
//!   (leader, standby, reader), address, whether it is live and how far it persisted
//!   the log, the placement controller and whether the database is under-replicated.
//!   `spacetime describe [db] --cluster` prints the same.
//! - `cluster resync [db] --node NODE [--force]`: rebuilds one node's replica from a
//!   healthy peer, typically one parked because its copy diverged: the node moves its
//!   copy aside (kept for forensics) and bootstraps again. Sent to that node (its
//!   address read from any node's status); refused on the leader, and on a replica
//!   that is not parked unless `--force`.

use crate::api::{status_error, Api, JsonBody};
use crate::{Auth, Ctx};
use anyhow::{bail, Context, Result};
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long the handover request may take: the server answers once the target is
/// elected, or after its own deadlines (10 s to drain, 10 s to elect) with an error.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(60);

/// Redirects followed (a standby's 307 to the leader; one more if the leader moved
/// meanwhile).
const MAX_REDIRECTS: usize = 3;

/// `spacetime cluster`'s verbs.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Hand a database over from its leader to a standby (owner only).
    Handover(HandoverArgs),
    /// Show which nodes hold a database, and their roles.
    Status(StatusArgs),
    /// Rebuild one node's (diverged) replica of a database from a peer (owner only).
    Resync(ResyncArgs),
}

/// Arguments of `cluster resync`.
#[derive(Debug, clap::Args)]
pub struct ResyncArgs {
    /// The name or identity of the database (default: `database` in spacetime.json).
    pub database: Option<String>,
    /// The node id whose replica is rebuilt.
    #[arg(long, value_name = "NODE_ID")]
    pub node: String,
    /// Rebuild it even if it is not parked (its copy has not diverged).
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `cluster handover`.
#[derive(Debug, clap::Args)]
pub struct HandoverArgs {
    /// The name or identity of the database (default: `database` in spacetime.json).
    pub database: Option<String>,
    /// The node id of the standby to hand over to (default: the most caught-up live
    /// standby).
    #[arg(long, value_name = "NODE_ID")]
    pub to: Option<String>,
}

/// Arguments of `cluster status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The name or identity of the database (default: `database` in spacetime.json).
    pub database: Option<String>,
    /// Print the server's JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs a `cluster` verb.
///
/// # Errors
/// When the database is unknown, the server is not in cluster mode, the user is not
/// the owner (handover), or the handover fails (the message says why).
pub fn exec(ctx: &mut Ctx, command: ClusterCommand) -> Result<()> {
    match command {
        ClusterCommand::Handover(args) => handover(ctx, args),
        ClusterCommand::Status(args) => {
            let database = ctx.database(args.database)?;
            print_status(ctx, &database, args.json)
        }
        ClusterCommand::Resync(args) => resync(ctx, args),
    }
}

fn resync(ctx: &mut Ctx, args: ResyncArgs) -> Result<()> {
    let database = ctx.database(args.database)?;
    let api = ctx.api(Auth::Required)?;
    let info = api
        .send_ok(
            api.request(Method::GET, &format!("/database/{database}")),
            &format!("finding node {} of database `{database}`", args.node),
        )?
        .json_body("the database's description")?;
    let nodes = info
        .get("cluster")
        .and_then(|c| c.get("nodes"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let addr =
        node_addr(&nodes, &args.node).map_err(|why| anyhow::anyhow!("cannot resync database `{database}`: {why}"))?;
    // Straight to that node: the route rebuilds the copy of the node it reaches.
    let node = Api::new(&format!("http://{addr}"), api.token().map(str::to_owned))?;
    let mut request = node.request(Method::POST, &format!("/cluster/database/{database}/resync"));
    if args.force {
        request = request.query(&[("force", "true")]);
    }
    let report = node
        .send_ok(
            request,
            &format!("resyncing node {}'s replica of database `{database}`", args.node),
        )?
        .json_body("the resync's answer")?;
    let moved = match report.get("moved_to").and_then(Value::as_str) {
        Some(path) => format!("its old copy was moved to {path} (on that node)"),
        None => "it had no local copy".to_owned(),
    };
    println!(
        "Node {} copied database `{database}` from a peer in {} ms and follows the cluster again; {moved}.",
        args.node,
        report.get("copied_ms").map(render).unwrap_or_default(),
    );
    Ok(())
}

/// The address of node `id` among a database's `nodes` (`GET /v1/database/:db`'s
/// `cluster.nodes`), if it is live.
fn node_addr<'a>(nodes: &'a [Value], id: &str) -> std::result::Result<&'a str, String> {
    let known: Vec<&str> = nodes
        .iter()
        .filter_map(|n| n.get("node").and_then(Value::as_str))
        .collect();
    let Some(node) = nodes.iter().find(|n| n.get("node").and_then(Value::as_str) == Some(id)) else {
        return Err(format!(
            "node {id} holds no copy of it (its nodes: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ));
    };
    match node.get("addr").and_then(Value::as_str) {
        Some(addr) if node.get("live").and_then(Value::as_bool) != Some(false) => Ok(addr),
        _ => Err(format!(
            "node {id} is not live (not registered in the cluster): start it first"
        )),
    }
}

fn handover(ctx: &mut Ctx, args: HandoverArgs) -> Result<()> {
    let database = ctx.database(args.database)?;
    let api = ctx.api(Auth::Required)?;
    let started = Instant::now();
    let what = format!("handing database `{database}` over");
    let mut url = format!("{}/v1/database/{database}/handover", api.base());
    // On the first request only: a redirect's location carries it on.
    let mut to = args.to.as_deref();
    // One request, sent to whichever node was given (the server resolves the name): a
    // standby answers with a redirect to the leader, followed here by hand because an
    // HTTP client drops the token when a redirect changes host, and only the owner
    // may hand over. No lookups first: the command's time is the handover's.
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(HANDOVER_TIMEOUT)
        .build()
        .context("cannot create an HTTP client")?;
    let mut hops = 0;
    let response = loop {
        let mut request = http.post(&url);
        if let Some(to) = to.take() {
            request = request.query(&[("to", to)]);
        }
        if let Some(token) = api.token() {
            request = request.bearer_auth(token);
        }
        let response = api.send(request)?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(next) if response.status().is_redirection() && hops < MAX_REDIRECTS => {
                hops += 1;
                url = next;
            }
            _ => break response,
        }
    };
    if !response.status().is_success() {
        return Err(status_error(response, &what));
    }
    let report = response.json_body("the handover's answer")?;
    let field = |name: &str| report.get(name).map(render).unwrap_or_default();
    println!(
        "Database `{database}` handed over from node {} to node {} at {} (epoch {}): the leader drained in {} ms, \
         the new leader was elected after {} ms ({} ms in all).",
        field("from"),
        field("to"),
        field("addr"),
        field("epoch"),
        field("drained_ms"),
        field("elected_ms"),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Prints where `database` lives in the cluster: a table, or the JSON with `json`.
///
/// # Errors
/// When the database is unknown or the server is not in cluster mode.
pub fn print_status(ctx: &mut Ctx, database: &str, json: bool) -> Result<()> {
    let api = ctx.api(Auth::IfAvailable)?;
    let db = api.resolve_database(database)?;
    let info = api
        .send_ok(
            api.request(Method::GET, &format!("/database/{}", db.identity)),
            &format!("reading where database `{database}` lives"),
        )?
        .json_body("the database's description")?;
    let Some(cluster) = info.get("cluster") else {
        bail!(
            "the server at {} is not part of a cluster (it was started without --cluster): database `{database}` \
             lives on that one server",
            api.base()
        );
    };
    if json {
        println!("{}", serde_json::to_string_pretty(cluster)?);
        return Ok(());
    }
    if let Some(error) = cluster.get("error") {
        bail!("the server cannot read the cluster's state: {}", render(error));
    }
    print!("{}", status_table(database, cluster));
    Ok(())
}

/// The table `cluster status` prints.
fn status_table(database: &str, cluster: &Value) -> String {
    let get = |v: &Value, k: &str| v.get(k).map(render).unwrap_or_default();
    let mut out = format!(
        "Database `{database}`: epoch {}, head {}",
        get(cluster, "epoch"),
        get(cluster, "head")
    );
    if let Some(replicas) = cluster.get("placement").and_then(|p| p.get("replicas")) {
        out.push_str(&format!(", {} replica(s) asked for", render(replicas)));
    }
    out.push('\n');
    if let Some(controller) = cluster.get("controller").filter(|c| !c.is_null()) {
        out.push_str(&format!("Placement controller: node {}\n", render(controller)));
    }
    if let Some(missing) = cluster.get("under_replicated").and_then(|u| u.get("missing")) {
        out.push_str(&format!(
            "UNDER-REPLICATED: {} replica(s) have no live node, and no other live node can take a copy\n",
            render(missing)
        ));
    }
    let rows: Vec<[String; 5]> = cluster
        .get("nodes")
        .and_then(Value::as_array)
        .map(|nodes| {
            nodes
                .iter()
                .map(|n| {
                    let live = match n.get("live").and_then(Value::as_bool) {
                        Some(true) => "yes".to_owned(),
                        Some(false) => "no".to_owned(),
                        None => String::new(),
                    };
                    [
                        get(n, "node"),
                        get(n, "role"),
                        get(n, "addr"),
                        live,
                        get(n, "persisted"),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let header = ["NODE", "ROLE", "ADDRESS", "LIVE", "PERSISTED"].map(str::to_owned);
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A JSON value as plain text (strings without quotes, null as `-`).
fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_lists_each_node_with_its_role() {
        let cluster = serde_json::json!({
            "epoch": 3, "head": 41,
            "placement": {"replicas": 2, "nodes": ["n1", "n2"]},
            "nodes": [
                {"node": "n1", "addr": "127.0.0.1:3000", "role": "leader", "live": true, "persisted": 41},
                {"node": "n2", "addr": null, "role": "standby", "live": false, "persisted": null},
            ],
        });
        let table = status_table("bank", &cluster);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "Database `bank`: epoch 3, head 41, 2 replica(s) asked for");
        assert_eq!(lines[1], "NODE  ROLE     ADDRESS         LIVE  PERSISTED");
        assert_eq!(lines[2], "n1    leader   127.0.0.1:3000  yes   41");
        assert_eq!(lines[3], "n2    standby  -               no    -");
    }

    #[test]
    fn status_table_names_the_controller_and_an_under_replicated_database() {
        let cluster = serde_json::json!({
            "epoch": 3, "head": 41,
            "placement": {"replicas": 2, "nodes": ["n1", "n2"]},
            "controller": "n1",
            "under_replicated": {"missing": 1},
            "nodes": [],
        });
        let table = status_table("bank", &cluster);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[1], "Placement controller: node n1");
        assert!(
            lines[2].starts_with("UNDER-REPLICATED: 1 replica(s) have no live node"),
            "{table}"
        );
        let healthy = serde_json::json!({"epoch": 3, "controller": "n2", "under_replicated": null, "nodes": []});
        assert!(!status_table("bank", &healthy).contains("UNDER-REPLICATED"));
    }

    #[test]
    fn resync_goes_to_a_live_node_of_the_database() {
        let nodes = [
            serde_json::json!({"node": "n1", "addr": "127.0.0.1:3000", "live": true}),
            serde_json::json!({"node": "n2", "addr": null, "live": false}),
        ];
        assert_eq!(node_addr(&nodes, "n1"), Ok("127.0.0.1:3000"));
        let gone = node_addr(&nodes, "n2").expect_err("not live");
        assert!(gone.contains("not live"), "{gone}");
        let unknown = node_addr(&nodes, "n9").expect_err("unknown");
        assert!(unknown.contains("its nodes: n1, n2"), "{unknown}");
    }
}
