//! A person signing in on the sandbox's pages over plain HTTP (form posts),
//! for tests that need tokens but do not test the browser itself.

use serde_json::Value;

/// The sandbox's seeded user.
pub const USER: &str = "owner@example.com";
/// Their password.
pub const PASSWORD: &str = "sandbox-password";

fn agent() -> ureq::Agent {
    ureq::builder().redirects(0).build()
}

fn transaction(page: &str) -> String {
    let marker = "name=\"transaction\" value=\"";
    let start = page
        .find(marker)
        .unwrap_or_else(|| panic!("no transaction field in page: {page}"))
        + marker.len();
    page[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn post(agent: &ureq::Agent, url: &str, form: &[(&str, &str)]) -> ureq::Response {
    match agent.post(url).send_form(form) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    }
}

/// Latest SMS code the sandbox "sent" to `user`.
pub fn phone_code(sandbox_url: &str, user: &str) -> String {
    let phone: Value = ureq::get(&format!("{sandbox_url}/__sandbox/phone/{user}"))
        .call()
        .expect("phone")
        .into_json()
        .expect("json");
    phone["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["code"].as_str())
        .expect("a code was sent")
        .to_owned()
}

/// Fills the sign-in form on `page` as the seeded user; returns the next page.
fn submit_credentials(agent: &ureq::Agent, sandbox_url: &str, page: &str) -> String {
    let form = [
        ("transaction", transaction(page)),
        ("username", USER.into()),
        ("password", PASSWORD.into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(agent, &format!("{sandbox_url}/login/sign-in"), &form)
        .into_string()
        .unwrap()
}

/// Presses "Send code" on `page`, enters the code the phone got, and presses
/// `action` (`verify` or `decline`).
fn pass_sms(agent: &ureq::Agent, sandbox_url: &str, page: &str, action: &str) -> ureq::Response {
    let sent = post(
        agent,
        &format!("{sandbox_url}/login/send-code"),
        &[("transaction", &transaction(page))],
    );
    let tx = transaction(&sent.into_string().unwrap());
    let code = phone_code(sandbox_url, USER);
    post(
        agent,
        &format!("{sandbox_url}/login/verify"),
        &[("transaction", &tx), ("code", &code), ("action", action)],
    )
}

fn get_page(agent: &ureq::Agent, url: &str) -> String {
    agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .into_string()
        .unwrap()
}

/// The person's steps on the sandbox's sign-in pages in a real browser
/// (at the provider's sign-in page): sign in, "Send code", the code, "Verify".
pub fn in_browser(browser: &crate::browser::Browser, sandbox_url: &str) {
    in_browser_then(browser, sandbox_url, "#verify");
}

/// As [`in_browser`], ending with `button` on the code page (`#verify` or
/// `#decline`).
pub fn in_browser_then(browser: &crate::browser::Browser, sandbox_url: &str, button: &str) {
    browser.wait_for("#username");
    browser.fill("#username", USER);
    browser.fill("#password", PASSWORD);
    browser.click("#sign-in");
    browser.wait_for("#send-code");
    browser.click("#send-code");
    browser.wait_for("#code");
    browser.fill("#code", &phone_code(sandbox_url, USER));
    browser.click(button);
}

/// Signs in at `authorize_url` (sign-in, "Send code", the code, then
/// `action`) and returns where the sandbox redirects the browser (`Location`).
pub fn sign_in(sandbox_url: &str, authorize_url: &str, action: &str) -> String {
    let agent = agent();
    let page = submit_credentials(&agent, sandbox_url, &get_page(&agent, authorize_url));
    let done = pass_sms(&agent, sandbox_url, &page, action);
    assert!(
        matches!(done.status(), 302 | 303),
        "verify did not redirect: {}",
        done.status()
    );
    done.header("location")
        .expect("redirect location")
        .to_owned()
}

/// Approves (or denies) a device code on `/activate`: sign in, then the user code.
pub fn approve_device(sandbox_url: &str, user_code: &str, action: &str) {
    let agent = agent();
    let activate = get_page(&agent, &format!("{sandbox_url}/activate"));
    let mut page = submit_credentials(&agent, sandbox_url, &activate);
    if page.contains("send-code-form") {
        page = pass_sms(&agent, sandbox_url, &page, "verify")
            .into_string()
            .unwrap_or_default();
    }
    let tx = transaction(&page);
    let form = [
        ("transaction", tx.as_str()),
        ("user_code", user_code),
        ("action", action),
    ];
    let done = post(&agent, &format!("{sandbox_url}/activate"), &form);
    assert!(done.status() < 400, "activate answered {}", done.status());
}
