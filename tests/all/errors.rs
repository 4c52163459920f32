//! The API's errors reach the user as typed activity errors with clear
//! messages and exit code 1: 400, 401, 403, 404, 409, 429 and 5xx.

use connector_tests::*;
use serde_json::json;

#[test]
fn validation_error_is_invalid_input() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    // A custom field the account does not have: only the API can know, and it answers 400.
    let unknown = "3f2c1c3e-5d5e-4b8e-9a55-000000000000";
    let out = run(
        &connection,
        "create-contact",
        &json!({"create_source": "account", "first_name": "Ada",
                "custom_fields": [{"custom_field_id": unknown, "value": "x"}]}),
    );
    out.fails_with(
        1,
        &["invalid input", "HTTP 400", "contacts.api.validation.error"],
    );
}

#[test]
fn unknown_token_is_unauthorized_with_a_hint() {
    let sandbox = Sandbox::start();
    let connection =
        ConnectionFile::constant_contact_with(&sandbox, "canary-client-secret-9d42aa", "");
    let out = run(&connection, "list-contact-lists", &json!({}));
    out.fails_with(7, &["unauthorized", "HTTP 401", "hint:"]);
}

#[test]
fn missing_scope_is_forbidden() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--token", "reader-token=account_read"]);
    let connection = ConnectionFile::constant_contact_with(&sandbox, "reader-token", "");
    run(&connection, "create-contact-list", &json!({"name": "x"}))
        .fails_with(7, &["forbidden", "HTTP 403", "contact_data"]);
    // The same token may still do what its scope allows.
    assert!(run(&connection, "list-account-emails", &json!({})).ok()["emails"].is_array());
}

#[test]
fn unknown_contact_is_not_found() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let out = run(
        &connection,
        "get-contact",
        &json!({"contact_id": "3f2c1c3e-5d5e-4b8e-9a55-000000000000"}),
    );
    out.fails_with(1, &["not found", "HTTP 404"]);
}

#[test]
fn duplicate_email_is_a_conflict_even_after_delete() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    let input =
        json!({"email_address": {"address": "dup@example.com"}, "create_source": "account"});
    let first = run(&connection, "create-contact", &input).ok();
    run(&connection, "create-contact", &input)
        .fails_with(1, &["conflict", "HTTP 409", "contacts.api.conflict"]);
    let id = first["contact_id"].as_str().unwrap();
    sandbox.api("DELETE", &format!("/v3/contacts/{id}"), None);
    run(&connection, "create-contact", &input).fails_with(1, &["conflict", "HTTP 409"]);
}

/// Uses up the token's per-second budget (on another endpoint), so the next call is refused.
fn fill_window(sandbox: &Sandbox) {
    for _ in 0..5 {
        sandbox.api("GET", "/v3/account/emails", None);
    }
}

/// Keeps the budget used up until `done`: refused requests count too, so
/// steady sending holds the limit shut.
fn hammer(sandbox: &Sandbox, done: impl Fn(&[serde_json::Value]) -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done(&sandbox.requests()) && std::time::Instant::now() < deadline {
        sandbox.api("GET", "/v3/account/emails", None);
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
}

fn throttled_list_call(log: &[serde_json::Value]) -> bool {
    log.iter()
        .any(|r| r["path"] == "/v3/contact_lists" && r["status"] == 429)
}

#[test]
fn rate_limit_is_reported_for_unsafe_activities_and_retried_for_safe_ones() {
    let sandbox = Sandbox::start_with(&["--token", &format!("{TOKEN}={ALL_SCOPES}")]);
    let connection = ConnectionFile::constant_contact(&sandbox);
    fill_window(&sandbox);
    std::thread::scope(|s| {
        let create = s.spawn(|| {
            run(
                &connection,
                "create-contact-list",
                &json!({"name": "too fast"}),
            )
        });
        hammer(&sandbox, |_| create.is_finished());
        create
            .join()
            .unwrap()
            .fails_with(1, &["rate limited", "HTTP 429", "throttled"]);
    });
    ureq::delete(&format!("{}/__sandbox/requests", sandbox.url))
        .call()
        .unwrap();
    fill_window(&sandbox);
    std::thread::scope(|s| {
        let list = s.spawn(|| run(&connection, "list-contact-lists", &json!({})));
        // Throttle until the connector's first attempt was refused, then let it retry.
        hammer(&sandbox, throttled_list_call);
        let lists = list.join().unwrap().ok();
        assert!(
            lists["lists"].is_array(),
            "a retry-safe activity is retried after 429: {lists}"
        );
    });
    let statuses: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/v3/contact_lists")
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses.first(), Some(&json!(429)));
    assert_eq!(statuses.last(), Some(&json!(200)));
}

#[test]
fn server_errors_are_upstream_errors() {
    let sandbox = Sandbox::start();
    let connection = ConnectionFile::constant_contact(&sandbox);
    sandbox.control(
        "faults",
        json!({"path": "/v3/contact_lists", "status": 503, "count": 1}),
    );
    run(&connection, "list-contact-lists", &json!({})).fails_with(1, &["upstream", "HTTP 503"]);
    assert!(run(&connection, "list-contact-lists", &json!({})).ok()["lists"].is_array());
}

#[test]
fn slow_api_hits_the_call_deadline() {
    let sandbox = Sandbox::start();
    let connection =
        ConnectionFile::constant_contact_with(&sandbox, TOKEN, "[limits]\ntimeout_seconds = 1\n");
    sandbox.control(
        "faults",
        json!({"path": "/v3/contact_lists", "delay_ms": 5000, "count": 1}),
    );
    run(&connection, "list-contact-lists", &json!({})).fails_with(5, &["deadline of 1s"]);
}
