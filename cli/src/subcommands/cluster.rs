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
//!   the log. `spacetime describe [db] --cluster` prints the same.

use crate::api::{Api, JsonBody};
use crate::{Auth, Ctx};
use anyhow::{bail, Result};
use reqwest::Method;
use serde_json::Value;
use std::time::Instant;

/// `spacetime cluster`'s verbs.
#[derive(Debug, clap::Subcommand)]
pub enum ClusterCommand {
    /// Hand a database over from its leader to a standby (owner only).
    Handover(HandoverArgs),
    /// Show which nodes hold a database, and their roles.
    Status(StatusArgs),
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
    }
}

fn handover(ctx: &mut Ctx, args: HandoverArgs) -> Result<()> {
    let database = ctx.database(args.database)?;
    let api = ctx.api(Auth::Required)?;
    let db = api.resolve_database(&database)?;
    // Straight to the leader: a standby's redirect would do, but an HTTP client drops
    // the token when a redirect changes host, and only the owner may hand over.
    let info = api
        .send_ok(
            api.request(Method::GET, &format!("/database/{}", db.identity)),
            &format!("finding the leader of database `{database}`"),
        )?
        .json_body("the database's description")?;
    let leader = info
        .get("cluster")
        .and_then(|c| c.get("leader"))
        .and_then(|l| l.get("addr"))
        .and_then(Value::as_str);
    let api = match leader {
        Some(addr) => Api::new(&format!("http://{addr}"), api.token().map(str::to_owned))?,
        None => api,
    };
    let mut request = api.request(Method::POST, &format!("/database/{}/handover", db.identity));
    if let Some(to) = &args.to {
        request = request.query(&[("to", to)]);
    }
    let started = Instant::now();
    let report = api
        .send_ok(request, &format!("handing database `{database}` over"))?
        .json_body("the handover's answer")?;
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
}
