//! `notes-api`: a tiny notes API on loopback, for the example connector of the
//! README's "Write your own connector" guide and its test.
//!
//! ```text
//! notes-api --key SECRET [--port 0]     # prints its URL, then serves until stopped
//! GET  /v1/notes?limit=N&cursor=K       → {"notes": [...], "next": "/v1/notes?…" | null}
//! POST /v1/notes {"text": "…"}          → 201 {"id", "text", "created_at"}
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

fn route(method: &str, target: &str, body: &[u8], notes: &mut Vec<Value>) -> (u16, Value) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<usize>().ok())
    };
    match (method, path.strip_prefix("/v1/notes")) {
        ("GET", Some("")) => {
            let limit = param("limit").unwrap_or(20).clamp(1, 100);
            let start = param("cursor").unwrap_or(0).min(notes.len());
            let end = (start + limit).min(notes.len());
            let next = (end < notes.len()).then(|| format!("/v1/notes?limit={limit}&cursor={end}"));
            (200, json!({"notes": notes[start..end], "next": next}))
        }
        ("POST", Some("")) => {
            let text = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|b| b["text"].as_str().map(str::to_owned));
            match text.filter(|t| !t.trim().is_empty()) {
                Some(text) => {
                    let note = json!({"id": format!("n{}", notes.len() + 1), "text": text,
                                      "created_at": "2026-01-01T00:00:00Z"});
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
