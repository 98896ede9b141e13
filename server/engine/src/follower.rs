//! Follower mode (a cluster's hot standby or read replica): the actor holds the
//! database live in memory while another node leads it. It is opened from the local
//! log as at start-up ([`crate::storage::replay`]) but runs no reducer, no scheduler
//! and no lifecycle; it is fed the leader's log batches (the framed commits the
//! standby appends to its local log) and applies each record as restart replay does
//! ([`LogState::replay_record`], the one applier), then publishes the rows through the
//! commit funnel's subscription path ([`crate::commit::DatabaseState::commit_applied`]).
//! Writes are refused with [`NotLeader`]. Promotion ([`Actor::promote`]) makes the same
//! actor the leader in place: the log writer starts on the local log (appending to
//! the cluster's log), `client_disconnected` runs for the clients the old leader had
//! connected, and the scheduler starts; nothing is replayed.

use crate::actor::{Actor, ModuleParts};
use crate::error::{ActorGone, StartError};
use crate::module_logs::{log_system, ModuleLogs};
use crate::schedule::Scheduler;
use crate::storage::{self, LogState, ReplayStep, RestoreError, StorageConfig};
use spacetime_commitlog::{Commitlog, DurableOffset, ReplicatedLog};
use spacetime_host::{LogLevel, ModuleProgram};
use spacetime_sats::{Identity, Timestamp};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// Where a follower gets the program a module update it applies names (the edge's
/// program store), compiled. Called on the actor's thread, rarely (once per update).
pub trait ProgramSource: Send + Sync {
    /// The compiled program whose hash is `hash`.
    ///
    /// # Errors
    /// Why it cannot be had (not stored here and no peer has it, or it does not load).
    fn program(&self, hash: &str) -> Result<ModuleProgram, Box<dyn std::error::Error + Send + Sync>>;
}

/// The last tx offset a follower has applied (and published to its subscribers), as a
/// watch: `None` until it applied one. It stops moving at promotion.
#[derive(Debug, Clone)]
pub struct AppliedOffset {
    applied: watch::Receiver<Option<u64>>,
}

impl AppliedOffset {
    /// The last tx offset applied, if any.
    pub fn get(&self) -> Option<u64> {
        *self.applied.borrow()
    }

    /// Waits until tx `offset` is applied.
    ///
    /// # Errors
    /// [`ActorGone`] if the database stopped first.
    pub async fn wait_for(&mut self, offset: u64) -> Result<(), ActorGone> {
        self.applied
            .wait_for(|applied| applied.is_some_and(|a| a >= offset))
            .await
            .map(drop)
            .map_err(|_| ActorGone { log_failure: None })
    }
}

/// A write (reducer call, SQL DML, module update, procedure) sent to a follower: only
/// the leader runs writes. The edge redirects or forwards them before this; this is
/// the engine's guard.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "this node follows this database (a standby or read replica of the leader's log) and runs no writes; {}",
    match .leader { Some(leader) => format!("its leader is {leader}: send writes there"), None => "no leader is known yet: retry shortly".to_owned() }
)]
pub struct NotLeader {
    /// The leader, as the edge named it ([`crate::Database::set_leader`]), if known.
    pub leader: Option<Arc<str>>,
}

/// Why a follower stopped applying its leader's log. It then applies nothing more
/// (its state would no longer be the leader's), and promoting it fails, so the node
/// starts the database from its local log instead.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The batch's framing does not verify.
    #[error("a log batch does not verify: {0}")]
    Batch(String),
    /// The batch skips transactions this follower has not applied.
    #[error("a log batch's record has tx offset {got}, but this follower applied up to {next} (exclusive)")]
    Gap {
        /// The next offset to apply.
        next: u64,
        /// The one the batch holds.
        got: u64,
    },
    /// A record does not decode or fit the state (boxed: it is large and rare).
    #[error("{0}")]
    Record(Box<RestoreError>),
    /// A module update's program could not be had.
    #[error("the module update at tx offset {offset} names program {hash}, which cannot be loaded: {reason}")]
    Program {
        /// The migration record's offset.
        offset: u64,
        /// The program hash.
        hash: String,
        /// Why.
        reason: String,
    },
    /// A module update's program cannot run here.
    #[error("the module update at tx offset {offset}: {source}")]
    Module {
        /// The migration record's offset.
        offset: u64,
        /// Why.
        source: Box<StartError>,
    },
}

/// Why a follower could not become the leader in place.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// It is the leader already.
    #[error("this database is not a follower")]
    NotFollower,
    /// It stopped applying the log earlier.
    #[error("the follower stopped applying the log: {0}")]
    Diverged(Arc<FollowError>),
    /// The local log holds transactions it has not applied.
    #[error("the local log's next tx offset is {log_next}, but the follower applied up to {applied_next} (exclusive)")]
    Behind {
        /// The log's next offset.
        log_next: u64,
        /// The follower's.
        applied_next: u64,
    },
    /// The log writer did not start (boxed: it is large and rare).
    #[error("cannot start the commit log writer: {0}")]
    Log(Box<RestoreError>),
    /// The database stopped.
    #[error(transparent)]
    Gone(#[from] ActorGone),
}

