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

/// Signs in at `authorize_url` (sign-in, "Send code", the code, "Verify")
/// and returns where the sandbox redirects the browser (`Location`).
pub fn sign_in(sandbox_url: &str, authorize_url: &str, action: &str) -> String {
    let agent = agent();
    let page = agent
        .get(authorize_url)
        .call()
        .expect("authorize page")
        .into_string()
        .unwrap();
    let tx = transaction(&page);
    let page = post(
        &agent,
        &format!("{sandbox_url}/login/sign-in"),
        &[
            ("transaction", &tx),
            ("username", USER),
            ("password", PASSWORD),
        ],
    );
    let tx = transaction(&page.into_string().unwrap());
    let page = post(
        &agent,
        &format!("{sandbox_url}/login/send-code"),
        &[("transaction", &tx)],
    );
    let tx = transaction(&page.into_string().unwrap());
    let code = phone_code(sandbox_url, USER);
    let done = post(
        &agent,
        &format!("{sandbox_url}/login/verify"),
        &[("transaction", &tx), ("code", &code), ("action", action)],
    );
    assert!(
        matches!(done.status(), 302 | 303),
        "verify did not redirect: {}",
        done.status()
    );
    done.header("location")
        .expect("redirect location")
        .to_owned()
}

/// Approves a device code on `/activate` (sign-in, then the user code).
pub fn approve_device(sandbox_url: &str, user_code: &str, action: &str) {
    let agent = agent();
    let page = agent
        .get(&format!("{sandbox_url}/activate"))
        .call()
        .expect("activate page")
        .into_string()
        .unwrap();
    let tx = transaction(&page);
    let page = post(
        &agent,
        &format!("{sandbox_url}/login/sign-in"),
        &[
            ("transaction", &tx),
            ("username", USER),
            ("password", PASSWORD),
        ],
    );
    let mut page = page.into_string().unwrap();
    if page.contains("send-code-form") {
        let tx = transaction(&page);
        let sent = post(
            &agent,
            &format!("{sandbox_url}/login/send-code"),
            &[("transaction", &tx)],
        );
        let tx = transaction(&sent.into_string().unwrap());
        let code = phone_code(sandbox_url, USER);
        let verified = post(
            &agent,
            &format!("{sandbox_url}/login/verify"),
            &[("transaction", &tx), ("code", &code), ("action", "verify")],
        );
        page = verified.into_string().unwrap_or_default();
    }
    let tx = transaction(&page);
    let done = post(
        &agent,
        &format!("{sandbox_url}/activate"),
        &[
            ("transaction", &tx),
            ("user_code", user_code),
            ("action", action),
        ],
    );
    assert!(done.status() < 400, "activate answered {}", done.status());
}
