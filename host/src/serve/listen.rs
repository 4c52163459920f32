//! The accept loop: HTTP/1.1 connections served by hyper, each with a
//! header-read deadline, at most so many open at once per client address,
//! and a graceful shutdown (calls in flight finish).
//!
//! Invariants: a connection that has not sent a whole request head within
//! the deadline (after opening, or after its last answer: hyper arms the
//! same timer while a keep-alive connection waits) is closed, so slowly
//! dribbled heads and idle connections cannot pile up; a client address
//! (an IPv6 /64) past its bound gets a short 503 and a closed socket
//! without anything being read; the peer address reaches handlers as
//! axum's `ConnectInfo`.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::config::Guards;

/// The client a connection or a sign-in attempt counts against: its IPv4
/// address, or the /64 of its IPv6 one (one host usually holds a whole
/// /64, so counting single addresses would let it pick new ones).
pub fn client(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

/// Open connections per client.
#[derive(Clone, Default)]
struct Open(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One open connection; gives its place back when dropped.
struct Slot {
    open: Open,
    client: IpAddr,
}

impl Open {
    /// A place for one more connection from `client`, if it has one left.
    fn take(&self, client: IpAddr, bound: usize) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(client).or_insert(0);
        if *count >= bound {
            return None;
        }
        *count += 1;
        Some(Slot {
            open: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves, then waits for
/// every open connection to finish what it is doing.
///
/// # Errors
///
/// None so far: failed accepts are logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    guards: Guards,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let open = Open::default();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(guards.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Some(slot) = open.take(client(peer.ip()), guards.max_connections_per_client) else {
            tracing::debug!(client = %client(peer.ip()), "refused a connection: too many open from this client");
            tokio::spawn(refuse(stream));
            continue;
        };
        spawn(&builder, &graceful, router.clone(), stream, peer, slot);
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves one connection in a task of its own, watched for the shutdown;
/// its slot is given back when it ends.
fn spawn(
    builder: &http1::Builder,
    graceful: &GracefulShutdown,
    router: Router,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    slot: Slot,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request| {
        request.extensions_mut().insert(ConnectInfo(peer));
        tower_service::Service::call(&mut router.clone(), request)
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let watched = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(error) = watched.await {
            tracing::debug!(%error, "a client connection ended with an error");
        }
        drop(slot);
    });
}

/// Too many open files, or a connection reset before it was accepted:
/// wait a little (the first frees up as connections close) and go on.
async fn accept_failed(error: std::io::Error) {
    tracing::warn!(%error, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Answers a connection past its client's bound, then closes it. What the
/// client sent is read only to be dropped, so that the close is orderly
/// (closing with unread data resets the connection, and the client may
/// lose the answer): at most 16 KiB, for at most a second.
async fn refuse(mut stream: TcpStream) {
    const ANSWER: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\nretry-after: 10\r\ncontent-type: text/plain\r\ncontent-length: 58\r\n\r\ntoo many open connections from your address; close some.\r\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(ANSWER).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        for _ in 0..4 {
            if stream.read(&mut sink).await? == 0 {
                break;
            }
        }
        std::io::Result::Ok(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_their_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client(a), client(b));
        assert_eq!(client(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        assert_eq!(client(mapped), "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_past_its_bound_gets_no_slot_until_one_is_freed() {
        let open = Open::default();
        let me: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let first = open.take(me, 2).unwrap();
        let _second = open.take(me, 2).unwrap();
        assert!(open.take(me, 2).is_none());
        assert!(
            open.take(other, 2).is_some(),
            "another client is not affected"
        );
        drop(first);
        assert!(open.take(me, 2).is_some());
    }
}