impl From<RestoreError> for FollowError {
    fn from(e: RestoreError) -> Self {
        Self::Record(Box::new(e))
    }
}

impl From<RestoreError> for PromoteError {
    fn from(e: RestoreError) -> Self {
        Self::Log(Box::new(e))
    }
}

/// What a [`crate::Database`] handle and its actor share about its role.
#[derive(Debug, Clone, Default)]
pub(crate) struct RoleLink {
    /// True while the database follows.
    following: Arc<AtomicBool>,
    /// The leader to name in [`NotLeader`].
    leader: Arc<RwLock<Option<Arc<str>>>>,
}

impl RoleLink {
    /// A link for a follower.
    pub(crate) fn follower() -> Self {
        let link = Self::default();
        link.following.store(true, Ordering::Release);
        link
    }

    /// Whether the database follows.
    pub(crate) fn is_following(&self) -> bool {
        self.following.load(Ordering::Acquire)
    }

    /// Names the leader (or forgets it).
    pub(crate) fn set_leader(&self, leader: Option<Arc<str>>) {
        *self.leader.write().unwrap_or_else(|e| e.into_inner()) = leader;
    }

    /// The refusal of a write, if the database follows.
    pub(crate) fn refusal(&self) -> Option<NotLeader> {
        self.is_following().then(|| NotLeader {
            leader: self.leader.read().unwrap_or_else(|e| e.into_inner()).clone(),
        })
    }
}

/// The actor's state while it follows.
pub(crate) struct Follower {
    /// The storage it will lead with.
    storage: StorageConfig,
    /// What the log writer starts from at promotion, kept current record by record.
    state: LogState,
    /// The next tx offset to apply.
    next: u64,
    /// The program hash of the module the applied records were written with.
    module_hash: String,
    /// Published after each batch.
    applied: watch::Sender<Option<u64>>,
    /// Where a module update's program comes from.
    programs: Arc<dyn ProgramSource>,
    /// Set when it stopped applying.
    failed: Option<Arc<FollowError>>,
}

/// What [`Actor::start_follower`] hands back: the actor, and the local log (after its
/// last commit) for the standby to append the leader's commits to.
pub(crate) struct Started {
    pub(crate) actor: Actor,
    pub(crate) commitlog: Commitlog,
    pub(crate) applied: AppliedOffset,
}

