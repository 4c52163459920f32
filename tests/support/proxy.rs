//! A loopback HTTP proxy that only tunnels (`CONNECT`), for proxy tests: it
//! records each tunnel's target and whether the right credentials came
//! with it, and refuses with 407 when they did not.

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use base64::Engine;

/// One `CONNECT` the proxy received.
#[derive(Clone, Debug)]
pub struct Tunnel {
    /// The `host:port` asked for.
    pub target: String,
    /// Whether the expected `Proxy-Authorization` came with it.
    pub authorized: bool,
}

/// A running proxy; its threads serve until the test process ends.
pub struct Proxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    tunnels: Arc<Mutex<Vec<Tunnel>>>,
}

impl Proxy {
    /// A proxy that wants `user:password` as Basic credentials.
    pub fn start(user: &str, password: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let log = tunnels.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, expected) = (log.clone(), expected.clone());
                std::thread::spawn(move || tunnel(stream, &expected, &log));
            }
        });
        Proxy { port, tunnels }
    }

    /// `http://user:password@127.0.0.1:port`, for `HTTPS_PROXY`.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// The tunnels asked for so far, oldest first.
    pub fn tunnels(&self) -> Vec<Tunnel> {
        self.tunnels.lock().unwrap().clone()
    }
}

/// Reads one `CONNECT` head, answers it, and pipes bytes both ways.
fn tunnel(client: TcpStream, expected: &str, log: &Mutex<Vec<Tunnel>>) {
    let mut reader = BufReader::new(client.try_clone().expect("clone the socket"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut authorized = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let Some((name, value)) = header.trim_end().split_once(':') else {
            break;
        };
        authorized |= name.eq_ignore_ascii_case("proxy-authorization") && value.trim() == expected;
    }
    log.lock().unwrap().push(Tunnel {
        target: target.to_owned(),
        authorized,
    });
    let mut client = client;
    if method != "CONNECT" {
        let _ = client.write_all(b"HTTP/1.1 405 Only CONNECT\r\ncontent-length: 0\r\n\r\n");
        return;
    }
    if !authorized {
        let _ = client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic\r\ncontent-length: 0\r\n\r\n",
        );
        return;
    }
    let Ok(upstream) = TcpStream::connect(target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n");
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    let (mut up_read, mut up_write) = (upstream.try_clone().expect("clone"), upstream);
    let mut down_write = client.try_clone().expect("clone");
    // The reader hands on what it buffered past the head first.
    let upward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut up_write);
        let _ = up_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut up_read, &mut down_write);
    let _ = down_write.shutdown(Shutdown::Write);
    let _ = upward.join();
}
