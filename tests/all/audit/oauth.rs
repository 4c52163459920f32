//! The CLI's OAuth trail: `connect` issues tokens, a 401 refreshes them, a
//! revoked refresh token is refused; never a token in the file.

use std::path::Path;

use connector_tests::*;
use serde_json::{json, Value};

use super::{event, lines, verify};

/// `args` with the trail going to `audit` and the tokens in the connection's data dir.
fn audited(connection: &ConnectionFile, args: &[&str], audit: &Path) -> Run {
    let (key, dir) = data_env(connection);
    let trail = audit.display().to_string();
    host_env(
        args,
        &[(key, dir.as_str()), ("CONNECTOR_HOST_AUDIT_LOG", &trail)],
    )
}

/// The token records (path and contents) the connection keeps.
fn token_files(connection: &ConnectionFile) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let dir = connection.dir().join("data/tokens");
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap()))
        .collect()
}

#[test]
fn connect_refresh_and_a_refused_refresh_are_audited_without_a_token() {
    let sandbox = Sandbox::start();
    let app = App::register(&sandbox, "rotating", true);
    let connection = app.connection(&sandbox, "");
    let audit = connection.dir().join("oauth-audit.log");
    let trail = audit.display().to_string();
    let connecting =
        Connecting::start_env(&connection, &[], &[("CONNECTOR_HOST_AUDIT_LOG", &trail)]);
    let location = signin::sign_in(&sandbox.url, &connecting.prompt, "verify");
    ureq::get(&location)
        .call()
        .expect("the loopback redirect answers");
    assert_eq!(connecting.finish().code, 0);
    let conn = connection.path.display().to_string();
    let run = ["run", conn.as_str(), "list-contact-lists"];
    let mut seen = token_values(&connection);
    let kept = token_files(&connection);
    sandbox.control("tokens/revoke", json!({"token": seen[0]}));
    assert_eq!(
        audited(&connection, &run, &audit).code,
        0,
        "refreshed on the 401"
    );
    let now = token_values(&connection);
    sandbox.control("tokens/revoke", json!({"token": now[0]}));
    seen.extend(now);
    // The record from before the refresh: its (rotating) refresh token is spent.
    for (path, text) in kept {
        std::fs::write(path, text).unwrap();
    }
    assert_eq!(
        audited(&connection, &run, &audit).code,
        7,
        "needs connecting again"
    );

    let text = std::fs::read_to_string(&audit).unwrap();
    for token in &seen {
        assert!(!text.contains(token.as_str()), "a token is in the trail");
    }
    let lines = lines(&audit);
    let name = connection
        .path
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let issued = event(
        &lines,
        "oauth.token.issued",
        &json!({"connection": name, "how": "browser"}),
    );
    assert_eq!(issued["actor"]["kind"], "cli");
    assert_eq!(issued["process"]["front_end"], "connect");
    event(
        &lines,
        "connection.connect",
        &json!({"connection": name, "outcome": "connected"}),
    );
    event(
        &lines,
        "oauth.token.refreshed",
        &json!({"connection": name}),
    );
    let refused = event(&lines, "oauth.token.refused", &json!({"connection": name}));
    assert_eq!(
        refused["fields"]["reason"],
        Value::from("invalid_grant"),
        "{refused}"
    );
    let needs = event(&lines, "activity.run", &json!({"result": "needs_connect"}));
    assert_eq!(
        needs["fields"]["call"], refused["fields"]["call"],
        "the refusal names its call"
    );
    assert_eq!(verify(&[&audit], &[]).code, 0);
}
