//! Who may use `serve`, against the real binary: wrong API tokens locked
//! out per address with 429, no token in a link, no weak token at start,
//! page sessions whose cookie alone opens nothing, OAuth sign-ins finished
//! only in the browser that started them, and the headers of every answer.
//! The binding also in two real Chromiums. See: issue 15, items 4 and 5.

use std::time::Duration;

use connector_tests::browser::Browser;
use connector_tests::serve::{get, open_start_link, PageSession, Serve, API_TOKEN};
use connector_tests::*;
use serde_json::{json, Value};

use crate::listen::raw_call_from;
use crate::page::sign_in;
use crate::serve::{create_cc, endpoints, register_app};

/// Wrong tokens a client may send before the lockout, in these tests.
const GUARDS: &str = "sign_in_attempts = 3\nsign_in_lockout_seconds = 3\n";

/// The sign-in form's answer: status, `Retry-After`, whether it set a cookie, its text.
fn form_answer(answer: ureq::Response) -> (u16, Option<String>, bool, String) {
    let status = answer.status();
    let retry = answer.header("retry-after").map(str::to_owned);
    let cookie = answer.header("set-cookie").is_some();
    (status, retry, cookie, answer.into_string().unwrap())
}

#[test]
fn wrong_tokens_lock_the_address_out_with_a_429_and_even_the_right_one_is_refused() {
    let serve = Serve::start(GUARDS, &[]);
    for guess in 0..2 {
        let (status, _, cookie, text) = form_answer(serve.sign_in(&format!("guess-{guess}"), None));
        assert_eq!((status, cookie), (401, false), "{text}");
        assert!(
            text.contains("neither this server's API token nor a live tenant token"),
            "{text}"
        );
    }
    // The third wrong token locks the address out: its answer says so.
    let (status, retry, _, text) = form_answer(serve.sign_in("guess-2", None));
    assert_eq!((status, retry.as_deref()), (429, Some("3")), "{text}");
    assert!(
        text.contains("Too many wrong tokens from your address"),
        "{text}"
    );
    // The right token, on the form and as a Bearer token, is refused unread.
    let (status, retry, cookie, text) = form_answer(serve.sign_in(API_TOKEN, None));
    assert_eq!((status, cookie), (429, false), "{text}");
    assert!(retry.is_some_and(|s| s.parse::<u64>().unwrap() <= 3));
    let api = serve.call("GET", "/api/connectors", None);
    assert_eq!(api.status, 429, "{api:#?}");
    assert!(api.json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too many wrong API tokens from your address"));
    // Another address is not locked out.
    let other = raw_call_from(
        "127.0.0.2",
        &serve.url,
        &format!("GET /api/connectors HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_TOKEN}\r\nConnection: close\r\n\r\n"),
    );
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // Once the lockout is over, the right token signs in.
    std::thread::sleep(Duration::from_millis(3200));
    assert_eq!(serve.sign_in(API_TOKEN, None).status(), 200);
    assert_eq!(serve.call("GET", "/api/connectors", None).status, 200);
}

#[test]
fn a_token_in_a_link_never_signs_in() {
    let serve = Serve::start("", &[]);
    for path in ["/sign-in", "/"] {
        let answer = get(&format!("{}{path}?token={API_TOKEN}", serve.url), None);
        assert!(
            answer.header("set-cookie").is_none(),
            "{path}: a token in a link made a session"
        );
        let status = answer.status();
        let text = answer.into_string().unwrap();
        assert!(text.contains("id=\"token\""), "{path}: the form: {text}");
        if path == "/sign-in" {
            assert_eq!(status, 400);
            assert!(
                text.contains("A token in a link is never accepted"),
                "{text}"
            );
        }
    }
    // Nor in the address of a POST: only the form's body counts.
    let answer = connector_tests::serve::agent()
        .post(&format!("{}/sign-in?token={API_TOKEN}", serve.url))
        .send_form(&[("other", "x")]);
    let answer = match answer {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(answer.status(), 401);
    assert!(answer.header("set-cookie").is_none());
}

#[test]
fn a_short_or_weak_api_token_stops_serve_at_start_with_a_hint() {
    let weak = "passwordpasswordpasswordpassword";
    for (token, why) in [
        ("short-but-random-6f2c41d0", "shorter than 32 characters"),
        (weak, "has only 7 distinct characters"),
    ] {
        let (code, stderr) = Serve::refuses_to_start("", &[("CONNECTOR_HOST_API_TOKEN", token)]);
        assert_ne!(code, 0);
        assert!(stderr.contains(why), "{stderr}");
        assert!(stderr.contains("hint: use a long random value, e.g. `openssl rand -hex 32`"));
        assert!(
            !stderr.contains(token),
            "the token is in the error: {stderr}"
        );
    }
}

#[test]
fn a_page_sessions_cookie_alone_opens_nothing_and_is_its_only_cookie_http_only() {
    let serve = Serve::start("", &[]);
    let answer = serve.sign_in(API_TOKEN, None);
    let cookies: Vec<String> = answer
        .all("set-cookie")
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(cookies.len(), 1, "one cookie: {cookies:?}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookies[0].contains(attribute), "{cookies:?}");
    }
    let session = serve.page_session();
    let PageSession { cookie, secret } = &session;
    let draft = json!({"name": "pg", "connector": "probe"});
    // The cookie without the tab's secret: refused, reads included.
    for (method, path, body) in [
        ("GET", "/api/connections", None),
        ("POST", "/api/connections", Some(draft.clone())),
    ] {
        for sent in [None, Some("0".repeat(64).as_str()), Some("")] {
            let (status, body) = serve.page_call(method, path, cookie, sent, body.clone());
            assert_eq!(status, 403, "{method} {path} with {sent:?}: {body}");
            assert_eq!(body["error"]["class"], "unauthenticated");
        }
    }
    let (status, _) = serve.page_call(
        "POST",
        "/api/connections",
        cookie,
        Some(secret),
        Some(draft),
    );
    assert_eq!(status, 201);
    let (status, listed) = serve.page_call("GET", "/api/connections", cookie, Some(secret), None);
    assert_eq!(
        (status, listed["connections"][0]["name"].clone()),
        (200, json!("pg"))
    );
    // The secret alone is nothing either.
    let (status, _) = serve.page_call(
        "GET",
        "/api/connections",
        "ch_session=none",
        Some(secret),
        None,
    );
    assert_eq!(status, 401);
    // Signing in again in the same browser (another tab) keeps its session
    // and gives this tab the same secret, so the first tab goes on working.
    let again = serve.sign_in(API_TOKEN, Some(cookie));
    assert!(again.header("set-cookie").is_none());
    assert!(again.into_string().unwrap().contains(secret.as_str()));
}

#[test]
fn over_https_the_session_cookie_is_host_prefixed_and_secure() {
    let serve = Serve::start("public_url = \"https://connectors.example\"\n", &[]);
    let answer = serve.sign_in(API_TOKEN, None);
    let cookie = answer.header("set-cookie").unwrap().to_owned();
    assert!(cookie.starts_with("__Host-ch_session="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let session = serve.page_session();
    let plain = session.cookie.replace("__Host-ch_session", "ch_session");
    let call = |cookie: &str| {
        serve
            .page_call(
                "GET",
                "/api/connectors",
                cookie,
                Some(&session.secret),
                None,
            )
            .0
    };
    assert_eq!(call(&session.cookie), 200);
    assert_eq!(
        call(&plain),
        401,
        "a cookie without the prefix (set by anyone) is not the session"
    );
}

/// A connection `name` of the Constant Contact connector, against the sandbox.
fn oauth_connection(name: &str) -> (Sandbox, Serve) {
    let sandbox = Sandbox::start();
    let serve = Serve::start(&endpoints(&sandbox), &[]);
    register_app(&sandbox, &serve, "app-bound");
    create_cc(&serve, name, "app-bound", json!({}));
    (sandbox, serve)
}

fn connected(serve: &Serve, name: &str) -> Value {
    serve
        .call("GET", &format!("/api/connections/{name}/status"), None)
        .json["connected"]
        .clone()
}

/// GET `url` with `cookie`: the status and the page's text.
fn visit(url: &str, cookie: Option<&str>) -> (u16, String) {
    let answer = get(url, cookie);
    assert_page_headers(&answer, url);
    (answer.status(), answer.into_string().unwrap())
}

fn assert_page_headers(answer: &ureq::Response, what: &str) {
    let header = |name: &str| answer.header(name).unwrap_or_default().to_owned();
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("cache-control"), "no-store", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    let policy = header("content-security-policy");
    assert!(
        policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"),
        "{what}: {policy}"
    );
}

#[test]
fn an_api_started_sign_in_is_finished_only_in_the_browser_that_opened_its_link() {
    let (sandbox, serve) = oauth_connection("api-bound");
    let started = serve.call("POST", "/api/connections/api-bound/connect", None);
    assert_eq!(started.status, 200, "{started:#?}");
    let link = started.json["authorize_url"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}/oauth/start/", serve.url)),
        "{link}"
    );
    // The person's browser opens the link first; it opens once.
    let (binding, provider) = open_start_link(link);
    assert!(provider.starts_with(&sandbox.url), "{provider}");
    let (status, text) = visit(link, None);
    assert_eq!(status, 410, "{text}");
    assert!(text.contains("already opened"), "{text}");
    let callback = signin::sign_in(&sandbox.url, &provider, "verify");
    // Another browser (no binding, or a page session) is refused...
    let other = serve.page_session();
    for cookie in [
        None,
        Some(other.cookie.as_str()),
        Some("ch_signin_0000000000000000=x"),
    ] {
        let (status, text) = visit(&callback, cookie);
        assert_eq!(status, 403, "{cookie:?}: {text}");
        assert!(text.contains("opened its start link"), "{text}");
    }
    assert_eq!(connected(&serve, "api-bound"), false);
    // ...and the real sign-in still completes in the person's browser.
    let (status, text) = visit(&callback, Some(&binding));
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("Connection api-bound is signed in"), "{text}");
    assert_eq!(connected(&serve, "api-bound"), true);
    // Once: the same redirect again is an unknown sign-in, said clearly.
    let (status, text) = visit(&callback, Some(&binding));
    assert_eq!(status, 400);
    assert!(text.contains("unknown, expired or already used"), "{text}");
    let (status, _) = visit(
        &format!("{}/oauth/start/{}", serve.url, "0".repeat(64)),
        None,
    );
    assert_eq!(status, 404);
}

#[test]
fn a_page_started_sign_in_is_finished_only_in_its_page_session() {
    let (sandbox, serve) = oauth_connection("page-bound");
    let mine = serve.page_session();
    let (status, started) = serve.page_call(
        "POST",
        "/api/connections/page-bound/connect",
        &mine.cookie,
        Some(&mine.secret),
        None,
    );
    assert_eq!(status, 200, "{started}");
    let provider = started["authorize_url"].as_str().unwrap();
    assert!(
        provider.starts_with(&sandbox.url),
        "the page goes to the provider: {provider}"
    );
    let callback = signin::sign_in(&sandbox.url, provider, "verify");
    let other = serve.page_session();
    for cookie in [None, Some(other.cookie.as_str())] {
        let (status, text) = visit(&callback, cookie);
        assert_eq!(status, 403, "{text}");
        assert!(
            text.contains("started in another browser session"),
            "{text}"
        );
    }
    assert_eq!(connected(&serve, "page-bound"), false);
    let back = get(&callback, Some(&mine.cookie));
    assert_eq!(back.status(), 303);
    assert_page_headers(&back, "the redirect back");
    assert_eq!(
        back.header("location"),
        Some("/#connection=page-bound&signin=connected")
    );
    assert_eq!(connected(&serve, "page-bound"), true);
}

#[test]
fn every_api_answer_is_no_store_and_nosniff_and_error_pages_carry_the_page_headers() {
    let serve = Serve::start("", &[]);
    let agent = connector_tests::serve::agent();
    let bearer = format!("Bearer {API_TOKEN}");
    let cases: [(&str, Option<&str>, u16); 5] = [
        ("/api/connectors", Some(&bearer), 200),
        ("/api/connections/nope", Some(&bearer), 404),
        ("/api/connectors", None, 401),
        ("/api/no-such-route", Some(&bearer), 404),
        ("/openapi.json", None, 200),
    ];
    for (path, token, expected) in cases {
        let mut request = agent.get(&format!("{}{path}", serve.url));
        if let Some(token) = token {
            request = request.set("Authorization", token);
        }
        let answer = match request.call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{path}: {e}"),
        };
        assert_eq!(answer.status(), expected, "{path}");
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(
            answer.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{path}");
    }
    for path in [
        "/oauth/callback?state=unknown&code=x",
        "/oauth/callback",
        "/sign-in?token=x",
    ] {
        let (status, _) = visit(&format!("{}{path}", serve.url), None);
        assert!(status >= 400, "{path}");
    }
}

/// The person's steps on the sandbox's sign-in pages, in `browser` (at the
/// provider's sign-in page): sign-in, "Send code", the code, "Verify".
fn provider_steps(browser: &Browser, sandbox: &Sandbox) {
    connector_tests::signin::in_browser(browser, &sandbox.url);
}

/// Waits until `browser` shows serve's callback page and returns its sentence.
fn callback_sentence(browser: &Browser, serve: &Serve) -> String {
    let callback = format!("{}/oauth/callback", serve.url);
    browser.wait_for_url(|u| u.starts_with(&callback), Duration::from_secs(15));
    browser.text("#message")
}

#[test]
fn in_chromium_a_sign_in_finished_in_another_browser_is_refused_and_the_real_one_completes() {
    let (sandbox, serve) = oauth_connection("cc-page");
    create_cc(&serve, "cc-api", "app-bound", json!({}));
    let (mine, other) = (Browser::start(), Browser::start());

    // Started on the page in one browser, finished in another: refused.
    sign_in(&mine, &serve);
    sign_in(&other, &serve);
    mine.goto(&format!("{}/#connection=cc-page", serve.url));
    mine.click("#connect");
    let provider = mine.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    other.goto(&provider);
    provider_steps(&other, &sandbox);
    let refused = callback_sentence(&other, &serve);
    assert!(
        refused.contains("started in another browser session"),
        "{refused}"
    );
    assert_eq!(connected(&serve, "cc-page"), false);
    provider_steps(&mine, &sandbox);
    let back = format!("{}/#connection=cc-page", serve.url);
    mine.wait_for_url(|u| u.starts_with(&back), Duration::from_secs(15));
    mine.wait_for("#connection-status[data-state='connected']");

    // Started by an API client, its link opened in one browser: the other
    // one, with the provider's address, is refused.
    let started = serve.call("POST", "/api/connections/cc-api/connect", None);
    let link = started.json["authorize_url"].as_str().unwrap().to_owned();
    mine.goto(&link);
    let provider = mine.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    other.goto(&provider);
    provider_steps(&other, &sandbox);
    let refused = callback_sentence(&other, &serve);
    assert!(refused.contains("opened its start link"), "{refused}");
    other.goto(&link);
    assert!(other.text("#message").contains("already opened"));
    assert_eq!(connected(&serve, "cc-api"), false);
    provider_steps(&mine, &sandbox);
    let done = callback_sentence(&mine, &serve);
    assert!(done.contains("Connection cc-api is signed in"), "{done}");
    assert_eq!(connected(&serve, "cc-api"), true);
    assert_eq!(mine.execute("return document.cookie"), json!(""));
}
