//! One health check of one target, over the network.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::{HealthCheck, HealthCheckProtocol};
use super::health::{Failure, Outcome};
use super::matcher::Matcher;

/// The longest status line read from an HTTP health check's answer.
const MAX_STATUS_LINE: usize = 8 * 1024;

/// Checks the target at `address` once, within the check's timeout.
pub(crate) async fn probe(check: &HealthCheck, address: SocketAddr) -> Outcome {
    tokio::time::timeout(check.timeout, attempt(&check.protocol, address))
        .await
        .unwrap_or_else(|_| Err(Failure::timeout()))
}

async fn attempt(protocol: &HealthCheckProtocol, address: SocketAddr) -> Outcome {
    let stream = TcpStream::connect(address).await.map_err(Failure::failed)?;
    match protocol {
        HealthCheckProtocol::Tcp => Ok(()),
        HealthCheckProtocol::Http { path, matcher } => http(stream, address, path, matcher).await,
    }
}

/// `GET path`, then reads the status line.
async fn http(
    mut stream: TcpStream,
    address: SocketAddr,
    path: &str,
    matcher: &Matcher,
) -> Outcome {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: ELB-HealthChecker/2.0\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(Failure::failed)?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 1024];
    let line_end = loop {
        if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
            break end;
        }
        if head.len() > MAX_STATUS_LINE {
            return Err(Failure::failed("the status line is too long"));
        }
        match stream.read(&mut buf).await.map_err(Failure::failed)? {
            0 => return Err(Failure::failed("the connection closed before a response")),
            n => head.extend_from_slice(&buf[..n]),
        }
    };
    let code = status_code(&head[..line_end])
        .ok_or_else(|| Failure::failed("the response is not HTTP"))?;
    if matcher.matches(code) {
        Ok(())
    } else {
        Err(Failure::code_mismatch(code))
    }
}

/// The code of an HTTP status line (`HTTP/1.1 200 OK`).
fn status_code(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    if !version.starts_with("HTTP/") || code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_lines() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_code(b"HTTP/1.0 404"), Some(404));
        assert_eq!(status_code(b"HTTP/1.1 20 OK"), None);
        assert_eq!(status_code(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(status_code(b""), None);
    }
}
