//! How the connection page looks, in the real Chromium against the real
//! `serve`, the sandbox and OpenBao: a screenshot of each state a person
//! meets (written under `target/screenshots/`, listed on stdout), and
//! axe-core's accessibility check on each of them, which must find no
//! `serious` or `critical` violation. See: issue 17, item 5.

use std::path::PathBuf;
use std::time::Duration;

use connector_tests::axe::{self, Audit};
use connector_tests::browser::Browser;
use connector_tests::serve::Serve;
use connector_tests::signin;
use connector_tests::*;
use serde_json::json;

use crate::page::sign_in;
use crate::serve::register_app;

/// Screenshots and audits taken so far, in order.
struct Looks {
    dir: PathBuf,
    taken: Vec<(String, PathBuf, Audit)>,
}

impl Looks {
    fn new() -> Looks {
        let dir = target_dir().join("screenshots");
        std::fs::create_dir_all(&dir).expect("create target/screenshots");
        Looks {
            dir,
            taken: Vec::new(),
        }
    }

    /// Screenshot (with `css` scrolled to the top of the window, when given)
    /// and audit of what `browser` shows now, as state `name`.
    fn take_at(&mut self, browser: &Browser, name: &str, css: &str) {
        browser.wait_for(css);
        browser.execute(&format!(
            "document.querySelector({}).scrollIntoView({{block: 'start'}})",
            serde_json::to_string(css).unwrap()
        ));
        self.take(browser, name);
    }

    /// Screenshot and audit of what `browser` shows now, as state `name`.
    fn take(&mut self, browser: &Browser, name: &str) {
        let file = self
            .dir
            .join(format!("{:02}-{name}.png", self.taken.len() + 1));
        browser.screenshot(&file);
        let audit = axe::audit(browser);
        self.taken.push((name.to_owned(), file, audit));
    }

    /// Prints every state's file and counts; fails on any blocking violation.
    fn finish(self) {
        let mut failed = Vec::new();
        for (name, file, audit) in &self.taken {
            println!("{name}: {} — axe: {audit}", file.display());
            if audit.blocking() > 0 {
                failed.push(format!("{name}: {audit}"));
            }
        }
        assert!(
            failed.is_empty(),
            "serious or critical accessibility violations:\n{}",
            failed.join("\n")
        );
    }
}

/// Whether the page is wider than the window (a horizontal scroll bar).
fn overflows(browser: &Browser) -> bool {
    let widths = browser.execute(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    );
    widths[0].as_i64() > widths[1].as_i64()
}

#[test]
fn every_state_of_the_page_has_a_screenshot_and_no_serious_accessibility_violation() {
    let sandbox = Sandbox::start();
    let bao = crate::page::bao_with_app_secret();
    let serve = Serve::start(
        &crate::page::config(&bao, Some(&sandbox)),
        &[("VAULT_TOKEN", &bao.root_token)],
    );
    register_app(&sandbox, &serve, "app-looks");
    let browser = Browser::start();
    let mut looks = Looks::new();

    // The check can fail: an image without a text alternative is critical.
    browser.goto(&serve.url);
    browser.wait_for("#token");
    browser.execute(
        "const i = document.createElement('img'); i.src = 'data:,'; document.body.append(i);",
    );
    let planted = axe::audit(&browser);
    assert!(
        planted.critical > 0 && planted.lines.iter().any(|l| l.starts_with("image-alt")),
        "axe-core did not see a planted violation: {planted}"
    );

    sign_in(&browser, &serve);
    browser.wait_for("#no-connections");
    looks.take(&browser, "empty-list");

    browser.click("#add-connection");
    browser.wait_for("[data-connector='constant-contact']");
    looks.take(&browser, "catalogue");

    browser.click("[data-connector='constant-contact']");
    browser.wait_for("#field-client_id");
    browser.fill("#connection-name", "cc-looks");
    browser.fill("#field-client_id", "app-looks");
    looks.take(&browser, "form");

    browser.click("#field-client_secret-source option[value='asset']");
    browser.fill("#field-client_secret-asset", "cc-app");
    browser.fill("#field-client_secret-key", "client_secret");
    looks.take_at(
        &browser,
        "asset-editing",
        "#field-client_secret-asset-choice",
    );

    browser.click("#connect");
    browser.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    browser.wait_for("#username");
    looks.take(&browser, "provider-sign-in");
    signin::in_browser(&browser, &sandbox.url);
    browser.wait_for("#connection-status[data-state='connected']");
    browser.wait_for("#signin-outcome[data-outcome='connected']");
    looks.take(&browser, "connect-success");
    browser.click("#outcome-continue");

    for name in ["Looks one", "Looks two"] {
        let path = "/api/connections/cc-looks/activities/create-contact-list";
        let made = serve.call("POST", path, Some(&json!({"name": name})));
        assert_eq!(made.status, 200, "{made:#?}");
    }
    browser.click("#activity option[value='list-contact-lists']");
    browser.click("#run");
    let table = browser.text("[data-test='result-view']");
    assert!(
        table.contains("Looks one") && table.contains("Looks two"),
        "{table}"
    );
    looks.take_at(&browser, "results", "#run-output");
    browser.click("#show-json");
    let json = browser.text("#result");
    assert!(json.contains("\"name\": \"Looks one\""), "{json}");

    browser.click("#activity option[value='get-contact']");
    browser.fill(
        "[data-path='contact_id']",
        "00000000-0000-0000-0000-000000000000",
    );
    browser.click("#run");
    browser.wait_for("[data-test='run-error']");
    looks.take_at(&browser, "error", "#run-output");

    browser.click("#connect");
    browser.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    signin::in_browser_then(&browser, &sandbox.url, "#decline");
    browser.wait_for_url(|u| u.starts_with(&serve.url), Duration::from_secs(15));
    browser.wait_for("#signin-outcome[data-outcome='declined']");
    assert_eq!(browser.text("#outcome-title"), "The sign-in was declined");
    looks.take(&browser, "connect-declined");
    // Try again starts the sign-in again, at the provider's page.
    browser.click("#try-again");
    browser.wait_for_url(|u| u.starts_with(&sandbox.url), Duration::from_secs(15));
    browser.wait_for("#username");

    browser.goto(&format!("{}/#connection=cc-looks", serve.url));
    browser.resize(390, 844);
    browser.wait_for("#connection-status[data-state='connected']");
    looks.take(&browser, "390px");
    let overflow = overflows(&browser);
    browser.resize(1280, 1024);
    browser.color_scheme("dark");
    looks.take(&browser, "dark");
    browser.goto(&format!("{}/#add", serve.url));
    looks.take_at(
        &browser,
        "dark-catalogue",
        "[data-connector='constant-contact']",
    );
    looks.finish();
    assert!(!overflow, "the page scrolls sideways at 390 px");
}
