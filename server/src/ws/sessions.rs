//! [`Sessions`]: how many WebSocket sessions are open, so a graceful shutdown can wait
//! until each has sent its close frame (hyper's graceful shutdown stops tracking a
//! connection once it is upgraded), and metrics can report connected clients.

use tokio::sync::watch;

/// The count of open WebSocket sessions; cheap to share behind the app state.
#[derive(Debug)]
pub struct Sessions {
    count: watch::Sender<usize>,
}

impl Default for Sessions {
    fn default() -> Self {
        Self {
            count: watch::Sender::new(0),
        }
    }
}

impl Sessions {
    /// Counts a session until the returned guard is dropped.
    pub fn enter(&self) -> SessionGuard {
        self.count.send_modify(|n| *n += 1);
        SessionGuard {
            count: self.count.clone(),
        }
    }

    /// How many sessions are open now.
    pub fn open(&self) -> usize {
        *self.count.borrow()
    }

    /// Waits until no session is open.
    pub async fn all_ended(&self) {
        let mut count = self.count.subscribe();
        // The sender lives in `self`, so this cannot fail while we borrow it.
        let _ = count.wait_for(|n| *n == 0).await;
    }
}

/// One open session; dropping it ends the count.
#[derive(Debug)]
pub struct SessionGuard {
    count: watch::Sender<usize>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn waits_until_the_last_session_ends() {
        let sessions = std::sync::Arc::new(Sessions::default());
        sessions.all_ended().await;
        let a = sessions.enter();
        let b = sessions.enter();
        assert_eq!(sessions.open(), 2);
        let waiter = {
            let sessions = sessions.clone();
            tokio::spawn(async move { sessions.all_ended().await })
        };
        drop(a);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sessions.open(), 0);
    }
}
