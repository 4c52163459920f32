//! What a new user meets (issue 17): mistakes that used to pass silently
//! are errors that name the fix, in every front end.

use connector_tests::serve::{Serve, API_TOKEN};
use connector_tests::*;
use serde_json::{json, Value};

#[test]
fn an_endpoints_key_the_connector_never_reaches_stops_check_and_run() {
    let sandbox = Sandbox::start();
    // `emial`: without the check, the override was ignored and the call
    // went to the real origin ("host unreachable", exit 1).
    let typo = ConnectionFile::new(
        &component("cc_connector"),
        &format!(
            "[fields]\nclient_id = \"demo-client\"\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.emial\" = \"{}\"\n",
            sandbox.url
        ),
    );
    let file = typo.path.display().to_string();
    let expected = [
        "[endpoints] \"https://api.cc.emial\" is not an origin the connector reaches",
        "hint: use one of: https://api.cc.email, https://authz.constantcontact.com",
    ];
    let check = host(&["check", &file]);
    assert_eq!(check.code, 3, "{check:#?}");
    assert!(
        check.stdout.contains("  endpoints ")
            && check.stdout.contains(&format!("FAILED  {}", expected[0]))
            && check.stdout.contains(&format!("\n      {}", expected[1])),
        "{check:#?}"
    );
    run(&typo, "list-contact-lists", &json!({})).fails_with(3, &expected);
    assert!(sandbox.requests().is_empty(), "nothing was sent");
    // The OAuth server's origin may be redirected (the sandbox signs in there).
    let fine = ConnectionFile::constant_contact_with(
        &sandbox,
        TOKEN,
        &format!(
            "\"https://authz.constantcontact.com\" = \"{}\"\n",
            sandbox.url
        ),
    );
    let check = host(&["check", &fine.path.display().to_string()]);
    assert!(
        check.stdout.contains("OK      https://api.cc.email -> "),
        "{check:#?}"
    );
    run(&fine, "list-contact-lists", &json!({})).ok();
}

#[test]
fn a_token_origin_the_connector_does_not_declare_names_the_ones_it_does() {
    let sandbox = Sandbox::start();
    let typo = ConnectionFile::constant_contact_with(&sandbox, TOKEN, "");
    let text = std::fs::read_to_string(&typo.path).unwrap().replace(
        "[token]\n",
        "[token]\norigins = [\"https://api.cc.emial\"]\n",
    );
    std::fs::write(&typo.path, text).unwrap();
    let expected = [
        "[token] origins: https://api.cc.emial is not an origin the connector declares",
        "hint: use one of: https://api.cc.email",
    ];
    run(&typo, "list-contact-lists", &json!({})).fails_with(3, &expected);
    let check = host(&["check", &typo.path.display().to_string()]);
    assert_eq!(check.code, 3, "{check:#?}");
    assert!(check.stdout.contains(expected[0]), "{check:#?}");
}