impl Actor {
    /// Opens a follower of the database whose local log is in `storage`: tables from
    /// the module, rows from the snapshot and log (replayed, no reducer runs); `init`
    /// never runs, even on an empty log (the leader's records bring its effects).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start_follower(
        identity: Identity,
        owner: Identity,
        current: Arc<RwLock<ModuleProgram>>,
        logs: Arc<ModuleLogs>,
        storage: StorageConfig,
        hash: &str,
        programs: Arc<dyn ProgramSource>,
        role: RoleLink,
    ) -> Result<Started, StartError> {
        let program = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut parts = ModuleParts::new(identity, &program, &logs)?;
        let storage = storage.with_metrics_label(crate::metrics::label(identity));
        let replayed =
            storage::replay(&storage, &mut parts.datastore, &logs).map_err(|e| StartError::Restore(Box::new(e)))?;
        let next = replayed.commitlog.next_tx_offset();
        let (applied_tx, applied) = watch::channel(next.checked_sub(1));
        let sql_settings_file = Some(crate::sql_settings::path(&storage.dir));
        let mut actor = Actor::assemble(owner, identity, current, logs, parts, None, sql_settings_file);
        actor.role = role;
        actor.follower = Some(Follower {
            storage,
            state: replayed.state,
            next,
            module_hash: hash.to_owned(),
            applied: applied_tx,
            programs,
            failed: None,
        });
        let db = &mut actor.db;
        db.views.start(&mut db.datastore, [])?;
        Ok(Started {
            actor,
            commitlog: replayed.commitlog,
            applied: AppliedOffset { applied },
        })
    }

    /// The refusal of a write while following.
    pub(crate) fn not_leader(&self) -> Option<NotLeader> {
        self.role.refusal()
    }

    /// Applies a batch of the leader's framed commits: each record not applied yet,
    /// in order, published to subscribers as a commit is. A failure stops the
    /// follower for good (see [`FollowError`]).
    pub(crate) fn apply_batch(&mut self, frames: &[u8]) {
        let Some(follower) = &self.follower else {
            log::error!("a log batch was sent to a database that leads; ignored");
            return;
        };
        if follower.failed.is_some() {
            return;
        }
        if let Err(e) = self.apply_records(frames) {
            let message = format!("this follower stopped applying the leader's log: {e}");
            log::error!("{message}");
            log_system(&self.module_logs, LogLevel::Error, None, message);
            if let Some(follower) = &mut self.follower {
                follower.failed = Some(Arc::new(e));
            }
        }
        // The batch's updates reach the clients' queues before the offset is
        // published: a reader holds a forwarded call's result until the offset, and
        // the caller must see the call's row changes first.
        self.db.subscriptions.flush();
        if let Some(follower) = &self.follower {
            follower.applied.send_replace(follower.next.checked_sub(1));
        }
    }

    fn apply_records(&mut self, frames: &[u8]) -> Result<(), FollowError> {
        let records = spacetime_commitlog::batch_records(frames).map_err(FollowError::Batch)?;
        for (offset, bytes) in records {
            let Some(follower) = &mut self.follower else {
                return Ok(());
            };
            if offset < follower.next {
                continue;
            }
            if offset > follower.next {
                return Err(FollowError::Gap {
                    next: follower.next,
                    got: offset,
                });
            }
            match follower.state.replay_record(&mut self.db.datastore, offset, bytes)? {
                ReplayStep::Tx(tx) => self.db.commit_applied(&tx, offset),
                ReplayStep::Migration(migration) => self.follow_migration(offset, migration)?,
                ReplayStep::Module(hash) => follower.module_hash = hash,
                ReplayStep::Nothing => {}
            }
            if let Some(follower) = &mut self.follower {
                follower.next = offset + 1;
            }
        }
        Ok(())
    }

    /// Applies a module update's record: its module (loaded if it is another) with
    /// its state in place of the rows, as the leader's update left them; subscribers
    /// are carried over as on the leader.
    fn follow_migration(&mut self, offset: u64, migration: storage::record::Migration) -> Result<(), FollowError> {
        let Some(follower) = &mut self.follower else {
            return Ok(());
        };
        let program = if migration.hash == follower.module_hash {
            self.instance.program().clone()
        } else {
            follower
                .programs
                .program(&migration.hash)
                .map_err(|e| FollowError::Program {
                    offset,
                    hash: migration.hash.clone(),
                    reason: e.to_string(),
                })?
        };
        let module = |source: StartError| FollowError::Module {
            offset,
            source: Box::new(source),
        };
        let identity = self.instance.database_identity();
        let mut parts = ModuleParts::new(identity, &program, &self.module_logs).map_err(module)?;
        follower
            .state
            .migrated(&mut parts.datastore, offset, &migration.state)?;
        follower.module_hash = migration.hash;
        // The leader's plan was applied; whether it broke clients is the planner's
        // answer for the same two definitions.
        let breaks_clients = spacetime_migrate::plan(self.instance.program().module_def(), program.module_def())
            .map_or(true, |plan| plan.breaks_clients());
        self.db.datastore = parts.datastore;
        self.db.scheduler = Scheduler::new(program.module_def());
        self.install_module(program, parts.instance, parts.rls, parts.views, breaks_clients);
        log_system(
            &self.module_logs,
            LogLevel::Info,
            None,
            format!("module updated on the leader: {}", migration.summary),
        );
        Ok(())
    }

    /// Makes this follower the leader in place: the log writer starts on `commitlog`
    /// (the local log the standby kept, which must hold exactly what was applied),
    /// appending to `replicated` under `epoch`; `client_disconnected` runs for the
    /// clients the log holds as connected (the old leader's, whose connections are
    /// gone); the scheduler starts from the scheduled tables. Returns the writer's
    /// durable offset.
    pub(crate) fn promote(
        &mut self,
        commitlog: Commitlog,
        epoch: u64,
        replicated: Box<dyn ReplicatedLog>,
    ) -> Result<DurableOffset, PromoteError> {
        let follower = self.follower.as_ref().ok_or(PromoteError::NotFollower)?;
        if let Some(failed) = &follower.failed {
            return Err(PromoteError::Diverged(failed.clone()));
        }
        if commitlog.next_tx_offset() != follower.next {
            return Err(PromoteError::Behind {
                log_next: commitlog.next_tx_offset(),
                applied_next: follower.next,
            });
        }
        let follower = self.follower.take().ok_or(PromoteError::NotFollower)?;
        // On failure the database stays refusing writes (it has no writer to log
        // them); the node then starts it afresh from its local log.
        let mut log = storage::start_writer(
            &follower.storage,
            commitlog,
            follower.state,
            &self.module_logs,
            Some((epoch, replicated)),
        )?;
        log.set_module(&follower.module_hash);
        let durable = log.watch();
        self.db.commitlog = Some(log);
        self.role.following.store(false, Ordering::Release);
        let program = self.instance.program().clone();
        self.db.scheduler = Scheduler::new(program.module_def());
        self.db.scheduler.restore(&self.db.datastore, Timestamp::now());
        self.disconnect_stale_clients();
        Ok(durable)
    }
}
