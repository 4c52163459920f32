//! The API's daily quota (issue 16): counted across every process that
//! shares the application, through the credential store (OpenBao, KV v2 with
//! check-and-set), never passed, and refused before anything is sent with an
//! error that names the quota and its reset time.

use std::sync::atomic::{AtomicU32, Ordering};

use connector_tests::openbao::OpenBao;
use connector_tests::serve::Serve;
use connector_tests::*;
use serde_json::{json, Value};

/// A static-token Constant Contact connection counting its quota in `bao`:
/// `daily` requests a day per application, no per-second limit.
fn connection_text(sandbox: &Sandbox, bao: &OpenBao, daily: u32) -> String {
    format!(
        "connector = {:?}\n[token]\naccess_token = \"{TOKEN}\"\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n[limits]\nrate_limits = [{{ requests = {daily}, per = \"application\", window = {{ daily = 0 }} }}]\n[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
        component("cc_connector").display().to_string(),
        sandbox.url,
        bao.addr
    )
}

/// The UTC midnight after now, as the quota error writes it.
pub(crate) fn next_midnight() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", "tomorrow", "+%Y-%m-%dT00:00:00Z"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Calls through `serve` until the quota refuses one; the calls that went.
pub(crate) fn until_refused(serve: &Serve, sent: &AtomicU32, midnight: &str) {
    loop {
        let answer = serve.call(
            "POST",
            "/api/connections/q/activities/list-user-privileges",
            Some(&json!({})),
        );
        if answer.status == 200 {
            sent.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        assert_eq!(answer.status, 429, "{answer:#?}");
        assert_eq!(
            answer.json["error"]["class"], "quota_exhausted",
            "{answer:#?}"
        );
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("quota of 50 requests a day") && message.contains(midnight),
            "{message}"
        );
        return;
    }
}

#[test]
fn a_daily_quota_is_shared_by_every_process_and_never_passed() {
    let sandbox = Sandbox::start_with(&[
        "--daily-quota",
        "50",
        "--token",
        &format!("{TOKEN}={ALL_SCOPES}"),
    ]);
    // Only the daily quota: the per-second limit would add 429s to the count.
    sandbox.control("rate-limit", json!({"per_second": 1000}));
    let bao = OpenBao::start();
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let first = Serve::start("", &env);
    let second = Serve::replica(&first, "", &env);
    let text = connection_text(&sandbox, &bao, 50);
    std::fs::write(first.connection_file("q"), &text).unwrap();
    let cli = ConnectionFile::existing(first.connection_file("q"));
    let midnight = next_midnight();
    let sent = AtomicU32::new(0);
    std::thread::scope(|s| {
        s.spawn(|| until_refused(&first, &sent, &midnight));
        s.spawn(|| until_refused(&second, &sent, &midnight));
        s.spawn(|| {
            let mut batch = Batch::start(&cli, "list-user-privileges", &env);
            loop {
                let line = batch.call(&json!({}));
                if line.get("ok").is_some() {
                    sent.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                assert_eq!(line["error"]["class"], "quota_exhausted", "{line}");
                assert_eq!(line["error"]["exit_code"], 5, "{line}");
                break;
            }
            batch.finish();
        });
    });
    let statuses: Vec<u64> = sandbox
        .requests()
        .iter()
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(sent.load(Ordering::SeqCst), 50, "every unit was spent");
    assert_eq!(statuses.len(), 50, "nothing was sent past the quota");
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // A later call fails at once, before any request, in a new process too.
    let file = cli.path.display().to_string();
    let out = host_env(&["run", &file, "list-user-privileges"], &env);
    out.fails_with(
        5,
        &[
            "quota of 50 requests a day",
            &midnight,
            "hint: wait until then",
        ],
    );
    // Without the store that counts it, nothing goes either (fail closed).
    let blind = host(&["run", &file, "list-user-privileges"]);
    blind.fails_with(6, &["the quota's count in store 'vault' cannot be used"]);
    assert_eq!(sandbox.requests().len(), 50);
    // `status` and the API say what is left.
    let status = host_env(&["status", &cli.path.display().to_string()], &env);
    assert!(
        status
            .stdout
            .contains("quota:      50 a day for constant-contact application")
            && status
                .stdout
                .contains("0 left (50 reserved by every process"),
        "{status:#?}"
    );
    let api = first.call("GET", "/api/connections/q/status", None).json;
    let quota: &Value = &api["quotas"][0];
    assert_eq!(
        (quota["requests"].as_u64(), quota["reserved"].as_u64()),
        (Some(50), Some(50)),
        "{api}"
    );
    assert_eq!(quota["counted_in"], "store 'vault'");
}
