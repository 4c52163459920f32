//! Subscriptions in `serve` (issue 19): the example connector's
//! `note-created` trigger polled through the pipeline, its events delivered
//! to a real receiver that verifies every delivery with the official
//! Standard Webhooks library (`tests/webhooks/receiver.py`); retries,
//! order, dead letters and replay, a SIGKILL between a poll and its
//! delivery, two replicas, the webhook URL's address rules, and no secret in
//! any delivery, answer or log.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connector_tests::serve::Serve;

use crate::example::NotesApi;
use connector_tests::*;
use serde_json::{json, Value};

/// The notes API's key: a canary, so no output may show it.
const KEY: &str = CANARIES[1];

/// A running `notes-api`, stopped when dropped.
/// The receiver (Python, `standardwebhooks`), stopped when dropped.
struct Receiver {
    child: Child,
    url: String,
    secret_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start() -> Receiver {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("secret");
        let script = root().join("tests/webhooks/receiver.py");
        let (child, url) = started(
            Command::new("python3")
                .arg(script)
                .args(["--secret-file", &secret_file.display().to_string()]),
        );
        Receiver {
            child,
            url,
            secret_file,
            _dir: dir,
        }
    }

    fn set_secret(&self, secret: &str) {
        std::fs::write(&self.secret_file, secret).unwrap();
    }

    /// What it answers to deliveries from now on.
    fn answer_with(&self, status: u16) {
        ureq::post(&format!("{}/_control", self.url))
            .send_json(json!({ "status": status }))
            .unwrap();
    }

