//! A loopback TCP proxy for fault injection in front of a real server: forward, stall (accept
//! and never answer; bytes on open connections are held too) or reset (accept, then RST).
//! Counts the connections it accepts, so a test can see whether a client stopped hammering.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Pass bytes both ways.
    Forward,
    /// Accept connections, pass nothing (a hung backend); resumes when set back to Forward.
    Stall,
    /// Accept and immediately reset every new connection (a flapping / dead backend).
    Reset,
}

/// A running proxy; stops with the test's runtime.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    mode: watch::Sender<ProxyMode>,
    accepted: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Start a proxy on `127.0.0.1:0` in front of `upstream`, forwarding.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (mode, rx) = watch::channel(ProxyMode::Forward);
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let rx = rx.clone();
                tokio::spawn(handle(client, upstream, rx));
            }
        });
        FaultProxy { addr, mode, accepted }
    }

    /// `127.0.0.1:port`.
    pub fn addr_string(&self) -> String {
        self.addr.to_string()
    }

    /// Switch mode (applies to open connections too, except that reset only hits new ones).
    pub fn set(&self, mode: ProxyMode) {
        self.mode.send_replace(mode);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn handle(client: TcpStream, upstream: SocketAddr, mut rx: watch::Receiver<ProxyMode>) {
    if *rx.borrow() == ProxyMode::Reset {
        let _ = client.set_zero_linger();
        return;
    }
    // A stalled proxy holds new connections without connecting upstream.
    if wait_not_stalled(&mut rx).await.is_err() {
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else { return };
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = pump(cr, sw, rx.clone());
    let down = pump(sr, cw, rx);
    let _ = tokio::join!(up, down);
}

async fn wait_not_stalled(rx: &mut watch::Receiver<ProxyMode>) -> Result<(), ()> {
    while *rx.borrow_and_update() == ProxyMode::Stall {
        rx.changed().await.map_err(|_| ())?;
    }
    Ok(())
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut rx: watch::Receiver<ProxyMode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // Hold bytes (do not even read) while stalled, like a SIGSTOPped server.
        if wait_not_stalled(&mut rx).await.is_err() {
            return;
        }
        let n = tokio::select! {
            r = from.read(&mut buf) => match r { Ok(0) | Err(_) => break, Ok(n) => n },
            _ = rx.changed() => continue,
        };
        // Bytes read just before a stall are held until it ends.
        if wait_not_stalled(&mut rx).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
