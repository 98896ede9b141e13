//! A TCP proxy on one network link, for fault injection where network namespaces
//! (`crate::netns`) are not available, and for faults they cannot make: a process
//! connects to the proxy's address instead of its peer's, and the test cuts either
//! direction of the link, heals it, or delays it.
//!
//! A cut holds bytes instead of delivering them, as a partition that drops packets
//! does to a TCP connection: nothing errors, the connection stalls, and what was held
//! arrives once the link heals (as TCP's retransmission would deliver it). A new
//! connection made while the link to the peer is cut is accepted but not connected
//! onwards until it heals, so the client sees silence, not a refusal. A delay holds
//! each chunk for a fixed time before passing it on.
//!
//! Every connection is closed when the [`Proxy`] is dropped.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How a link treats the bytes of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Direction {
    /// Bytes are held until the link heals.
    cut: bool,
    /// Each chunk waits this long before it is passed on.
    delay: Duration,
}

/// The link's state, shared by every connection's pumps.
#[derive(Debug)]
struct Link {
    /// `[towards the peer, back from the peer]`.
    directions: Mutex<[Direction; 2]>,
    changed: Condvar,
    closed: AtomicBool,
    /// Every stream of every connection, to close them all on drop.
    streams: Mutex<Vec<TcpStream>>,
}

/// Which way bytes travel through a [`Proxy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// From the process that connected to the proxy towards the peer.
    ToPeer = 0,
    /// From the peer back to the process that connected.
    FromPeer = 1,
}

impl Link {
    /// Blocks while `way` is cut; then its delay. `false` once the proxy is closed.
    fn pass(&self, way: Way) -> bool {
        let mut directions = self.directions.lock().unwrap_or_else(|e| e.into_inner());
        while directions[way as usize].cut && !self.closed.load(Ordering::Relaxed) {
            directions = self.changed.wait(directions).unwrap_or_else(|e| e.into_inner());
        }
        let delay = directions[way as usize].delay;
        drop(directions);
        if !delay.is_zero() {
            // The delay is the fault being injected, not a wait for an event.
            std::thread::sleep(delay);
        }
        !self.closed.load(Ordering::Relaxed)
    }

    fn set(&self, way: Way, change: impl FnOnce(&mut Direction)) {
        let mut directions = self.directions.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut directions[way as usize]);
        self.changed.notify_all();
    }

    fn keep(&self, stream: &TcpStream) {
        if let Ok(clone) = stream.try_clone() {
            self.streams.lock().unwrap_or_else(|e| e.into_inner()).push(clone);
        }
    }
}

/// A proxy listening on a loopback port, forwarding every connection to `peer`.
pub struct Proxy {
    addr: SocketAddr,
    peer: SocketAddr,
    link: Arc<Link>,
}

impl Proxy {
    /// Starts a proxy on a free port of `ip` (a loopback address) that forwards to
    /// `peer`.
    ///
    /// # Panics
    /// If it cannot listen.
    pub fn start(ip: Ipv4Addr, peer: SocketAddr) -> Self {
        let listener = TcpListener::bind(SocketAddrV4::new(ip, 0)).expect("bind a proxy's port");
        let addr = listener.local_addr().expect("a bound socket has an address");
        let link = Arc::new(Link {
            directions: Mutex::new(
                [Direction {
                    cut: false,
                    delay: Duration::ZERO,
                }; 2],
            ),
            changed: Condvar::new(),
            closed: AtomicBool::new(false),
            streams: Mutex::new(Vec::new()),
        });
        let accepting = link.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.closed.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let link = accepting.clone();
                std::thread::spawn(move || connect(&link, client, peer));
            }
        });
        Self { addr, peer, link }
    }

    /// Where to connect instead of the peer.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The peer it forwards to.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Holds the bytes going `way` until [`Proxy::heal`].
    pub fn cut(&self, way: Way) {
        self.link.set(way, |d| d.cut = true);
    }

    /// Holds the bytes going both ways.
    pub fn cut_both(&self) {
        self.cut(Way::ToPeer);
        self.cut(Way::FromPeer);
    }

    /// Delays every chunk going `way` by `delay` (zero: none).
    pub fn delay(&self, way: Way, delay: Duration) {
        self.link.set(way, |d| d.delay = delay);
    }

    /// Passes everything again, at once: no cut, no delay.
    pub fn heal(&self) {
        for way in [Way::ToPeer, Way::FromPeer] {
            self.link.set(way, |d| {
                d.cut = false;
                d.delay = Duration::ZERO;
            });
        }
    }

    /// Whether either direction is cut.
    pub fn is_cut(&self) -> bool {
        let directions = self.link.directions.lock().unwrap_or_else(|e| e.into_inner());
        directions.iter().any(|d| d.cut)
    }
}

