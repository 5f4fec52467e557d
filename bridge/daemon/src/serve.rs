//! The HTTP accept loop: the axum application on hyper, with what `axum::serve` leaves out for
//! a listener that faces other cities' systems (and anyone else on the network):
//!
//! - a **deadline for a request's header** (`[bridge] request_timeout`): a client that trickles
//!   its header a byte at a time, or opens a connection and says nothing, is cut off; an idle
//!   keep-alive connection is closed after the same time. Once the header is in, the
//!   application's own timeout (408) bounds the rest.
//! - a **limit on open connections** (`[bridge] max_connections`): at the limit, new connections
//!   wait in the kernel's backlog until one closes, instead of each costing a task and a file
//!   descriptor until the process runs out.
//! - a **limit per client address** (`[bridge] max_connections_per_client`, default a quarter
//!   of `max_connections`): one client cannot hold every connection; its connections over the
//!   limit are closed at once (and counted), others' are served.
//! - a **graceful stop**: on `stop`, no new connection is accepted, idle ones are closed, and
//!   requests in flight finish (the caller bounds how long that may take).

use std::sync::Arc;
use std::time::Duration;

use c2c_core::Shutdown;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;

/// Limits of the listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections from one client address at most.
    pub per_client: usize,
    /// How long a client has to send a request's header (from connecting, or from the end of
    /// its previous request on a kept-alive connection).
    pub header_timeout: Duration,
}

/// File descriptors the daemon needs besides its HTTP connections (store, mail and Matrix
/// connections, outbound deliveries).
const OTHER_FDS: u64 = 256;

/// Warn when the process may open fewer files than `max_connections` needs: accepting would
/// then fail with "too many open files" before the limit is reached, and so would the store.
/// systemd's default soft limit is 1024; the shipped unit raises it.
pub fn check_open_files_limit(max_connections: usize) {
    let Some(soft) = open_files_limit() else { return };
    let needed = max_connections as u64 + OTHER_FDS;
    if soft < needed {
        tracing::warn!(
            open_files_limit = soft,
            max_connections,
            "the open-files limit is below max_connections + {OTHER_FDS}: raise it (systemd: LimitNOFILE=; a shell: ulimit -n) or lower max_connections"
        );
    }
}

