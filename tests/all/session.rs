//! The call pipeline seen from the CLI: the client-side rate limiter per
//! token, `--batch --concurrency` keeping input order, and the same error
//! class (and exit code) for the same failure whatever the credential.

use connector_tests::*;
use serde_json::{json, Value};

/// The sandbox with its real limit of 4 requests per second per token.
fn rate_limited_sandbox() -> Sandbox {
    Sandbox::start_with(&["--token", &format!("{TOKEN}={ALL_SCOPES}")])
}

fn statuses(sandbox: &Sandbox) -> Vec<u64> {
    sandbox
        .requests()
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .collect()
}

#[test]
fn concurrent_batch_calls_keep_input_order_and_stay_under_the_rate_limit() {
    let sandbox = rate_limited_sandbox();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let names: Vec<String> = (0..12).map(|i| format!("List {i:02}")).collect();
    let lines: String = names
        .iter()
        .map(|n| json!({"name": n}).to_string() + "\n")
        .collect();
    let file = connection.dir().join("lists.ndjson");
    std::fs::write(&file, lines).unwrap();
    let started = std::time::Instant::now();
    let out = host(&[
        "run",
        &connection.path.display().to_string(),
        "create-contact-list",
        "--batch",
        "--concurrency",
        "8",
        "--input",
        &format!("@{}", file.display()),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    let got: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["ok"]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(got, names, "results come in input order");
    let statuses = statuses(&sandbox);
    assert_eq!(statuses.len(), 12, "one request per call: {statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 200),
        "no 429 was collected: {statuses:?}"
    );
    // 12 requests at 4 per second need at least two further windows.
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_connection_may_set_its_own_rate_limit() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact_with(
        &sandbox,
        TOKEN,
        "[limits]\nrate_limits = [{ requests = 2, seconds = 1 }]\n",
    );
    let file = connection.dir().join("in.ndjson");
    std::fs::write(&file, "{}\n".repeat(5)).unwrap();
    let started = std::time::Instant::now();
    let out = host(&[
        "run",
        &connection.path.display().to_string(),
        "list-user-privileges",
        "--batch",
        "--concurrency",
        "5",
        "--input",
        &format!("@{}", file.display()),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "5 at 2 per second take two windows"
    );
}

#[test]
fn a_static_token_lacking_a_scope_fails_like_an_oauth_connection() {
    // See: issue 8 ("today exit 1, while the README says 7").
    let sandbox = Sandbox::start_with(&[
        "--no-rate-limit",
        "--token",
        "reader-token-1234=account_read",
    ]);
    let connection = ConnectionFile::constant_contact_with(&sandbox, "reader-token-1234", "");
    run(&connection, "list-contact-lists", &json!({})).fails_with(7, &["forbidden", "HTTP 403"]);
}

#[test]
fn connections_sharing_a_credential_share_one_rate_limit_in_a_process() {
    // Two connections on one token in one `serve`: each kept the declared 4
    // per second, together 8, and the API answered 429. See: issue 15.
    let sandbox = rate_limited_sandbox();
    let serve = connector_tests::serve::Serve::start("", &[]);
    for name in ["shared-a", "shared-b"] {
        std::fs::write(
            serve.connection_file(name),
            format!(
                "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
                component("cc_connector").display().to_string(),
                sandbox.url
            ),
        )
        .unwrap();
    }
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..16)
        .map(|i| {
            let name = if i % 2 == 0 { "shared-a" } else { "shared-b" };
            let (url, name) = (serve.url.clone(), name.to_owned());
            std::thread::spawn(move || {
                let path = format!("{url}/api/connections/{name}/activities/list-user-privileges");
                match ureq::post(&path)
                    .set(
                        "Authorization",
                        &format!("Bearer {}", connector_tests::serve::API_TOKEN),
                    )
                    .send_string("{}")
                {
                    Ok(r) | Err(ureq::Error::Status(_, r)) => r.status(),
                    Err(e) => panic!("{e}"),
                }
            })
        })
        .collect();
    let answered: Vec<u16> = calls.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(answered.iter().all(|s| *s == 200), "{answered:?}");
    let statuses = statuses(&sandbox);
    assert_eq!(statuses.len(), 16, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200),
        "the API never had to refuse one: {statuses:?}"
    );
    // 16 requests at 4 per second in all: at least three further windows.
    assert!(started.elapsed() >= std::time::Duration::from_secs(3));
}
