//! The connection page in a real Chromium, against `connector-host serve`,
//! a real OpenBao and the sandbox: the seed's whole flow (sign in, Add
//! connection with the connector search, a field typed and a secret from a
//! credential asset, Check, Connect through the sandbox's sign-in and SMS
//! pages, Connected, an activity run from the generated form), and a secret
//! typed on the page that goes to the store and leaves the form.
//!
//! Every page the browser shows (as its DOM is at that step) is checked for
//! the canaries, the API token and the real OAuth tokens; serve's stderr is
//! checked on stop.

use std::time::Duration;

use connector_tests::browser::Browser;
use connector_tests::openbao::OpenBao;
use connector_tests::serve::{Serve, API_TOKEN};
use connector_tests::signin;
use connector_tests::*;
use serde_json::{json, Value};

use crate::serve::{endpoints, register_app};

/// Serve's config: a read-write OpenBao store, and the sandbox standing in
/// for the API and the authorization server.
pub(crate) fn config(bao: &OpenBao, sandbox: Option<&Sandbox>) -> String {
    let store = format!(
        "[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
        bao.addr
    );
    format!("{store}{}", sandbox.map(endpoints).unwrap_or_default())
}

/// OpenBao holding the app's client secret (a canary) as credential asset
/// `cc-app`, key `client_secret`.
pub(crate) fn bao_with_app_secret() -> OpenBao {
    let bao = OpenBao::start();
    bao.kv2_put(
        "secret",
        "connectors/cc-app",
        json!({"client_secret": CANARIES[1]}),
    );
    bao
}

/// Checks the page as the browser has it now: no canary, no API token, none of `tokens`.
fn assert_clean(browser: &Browser, step: &str, tokens: &[String]) {
    let html = browser.page_source();
    for (i, canary) in CANARIES.iter().enumerate() {
        assert!(!html.contains(canary), "{step}: canary #{i} is in the page");
    }
    assert!(
        !html.contains(API_TOKEN),
        "{step}: the API token is in the page"
    );
    for (i, token) in tokens.iter().enumerate() {
        assert!(
            !html.contains(token.as_str()),
            "{step}: OAuth token #{i} is in the page"
        );
    }
}

/// Signs in to the page with the API token; checks that the tab holds the
/// page session's secret and that script can read no cookie.
pub(crate) fn sign_in(browser: &Browser, serve: &Serve) {
    browser.goto(&serve.url);
    browser.wait_for("#token");
    assert_clean(browser, "sign-in form", &[]);
    browser.fill("#token", API_TOKEN);
    browser.click("#sign-in");
    browser.wait_for("#add-connection");
    assert_clean(browser, "connections list", &[]);
    assert_eq!(
        browser.execute("return document.cookie"),
        json!(""),
        "a cookie is readable by script (and so by a page on another port)"
    );
    let secret = browser.execute("return sessionStorage.getItem('ch_csrf')");
    let secret = secret.as_str().unwrap_or_default();
    assert!(
        secret.len() == 64 && secret.chars().all(|c| c.is_ascii_hexdigit()),
        "the tab holds the page session's secret"
    );
    assert!(
        !browser.page_source().contains(secret),
        "the secret is not in the page"
    );
}

