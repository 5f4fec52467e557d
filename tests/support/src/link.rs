//! A TCP link between two instances on loopback that a test can cut and heal, as a network
//! partition would: while it is cut, whoever connects to it sees *connection refused*.
//!
//! A link listens on a port of its own from the start (so each instance's config can name its
//! peers before any daemon runs) and forwards every connection to its target's port, set once
//! the target runs. Cut, it stops listening and drops the connections it carries, but keeps its
//! port bound by a socket that does not listen (the kernel refuses connections to such a port,
//! and nothing else can take it); healed, it listens on the same port again. Both sockets use
//! `SO_REUSEPORT`, which lets them share the port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Mutex;
use tokio::task::{JoinHandle, JoinSet};

/// One direction of traffic between two instances.
#[derive(Debug)]
pub struct Link {
    addr: SocketAddr,
    target: Arc<AtomicU16>,
    state: Mutex<State>,
}

#[derive(Debug)]
enum State {
    Up(JoinHandle<()>),
    Cut(#[allow(dead_code)] TcpSocket),
}

fn socket(addr: SocketAddr) -> TcpSocket {
    let s = TcpSocket::new_v4().unwrap();
    s.set_reuseaddr(true).unwrap();
    s.set_reuseport(true).unwrap();
    s.bind(addr).unwrap();
    s
}

impl Link {
    /// A link on a new port, up, with no target yet (connections to it are closed at once).
    pub async fn start() -> Link {
        let listener = socket("127.0.0.1:0".parse().unwrap()).listen(128).unwrap();
        let addr = listener.local_addr().unwrap();
        let target = Arc::new(AtomicU16::new(0));
        let task = tokio::spawn(forward(listener, target.clone()));
        Link { addr, target, state: Mutex::new(State::Up(task)) }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Forward to `addr` (`127.0.0.1:PORT`, a daemon's `listen`) from now on.
    pub fn point_at(&self, addr: &str) {
        let port = addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).expect("HOST:PORT");
        self.target.store(port, Ordering::SeqCst);
    }

    /// Refuse connections and drop the ones open, until [`Link::heal`]. Returns once a new
    /// connection would be refused.
    pub async fn cut(&self) {
        let mut state = self.state.lock().await;
        if let State::Up(task) = &mut *state {
            let held = socket(self.addr);
            task.abort();
            // The listener and the connections it carries are dropped with the task.
            let _ = task.await;
            *state = State::Cut(held);
        }
    }

    /// Listen again on the same port.
    pub async fn heal(&self) {
        let mut state = self.state.lock().await;
        if let State::Cut(_) = &*state {
            let listener = socket(self.addr).listen(128).unwrap();
            *state = State::Up(tokio::spawn(forward(listener, self.target.clone())));
        }
    }
}

/// Accept and forward until aborted; aborting drops every connection too.
async fn forward(listener: TcpListener, target: Arc<AtomicU16>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut inbound, _)) = accepted else { continue };
                let port = target.load(Ordering::SeqCst);
                connections.spawn(async move {
                    if port == 0 {
                        return;
                    }
                    if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_cut_link_refuses_and_a_healed_one_forwards_again() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = echo.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; 5];
                    s.read_exact(&mut buf).await.unwrap();
                    s.write_all(&buf).await.unwrap();
                });
            }
        });
        let link = Link::start().await;
        link.point_at(&echo_addr);
        let round_trip = || async {
            let mut s = TcpStream::connect(link.addr).await.unwrap();
            s.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            buf
        };
        assert_eq!(&round_trip().await, b"hello");
        link.cut().await;
        let refused = TcpStream::connect(link.addr).await.unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        link.heal().await;
        assert_eq!(&round_trip().await, b"hello");
    }
}
