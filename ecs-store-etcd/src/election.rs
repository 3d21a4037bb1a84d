//! Leader election on etcd's election API, and the [`Fence`] a leader's store writes
//! behind.
//!
//! A [`Candidate`] holds a lease it keeps alive and campaigns with it; etcd makes the
//! candidate whose key is oldest the leader. The [`Leadership`] it wins lasts as long
//! as the lease: the keep-alive loop renews it every third of its time to live, and
//! counts the lease valid until the time a renewal was *sent* plus the time to live
//! etcd granted (etcd counts from when it received it, later), so this process never
//! believes in a lease etcd has already let go. When a renewal is overdue (etcd
//! unreachable, the process frozen), the leadership is lost: [`Leadership::lost`]
//! resolves, and [`Fence::check`] errs from then on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, LeaderKey, ResignOptions};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::keys::Keys;

/// What a leader's writes are checked against: its key in the election (which etcd
/// deletes when the lease ends) and that key's creation revision, and the time until
/// which it knows its lease holds.
#[derive(Debug, Clone)]
pub struct Fence {
    key: Vec<u8>,
    revision: i64,
    valid_until: Arc<Mutex<Instant>>,
    lost: CancellationToken,
}

impl Fence {
    /// The leader's key in the election.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The revision at which the leader's key was created: its term.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The compare every write of the leader carries: its key still exists and is the
    /// same one (not deleted, with the lease, and made again by a later campaign).
    pub(crate) fn compare(&self) -> Compare {
        Compare::create_revision(self.key.clone(), CompareOp::Equal, self.revision)
    }

    /// [`Error::StoreFenced`](ecs_core::Error::StoreFenced) once the lease is no longer
    /// known to hold.
    pub fn check(&self) -> Result<(), ecs_core::Error> {
        if self.lost.is_cancelled() {
            return Err(fenced("the leadership was lost"));
        }
        let until = *self.valid_until.lock().unwrap_or_else(|e| e.into_inner());
        if Instant::now() >= until {
            self.lost.cancel();
            return Err(fenced("the lease ran out before it was renewed"));
        }
        Ok(())
    }

    /// Resolves once the leadership is lost (as [`Leadership::lost`] does): for a
    /// holder of the fence alone, such as the task that serves while it leads.
    pub async fn lost(&self) {
        self.lost.cancelled().await;
    }

    /// Says why a write carrying this fence was refused, from the leader key as the
    /// refused transaction read it; `Ok` if the fence did hold.
    pub(crate) fn refused(
        &self,
        found: Option<&etcd_client::KeyValue>,
    ) -> Result<(), ecs_core::Error> {
        let reason = match found {
            Some(kv) if kv.create_revision() == self.revision => return Ok(()),
            Some(_) => "the leadership key belongs to a later term",
            None => "the leadership key is gone (its lease expired or was revoked)",
        };
        self.lost.cancel();
        Err(fenced(reason))
    }
}

fn fenced(reason: &str) -> ecs_core::Error {
    ecs_core::Error::StoreFenced {
        reason: reason.to_owned(),
    }
}

/// One contender for the leadership of the control planes sharing a store's root.
#[derive(Clone)]
pub struct Candidate {
    client: Client,
    election: String,
    node: String,
    ttl: Duration,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("election", &self.election)
            .field("node", &self.node)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Candidate {
    /// A candidate named `node` (what [`Candidate::leader`] reports of it: a name, an
    /// address) for the store under `root`, with leases of `ttl` (whole seconds, at
    /// least 2): a leader that dies is succeeded within about that time.
    pub fn new(client: &Client, root: &str, node: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client: client.clone(),
            election: Keys::new(root).election(),
            node: node.into(),
            ttl: ttl.max(Duration::from_secs(2)),
        }
    }

