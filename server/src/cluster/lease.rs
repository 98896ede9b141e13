//! Lease reads (design §5): which requests to a database this node may answer, and
//! whether an answer, once produced, may still be given.
//!
//! A node that is not a reader answers a database's requests only as its leader,
//! under a lease it holds and that is certainly valid by its own clock. A database
//! with no lease entry here is a standby's copy, or one between leaders (stepped down,
//! or elected and still catching up): it answers nothing, whatever the edge's redirect
//! decided a moment earlier (the two are not atomic: a request the middleware let
//! through while nothing ran may reach the hot standby registered since).
//!
//! Admission is not enough: a request admitted while the lease was valid may run its
//! query hundreds of milliseconds later on a busy machine. So the lease taken at
//! admission ([`Admission`]) is asked again once the answer exists: valid then, it
//! was valid when the query ran (no other node can have been elected before the lease
//! lapses), so the answer is the leader's. It turns invalid for good the moment the
//! leadership ends (`Leadership::resign` or drop), so an admission taken under an
//! older leadership never vouches for a later answer.

use super::ClusterNode;
use spacetime_replication::LeaseCheck;
use spacetime_sats::Identity;

/// The response header naming the node and the role an answer was served as:
/// `<node> leader epoch=<e>` or `<node> reader`.
pub const SERVED_BY_HEADER: &str = "spacetime-served-by";

/// How this node was let to answer a request for a database.
#[derive(Debug, Clone)]
pub struct Admission {
    node: String,
    role: Role,
}

/// The role an [`Admission`] serves as.
#[derive(Debug, Clone)]
enum Role {
    /// The database's leader, under this lease.
    Leader(LeaseCheck),
    /// A reader's copy: how fresh it must be is `reads.rs`'s decision.
    Reader,
}

impl Admission {
    /// Whether an answer produced now may still be given: a leader's lease must still
    /// be valid (a reader's answers are bounded by `reads.rs` instead).
    ///
    /// # Errors
    /// Why not, for the 503.
    pub fn still_valid(&self, identity: Identity) -> Result<(), String> {
        match &self.role {
            Role::Leader(lease) if !lease.valid() => Err(format!(
                "this node ({}) lost its lease on database {identity} (leader of epoch {}) while answering, so \
                 another node may lead it now; retry",
                self.node,
                lease.epoch()
            )),
            _ => Ok(()),
        }
    }

    /// The value of [`SERVED_BY_HEADER`] for an answer given under this admission.
    pub fn served_by(&self) -> String {
        match &self.role {
            Role::Leader(lease) => format!("{} leader epoch={}", self.node, lease.epoch()),
            Role::Reader => format!("{} reader", self.node),
        }
    }

    /// The lease of a leader's admission (`None` on a reader).
    pub fn lease(&self) -> Option<&LeaseCheck> {
        match &self.role {
            Role::Leader(lease) => Some(lease),
            Role::Reader => None,
        }
    }
}

impl ClusterNode {
    /// Whether requests to database `identity` may be served here now: on a reader,
    /// from its copy; elsewhere only by its leader, while its lease is certainly valid
    /// (a leader cut off from etcd stops answering before another can be elected).
    ///
    /// # Errors
    /// Why not, for the 503.
    pub fn admit(&self, identity: Identity) -> Result<Admission, String> {
        let node = self.config.node_id.clone();
        if self.is_reader() {
            return Ok(Admission {
                node,
                role: Role::Reader,
            });
        }
        match self.lock_leases().get(&identity) {
            Some(lease) if lease.valid() => Ok(Admission {
                node,
                role: Role::Leader(lease.clone()),
            }),
            Some(_) => Err(format!(
                "this node ({node}) can no longer confirm that it leads it (its lease in etcd could not be renewed); \
                 retry shortly"
            )),
            None => Err(format!(
                "this node ({node}) does not lead it now (it is a standby, or between leaders: taking over or \
                 finding the new leader); retry shortly"
            )),
        }
    }
}