/// The soft limit on open files (Linux, from `/proc/self/limits`).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// Serve `app` on `listener` until `stop`, then wait for the requests in flight.
pub async fn serve(listener: TcpListener, app: axum::Router, limits: Limits, stop: Shutdown, metrics: Arc<Metrics>) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let connections = TaskTracker::new();
    let per_client: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> = Arc::default();
    let mut warned_full = false;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if !warned_full {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "HTTP connection limit reached: new connections wait until one closes"
                    );
                    warned_full = true;
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                    _ = stop.cancelled() => break,
                }
            }
        };
        if permits.available_permits() > limits.max_connections / 2 {
            warned_full = false;
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => (stream, peer.ip()),
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(100)) => continue,
                        _ = stop.cancelled() => break,
                    }
                }
            },
            _ = stop.cancelled() => break,
        };
        {
            let mut open = per_client.lock().unwrap_or_else(|p| p.into_inner());
            let n = open.entry(peer).or_default();
            if *n >= limits.per_client {
                drop(open);
                metrics.http_connection_refused();
                tracing::debug!(%peer, limit = limits.per_client, "a client at its connection limit: connection closed");
                drop(stream);
                continue;
            }
            *n += 1;
        }
        let _ = stream.set_nodelay(true);
        let per_client = per_client.clone();
        let service = TowerToHyperService::new(app.clone());
        let stop = stop.clone();
        let metrics = metrics.clone();
        metrics.http_connection_opened();
        connections.spawn(async move {
            let result = {
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let mut conn = std::pin::pin!(conn);
                tokio::select! {
                    r = conn.as_mut() => r,
                    _ = stop.cancelled() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                }
                // The connection (and its socket) is dropped here, before its slot is freed.
            };
            let header_timeout = result.as_ref().is_err_and(hyper::Error::is_timeout);
            if let Err(e) = &result {
                tracing::debug!(error = %e, header_timeout, "HTTP connection ended with an error");
            }
            // Its share is given back before the connection counts as closed.
            let mut open = per_client.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = open.get_mut(&peer) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&peer);
                }
            }
            drop(open);
            metrics.http_connection_closed(header_timeout);
            drop(permit);
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn start(limits: Limits) -> (std::net::SocketAddr, Arc<Metrics>, Shutdown, tokio::task::JoinHandle<()>) {
        let metrics = Arc::new(Metrics::new());
        let seen = metrics.clone();
        // The answer says how many connections had been cut off for a late header when it ran.
        let app = axum::Router::new().route(
            "/cut",
            get(move || {
                let seen = seen.clone();
                async move { format!("cut={}", seen.http_header_timeouts()) }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Shutdown::new();
        let server = tokio::spawn(serve(listener, app, limits, stop.clone(), metrics.clone()));
        (addr, metrics, stop, server)
    }

    async fn get_cut(addr: std::net::SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /cut HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[test]
    fn the_open_files_limit_is_read() {
        let limit = open_files_limit().expect("Linux has /proc/self/limits");
        assert!(limit >= 3, "{limit}");
    }

    #[tokio::test]
    async fn a_header_that_never_ends_is_cut_off_and_at_the_limit_others_wait_for_a_free_slot() {
        let (addr, metrics, stop, server) =
            start(Limits { max_connections: 1, per_client: 1, header_timeout: Duration::from_millis(300) }).await;
        // Half a header, then nothing: it takes the only slot.
        let mut stalled = TcpStream::connect(addr).await.unwrap();
        stalled.write_all(b"POST /hooks/leeds HTTP/1.1\r\nHost: bri").await.unwrap();
        // A good request now waits for the slot, so it is answered only after the stalled
        // connection was cut off (without the limit it would say cut=0).
        let answer = get_cut(addr).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("cut=1"), "served while the stalled connection held the only slot: {answer}");
        // The stalled client sees its connection closed.
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), stalled.read_to_end(&mut rest)).await;
        assert!(matches!(read, Ok(Ok(0))), "{read:?} {rest:?}");
        assert_eq!(metrics.http_header_timeouts(), 1);
        stop.cancel();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn one_client_cannot_hold_every_connection() {
        let (addr, metrics, stop, server) =
            start(Limits { max_connections: 8, per_client: 2, header_timeout: Duration::from_secs(30) }).await;
        // Two idle connections from 127.0.0.1 hold its share (accepted in order: the third
        // below is accepted after them).
        let held = [TcpStream::connect(addr).await.unwrap(), TcpStream::connect(addr).await.unwrap()];
        let mut third = TcpStream::connect(addr).await.unwrap();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), third.read_to_end(&mut rest)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "the third is closed at once: {read:?}");
        // Another client address is served meanwhile.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut other = socket.connect(addr).await.unwrap();
        other.write_all(b"GET /cut HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut answer = String::new();
        other.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(
            metrics.render().lines().find(|l| l.starts_with("c2c_http_connections_refused_total ")),
            Some("c2c_http_connections_refused_total 1")
        );
        // Once they are closed (the server says so), the first client may connect again.
        drop(held);
        let start = std::time::Instant::now();
        while !metrics.render().lines().any(|l| l == "c2c_http_connections 0") {
            assert!(start.elapsed() < Duration::from_secs(30), "the closed connections were never counted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let answer = get_cut(addr).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        stop.cancel();
        server.await.unwrap();
    }

    #[tokio::test]
    async fn a_request_in_flight_finishes_when_the_server_stops() {
        let started = Arc::new(tokio::sync::Notify::new());
        let release = Arc::new(tokio::sync::Notify::new());
        let (s, r) = (started.clone(), release.clone());
        let app = axum::Router::new().route(
            "/slow",
            get(move || {
                let (s, r) = (s.clone(), r.clone());
                async move {
                    s.notify_one();
                    r.notified().await;
                    "finished"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Shutdown::new();
        let limits = Limits { max_connections: 8, per_client: 8, header_timeout: Duration::from_secs(30) };
        let server = tokio::spawn(serve(listener, app, limits, stop.clone(), Arc::new(Metrics::new())));
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n").await.unwrap();
        // Stop while the request is being handled; it still gets its answer, then the server ends.
        started.notified().await;
        stop.cancel();
        release.notify_one();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("finished"), "{answer}");
        server.await.unwrap();
        assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
    }
}
