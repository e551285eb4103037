//! One non-recursive DNS query (RD=0) to one server: UDP with a timeout, retried over TCP when
//! the answer is truncated. Messages are built and parsed with `hickory-proto`.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout};

/// What one server answered to one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The response code (`NOERROR`, `NXDOMAIN`, `REFUSED`, ...).
    pub rcode: String,
    /// Values of the answer records of the asked type, as text (`192.0.2.1`, `lb.example.com.`).
    pub values: Vec<String>,
    /// Largest TTL of those records.
    pub ttl: Option<u32>,
    /// The server said it is authoritative (AA).
    pub authoritative: bool,
    /// The UDP answer was truncated and the query was repeated over TCP.
    pub via_tcp: bool,
    /// Time from sending to the parsed answer (both attempts when TCP was needed).
    pub took: Duration,
}

impl Reply {
    /// NOERROR.
    pub fn is_noerror(&self) -> bool {
        self.rcode == "NOERROR"
    }
}

/// Send one query for `name`/`rtype` to `server` without recursion; `limit` bounds each attempt.
pub async fn query(
    server: SocketAddr,
    name: &str,
    rtype: RecordType,
    limit: Duration,
) -> Result<Reply, String> {
    let qname = Name::from_ascii(name).map_err(|e| format!("bad record name {name:?}: {e}"))?;
    // A random id (hickory's), and a fresh socket with an ephemeral port per query.
    let mut msg = Message::query();
    msg.metadata.recursion_desired = false;
    msg.add_query(Query::query(qname, rtype));
    let id = msg.metadata.id;
    let wire = msg.to_vec().map_err(|e| format!("cannot encode the query: {e}"))?;
    let start = Instant::now();
    let udp = timeout(limit, udp_exchange(server, &wire, id))
        .await
        .map_err(|_| format!("no answer in {} ms (UDP timeout)", limit.as_millis()))??;
    if !udp.metadata.truncation {
        return Ok(reply(&udp, rtype, false, start.elapsed()));
    }
    let tcp = timeout(limit, tcp_exchange(server, &wire, id))
        .await
        .map_err(|_| format!("truncated over UDP and no TCP answer in {} ms", limit.as_millis()))??;
    Ok(reply(&tcp, rtype, true, start.elapsed()))
}

async fn udp_exchange(server: SocketAddr, wire: &[u8], id: u16) -> Result<Message, String> {
    let bind: SocketAddr = if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let sock = UdpSocket::bind(bind).await.map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    sock.connect(server).await.map_err(|e| format!("cannot reach {server}: {e}"))?;
    sock.send(wire).await.map_err(|e| format!("cannot send to {server}: {e}"))?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = sock.recv(&mut buf).await.map_err(|e| format!("no answer from {server}: {e}"))?;
        // A stray datagram (wrong id, not a response) is ignored; the timeout bounds the wait.
        if let Ok(m) = Message::from_vec(&buf[..n])
            && m.metadata.id == id
            && m.metadata.message_type == MessageType::Response
        {
            return Ok(m);
        }
    }
}

async fn tcp_exchange(server: SocketAddr, wire: &[u8], id: u16) -> Result<Message, String> {
    let mut s = TcpStream::connect(server).await.map_err(|e| format!("cannot connect over TCP: {e}"))?;
    let len = u16::try_from(wire.len()).map_err(|_| "query too long".to_string())?;
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(wire);
    s.write_all(&out).await.map_err(|e| format!("cannot send over TCP: {e}"))?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.map_err(|e| format!("no TCP answer: {e}"))?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut buf).await.map_err(|e| format!("short TCP answer: {e}"))?;
    let m = Message::from_vec(&buf).map_err(|e| format!("cannot parse the TCP answer: {e}"))?;
    if m.metadata.id != id {
        return Err("TCP answer for another query id".into());
    }
    Ok(m)
}

fn reply(m: &Message, rtype: RecordType, via_tcp: bool, took: Duration) -> Reply {
    let records: Vec<_> = m.answers.iter().filter(|r| r.record_type() == rtype).collect();
    Reply {
        rcode: rcode_name(m.metadata.response_code),
        values: records.iter().map(|r| value_text(&r.data)).collect(),
        ttl: records.iter().map(|r| r.ttl).max(),
        authoritative: m.metadata.authoritative,
        via_tcp,
        took,
    }
}

fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

fn value_text(data: &RData) -> String {
    data.to_string()
}

/// The record type for a configured type name (`A`, `AAAA`, `CNAME`).
pub fn record_type(name: &str) -> Result<RecordType, String> {
    name.to_ascii_uppercase().parse::<RecordType>().map_err(|e| format!("unknown record type {name:?}: {e}"))
}