/// The API's error body for `method path` sent with `content_type`.
fn raw(serve: &Serve, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let answer = ureq::request(method, &format!("{}{path}", serve.url))
        .set("Authorization", &format!("Bearer {API_TOKEN}"))
        .set("Content-Type", content_type)
        .send_string(body);
    let response = match answer {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = response.status();
    (status, response.into_json().unwrap_or(Value::Null))
}

/// An error answer as a person of the API or the page needs it: its class
/// and remedy, no command line, no path on the server, no secret.
fn assert_worded_for_the_api(serve: &Serve, answer: &Value, class: &str, action: &str) {
    let error = &answer["error"];
    assert_eq!(error["class"], class, "{answer:#}");
    assert_eq!(error["remedy"]["action"], action, "{answer:#}");
    let text = format!("{} {}", error["message"], error["hint"]);
    assert!(!text.contains("connector-host"), "{answer:#}");
    assert!(
        !text.contains(&*serve.dir().to_string_lossy()),
        "{answer:#}"
    );
    assert!(!text.contains("/tmp/"), "{answer:#}");
    assert_no_canary(&text);
}

#[test]
fn every_api_error_is_json_with_its_remedy_and_no_server_path_or_command() {
    let sandbox = Sandbox::start();
    let serve = Serve::start(
        &format!("[endpoints]\n\"https://api.cc.email\" = \"{}\"\n\"https://authz.constantcontact.com\" = \"{}\"\n", sandbox.url, sandbox.url),
        &[],
    );
    crate::serve::create_cc(&serve, "acme", "demo-client", json!({}));
    let call = |path: &str, body: Value| serve.call("POST", path, Some(&body));
    // Not connected: connect, through the page or the API's route.
    let answer = call(
        "/api/connections/acme/activities/list-contact-lists",
        json!({}),
    );
    assert_eq!(answer.status, 409);
    assert_worded_for_the_api(&serve, &answer.json, "needs_connect", "connect");
    let hint = answer.json["error"]["hint"].as_str().unwrap();
    assert!(
        hint.contains("POST /api/connections/acme/connect"),
        "{hint}"
    );
    // A wrong input names its path; an activity spelt with `_` is found.
    std::fs::write(
        serve.connection_file("fixed"),
        format!(
            "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
            component("cc_connector").display().to_string(),
            sandbox.url
        ),
    )
    .unwrap();
    let answer = call(
        "/api/connections/fixed/activities/list-contact-lists",
        json!({"limit": "two"}),
    );
    assert_worded_for_the_api(&serve, &answer.json, "invalid_input", "fix_input");
    assert_eq!(answer.json["error"]["remedy"]["path"], "input.limit");
    let answer = call(
        "/api/connections/fixed/activities/create_contact_list",
        json!({}),
    );
    assert_eq!(answer.status, 404);
    let hint = answer.json["error"]["hint"].as_str().unwrap();
    assert!(
        hint.starts_with("did you mean \"create-contact-list\"?"),
        "{hint}"
    );
    let answer = serve.call("GET", "/api/connections/acm", None);
    assert!(answer.json["error"]["hint"]
        .as_str()
        .unwrap()
        .starts_with("did you mean \"acme\"?"));
    // A field the connector lacks.
    let draft = json!({"name": "x", "connector": "constant-contact",
        "fields": {"client-id": {"value": "demo-client"}}});
    let answer = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(answer.status, 422);
    assert!(
        answer.json["error"]["hint"]
            .as_str()
            .unwrap()
            .starts_with("did you mean \"client_id\"?"),
        "{:#}",
        answer.json
    );
    // A connection file an operator got wrong: no path, the check route.
    std::fs::write(
        serve.connection_file("typo"),
        format!(
            "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.emial\" = \"{}\"\n",
            component("cc_connector").display().to_string(),
            sandbox.url
        ),
    )
    .unwrap();
    let answer = call(
        "/api/connections/typo/activities/list-contact-lists",
        json!({}),
    );
    assert_worded_for_the_api(&serve, &answer.json, "configuration", "fix_connection");
    // A secret from an unset variable: set the field (no asset involved).
    std::fs::write(
        serve.connection_file("unset"),
        format!(
            "connector = {:?}\n[token]\naccess_token = {{ env = \"NEWCOMER_UNSET_TOKEN\" }}\n",
            component("cc_connector").display().to_string(),
        ),
    )
    .unwrap();
    let answer = call(
        "/api/connections/unset/activities/list-contact-lists",
        json!({}),
    );
    assert_worded_for_the_api(&serve, &answer.json, "secret_unresolvable", "set_field");
    assert_eq!(answer.json["error"]["remedy"]["field"], "access_token");
    // What the framework refuses is JSON too: 415 and 405 (with Allow).
    let (status, body) = raw(&serve, "POST", "/api/connections", "text/plain", "{}");
    assert_eq!(status, 415);
    assert_eq!(body["error"]["class"], "unsupported_media_type", "{body:#}");
    let (status, body) = raw(
        &serve,
        "PATCH",
        "/api/connections/acme",
        "application/json",
        "{}",
    );
    assert_eq!(status, 405);
    assert_eq!(body["error"]["class"], "method_not_allowed", "{body:#}");
    assert!(
        body["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("/openapi.json"),
        "{body:#}"
    );
    // A body serde cannot take is refused without quoting what was sent.
    let (status, body) = raw(
        &serve,
        "POST",
        "/api/connections",
        "application/json",
        &format!(
            "{{\"name\": \"y\", \"connector\": \"probe\", \"fields\": {{\"probe_key\": \"{}\"}}}}",
            CANARIES[0]
        ),
    );
    assert!(status == 400 || status == 422, "{status} {body:#}");
    assert!(!body.to_string().contains(CANARIES[0]), "{body:#}");
    // Status and check reports name no path on the server either.
    for (method, route) in [
        ("GET", "/api/connections/acme/status"),
        ("POST", "/api/connections/typo/check"),
    ] {
        let answer = serve.call(method, route, Some(&json!({})));
        assert!(
            !answer.text.contains(&*serve.dir().to_string_lossy()),
            "{route}: {}",
            answer.text
        );
        assert!(!answer.text.contains("/tmp/"), "{route}: {}", answer.text);
        let components = component("cc_connector")
            .parent()
            .unwrap()
            .display()
            .to_string();
        assert!(
            !answer.text.contains(&components),
            "{route}: {}",
            answer.text
        );
    }
    // The list says each connection's state, and names files, not paths.
    let listed = serve.call("GET", "/api/connections", None).json;
    let state = |name: &str| {
        listed["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["status"].clone())
            .unwrap()
    };
    assert_eq!(state("acme"), json!({"state": "not_connected"}));
    assert_eq!(
        state("typo"),
        json!({"state": "broken", "class": "configuration"})
    );
    assert!(
        !listed.to_string().contains(&*serve.dir().to_string_lossy()),
        "{listed:#}"
    );
}

#[test]
fn schemas_carry_the_apis_bounds_and_the_host_refuses_input_outside_them() {
    let sandbox = Sandbox::start();
    let cc = ConnectionFile::constant_contact(&sandbox);
    // Out of the API's 1–500, refused before the connector runs: nothing sent.
    for limit in [0, 501] {
        run(&cc, "list-contacts", &json!({"limit": limit})).fails_with(
            2,
            &[
                "input.limit: at most 500 (maximum)",
                "input.limit: at least 1 (minimum)",
            ][usize::from(limit == 0)..][..1],
        );
    }
    assert!(sandbox.requests().is_empty(), "{:?}", sandbox.requests());
    assert_eq!(run(&cc, "list-contacts", &json!({"limit": 2})).code, 0);
    // The probe never checks `iterations` itself: only the host stops it.
    let probe = ConnectionFile::new(&component("probe_connector"), "");
    run(&probe, "spin", &json!({"iterations": 2_000_000}))
        .fails_with(2, &["input.iterations: at most 1000000 (maximum)"]);
    assert_eq!(
        run(&probe, "spin", &json!({"iterations": 10})).ok()["iterations"],
        10
    );
    // The schemas say so: the bounds, plain optional types, pickers' sources.
    let described = host(&[
        "describe",
        "--json",
        &component("cc_connector").display().to_string(),
    ]);
    let info: Value = serde_json::from_str(&described.stdout).unwrap();
    let activity = |name: &str| {
        info["activities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()["input_schema"]
            .clone()
    };
    let list = activity("list-contacts");
    assert_eq!(
        list["properties"]["limit"],
        json!({"type": "integer", "minimum": 1.0, "maximum": 500.0})
    );
    assert_eq!(list["properties"]["updated_after"]["format"], "date-time");
    assert_eq!(list["properties"]["lists"]["maxItems"], 25);
    assert_eq!(
        list["properties"]["lists"]["items"]["x-source"],
        json!({"activity": "list-contact-lists", "items": "lists", "value": "list_id", "label": "name"})
    );
    let create = activity("create-contact");
    assert_eq!(
        create["properties"]["email_address"]["properties"]["address"]["format"],
        "email"
    );
    // The icon, as an image URL only.
    let serve = Serve::start("", &[]);
    let listed = serve.call("GET", "/api/connectors", None).json;
    let cc_entry = listed["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "constant-contact")
        .unwrap()
        .clone();
    assert!(
        cc_entry["icon"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,"),
        "{cc_entry:#}"
    );
}

#[test]
fn a_refused_vault_login_says_which_token_was_used_and_what_to_set() {
    let bao = connector_tests::openbao::OpenBao::start();
    let cc = ConnectionFile::new(
        &component("cc_connector"),
        &format!(
            "[token]\naccess_token = {{ asset = \"cc-token\", store = \"vault\" }}\n[stores.vault]\naddress = \"{}\"\n",
            bao.addr
        ),
    );
    let file = cc.path.display().to_string();
    let args = ["run", file.as_str(), "list-contact-lists"];
    let home = tempfile::tempdir().unwrap();
    let home_dir = home.path().display().to_string();
    // No VAULT_TOKEN and no ~/.vault-token: say both.
    host_env(&args, &[("HOME", &home_dir)]).fails_with(
        6,
        &[
            "Vault login with no token failed: VAULT_TOKEN is not set and ~/.vault-token does not exist",
            "hint: set VAULT_TOKEN",
        ],
    );
    // A stale token left by an old `vault login`: the file is named.
    std::fs::write(home.path().join(".vault-token"), "s.stale-login-token").unwrap();
    host_env(&args, &[("HOME", &home_dir)]).fails_with(
        6,
        &[
            "Vault login with a token from ~/.vault-token",
            "hint: ~/.vault-token holds a token Vault refuses",
        ],
    );
    // VAULT_TOKEN wins over the file, and is named when refused.
    host_env(
        &args,
        &[("HOME", &home_dir), ("VAULT_TOKEN", "s.revoked-token")],
    )
    .fails_with(
        6,
        &[
            "Vault login with a token from VAULT_TOKEN",
            "hint: VAULT_TOKEN holds a token Vault refuses",
        ],
    );
}
