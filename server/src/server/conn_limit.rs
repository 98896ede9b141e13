//! Caps on concurrent connections, in total and per client IP address.
//!
//! The accept loop asks [`ConnLimits::admit`] for a [`ConnPermit`] before serving a
//! connection; the permit is held for the connection's whole life (an upgraded
//! WebSocket included) and gives its slot back when dropped. A connection over a cap
//! is closed at once, so one address cannot take every file descriptor.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often refusals are logged at most: under a flood, one line per interval says how
/// many were refused, rather than one line per connection.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The connection counts and the caps they are held to.
#[derive(Debug)]
pub(crate) struct ConnLimits {
    max_total: usize,
    max_per_ip: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
    refused_unlogged: u64,
    last_log: Option<Instant>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The server holds its maximum number of connections.
    Total(usize),
    /// The address holds its maximum number of connections.
    PerIp(usize),
}

/// One admitted connection's slot, given back on drop.
#[derive(Debug)]
pub(crate) struct ConnPermit {
    limits: Arc<ConnLimits>,
    ip: IpAddr,
}

impl ConnLimits {
    /// Caps of `max_total` connections and `max_per_ip` per address.
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The counts stay consistent even if a holder panicked: every update is one step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a connection from `ip`, or says which cap it would exceed (and logs the
    /// refusal, at most once per [`REFUSAL_LOG_INTERVAL`]).
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<ConnPermit, Refused> {
        let mut state = self.state();
        let from_ip = state.per_ip.get(&ip).copied().unwrap_or(0);
        let refused = if state.total >= self.max_total {
            Some(Refused::Total(self.max_total))
        } else if from_ip >= self.max_per_ip {
            Some(Refused::PerIp(self.max_per_ip))
        } else {
            None
        };
        if let Some(refused) = refused {
            state.refused_unlogged += 1;
            let now = Instant::now();
            if state
                .last_log
                .is_none_or(|t| now.duration_since(t) >= REFUSAL_LOG_INTERVAL)
            {
                let what = match refused {
                    Refused::Total(n) => format!("the server holds its maximum of {n} connections (max_connections)"),
                    Refused::PerIp(n) => format!("{ip} holds its maximum of {n} connections (max_connections_per_ip)"),
                };
                log::warn!(
                    "closed {} new connection(s) at once: {what}; raise the limit in the server configuration if \
                     this load is expected",
                    state.refused_unlogged
                );
                state.refused_unlogged = 0;
                state.last_log = Some(now);
            }
            return Err(refused);
        }
        state.total += 1;
        *state.per_ip.entry(ip).or_insert(0) += 1;
        Ok(ConnPermit {
            limits: self.clone(),
            ip,
        })
    }

    /// The connections currently admitted.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.state().total
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        let mut state = self.limits.state();
        state.total = state.total.saturating_sub(1);
        if let Some(n) = state.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                state.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn each_address_is_capped_and_slots_come_back_on_drop() {
        let limits = ConnLimits::new(10, 2);
        let a1 = limits.admit(ip(1)).unwrap();
        let _a2 = limits.admit(ip(1)).unwrap();
        assert_eq!(limits.admit(ip(1)).unwrap_err(), Refused::PerIp(2));
        let _b = limits.admit(ip(2)).unwrap();
        drop(a1);
        assert!(limits.admit(ip(1)).is_ok());
        assert_eq!(limits.total(), 2, "the refused and the dropped permits hold no slot");
    }

    #[test]
    fn the_total_is_capped_across_addresses() {
        let limits = ConnLimits::new(3, 2);
        let permits = (1..=3).map(|i| limits.admit(ip(i)).unwrap()).collect::<Vec<_>>();
        assert_eq!(limits.admit(ip(9)).unwrap_err(), Refused::Total(3));
        drop(permits);
        assert_eq!(limits.total(), 0);
        assert!(limits.admit(ip(9)).is_ok());
    }
}