    /// Every delivery so far, in arrival order (checked for canaries).
    fn deliveries(&self) -> Vec<Value> {
        let text = ureq::get(&format!("{}/_deliveries", self.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        assert_no_canary(&text);
        serde_json::from_str(&text).unwrap()
    }

    /// The ids of the deliveries it accepted (verified, answered 2xx).
    fn accepted(&self) -> Vec<String> {
        self.deliveries()
            .iter()
            .filter(|d| d["verified"] == true && d["status"].as_u64() < Some(300))
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Sends `body` with `headers` to `path` as a replaying attacker would.
    fn resend(&self, path: &str, headers: &Value, body: &str) -> u16 {
        let mut request = ureq::post(&format!("{}{path}", self.url));
        for (name, value) in headers.as_object().unwrap() {
            request = request.set(name, value.as_str().unwrap());
        }
        match request.send_string(body) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r.status(),
            Err(e) => panic!("resend: {e}"),
        }
    }
}

/// Starts a child that prints its URL first; the child and the URL.
fn started(command: &mut Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().expect("start");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("http://127.0.0.1:"), "{line:?}");
    (child, line.trim().to_owned())
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The serve config: the notes API as the endpoint, the receiver allowed
/// (plain http on loopback), and short retries and leases.
fn config(notes: &NotesApi, receiver: &Receiver, attempts: u32) -> String {
    format!(
        "[endpoints]\n\"https://notes.example\" = \"{}\"\n[events]\nwebhook_destinations = [\"{}\"]\nretry_first_ms = 200\nretry_max_ms = 800\nattempts = {attempts}\nlease_seconds = 3\ntick_ms = 100\n",
        notes.url, receiver.url
    )
}

/// A server with the example connector and connection `notes`.
fn serve_notes(config: &str) -> Serve {
    let serve = Serve::start(config, &[]);
    std::fs::copy(
        component("example_connector"),
        serve.dir().join("connectors/example_connector.wasm"),
    )
    .unwrap();
    let draft = json!({"name": "notes", "connector": "notes", "fields": {"token": {"value": KEY}}});
    let created = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
    serve
}

/// Subscribes `receiver` to `note-created` on `notes`; the answer.
fn subscribe(serve: &Serve, receiver: &Receiver) -> Value {
    subscribe_every(serve, receiver, 1)
}

/// As [`subscribe`], polling every `seconds`.
fn subscribe_every(serve: &Serve, receiver: &Receiver, seconds: u32) -> Value {
    let body = json!({"trigger": "note-created", "url": format!("{}/hook", receiver.url),
        "interval_seconds": seconds, "since": "2000-01-01T00:00:00Z"});
    let created = serve.call("POST", "/api/connections/notes/subscriptions", Some(&body));
    assert_eq!(created.status, 201, "{created:#?}");
    let secret = created.json["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{}", created.json);
    receiver.set_secret(secret);
    created.json
}

fn note(serve: &Serve, text: &str) {
    let path = "/api/connections/notes/activities/create-note";
    let made = serve.call("POST", path, Some(&json!({ "text": text })));
    assert_eq!(made.status, 200, "{made:#?}");
}

/// Polls `check` every 100 ms for up to 30 s.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} never happened"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The texts of the accepted deliveries' notes, in order.
fn texts(receiver: &Receiver) -> Vec<String> {
    receiver
        .deliveries()
        .iter()
        .filter(|d| {
            d["verified"] == true && d["status"].as_u64() < Some(300) && d["duplicate"] == false
        })
        .map(|d| {
            d["event"]["data"]["note"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn deliveries_verify_with_the_standard_webhooks_library_and_a_tampered_or_replayed_one_is_refused()
{
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let mut serve = serve_notes(&config(&notes, &receiver, 5));
    let created = subscribe(&serve, &receiver);
    let secret = created["secret"].as_str().unwrap().to_owned();
    for text in ["first", "second", "third"] {
        note(&serve, text);
    }
    eventually("three deliveries", || texts(&receiver).len() == 3);
    assert_eq!(texts(&receiver), ["first", "second", "third"], "in order");
    let deliveries = receiver.deliveries();
    assert!(
        deliveries.iter().all(|d| d["verified"] == true),
        "{deliveries:#?}"
    );
    let event = &deliveries[0]["event"];
    assert_eq!(event["type"], "note-created", "{event}");
    assert_eq!(event["connection"], "notes");
    assert!(
        event.get("tenant").is_none(),
        "the default tenant is not named: {event}"
    );
    assert!(
        event["timestamp"].is_string() && event["data"]["id"].is_string(),
        "{event}"
    );
    // The same delivery again, as an attacker who captured it would send it.
    let captured = &deliveries[0];
    let headers = json!({"webhook-id": captured["id"], "webhook-timestamp": captured["timestamp"],
        "webhook-signature": captured["signature"], "content-type": "application/json"});
    let body = captured["body"].as_str().unwrap();
    let tampered = body.replace("first", "fir5t");
    assert_eq!(
        receiver.resend("/hook", &headers, &tampered),
        400,
        "tampered"
    );
    assert_eq!(
        receiver.resend("/late/hook", &headers, body),
        400,
        "replayed later"
    );
    let mut moved = headers.clone();
    moved["webhook-timestamp"] = json!((captured["timestamp"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap()
        + 60)
        .to_string());
    assert_eq!(
        receiver.resend("/hook", &moved, body),
        400,
        "a new timestamp on an old signature"
    );
    let all = receiver.deliveries();
    let refused = &all[3..];
    assert!(
        refused.iter().all(|d| d["verified"] == false),
        "{refused:#?}"
    );
    assert!(refused[0]["error"]
        .as_str()
        .unwrap()
        .contains("No matching signature"));
    assert!(refused[1]["error"].as_str().unwrap().contains("too old"));
    // The secret was in the creating answer only.
    let id = created["id"].as_str().unwrap();
    for path in [
        "/api/connections/notes/subscriptions".to_owned(),
        format!("/api/connections/notes/subscriptions/{id}"),
        format!("/api/connections/notes/subscriptions/{id}/dead-letters"),
    ] {
        let answer = serve.call("GET", &path, None);
        assert_eq!(answer.status, 200, "{path}");
        assert!(
            !answer.text.contains(&secret) && !answer.text.contains("whsec_"),
            "{path}: {}",
            answer.text
        );
    }
    let listed = serve
        .call(
            "GET",
            &format!("/api/connections/notes/subscriptions/{id}"),
            None,
        )
        .json;
    assert_eq!(listed["delivered"], 3, "{listed}");
    let (_, stderr) = serve.stop();
    assert!(
        !stderr.contains(&secret),
        "the webhook secret is in the log"
    );
    assert!(stderr.contains("delivered"), "deliveries are logged");
}

#[test]
fn a_webhook_url_at_loopback_private_or_metadata_addresses_is_refused_unless_allowed() {
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let serve = serve_notes(&config(&notes, &receiver, 5));
    let port = receiver
        .url
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    for (url, says) in [
        ("https://127.0.0.1/hook".to_owned(), "not a public address"),
        ("https://localhost/hook".to_owned(), "not a public address"),
        ("https://10.1.2.3/hook".to_owned(), "not a public address"),
        (
            "https://192.168.0.10/hook".to_owned(),
            "not a public address",
        ),
        (
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "not a public address",
        ),
        (
            "https://[::ffff:169.254.169.254]/x".to_owned(),
            "not a public address",
        ),
        ("http://hooks.example.com/hook".to_owned(), "must be https"),
        (
            format!("http://127.0.0.1:{}/hook", port + 1),
            "must be https",
        ),
        (
            "https://user:pw@hooks.example.com/".to_owned(),
            "without user name",
        ),
    ] {
        let body = json!({"trigger": "note-created", "url": url});
        let refused = serve.call("POST", "/api/connections/notes/subscriptions", Some(&body));
        assert_eq!(refused.status, 422, "{url}: {refused:#?}");
        assert!(refused.text.contains(says), "{url}: {}", refused.text);
    }
    // A setting the trigger does not take is refused when the subscription is made.
    let body = json!({"trigger": "note-created", "url": format!("{}/hook", receiver.url),
        "settings": {"list_id": "1"}});
    let refused = serve.call("POST", "/api/connections/notes/subscriptions", Some(&body));
    assert_eq!(refused.status, 422, "{refused:#?}");
    assert!(
        refused.text.contains("settings.list_id"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("this trigger takes no settings"),
        "{}",
        refused.text
    );
    let listed = serve
        .call("GET", "/api/connections/notes/subscriptions", None)
        .json;
    assert_eq!(listed["subscriptions"], json!([]), "nothing was made");
    // The operator's allowance (the receiver's exact origin) lets it pass.
    subscribe(&serve, &receiver);
}

#[test]
fn a_receiver_that_is_down_gets_retries_with_backoff_and_then_every_event_in_order() {
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let serve = serve_notes(&config(&notes, &receiver, 50));
    receiver.answer_with(503);
    let created = subscribe(&serve, &receiver);
    for text in ["one", "two", "three"] {
        note(&serve, text);
    }
    eventually("several attempts", || receiver.deliveries().len() >= 4);
    let attempts = receiver.deliveries();
    let first = attempts[0]["id"].clone();
    assert!(
        attempts.iter().all(|d| d["id"] == first),
        "only the oldest is tried while it fails: {attempts:#?}"
    );
    assert!(
        attempts.iter().all(|d| d["verified"] == true),
        "each retry is signed afresh"
    );
    let gaps: Vec<f64> = attempts
        .windows(2)
        .map(|w| w[1]["received"].as_f64().unwrap() - w[0]["received"].as_f64().unwrap())
        .collect();
    assert!(gaps.iter().all(|g| *g >= 0.09), "a retry waits: {gaps:?}");
    let path = format!(
        "/api/connections/notes/subscriptions/{}",
        created["id"].as_str().unwrap()
    );
    let view = serve.call("GET", &path, None).json;
    assert_eq!(view["state"], "retrying", "{view}");
    assert!(
        view["last_error"].as_str().unwrap().contains("HTTP 503"),
        "{view}"
    );
    receiver.answer_with(200);
    eventually("all three delivered", || texts(&receiver).len() == 3);
    assert_eq!(texts(&receiver), ["one", "two", "three"]);
    assert_eq!(
        receiver.accepted()[0],
        first.as_str().unwrap(),
        "the same id after the retries"
    );
}

#[test]
fn a_permanently_failing_event_becomes_a_dead_letter_and_replays_on_request() {
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let serve = serve_notes(&config(&notes, &receiver, 3));
    receiver.answer_with(500);
    let created = subscribe(&serve, &receiver);
    let path = format!(
        "/api/connections/notes/subscriptions/{}",
        created["id"].as_str().unwrap()
    );
    note(&serve, "doomed");
    eventually("a dead letter", || {
        serve.call("GET", &path, None).json["dead_letters"] == 1
    });
    assert_eq!(
        receiver.deliveries().len(),
        3,
        "three attempts, then no more"
    );
    let dead = serve
        .call("GET", &format!("{path}/dead-letters"), None)
        .json;
    let letter = &dead["dead_letters"][0];
    assert_eq!(letter["attempts"], 3, "{dead}");
    assert_eq!(letter["event"]["data"]["note"]["text"], "doomed", "{dead}");
    assert!(
        letter["last_error"].as_str().unwrap().contains("HTTP 500"),
        "{dead}"
    );
    receiver.answer_with(200);
    let replayed = serve.call(
        "POST",
        &format!("{path}/dead-letters/replay"),
        Some(&json!({})),
    );
    assert_eq!(replayed.json["replayed"], 1, "{replayed:#?}");
    eventually("the replay delivered", || texts(&receiver) == ["doomed"]);
    assert_eq!(
        receiver.accepted(),
        [letter["id"].as_str().unwrap()],
        "with its id"
    );
    assert_eq!(serve.call("GET", &path, None).json["dead_letters"], 0);
}

#[test]
fn a_server_killed_between_a_poll_and_its_delivery_delivers_the_same_events_after_a_restart() {
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let config = config(&notes, &receiver, 50);
    let first = serve_notes(&config);
    receiver.answer_with(503);
    subscribe(&first, &receiver);
    note(&first, "before the crash");
    note(&first, "also before");
    // An attempt proves the poll was kept; then the process dies at once.
    eventually("an attempt", || !receiver.deliveries().is_empty());
    let tried = receiver.deliveries()[0]["id"].as_str().unwrap().to_owned();
    Command::new("kill")
        .args(["-KILL", &first.pid().unwrap().to_string()])
        .status()
        .unwrap();
    receiver.answer_with(200);
    let second = Serve::replica(&first, &config, &[]);
    eventually("delivery after the restart", || texts(&receiver).len() == 2);
    assert_eq!(
        texts(&receiver),
        ["before the crash", "also before"],
        "none lost, in order"
    );
    assert_eq!(
        receiver.accepted()[0],
        tried,
        "the same id as before the crash"
    );
    drop(second);
}

#[test]
fn two_replicas_deliver_each_event_once() {
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let config = config(&notes, &receiver, 5);
    let first = serve_notes(&config);
    let second = Serve::replica(&first, &config, &[]);
    subscribe(&first, &receiver);
    for i in 0..6 {
        note(
            if i % 2 == 0 { &first } else { &second },
            &format!("note {i}"),
        );
    }
    eventually("six deliveries", || texts(&receiver).len() == 6);
    // Time for a second replica's duplicate to show up, if it would.
    std::thread::sleep(Duration::from_secs(2));
    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 6, "each event once: {deliveries:#?}");
    assert!(deliveries.iter().all(|d| d["duplicate"] == false));
}

#[test]
fn deleting_the_connection_deletes_its_subscriptions_and_their_secrets() {
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let serve = serve_notes(&config(&notes, &receiver, 5));
    let created = subscribe(&serve, &receiver);
    let id = created["id"].as_str().unwrap();
    let secret_file = serve
        .dir()
        .join(format!("connections/.secrets/notes/.webhooks/{id}"));
    assert_eq!(
        unsealed(&secret_file, &serve.dir().join("data")),
        created["secret"].as_str().unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let record = serve.dir().join("connections/.subscriptions/notes.json");
    let kept = unsealed(&record, &serve.dir().join("data"));
    assert!(!kept.contains("whsec_"), "no secret in the record: {kept}");
    // Another tenant sees none of it.
    let token = crate::tenants::issue(&serve, "globex");
    let path = format!("/api/connections/notes/subscriptions/{id}");
    let other = serve.call_as("GET", &path, None, Some(&token));
    assert_eq!(other.status, 404, "{other:#?}");
    assert_eq!(
        serve.call("DELETE", "/api/connections/notes", None).status,
        204
    );
    assert!(
        !secret_file.exists() && !record.exists(),
        "gone with the connection"
    );
    assert_eq!(serve.call("GET", &path, None).status, 404);
}

#[test]
fn replicas_sharing_only_openbao_keep_records_and_secrets_there_and_deliver_each_event_once() {
    use connector_tests::openbao::OpenBao;
    let (notes, receiver, bao) = (NotesApi::start(), Receiver::start(), OpenBao::start());
    let config = format!(
        "connections_store = \"vault\"\n{}[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"platform\"\n",
        config(&notes, &receiver, 5),
        bao.addr
    );
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let first = Serve::start(&config, &env);
    let second = Serve::start(&config, &env);
    for serve in [&first, &second] {
        let connectors = serve.dir().join("connectors/example_connector.wasm");
        std::fs::copy(component("example_connector"), connectors).unwrap();
    }
    let draft = json!({"name": "notes", "connector": "notes", "fields": {"token": {"value": KEY}}});
    assert_eq!(
        first.call("POST", "/api/connections", Some(&draft)).status,
        201
    );
    let created = subscribe(&first, &receiver);
    let (id, secret) = (
        created["id"].as_str().unwrap(),
        created["secret"].as_str().unwrap(),
    );
    let kept = bao.root_ok(
        None,
        "GET",
        &format!("secret/data/platform/webhook-secrets/notes/{id}"),
        None,
    );
    assert_eq!(
        kept["data"]["data"]["value"], secret,
        "the secret is in the store"
    );
    let record = bao.root_ok(
        None,
        "GET",
        "secret/data/platform/subscriptions/notes",
        None,
    );
    let text = record["data"]["data"]["record"].as_str().unwrap();
    assert!(
        text.contains(id) && !text.contains("whsec_"),
        "the record holds no secret: {text}"
    );
    assert!(
        !first.dir().join("connections/.subscriptions").exists(),
        "no file is written"
    );
    for i in 0..4 {
        note(
            if i % 2 == 0 { &first } else { &second },
            &format!("stored {i}"),
        );
    }
    eventually("four deliveries", || texts(&receiver).len() == 4);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.deliveries().len(), 4, "each event once");
    assert_eq!(
        second.call("DELETE", "/api/connections/notes", None).status,
        204
    );
    let path = format!("secret/data/platform/webhook-secrets/notes/{id}");
    let gone = bao.call(&bao.root_token, None, "GET", &path, None).unwrap();
    assert!(!gone.is_success(), "the secret went with the connection");
}

#[test]
fn each_change_is_delivered_within_one_poll_interval() {
    let (notes, receiver) = (NotesApi::start(), Receiver::start());
    let serve = serve_notes(&config(&notes, &receiver, 3));
    subscribe_every(&serve, &receiver, 5);
    let count = 6;
    for i in 0..count {
        note(&serve, &format!("latency {i}"));
        std::thread::sleep(Duration::from_millis(1700));
    }
    eventually("every note delivered", || texts(&receiver).len() == count);
    // From the note's creation (its created_at) to the receiver's clock: one
    // interval at most, plus the poll and the delivery.
    let mut latencies: Vec<f64> = receiver
        .deliveries()
        .iter()
        .filter(|d| d["verified"] == true && d["duplicate"] == false)
        .map(|d| {
            let created = d["event"]["data"]["note"]["created_at"].as_str().unwrap();
            let created = created.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
            d["received"].as_f64().unwrap() - created.timestamp_millis() as f64 / 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "change → delivery at a 5 s interval, {count} notes: p50 {:.2} s, max {:.2} s",
        latencies[count / 2],
        latencies[count - 1]
    );
    assert!(
        latencies[count - 1] < 5.0 + 3.0,
        "a change waited more than one interval: {latencies:?}"
    );
}