    /// Its name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Waits until this candidate leads, and returns its leadership. Errs if etcd
    /// cannot be reached; a lease lost while waiting is replaced by a new one.
    pub async fn campaign(&self) -> Result<Leadership, Error> {
        loop {
            let mut client = self.client.clone();
            let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX);
            let granted = Instant::now();
            let lease = client.lease_grant(ttl, None).await?;
            let valid_until = Arc::new(Mutex::new(granted + secs(lease.ttl())));
            let lost = CancellationToken::new();
            // From here the lease is renewed, and given up (the renewals stopped, the
            // lease revoked) on every way out but a leadership returned, this future
            // dropped included.
            let held = Held {
                client: client.clone(),
                lease: lease.id(),
                keeper: tokio::spawn(keep_alive(
                    client.clone(),
                    lease.id(),
                    self.ttl,
                    valid_until.clone(),
                    lost.clone(),
                )),
                revoked: false,
            };
            let campaign = client.campaign(self.election.clone(), self.node.clone(), lease.id());
            let won = tokio::select! {
                won = campaign => won?,
                () = lost.cancelled() => {
                    tracing::warn!(node = %self.node, "etcd: the lease ran out while campaigning; campaigning again");
                    continue;
                }
            };
            let key = won
                .leader()
                .cloned()
                .ok_or_else(|| Error::Protocol("a campaign won without a leader key".into()))?;
            let fence = Fence {
                key: key.key().to_vec(),
                revision: key.rev(),
                valid_until,
                lost: lost.clone(),
            };
            if fence.check().is_err() {
                continue;
            }
            return Ok(Leadership {
                client,
                key,
                fence,
                held: Some(held),
            });
        }
    }

    /// Every change of leader from now on, as an event stream (etcd's observe): what a
    /// standby, a dashboard or a client that follows the leader listens to. etcd
    /// answers once there is a leader: until then this waits.
    pub async fn observe(&self) -> Result<LeaderChanges, Error> {
        let mut client = self.client.clone();
        let stream = client.observe(self.election.clone()).await?;
        Ok(LeaderChanges { stream })
    }

    /// The node that leads now (its name as it campaigned), if any.
    pub async fn leader(&self) -> Result<Option<String>, Error> {
        let mut client = self.client.clone();
        let asked = tokio::time::timeout(CALL_TIMEOUT, client.leader(self.election.clone()))
            .await
            .map_err(|_| {
                Error::Protocol(format!("etcd did not say who leads in {CALL_TIMEOUT:?}"))
            })?;
        match asked {
            Ok(r) => Ok(r
                .kv()
                .map(|kv| String::from_utf8_lossy(kv.value()).into_owned())),
            // etcd answers "election: no leader" as an error.
            Err(etcd_client::Error::GRpcStatus(s)) if s.message().contains("no leader") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Leadership changes as they happen ([`Candidate::observe`]).
pub struct LeaderChanges {
    stream: etcd_client::ObserveStream,
}

impl std::fmt::Debug for LeaderChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderChanges").finish_non_exhaustive()
    }
}

impl LeaderChanges {
    /// Waits for the next leader (the first call: the one leading now, once there is
    /// one) and returns its name; `None` once the stream ended (etcd closed it: observe
    /// again).
    pub async fn next(&mut self) -> Result<Option<String>, Error> {
        Ok(self.stream.message().await?.and_then(|r| {
            r.kv()
                .map(|kv| String::from_utf8_lossy(kv.value()).into_owned())
        }))
    }
}

/// A won election: lasts until its lease does. Dropping it gives the leadership up
/// (the lease is revoked in the background); [`Leadership::resign`] does so and waits.
pub struct Leadership {
    client: Client,
    key: LeaderKey,
    fence: Fence,
    held: Option<Held>,
}

/// A lease being renewed: its renewals stop and it is revoked when this is dropped.
struct Held {
    client: Client,
    lease: i64,
    keeper: tokio::task::JoinHandle<()>,
    /// Revoked already (by `resign`).
    revoked: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.keeper.abort();
        // Revoked in the background (a drop cannot wait): the next candidate leads at
        // once rather than when the lease runs out. Outside a runtime, it runs out.
        if self.revoked {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (mut client, lease) = (self.client.clone(), self.lease);
            runtime.spawn(async move {
                let _ = tokio::time::timeout(CALL_TIMEOUT, client.lease_revoke(lease)).await;
            });
        }
    }
}

impl std::fmt::Debug for Leadership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leadership")
            .field("key", &String::from_utf8_lossy(self.key.key()))
            .field("term", &self.fence.revision)
            .field("lease", &self.held.as_ref().map(|h| h.lease))
            .finish_non_exhaustive()
    }
}