/// Connects `client` onwards to `peer` once the way there is open, then pumps both
/// ways until either side closes.
fn connect(link: &Arc<Link>, client: TcpStream, peer: SocketAddr) {
    link.keep(&client);
    // A connection attempt is a packet towards the peer: held while that way is cut.
    if !link.pass(Way::ToPeer) {
        return;
    }
    let Ok(upstream) = TcpStream::connect(peer) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    link.keep(&upstream);
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (Ok(client_read), Ok(upstream_read)) = (client.try_clone(), upstream.try_clone()) else {
        return;
    };
    let back = link.clone();
    std::thread::spawn(move || pump(&back, upstream_read, client, Way::FromPeer));
    pump(link, client_read, upstream, Way::ToPeer);
}

/// Copies `from` to `to` chunk by chunk, each through the link's `way`.
fn pump(link: &Link, mut from: TcpStream, mut to: TcpStream, way: Way) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if !link.pass(way) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.link.closed.store(true, Ordering::Relaxed);
        self.link.changed.notify_all();
        // Wakes the accept loop so it sees `closed`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for stream in self.link.streams.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An echo server on loopback; its address.
    fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("an address");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut write = stream.try_clone().expect("clone");
                    let _ = std::io::copy(&mut &stream, &mut write);
                });
            }
        });
        addr
    }

    fn roundtrip(stream: &mut TcpStream, bytes: &[u8]) -> std::io::Result<Vec<u8>> {
        stream.write_all(bytes)?;
        let mut got = vec![0u8; bytes.len()];
        stream.read_exact(&mut got)?;
        Ok(got)
    }

    /// Bytes pass; a cut of either direction stalls the echo without an error, and
    /// what was held arrives after healing; a connection made during a cut is silent
    /// until the heal; a delay delays; dropping the proxy closes its connections.
    #[test]
    fn cuts_hold_bytes_and_heal_delivers_them() {
        let proxy = Proxy::start(Ipv4Addr::LOCALHOST, echo());
        let mut stream = TcpStream::connect(proxy.addr()).expect("connect to the proxy");
        assert_eq!(roundtrip(&mut stream, b"one").expect("echo"), b"one");

        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("a timeout");
        for way in [Way::ToPeer, Way::FromPeer] {
            proxy.cut(way);
            assert!(proxy.is_cut());
            let stalled = roundtrip(&mut stream, b"two").expect_err("held while cut");
            assert!(
                matches!(
                    stalled.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "{stalled}"
            );
            proxy.heal();
            let mut got = [0u8; 3];
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("a timeout");
            stream.read_exact(&mut got).expect("delivered after healing");
            assert_eq!(&got, b"two");
            stream
                .set_read_timeout(Some(Duration::from_millis(300)))
                .expect("a timeout");
        }

        proxy.cut_both();
        let mut late = TcpStream::connect(proxy.addr()).expect("accepted even while cut");
        late.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("a timeout");
        assert!(roundtrip(&mut late, b"three").is_err(), "silent while cut");
        proxy.heal();
        let mut got = [0u8; 5];
        late.set_read_timeout(Some(Duration::from_secs(5))).expect("a timeout");
        late.read_exact(&mut got).expect("connected after healing");
        assert_eq!(&got, b"three");

        proxy.delay(Way::ToPeer, Duration::from_millis(200));
        let sent = Instant::now();
        assert_eq!(roundtrip(&mut late, b"four").expect("echo"), b"four");
        assert!(sent.elapsed() >= Duration::from_millis(200), "{:?}", sent.elapsed());

        drop(proxy);
        let mut rest = Vec::new();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("a timeout");
        assert_eq!(stream.read_to_end(&mut rest).expect("closed by the drop"), 0);
    }
}
