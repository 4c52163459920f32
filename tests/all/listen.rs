//! `serve`'s listener against hostile clients, over raw TCP: request heads
//! dribbled a byte at a time (slowloris) and idle keep-alive connections
//! are closed at the header-read deadline while calls go on being served;
//! connections past the per-client bound are refused while other client
//! addresses (127.0.0.2: all of 127/8 is loopback) are served.
//! See: issue 15, item 5.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use connector_tests::serve::Serve;

/// The address `serve` listens on, from its URL.
fn address(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .expect("serve's address")
}

/// A TCP connection to `url` from source address `source`.
pub fn connect_from(source: &str, url: &str) -> std::io::Result<TcpStream> {
    let target = address(url);
    let source: SocketAddr = format!("{source}:0").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(source)?;
        socket.connect(target).await?.into_std()
    })?;
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// Sends `request` (a whole HTTP/1.1 request with `Connection: close`)
/// from `source` and returns all of the answer.
pub fn raw_call_from(source: &str, url: &str, request: &str) -> String {
    let mut stream = connect_from(source, url).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Whether the server has closed `stream` (EOF or reset), without waiting.
fn closed(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 512];
    let closed = loop {
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            // An answer (a 503, say): read on until EOF or nothing more.
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

#[test]
fn dribbled_request_heads_and_idle_connections_are_closed_at_the_header_deadline() {
    const SLOW: usize = 800;
    // The default deadline (10 s): the finding measured none at all.
    let serve = Serve::start("", &[]);
    let opened = Instant::now();
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| {
            let mut s = TcpStream::connect(address(&serve.url)).expect("connect");
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    // An idle keep-alive connection, after one whole answer.
    let mut idle = TcpStream::connect(address(&serve.url)).unwrap();
    idle.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let mut open_midway = 0;
    // One byte per connection every 2 s, for 13 s: past the deadline.
    while opened.elapsed() < Duration::from_secs(13) {
        for stream in &mut slow {
            let _ = stream.write_all(b"a");
        }
        if open_midway == 0 && opened.elapsed() > Duration::from_secs(4) {
            // Meanwhile an ordinary call is served.
            assert_eq!(serve.call("GET", "/api/connectors", None).status, 200);
            open_midway = slow.iter().filter(|s| !closed(s)).count();
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let still_open = slow.iter().filter(|s| !closed(s)).count();
    eprintln!("slowloris: {open_midway} of {SLOW} open after ~4 s, {still_open} after 13 s (deadline 10 s)");
    assert_eq!(
        open_midway, SLOW,
        "the connections were held until the deadline"
    );
    assert_eq!(still_open, 0, "dribbling connections outlived the deadline");
    assert!(
        closed(&idle),
        "an idle keep-alive connection outlived the deadline"
    );
    assert_eq!(serve.call("GET", "/api/connectors", None).status, 200);
}

#[test]
fn connections_past_the_per_client_bound_are_refused_while_other_clients_are_served() {
    const BOUND: usize = 20;
    let serve = Serve::start(&format!("max_connections_per_client = {BOUND}\n"), &[]);
    let mut held: Vec<TcpStream> = (0..BOUND)
        .map(|_| connect_from("127.0.0.1", &serve.url).unwrap())
        .collect();
    // Each is served: a whole request on the last gets its answer.
    let request = "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
    held[BOUND - 1].write_all(request.as_bytes()).unwrap();
    let mut answer = [0u8; 12];
    held[BOUND - 1].read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    // One more from the same address: a 503, then closed, unread.
    let close = "GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let refused = raw_call_from("127.0.0.1", &serve.url, close);
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("too many open connections from your address"));
    // Another address is served.
    let other = raw_call_from("127.0.0.2", &serve.url, close);
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // A connection closed frees its place.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let again = raw_call_from("127.0.0.1", &serve.url, close);
        if again.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the place was not freed: {again}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(held.iter().all(|s| !closed(s)), "the held ones stay open");
}
