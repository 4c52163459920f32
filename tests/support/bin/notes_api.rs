//! `notes-api`: a tiny notes API on loopback, for the example connector of the
//! README's "Write your own connector" guide and its test.
//!
//! ```text
//! notes-api --key SECRET [--port 0]     # prints its URL, then serves until stopped
//! GET  /v1/notes?limit=N&cursor=K       → {"notes": [...], "next": "/v1/notes?…" | null, "latest": N}
//! GET  /v1/notes?after=N[&created_after=T] → the notes after `nN` (created after T), oldest first
//! POST /v1/notes {"text": "…"}          → 201 {"id": "n1", "text", "created_at"}
//! GET  /v1/notes/{id}                   → 200 note | 404 {"message": "…"}
//! ```
//!
//! Every request needs `Authorization: Bearer SECRET`, else 401. Errors are
//! `{"message": …}`.
//! One request per connection; the state lives as long as the process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};

use serde_json::{json, Value};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let key = arg("--key").unwrap_or_else(|| {
        eprintln!("notes-api: give --key SECRET (the bearer token clients must send)");
        std::process::exit(2)
    });
    let port = arg("--port").unwrap_or_else(|| "0".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).expect("bind a loopback port");
    println!("http://{}", listener.local_addr().expect("local address"));
    let mut notes: Vec<Value> = Vec::new();
    for stream in listener.incoming().flatten() {
        serve(stream, &key, &mut notes);
    }
}

/// Reads one request, answers it, closes the connection.
fn serve(stream: TcpStream, key: &str, notes: &mut Vec<Value>) {
    let Ok(mut reader) = stream.try_clone().map(BufReader::new) else {
        return;
    };
    let mut line = String::new();
    let _ = reader.read_line(&mut line);
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("/").to_owned(),
    );
    let (mut length, mut authorized) = (0, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorized = value.trim().strip_prefix("Bearer ") == Some(key),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let (status, reply) = if authorized {
        route(&method, &target, &body, notes)
    } else {
        (401, json!({"message": "missing or wrong API key"}))
    };
    let reply = reply.to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
        if status < 300 { "OK" } else { "Error" },
        reply.len()
    );
}

/// A percent-encoded query value, decoded.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(method: &str, target: &str, body: &[u8], notes: &mut Vec<Value>) -> (u16, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let text = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
    };
    let param = |name: &str| text(name).and_then(|v| v.parse::<usize>().ok());
    let latest = notes.len();
    match (method, path.strip_prefix("/v1/notes")) {
        ("GET", Some("")) if text("after").is_some() => {
            let limit = param("limit").unwrap_or(20).clamp(1, 100);
            let Some(after) = param("after") else {
                return (400, json!({"message": "after must be a note number"}));
            };
            let since = text("created_after").map(decode);
            let since = match since.as_deref().map(chrono::DateTime::parse_from_rfc3339) {
                None => None,
                Some(Ok(t)) => Some(t.with_timezone(&chrono::Utc)),
                Some(Err(_)) => return (400, json!({"message": "created_after must be RFC 3339"})),
            };
            let created = |n: &Value| {
                n["created_at"]
                    .as_str()
                    .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
            };
            let found: Vec<&Value> = notes
                .iter()
                .skip(after.min(latest))
                .filter(|n| since.is_none_or(|s| created(n).is_some_and(|c| c > s)))
                .collect();
            let next = (found.len() > limit).then(|| "more".to_owned());
            let page: Vec<&Value> = found.into_iter().take(limit).collect();
            (200, json!({"notes": page, "next": next, "latest": latest}))
        }
        ("GET", Some("")) => {
            let limit = param("limit").unwrap_or(20).clamp(1, 100);
            let start = param("cursor").unwrap_or(0).min(notes.len());
            let end = (start + limit).min(notes.len());
            let next = (end < notes.len()).then(|| format!("/v1/notes?limit={limit}&cursor={end}"));
            (
                200,
                json!({"notes": notes[start..end], "next": next, "latest": latest}),
            )
        }
        ("POST", Some("")) => {
            let text = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|b| b["text"].as_str().map(str::to_owned));
            match text.filter(|t| !t.trim().is_empty()) {
                Some(text) => {
                    let now =
                        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    let note = json!({"id": format!("n{}", notes.len() + 1), "text": text,
                                      "created_at": now});
                    notes.push(note.clone());
                    (201, note)
                }
                None => (400, json!({"message": "text is required"})),
            }
        }
        ("GET", Some(id)) => match notes
            .iter()
            .find(|n| format!("/{}", n["id"].as_str().unwrap_or("")) == id)
        {
            Some(note) => (200, note.clone()),
            None => (
                404,
                json!({"message": format!("note {} not found", id.trim_start_matches('/'))}),
            ),
        },
        _ => (404, json!({"message": format!("no route {method} {path}")})),
    }
}