/// The access and refresh tokens OpenBao holds for `connection`.
fn oauth_tokens(bao: &OpenBao, connection: &str) -> Vec<String> {
    let path = format!("secret/data/connectors/tokens/{connection}");
    let record = bao.root_ok(None, "GET", &path, None);
    ["access_token", "refresh_token"]
        .iter()
        .filter_map(|k| record["data"]["data"][k].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_seed_flow_adds_checks_connects_and_runs_an_activity_in_a_real_browser() {
    let sandbox = Sandbox::start();
    // The security team's side: the app's client secret as a credential asset.
    let bao = bao_with_app_secret();
    let mut serve = Serve::start(
        &config(&bao, Some(&sandbox)),
        &[("VAULT_TOKEN", &bao.root_token)],
    );
    register_app(&sandbox, &serve, "app-page");
    let browser = Browser::start();
    sign_in(&browser, &serve);

    // Add connection: the search filters the catalogue as the person types.
    browser.click("#add-connection");
    browser.fill("#connector-search", "constant");
    browser.wait_for("[data-connector='constant-contact']");
    assert_eq!(browser.text("#connector-count"), "1 of 2 connectors");
    assert!(!browser.text("#connector-results").contains("probe"));
    assert_clean(&browser, "connector search", &[]);
    browser.click("[data-connector='constant-contact']");

    // The form from the connector's fields: client_id typed, client_secret from OpenBao.
    browser.wait_for("#field-client_id");
    assert!(browser
        .text("label[for='field-client_id']")
        .contains("API key"));
    let secret = browser.wait_for("#field-client_secret");
    assert_eq!(secret.attribute("type").as_deref(), Some("password"));
    browser.fill("#connection-name", "cc-page");
    browser.fill("#field-client_id", "app-page");
    browser.click("#field-client_secret-source option[value='asset']");
    assert!(browser
        .text("#field-client_secret-store")
        .contains("vault — Vault at http://127.0.0.1:"));
    browser.fill("#field-client_secret-asset", "cc-app");
    browser.click("#field-client_secret-type option[value='secret']");
    browser.fill("#field-client_secret-key", "client_secret");
    assert_clean(&browser, "connection form", &[]);

    // Check shows each line of the report, and saves nothing.
    browser.click("#check");
    let summary = browser.wait_for("#check-summary");
    let lines = browser.text("#check-lines");
    assert_eq!(
        summary.attribute("data-ok").as_deref(),
        Some("true"),
        "{lines}"
    );
    assert!(
        lines.contains("OK field client_secret (credential asset 'cc-app' in store 'vault'"),
        "{lines}"
    );
    assert!(!lines.contains("Failed"), "{lines}");
    assert!(browser
        .text("#check-summary")
        .ends_with("Nothing was saved."));
    assert!(
        !serve.connection_file("cc-page").exists(),
        "Check saved the connection"
    );
    assert_clean(&browser, "check", &[]);

    // Connect saves first.
    browser.click("#connect");
    browser.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    let file = std::fs::read_to_string(serve.connection_file("cc-page")).unwrap();
    assert!(
        file.contains(r#"client_secret = { asset = "cc-app", store = "vault", type = "secret", key = "client_secret" }"#),
        "{file}"
    );
    assert_no_canary(&file);

    // The sandbox's sign-in page, its SMS step, and back to a success screen.
    browser.wait_for("#username");
    assert_clean(&browser, "provider sign-in", &[]);
    signin::in_browser(&browser, &sandbox.url);
    let back = format!("{}/#connection=cc-page", serve.url);
    browser.wait_for_url(|u| u.starts_with(&back), Duration::from_secs(15));
    browser.wait_for("#connection-status[data-state='connected']");
    assert_eq!(browser.text("#outcome-title"), "Connected");
    browser.click("#outcome-continue");
    let tokens = oauth_tokens(&bao, "cc-page");
    assert_eq!(
        tokens.len(),
        2,
        "an access and a refresh token are in OpenBao"
    );
    assert!(browser.text("#connection-status").starts_with("Connected"));
    assert!(browser.text("#status-scopes").contains("contact_data"));
    assert!(browser
        .text("#status-expiry")
        .starts_with("expires in 24 h"));
    assert_clean(&browser, "connected", &tokens);

    // The runner: create-contact from the generated form.
    browser.click("#activity option[value='create-contact']");
    assert!(browser
        .text("#activity-title")
        .starts_with("Create contact"));
    assert!(browser.text("#pitfalls").contains("Conflict (409)"));
    browser.fill("[data-path='email_address.address']", "ada@example.com");
    browser.fill("[data-path='first_name']", "Ada");
    browser.click("[data-path='create_source'] option[value='account']");
    let result = run_result(&browser);
    assert_eq!(result["first_name"], "Ada", "{result}");
    assert_eq!(result["email_address"]["address"], "ada@example.com");
    let id = result["contact_id"].as_str().expect("a contact id");
    let stored = sandbox.api("GET", &format!("/v3/contacts/{id}"), None);
    assert_eq!(
        stored["first_name"], "Ada",
        "the sandbox has the contact: {stored}"
    );
    assert_clean(&browser, "result", &tokens);

    // The same again: the API's refusal, with its class and message.
    browser.click("#run");
    let error = browser.wait_for("[data-test='run-error'][data-class='api_refused']");
    assert!(
        error.text().contains("409") || error.text().contains("conflict"),
        "{}",
        error.text()
    );
    assert_clean(&browser, "error", &tokens);

    // Back on the list: connected.
    browser.click("a[href='#']");
    browser.wait_for("[data-connection='cc-page'] [data-state='connected']");
    assert_clean(&browser, "list", &tokens);
    let (code, stderr) = serve.stop();
    assert_eq!(code, 0);
    for token in &tokens {
        assert!(
            !stderr.contains(token.as_str()),
            "an OAuth token is in serve's log"
        );
    }
}

/// Selects Save and waits until the page says it is saved.
fn save(browser: &Browser) {
    // The page replaces its message with "Saving…" as the button is clicked,
    // so what is waited for is this save's answer.
    browser.click("#save");
    let answer = browser.wait_for("[data-test='saved'], [data-test='save-error']");
    assert_eq!(
        answer.attribute("data-test").as_deref(),
        Some("saved"),
        "{}",
        answer.text()
    );
}

#[test]
fn a_secret_typed_on_the_page_goes_to_the_store_and_leaves_the_form() {
    let bao = OpenBao::start();
    let serve = Serve::start(&config(&bao, None), &[("VAULT_TOKEN", &bao.root_token)]);
    let browser = Browser::start();
    sign_in(&browser, &serve);
    browser.goto(&format!("{}/#new=constant-contact", serve.url));
    browser.fill("#connection-name", "typed");
    browser.fill("#field-client_id", "app-typed");
    let help = browser.text("#field-client_secret-help");
    assert!(
        help.contains("kept as a credential asset in store 'vault'"),
        "{help}"
    );
    browser.fill("#field-client_secret", CANARIES[1]);
    save(&browser);

    // The form is rebuilt from the server's view: the input is empty, the
    // menu keeps what the connection has, and says where it is.
    let input = browser.wait_for("#field-client_secret");
    assert!(
        input.property("value") == json!(""),
        "the typed secret is still in its input"
    );
    assert_eq!(
        browser
            .wait_for("#field-client_secret-source")
            .property("value"),
        json!("keep")
    );
    let help = browser.text("#field-client_secret-help");
    assert!(
        help.contains("Now from credential asset 'secrets/typed/client_secret' in store 'vault'"),
        "{help}"
    );
    assert_clean(&browser, "saved", &[]);
    let stored = bao.root_ok(
        None,
        "GET",
        "secret/data/connectors/secrets/typed/client_secret",
        None,
    );
    assert!(
        stored["data"]["data"]["value"] == json!(CANARIES[1]),
        "the secret is in OpenBao"
    );
    assert_no_canary(&std::fs::read_to_string(serve.connection_file("typed")).unwrap());

    // Saving again keeps it, without typing it again.
    browser.fill("#field-client_id", "app-typed-2");
    save(&browser);
    let view = serve.call("GET", "/api/connections/typed", None).json;
    let fields = view["fields"].as_array().unwrap();
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap().clone();
    assert_eq!(field("client_id")["value"], "app-typed-2");
    assert_eq!(
        field("client_secret")["source"],
        "credential asset 'secrets/typed/client_secret' in store 'vault'"
    );
    assert_clean(&browser, "saved again", &[]);
}

#[test]
fn the_runner_builds_a_form_for_every_kind_of_input_and_a_json_view() {
    let serve = Serve::start("", &[]);
    let browser = Browser::start();
    sign_in(&browser, &serve);
    // The probe connector has no fields, no sign-in, and an `echo` whose
    // input has a value of every kind; it answers with what it got.
    browser.goto(&format!("{}/#new=probe", serve.url));
    browser.fill("#connection-name", "probe-form");
    save(&browser);
    assert_eq!(
        browser.wait_for("#connect").attribute("hidden").as_deref(),
        Some("true"),
        "a connector without OAuth has nothing to connect"
    );
    browser.click("#activity option[value='echo']");
    // Lists, tuples and variants are JSON areas, prefilled from the schema.
    let prefilled = |path: &str| -> Value {
        let area = browser.wait_for(&format!("[data-path='{path}']"));
        serde_json::from_str(area.property("value").as_str().unwrap()).unwrap()
    };
    assert_eq!(prefilled("pair"), json!(["", 0]));
    // A list of enum values (WIT flags) is a multi-select.
    let permissions = browser.wait_for("[data-path='permissions']");
    assert_eq!(permissions.property("tagName"), json!("SELECT"));
    assert_eq!(permissions.property("multiple"), json!(true));
    assert_eq!(prefilled("shape"), json!("nothing"));
    assert_eq!(prefilled("inner.numbers"), json!([0]));
    assert_eq!(
        browser.wait_for("[data-path='color']").property("tagName"),
        json!("SELECT")
    );
    browser.fill("[data-path='text']", "hi");
    browser.fill("[data-path='count']", "3");
    browser.fill("[data-path='offset']", "-2");
    browser.fill("[data-path='ratio']", "0.5");
    browser.click("[data-path='enabled']");
    browser.click("[data-path='color'] option[value='green']");
    browser.fill("[data-path='tags']", r#"["a", "b"]"#);
    browser.fill("[data-path='shape']", r#"{"circle": 1.5}"#);
    browser.fill("[data-path='inner.name']", "n");
    browser.fill("[data-path='inner.maybe']", "7");
    browser.click("[data-path='permissions'] option[value='read']");
    browser.click("[data-path='permissions'] option[value='execute']");
    let echoed = run_echo(&browser);
    assert_eq!(
        echoed,
        json!({"text": "hi", "count": 3, "offset": -2, "ratio": 0.5, "enabled": true,
            "note": null, "tags": ["a", "b"], "color": "green", "shape": {"circle": 1.5},
            "inner": {"name": "n", "numbers": [0], "maybe": 7}, "pair": ["", 0],
            "permissions": ["read", "execute"]}),
        "the optional note left empty is left out"
    );

    // The whole input as JSON, starting from the form; and back to the form.
    browser.click("#input-as-json");
    let area = browser.wait_for("#input-json");
    let mut input: Value = serde_json::from_str(area.property("value").as_str().unwrap()).unwrap();
    assert_eq!(
        input["inner"],
        json!({"name": "n", "numbers": [0], "maybe": 7})
    );
    input["text"] = json!("from json");
    browser.fill("#input-json", &input.to_string());
    assert_eq!(run_echo(&browser)["text"], "from json");
    browser.click("#input-as-json");
    let text = browser.wait_for("[data-path='text']").property("value");
    assert_eq!(
        text,
        json!("from json"),
        "the form is rebuilt from the JSON"
    );

    // What is not JSON is named by its path, before anything is sent.
    browser.fill("[data-path='shape']", "{nope");
    browser.click("#run");
    let error = browser.text("[data-test='run-error-message']");
    assert!(error.starts_with("input.shape: not JSON"), "{error}");
    assert_eq!(
        browser
            .wait_for("[data-path='shape']")
            .attribute("aria-invalid")
            .as_deref(),
        Some("true")
    );

    // A value out of the schema's bounds is refused, naming the bound,
    // before anything is sent (the page's requests are counted). The
    // probe's `count` is a u32: minimum 0. See: issue 17, item 5.
    browser.fill("[data-path='shape']", r#"{"circle": 1.5}"#);
    browser.execute(
        "window.sent = 0; const send = window.fetch; window.fetch = (...a) => { window.sent += 1; return send(...a); };",
    );
    browser.fill("[data-path='count']", "-1");
    browser.click("#run");
    let error = browser.text("[data-test='run-error-message']");
    assert_eq!(error, "input.count: at least 0 (minimum)");
    assert_eq!(
        browser.execute("return window.sent"),
        json!(0),
        "nothing was sent"
    );
    browser.fill("[data-path='count']", "1");
    assert_eq!(run_echo(&browser)["count"], 1);
    // The call, then the status read again after it.
    assert_eq!(browser.execute("return window.sent"), json!(2));
    // A bound the connector states in `describe` (the probe's spin: at most
    // 1,000,000 iterations), merged into the schema by the host, is refused
    // the same way, before anything is sent.
    browser.click("#activity option[value='spin']");
    browser.fill("[data-path='iterations']", "2000000");
    browser.execute("window.sent = 0;");
    browser.click("#run");
    let error = browser.text("[data-test='run-error-message']");
    assert_eq!(error, "input.iterations: at most 1000000 (maximum)");
    assert_eq!(browser.execute("return window.sent"), json!(0));
    assert_clean(&browser, "runner", &[]);
}

/// Selects Run and returns the result shown, failing on an error shown instead.
fn run_result(browser: &Browser) -> Value {
    browser.click("#run");
    let output = browser.wait_for("#result, [data-test='run-error']");
    assert_eq!(
        output.attribute("id").as_deref(),
        Some("result"),
        "{}",
        output.text()
    );
    // The JSON view is behind Show JSON; its text is there all the same.
    let json = output.property("textContent");
    serde_json::from_str(json.as_str().unwrap_or_default()).expect("the result is JSON")
}

/// Selects Run and returns what the probe's `echo` echoed.
fn run_echo(browser: &Browser) -> Value {
    run_result(browser)["echoed"].clone()
}

#[test]
fn a_tab_without_the_sessions_secret_signs_in_again_and_comes_back() {
    let serve = Serve::start("", &[]);
    let created = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "back-here", "connector": "probe"})),
    );
    assert_eq!(created.status, 201);
    let browser = Browser::start();
    sign_in(&browser, &serve);
    // A tab with the cookie but not the secret (a new tab): the cookie
    // alone opens nothing, so the page asks for the token again...
    browser.execute("sessionStorage.removeItem('ch_csrf')");
    browser.goto(&format!("{}/#connection=back-here", serve.url));
    browser.wait_for("#token");
    assert!(browser.current_url().ends_with("/sign-in"));
    browser.fill("#token", API_TOKEN);
    browser.click("#sign-in");
    // ...and then shows what the address named.
    browser.wait_for_url(
        |u| u.ends_with("/#connection=back-here"),
        Duration::from_secs(10),
    );
    browser.wait_for("#activity option[value='echo']");
    assert_eq!(browser.execute("return document.cookie"), json!(""));
}

#[test]
fn text_from_the_server_is_shown_as_text_never_as_markup() {
    let serve = Serve::start("", &[]);
    // A file name is shown as the catalogue gives it; this one is markup.
    let name = "<img src=x id=injected onerror=alert(1)>.wasm";
    std::fs::write(
        serve.dir().join("connectors").join(name),
        b"not a component",
    )
    .unwrap();
    let browser = Browser::start();
    sign_in(&browser, &serve);
    browser.click("#add-connection");
    browser.fill("#connector-search", "injected");
    let broken = browser.text("#connector-results .broken");
    assert!(broken.contains(name), "{broken}");
    assert!(broken.contains("cannot be loaded"), "{broken}");
    let html = browser.page_source();
    assert!(html.contains("&lt;img src=x id=injected"), "shown as text");
    assert!(
        !html.contains("id=\"injected\""),
        "no element was made from it"
    );
}

#[test]
fn a_saved_credential_asset_is_shown_and_one_part_changes_in_place() {
    let (_bao, serve) = crate::page_api::serve_with_app_secret();
    let asset =
        json!({"store": "vault", "name": "cc-app", "type": "secret", "key": "client_secrte"});
    let draft = json!({"name": "in-place", "connector": "constant-contact",
        "fields": {"client_id": {"value": "app"}, "client_secret": {"asset": asset}}});
    assert_eq!(
        serve.call("POST", "/api/connections", Some(&draft)).status,
        201
    );
    let browser = Browser::start();
    sign_in(&browser, &serve);
    browser.goto(&format!("{}/#connection=in-place", serve.url));

    // The four parts are shown, the key's typo among them, in inputs already filled.
    let summary = browser.text("#field-client_secret-asset-summary");
    for part in [
        "Store: vault",
        "Asset: cc-app",
        "Type: secret",
        "Key: client_secrte",
    ] {
        assert!(summary.contains(part), "{summary}");
    }
    let value = |css: &str| browser.wait_for(css).property("value");
    assert_eq!(value("#field-client_secret-source"), json!("asset"));
    assert_eq!(value("#field-client_secret-asset"), json!("cc-app"));
    assert_eq!(value("#field-client_secret-key"), json!("client_secrte"));

    // Check finds the typo, and saves nothing.
    let file = std::fs::read_to_string(serve.connection_file("in-place")).unwrap();
    browser.click("#check");
    browser.wait_for("#check-summary[data-ok='false']");
    assert_eq!(
        std::fs::read_to_string(serve.connection_file("in-place")).unwrap(),
        file
    );

    // Only the key is retyped; Check passes, Save keeps the other three parts.
    browser.fill("#field-client_secret-key", "client_secret");
    browser.click("#check");
    browser.wait_for("#check-summary[data-ok='true']");
    save(&browser);
    let file = std::fs::read_to_string(serve.connection_file("in-place")).unwrap();
    assert!(
        file.contains(r#"client_secret = { asset = "cc-app", store = "vault", type = "secret", key = "client_secret" }"#),
        "{file}"
    );
    assert_clean(&browser, "asset in place", &[]);
}

/// One way to meet each error class: a connection, an activity, its input
/// (as the API and MCP send it, and as the page's form is filled).
struct Case {
    class: &'static str,
    connection: &'static str,
    activity: &'static str,
    input: Value,
    form: &'static [(&'static str, &'static str)],
}

/// The error classes a user can meet, each through the page (Chromium), the
/// API and MCP (the official Python SDK on `/mcp`): its class and remedy,
/// never a command line or a path on the server. `invalid_input` is not sent
/// from the page: its form refuses the input first (the bounds test).
#[test]
fn every_error_class_is_worded_for_the_page_the_api_and_mcp_with_no_path_or_command() {
    let sandbox = Sandbox::start_with(&[
        "--no-rate-limit",
        "--token",
        &format!("{TOKEN}={ALL_SCOPES}"),
        "--token",
        "reader-token-classes=account_read",
        "--token",
        "quota-token-classes=account_read",
    ]);
    let serve = Serve::start(&endpoints(&sandbox), &[]);
    crate::serve::create_cc(&serve, "not-yet", "demo-client", json!({}));
    let catalogue = serve.dir().join("connectors/cc_connector.wasm");
    let write = |name: &str, connector: &std::path::Path, rest: &str| {
        let text = format!(
            "connector = {:?}\n{rest}[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
            connector.display().to_string(),
            sandbox.url
        );
        std::fs::write(serve.connection_file(name), text).unwrap();
    };
    let token = |t: &str| format!("[token]\naccess_token = \"{t}\"\n");
    write("fixed", &catalogue, &token(TOKEN));
    write("reader", &catalogue, &token("reader-token-classes"));
    write(
        "unset",
        &catalogue,
        "[token]\naccess_token = { env = \"PAGE_UNSET_TOKEN\" }\n",
    );
    // The hostile connector, in the catalogue as the page's connections are.
    let hostile = serve.dir().join("connectors/hostile_connector.wasm");
    std::fs::copy(component("hostile_connector"), &hostile).unwrap();
    std::fs::write(
        serve.connection_file("evil"),
        format!(
            "connector = {:?}\n{}",
            hostile.display().to_string(),
            token(TOKEN)
        ),
    )
    .unwrap();
    write(
        "quota",
        &catalogue,
        &format!(
            "{}[limits]\nrate_limits = [{{ requests = 1, per = \"application\", window = {{ daily = 0 }} }}]\n",
            token("quota-token-classes")
        ),
    );
    // An `[endpoints]` key the connector never reaches.
    std::fs::write(
        serve.connection_file("typo"),
        format!(
            "connector = {:?}\n{}[endpoints]\n\"https://api.cc.emial\" = \"{}\"\n",
            catalogue.display().to_string(),
            token(TOKEN),
            sandbox.url
        ),
    )
    .unwrap();
    let fixed = ConnectionFile::existing(serve.connection_file("fixed"));
    run(&fixed, "create-contact-list", &json!({"name": "Taken"})).ok();
    let spent = serve.call(
        "POST",
        "/api/connections/quota/activities/list-user-privileges",
        Some(&json!({})),
    );
    assert_eq!(spent.status, 200, "the day's one request: {spent:#?}");
    let case = |class, connection, activity, input: Value, form| Case {
        class,
        connection,
        activity,
        input,
        form,
    };
    let cases = [
        case(
            "needs_connect",
            "not-yet",
            "list-contact-lists",
            json!({}),
            &[],
        ),
        case(
            "invalid_input",
            "fixed",
            "list-contact-lists",
            json!({"limit": 0}),
            &[],
        ),
        case(
            "missing_scope",
            "reader",
            "create-contact-list",
            json!({"name": "No"}),
            &[("name", "No")],
        ),
        case(
            "secret_unresolvable",
            "unset",
            "list-contact-lists",
            json!({}),
            &[],
        ),
        case(
            "api_refused",
            "fixed",
            "create-contact-list",
            json!({"name": "Taken"}),
            &[("name", "Taken")],
        ),
        case(
            "limit_hit",
            "evil",
            "huge-result",
            json!({"count": 3000000}),
            &[("count", "3000000")],
        ),
        case(
            "quota_exhausted",
            "quota",
            "list-user-privileges",
            json!({}),
            &[],
        ),
        case(
            "connector_broken",
            "evil",
            "fetch",
            json!({"url": "http://169.254.169.254/latest/meta-data", "headers": []}),
            &[
                ("url", "http://169.254.169.254/latest/meta-data"),
                ("headers", "[]"),
            ],
        ),
        case(
            "configuration",
            "typo",
            "list-contact-lists",
            json!({}),
            &[],
        ),
    ];
    let components = component("cc_connector")
        .parent()
        .unwrap()
        .display()
        .to_string();
    let server_paths = [
        serve.dir().display().to_string(),
        components,
        "/tmp/".to_owned(),
    ];
    let clean = |front: &str, case: &Case, text: &str| {
        for never in server_paths
            .iter()
            .map(String::as_str)
            .chain(["connector-host"])
        {
            assert!(
                !text.contains(never),
                "{front}, {}: {never:?} in {text}",
                case.class
            );
        }
        assert_no_canary(text);
    };

    // The API: the class, a remedy, and nothing of the server.
    for case in &cases {
        let answer = serve.call(
            "POST",
            &format!(
                "/api/connections/{}/activities/{}",
                case.connection, case.activity
            ),
            Some(&case.input),
        );
        assert_eq!(answer.json["error"]["class"], case.class, "{answer:#?}");
        assert!(
            answer.json["error"]["remedy"]["action"].is_string(),
            "{answer:#?}"
        );
        clean("API", case, &answer.text);
    }
    // A static token the API refuses for a scope is replaced, not connected.
    let scope = serve.call(
        "POST",
        "/api/connections/reader/activities/create-contact-list",
        Some(&json!({"name": "No"})),
    );
    assert_eq!(
        scope.json["error"]["remedy"],
        json!({"action": "set_field", "field": "access_token"}),
        "{scope:#?}"
    );

    // MCP: a tool error that says what to do.
    let calls: Vec<Value> = cases
        .iter()
        .map(|c| json!({"tool": format!("{}__{}", c.connection, c.activity), "arguments": c.input}))
        .collect();
    let url = format!("{}/mcp", serve.url);
    let report = crate::mcp::python(&json!({"calls": calls}), &["http", &url, API_TOKEN]);
    for (i, case) in cases.iter().enumerate() {
        let answer = &report["calls"][i];
        assert_eq!(answer["is_error"], true, "{}: {answer}", case.class);
        let text = answer["text"].as_str().unwrap();
        assert!(text.contains("hint: "), "{}: {text}", case.class);
        clean("MCP", case, text);
    }

    // The page: the class as an alert, its remedy as a button or a sentence.
    let browser = Browser::start();
    sign_in(&browser, &serve);
    for case in cases.iter().filter(|c| c.class != "invalid_input") {
        let name = case.connection;
        browser.goto(&format!("{}/?{}#connection={name}", serve.url, case.class));
        // A connection that cannot open at all (the typo) says why where
        // its status would be; the others run the activity.
        if case.class != "configuration" {
            browser.click(&format!("#activity option[value='{}']", case.activity));
            for (path, value) in case.form {
                browser.fill(&format!("[data-path='{path}']"), value);
            }
            browser.click("#run");
        }
        browser.wait_for(&format!("[role='alert'][data-class='{}']", case.class));
        let shown = browser.text("#app");
        clean("page", case, &shown);
        assert!(
            !shown.contains("/api/"),
            "{}: an API route on the page: {shown}",
            case.class
        );
        let remedy = browser.execute(
            "const r = document.querySelector(\"[data-test$='-remedy'], [data-test$='-hint']\"); return r && r.textContent",
        );
        assert!(
            remedy.as_str().is_some_and(|r| !r.is_empty()),
            "{}: no remedy shown in {shown}",
            case.class
        );
        assert_clean(&browser, case.class, &[]);
    }
    let sent: Vec<Value> = sandbox.requests();
    assert!(
        sent.iter()
            .all(|r| r["path"] != "/v3/user/privileges" || r["status"] == 200),
        "nothing went past the quota: {sent:#?}"
    );
}

#[test]
fn ids_are_picked_from_the_list_activity_the_schema_names_and_cards_show_the_icon() {
    let sandbox = Sandbox::start();
    let serve = Serve::start(&endpoints(&sandbox), &[]);
    let connector = serve.dir().join("connectors/cc_connector.wasm");
    let text = format!(
        "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n",
        connector.display().to_string(),
        sandbox.url
    );
    std::fs::write(serve.connection_file("picks"), text).unwrap();
    let cli = ConnectionFile::existing(serve.connection_file("picks"));
    let list = run(&cli, "create-contact-list", &json!({"name": "Picked list"})).ok();
    let id = list["list_id"].as_str().unwrap().to_owned();
    let browser = Browser::start();
    sign_in(&browser, &serve);
    // The catalogue's card carries the connector's icon as an image.
    browser.goto(&format!("{}/#add", serve.url));
    let icon = browser.wait_for("[data-connector='constant-contact'] img.avatar");
    assert!(
        icon.attribute("src")
            .unwrap_or_default()
            .starts_with("data:image/svg+xml;base64,"),
        "the card's icon is the connector's SVG, as an image"
    );
    // `list_id` is picked from list-contact-lists: name and id, then run.
    browser.goto(&format!("{}/?picks#connection=picks", serve.url));
    browser.click("#activity option[value='get-contact-list']");
    let option = format!("[data-path='list_id'] option[value='{id}']");
    assert_eq!(browser.text(&option), format!("Picked list ({id})"));
    browser.click(&option);
    assert_eq!(run_result(&browser)["name"], "Picked list");
    assert_clean(&browser, "picker", &[]);
}
