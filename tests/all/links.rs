//! Connect links, against the real binary, OpenBao and the sandbox's
//! sign-in: a tenant's backend asks for a link; the first browser to open
//! it sees one form for one connection, signs in, and is sent back to the
//! registered URL; no other browser, no replay and no unregistered URL
//! works; the connection carries the end user and lists filter by it; no
//! page holds a secret. See: issue 18, item 2.

use connector_tests::openbao::OpenBao;
use connector_tests::serve::{agent, get, Serve};
use connector_tests::signin;
use connector_tests::*;
use serde_json::{json, Value};

use crate::page::{bao_with_app_secret, config};
use crate::serve::register_app;
use crate::tenants::{assert_no_token, call, issue};

const BACK: &str = "https://app.example.com/connected";

/// A browser: its cookie for the link, once it has one.
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    /// `GET url`: the status and the page (checked for secrets).
    fn open(&mut self, url: &str) -> (u16, String) {
        let answer = get(url, self.cookie.as_deref());
        if let Some(set) = answer.header("set-cookie") {
            self.cookie = Some(set.split(';').next().unwrap().to_owned());
        }
        let status = answer.status();
        let page = answer.into_string().unwrap();
        assert_no_canary(&page);
        assert_no_token(&page);
        (status, page)
    }

    /// Submits the link's form with `fields`: the status, the Location
    /// and the page.
    fn submit(&self, url: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut request = agent().post(url);
        if let Some(cookie) = &self.cookie {
            request = request.set("Cookie", cookie);
        }
        let answer = match request.send_form(fields) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {url}: {e}"),
        };
        let status = answer.status();
        let page = answer.into_string().unwrap();
        assert_no_canary(&page);
        (status, page)
    }
}

/// Sets link `url`'s record to have expired a minute ago.
fn expire(serve: &Serve, url: &str) {
    use sha2::Digest;
    let id = url.rsplit('/').next().unwrap();
    let digest = format!("{:x}", sha2::Sha256::digest(id.as_bytes()));
    let file = serve
        .dir()
        .join(format!("connections/.connect-links/{digest}.json"));
    let data = serve.dir().join("data");
    let mut record: Value = serde_json::from_str(&unsealed(&file, &data)).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    record["expires_at"] = json!(now - 60);
    sealed_write(&file, &data, record.to_string().as_bytes());
}