impl Leadership {
    /// The fence a store opened for this leader writes behind
    /// ([`EtcdStore::open_fenced`](crate::EtcdStore::open_fenced)).
    pub fn fence(&self) -> Fence {
        self.fence.clone()
    }

    /// The term: the revision at which this leadership began (later terms are larger).
    pub fn term(&self) -> i64 {
        self.fence.revision
    }

    /// Resolves once the leadership is lost: the lease ran out before a renewal came
    /// back, or etcd said it was gone.
    pub async fn lost(&self) {
        self.fence.lost().await;
    }

    /// Whether it is lost already (or no longer known to hold).
    pub fn is_lost(&self) -> bool {
        self.fence.check().is_err()
    }

    /// Gives the leadership up now: another candidate leads at once rather than when
    /// the lease runs out (as dropping it does, without waiting).
    pub async fn resign(mut self) -> Result<(), Error> {
        self.fence.lost.cancel();
        let resign = self
            .client
            .resign(Some(ResignOptions::new().with_leader(self.key.clone())));
        let resigned = tokio::time::timeout(CALL_TIMEOUT, resign).await;
        if let Some(mut held) = self.held.take() {
            held.keeper.abort();
            let mut client = held.client.clone();
            let _ = tokio::time::timeout(CALL_TIMEOUT, client.lease_revoke(held.lease)).await;
            held.revoked = true;
        }
        match resigned {
            Ok(r) => r.map(drop).map_err(Error::from),
            Err(_) => Err(Error::Protocol(format!(
                "etcd did not answer the resignation in {CALL_TIMEOUT:?}"
            ))),
        }
    }
}

impl Drop for Leadership {
    /// Ends the leadership: the fence fails from now on, and the lease is revoked.
    fn drop(&mut self) {
        self.fence.lost.cancel();
    }
}

/// The longest wait for a short election call (who leads, resign, revoke): etcd's
/// client sets none, and a member that stopped answering would hold it forever.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

fn secs(s: i64) -> Duration {
    Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// Renews `lease` every third of `ttl` until `lost` is cancelled, moving `valid_until`
/// forward on each renewal etcd confirms; cancels `lost` when a renewal is overdue or
/// etcd says the lease is gone. A failed stream (the member it went to died) is opened
/// again, on whichever member the client reaches.
async fn keep_alive(
    mut client: Client,
    lease: i64,
    ttl: Duration,
    valid_until: Arc<Mutex<Instant>>,
    lost: CancellationToken,
) {
    let period = ttl / 3;
    let deadline = || *valid_until.lock().unwrap_or_else(|e| e.into_inner());
    let mut stream = None;
    loop {
        if Instant::now() >= deadline() {
            tracing::warn!(lease, "etcd: the lease was not renewed in time");
            lost.cancel();
            return;
        }
        if stream.is_none() {
            let opened = tokio::select! {
                () = lost.cancelled() => return,
                () = tokio::time::sleep_until(deadline().into()) => continue,
                opened = client.lease_keep_alive(lease) => opened,
            };
            match opened {
                Ok(s) => stream = Some(s),
                // etcd says the lease is gone (its time to live is over).
                Err(etcd_client::Error::LeaseKeepAliveError(e)) => {
                    tracing::warn!(lease, error = %e, "etcd: the lease is gone");
                    lost.cancel();
                    return;
                }
                Err(e) => {
                    tracing::debug!(lease, error = %e, "etcd: cannot open the lease's keep-alive; trying again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        let Some((keeper, responses)) = stream.as_mut() else {
            continue;
        };
        let sent = Instant::now();
        let renewed = async {
            keeper.keep_alive().await?;
            responses.message().await
        };
        let answer = tokio::select! {
            () = lost.cancelled() => return,
            () = tokio::time::sleep_until(deadline().into()) => continue,
            answer = renewed => answer,
        };
        match answer {
            Ok(Some(r)) if r.ttl() > 0 => {
                *valid_until.lock().unwrap_or_else(|e| e.into_inner()) = sent + secs(r.ttl());
            }
            Ok(Some(_)) => {
                tracing::warn!(lease, "etcd: the lease is gone");
                lost.cancel();
                return;
            }
            Ok(None) | Err(_) => {
                stream = None;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        tokio::select! {
            () = lost.cancelled() => return,
            () = tokio::time::sleep(period) => {}
        }
    }
}