fn form_token(page: &str) -> String {
    page.split("name=form_token value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

fn onward(page: &str) -> String {
    page.split("id=onward href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}

fn link(serve: &Serve, token: &str, body: Value) -> connector_tests::serve::Answer {
    call(serve, token, "POST", "/api/connect-links", Some(&body))
}

fn request(end_user: &str, connection: &str) -> Value {
    json!({"end_user": end_user, "connector": "constant-contact", "connection": connection,
        "fields": {"client_id": {"value": "app-1"},
                   "client_secret": {"asset": {"store": "vault", "name": "cc-app", "key": "client_secret"}}},
        "redirect_url": BACK})
}

/// The sandbox, OpenBao with the app's secret, and `serve` keeping its
/// audit trail in `audit`.
fn rig(audit: &std::path::Path) -> (Sandbox, OpenBao, Serve) {
    let sandbox = Sandbox::start_with(&["--no-rate-limit"]);
    let bao = bao_with_app_secret();
    let settings = format!(
        "connect_redirects = [\"{BACK}\"]\n{}",
        config(&bao, Some(&sandbox))
    );
    let trail = audit.display().to_string();
    let env = [
        ("VAULT_TOKEN", bao.root_token.as_str()),
        ("CONNECTOR_HOST_AUDIT_LOG", trail.as_str()),
    ];
    let serve = Serve::start(&settings, &env);
    register_app(&sandbox, &serve, "app-1");
    (sandbox, bao, serve)
}

#[test]
fn a_connect_link_connects_one_end_users_account_once_and_sends_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("audit.log");
    let (sandbox, _bao, serve) = rig(&trail);
    let acme = issue(&serve, "acme");
    let made = link(&serve, &acme, request("user-42", "cc-user-42"));
    assert_eq!(made.status, 201, "{made:#?}");
    let url = made.json["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/connect/cl_", serve.url)),
        "{url}"
    );

    // The first browser is bound; another gets the same page as a dead link.
    let (mut first, mut other) = (Browser { cookie: None }, Browser { cookie: None });
    let (status, page) = first.open(&url);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Connect constant-contact"), "{page}");
    assert!(
        !page.contains("f.client_secret") && !page.contains("f.client_id"),
        "preset fields are not shown"
    );
    let (status, refused) = other.open(&url);
    assert_eq!(status, 410, "{refused}");
    let token = form_token(&page);
    assert_eq!(
        other.submit(&url, &[("form_token", &token)]).0,
        410,
        "the form token alone opens nothing"
    );
    assert_eq!(first.submit(&url, &[("form_token", "forged")]).0, 410);

    // Connect: the provider's sign-in, then back to the registered URL.
    let (status, page) = first.submit(&url, &[("form_token", &token)]);
    assert_eq!(status, 200, "{page}");
    let provider = onward(&page);
    let location = signin::sign_in(&sandbox.url, &provider, "verify");
    let back = get(&location, first.cookie.as_deref());
    assert_eq!(back.status(), 303);
    assert_eq!(
        back.header("location").unwrap(),
        format!("{BACK}?status=connected&connection=cc-user-42&end_user=user-42")
    );
    // Spent: neither opened nor submitted again.
    assert_eq!(first.open(&url).0, 410);
    assert_eq!(first.submit(&url, &[("form_token", &token)]).0, 410);

    // The tenant's connection carries its end user and runs.
    let listed = call(
        &serve,
        &acme,
        "GET",
        "/api/connections?end_user=user-42",
        None,
    );
    assert_eq!(
        listed.json["connections"][0]["name"], "cc-user-42",
        "{listed:#?}"
    );
    assert_eq!(listed.json["connections"][0]["end_user"], "user-42");
    let none = call(
        &serve,
        &acme,
        "GET",
        "/api/connections?end_user=user-43",
        None,
    );
    assert_eq!(none.json["connections"], json!([]));
    let run = call(
        &serve,
        &acme,
        "POST",
        "/api/connections/cc-user-42/activities/list-contact-lists",
        Some(&json!({})),
    );
    assert_eq!(run.status, 200, "{run:#?}");
    assert!(serve
        .dir()
        .join("connections/tenants/acme/cc-user-42.toml")
        .is_file());
    // Another tenant never sees it; another end user cannot take its name.
    let globex = issue(&serve, "globex");
    assert_eq!(
        call(&serve, &globex, "GET", "/api/connections/cc-user-42", None).status,
        404
    );
    assert_eq!(
        link(&serve, &acme, request("user-43", "cc-user-42")).status,
        409
    );
}

#[test]
fn a_link_is_refused_for_unregistered_urls_and_secret_values_and_a_declined_sign_in_goes_back_as_declined(
) {
    let dir = tempfile::tempdir().unwrap();
    let (sandbox, _bao, serve) = rig(&dir.path().join("audit.log"));
    let acme = issue(&serve, "acme");
    for redirect in [
        "https://app.example.com/connected/../evil",
        "https://app.example.com/connected?x=1",
        "https://evil.example/connected",
        "//evil.example",
    ] {
        let mut body = request("user-1", "cc-1");
        body["redirect_url"] = json!(redirect);
        let refused = link(&serve, &acme, body);
        assert_eq!(refused.status, 422, "{redirect}: {refused:#?}");
    }
    let mut secret = request("user-1", "cc-1");
    secret["fields"]["client_secret"] = json!({"value": CANARIES[1]});
    let refused = link(&serve, &acme, secret);
    assert_eq!(refused.status, 422, "{refused:#?}");
    assert!(
        refused.text.contains("credential asset"),
        "{}",
        refused.text
    );
    let mut thief = request("user-1", "cc-1");
    thief["fields"]["client_secret"]["asset"]["name"] = json!("tenants/globex/tokens/shop");
    assert_eq!(link(&serve, &acme, thief).status, 422);
    let mut brief = request("user-1", "cc-1");
    brief["expires_in"] = json!(5);
    assert_eq!(link(&serve, &acme, brief).status, 422);
    let mut assets = request("user-1", "cc-1");
    assets["allow_assets"] = json!(true);
    let refused = link(&serve, &acme, assets);
    assert_eq!(refused.status, 422, "the operator has not allowed assets");
    assert!(
        refused.text.contains("connect_link_assets"),
        "{}",
        refused.text
    );

    // An expired link (its record's time set back) opens nothing.
    let made = link(&serve, &acme, request("user-1", "cc-old"));
    let old = made.json["url"].as_str().unwrap().to_owned();
    expire(&serve, &old);
    assert_eq!(Browser { cookie: None }.open(&old).0, 410);
    // Unknown links leave no trace, however many are tried.
    let kept = serve.dir().join("connections/.connect-links");
    let files = || std::fs::read_dir(&kept).unwrap().count();
    let before = files();
    for i in 0..20 {
        let unknown = format!("{}/connect/cl_{i:064x}", serve.url);
        assert_eq!(Browser { cookie: None }.open(&unknown).0, 410);
    }
    assert_eq!(files(), before);

    // A declined sign-in goes back to the platform as `declined`.
    let made = link(&serve, &acme, request("user-1", "cc-1"));
    let url = made.json["url"].as_str().unwrap().to_owned();
    let mut browser = Browser { cookie: None };
    let (_, page) = browser.open(&url);
    let (_, page) = browser.submit(&url, &[("form_token", &form_token(&page))]);
    let location = signin::sign_in(&sandbox.url, &onward(&page), "decline");
    let back = get(&location, browser.cookie.as_deref());
    assert_eq!(
        back.header("location").unwrap(),
        format!("{BACK}?status=declined&connection=cc-1&end_user=user-1")
    );
    let mut serve = serve;
    let (_, stderr) = serve.stop();
    assert!(
        !stderr.contains(url.rsplit('/').next().unwrap()),
        "the link's id is not logged"
    );
}

#[test]
fn in_chromium_a_connect_link_goes_from_its_form_through_the_sign_in_and_back() {
    use connector_tests::browser::Browser as Chromium;
    use std::time::Duration;
    let sandbox = Sandbox::start_with(&["--no-rate-limit"]);
    let bao = bao_with_app_secret();
    // Back to a page that exists here (the internet is not reachable).
    let back = format!("{}/__sandbox/requests", sandbox.url);
    let settings = format!(
        "connect_redirects = [\"{back}\"]\nconnect_link_assets = true\n{}",
        config(&bao, Some(&sandbox))
    );
    let serve = Serve::start(&settings, &[("VAULT_TOKEN", &bao.root_token)]);
    register_app(&sandbox, &serve, "app-1");
    let acme = issue(&serve, "acme");
    let mut body = request("ada@example.com", "cc-ada");
    body["redirect_url"] = json!(back);
    body["allow_assets"] = json!(true);
    // The person types the secret (kept in the tenant's place in the store).
    body["fields"]
        .as_object_mut()
        .unwrap()
        .remove("client_secret");
    let made = link(&serve, &acme, body);
    assert_eq!(made.status, 201, "{made:#?}");
    let browser = Chromium::start();
    let clean = |step: &str| {
        let html = browser.page_source();
        assert_no_canary(&html);
        assert_no_token(&html);
        assert!(
            !html.contains(connector_tests::serve::API_TOKEN),
            "{step}: the API token is in the page"
        );
    };
    // A redirect in the link's address changes nothing: it is the link's own.
    let tampered = format!(
        "{}?redirect_url=https://evil.example/",
        made.json["url"].as_str().unwrap()
    );
    browser.goto(&tampered);
    browser.wait_for("#connect");
    clean("form");
    // The operator allows assets: the form offers one for the secret field.
    browser.wait_for("[name='a.client_secret.name']");
    browser.fill("[name='f.client_secret']", CANARIES[1]);
    browser.click("#connect");
    browser.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    browser.wait_for("#username");
    clean("provider sign-in");
    signin::in_browser(&browser, &sandbox.url);
    let landed = browser.wait_for_url(|u| u.starts_with(&back), Duration::from_secs(15));
    assert!(
        landed.ends_with("?status=connected&connection=cc-ada&end_user=ada%40example.com"),
        "{landed}"
    );
    let stored = bao.root_ok(
        None,
        "GET",
        "secret/data/connectors/tenants/acme/secrets/cc-ada/client_secret",
        None,
    );
    assert_eq!(stored["data"]["data"]["value"], json!(CANARIES[1]));
    let run = call(
        &serve,
        &acme,
        "POST",
        "/api/connections/cc-ada/activities/list-contact-lists",
        Some(&json!({})),
    );
    assert_eq!(run.status, 200, "{run:#?}");
}
