//! Credential assets resolved from a real OpenBao server: KV v1 and v2,
//! version pins, Secret and Credential assets, external names, token, AppRole
//! and userpass logins, namespaces, policies, every error, the TTL cache,
//! rotation, and Vault going away mid-run. Canary secrets never show up.

use connector_tests::openbao::OpenBao;
use connector_tests::*;
use serde_json::json;

const ASSET_PATH: &str = "secret/data/connectors/cc-token";

/// A Constant Contact connection whose access token is `token` (a TOML value)
/// and whose `[stores.vault]` table holds `store` (TOML lines).
/// The store's data path is `connectors` unless `store` sets another.
fn connection(sandbox: &Sandbox, bao: &OpenBao, token: &str, store: &str) -> ConnectionFile {
    let path = if store.contains("path =") {
        ""
    } else {
        "path = \"connectors\"\n"
    };
    let text = format!(
        "[token]\naccess_token = {token}\n\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n\n[limits]\n# The sandbox runs without its rate limit here: so may the client.\nrate_limits = []\n\n[stores.vault]\naddress = \"{}\"\n{path}{store}\n",
        sandbox.url, bao.addr
    );
    ConnectionFile::new(&component("cc_connector"), &text)
}

fn root_auth(bao: &OpenBao) -> String {
    format!(
        "auth = {{ method = \"token\", token = \"{}\" }}",
        bao.root_token
    )
}

fn lists(connection: &ConnectionFile) -> Run {
    run(connection, "list-contact-lists", &json!({}))
}

fn seeded() -> (Sandbox, OpenBao) {
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start());
    bao.kv2_put("secret", "connectors/cc-token", json!({"value": TOKEN}));
    (sandbox, bao)
}

#[test]
fn kv2_secret_asset_with_the_vault_cli_environment() {
    let (sandbox, bao) = seeded();
    let file = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", "");
    let env = [("VAULT_TOKEN", bao.root_token.as_str())];
    let out = host_env(
        &[
            "run",
            &file.path.display().to_string(),
            "list-contact-lists",
        ],
        &env,
    );
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(sandbox
        .requests()
        .iter()
        .all(|r| r["authorization"] == json!(format!("Bearer {TOKEN}"))));
}

#[test]
fn kv1_mount_external_name_and_key() {
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start());
    bao.enable_kv("kv1", 1);
    bao.kv1_put("kv1", "apps/cc-production", json!({"api_token": TOKEN}));
    let token = "{ asset = \"cc\", external_name = \"cc-production\", key = \"api_token\" }";
    let store = format!(
        "mount = \"kv1\"\nkv_version = 1\npath = \"apps\"\n{}",
        root_auth(&bao)
    );
    let out = lists(&connection(&sandbox, &bao, token, &store));
    assert_eq!(out.code, 0, "{out:#?}");
}

#[test]
fn pinned_kv2_version_and_credential_assets() {
    let (sandbox, bao) = seeded();
    bao.kv2_put(
        "secret",
        "connectors/cc-token",
        json!({"value": "rotated-but-not-accepted"}),
    );
    let pinned = connection(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\", version = 1 }",
        &root_auth(&bao),
    );
    assert_eq!(lists(&pinned).code, 0, "version 1 holds the accepted token");
    let latest = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &root_auth(&bao));
    lists(&latest).fails_with(7, &["unauthorized"]);
    bao.kv2_put(
        "secret",
        "connectors/cc-login",
        json!({"username": "owner", "password": TOKEN}),
    );
    let credential = "{ asset = \"cc-login\", type = \"credential\", part = \"password\" }";
    assert_eq!(
        lists(&connection(&sandbox, &bao, credential, &root_auth(&bao))).code,
        0
    );
}

#[test]
fn approle_plain_and_wrapped_secret_id_with_a_least_privilege_policy() {
    let (sandbox, bao) = seeded();
    bao.kv2_put("secret", "elsewhere/cc-token", json!({"value": TOKEN}));
    bao.put_policy(
        "connector",
        "path \"secret/data/connectors/*\" { capabilities = [\"read\"] }",
    );
    bao.enable_approle();
    let (role_id, secret_id) = bao.create_approle("connector", &["connector"], "1h");
    let auth = format!("auth = {{ method = \"approle\", role_id = \"{role_id}\", secret_id = {{ env = \"CC_SECRET_ID\" }} }}");
    let file = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &auth);
    let out = host_env(
        &[
            "run",
            &file.path.display().to_string(),
            "list-contact-lists",
        ],
        &[("CC_SECRET_ID", &secret_id)],
    );
    assert_eq!(out.code, 0, "{out:#?}");
    // An asset outside what the policy allows: the store's path is elsewhere.
    let outside = connection(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        &format!("path = \"elsewhere\"\n{auth}"),
    );
    let out = host_env(
        &[
            "run",
            &outside.path.display().to_string(),
            "list-contact-lists",
        ],
        &[("CC_SECRET_ID", &secret_id)],
    );
    out.fails_with(
        6,
        &[
            "field access_token",
            "'cc-token'",
            "permission denied on secret/data/elsewhere/cc-token",
            "hint:",
        ],
    );
    // A name that climbs out of the store's path is refused before Vault is
    // asked, whatever its policy would say. See: issue 15.
    let climbing = connection(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\", external_name = \"../elsewhere/cc-token\" }",
        &auth,
    );
    let refused = host_env(
        &[
            "run",
            &climbing.path.display().to_string(),
            "list-contact-lists",
        ],
        &[("CC_SECRET_ID", &secret_id)],
    );
    refused.fails_with(
        3,
        &[
            "[token] access_token",
            "not a valid external_name",
            "cannot leave it",
        ],
    );
    assert!(!refused.stderr.contains("elsewhere"), "{}", refused.stderr);
    let wrapped = format!(
        "auth = {{ method = \"approle\", role_id = \"{role_id}\", secret_id = \"{}\", secret_id_wrapped = true }}",
        bao.wrapped_secret_id("connector")
    );
    assert_eq!(
        lists(&connection(
            &sandbox,
            &bao,
            "{ asset = \"cc-token\" }",
            &wrapped
        ))
        .code,
        0
    );
}

#[test]
fn userpass_login_and_a_refused_password() {
    let (sandbox, bao) = seeded();
    bao.put_policy(
        "connector",
        "path \"secret/data/connectors/*\" { capabilities = [\"read\"] }",
    );
    bao.enable_userpass();
    bao.create_user("svc-cc", "correct-horse", &["connector"]);
    let auth = |pw: &str| {
        format!("auth = {{ method = \"userpass\", username = \"svc-cc\", password = \"{pw}\" }}")
    };
    assert_eq!(
        lists(&connection(
            &sandbox,
            &bao,
            "{ asset = \"cc-token\" }",
            &auth("correct-horse")
        ))
        .code,
        0
    );
    let refused = lists(&connection(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        &auth("wrong"),
    ));
    refused.fails_with(
        6,
        &["login with userpass failed", "invalid username or password"],
    );
}

#[test]
fn namespaces_are_honoured_and_an_unknown_one_is_named() {
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start());
    bao.create_namespace("team-a");
    bao.enable_kv_in_namespace("team-a", "secret", 2);
    bao.kv2_put_in(
        Some("team-a"),
        "secret",
        "connectors/cc-token",
        json!({"value": TOKEN}),
    );
    let store = |ns: &str| format!("namespace = \"{ns}\"\n{}", root_auth(&bao));
    assert_eq!(
        lists(&connection(
            &sandbox,
            &bao,
            "{ asset = \"cc-token\" }",
            &store("team-a")
        ))
        .code,
        0
    );
    let unknown = lists(&connection(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        &store("team-b"),
    ));
    unknown.fails_with(6, &["namespace \"team-b\" does not exist"]);
}

#[test]
fn each_failure_is_distinct_and_names_field_asset_store_and_path() {
    let (sandbox, mut bao) = seeded();
    bao.kv2_put("secret", "connectors/no-value", json!({"other": "x"}));
    let root = root_auth(&bao);
    fn fails(sandbox: &Sandbox, bao: &OpenBao, token: &str, store: &str, needles: &[&str]) {
        lists(&connection(sandbox, bao, token, store)).fails_with(6, needles);
    }
    fails(
        &sandbox,
        &bao,
        "{ asset = \"missing\" }",
        &root,
        &["not found at secret/data/connectors/missing (KV v2, mount secret)"],
    );
    fails(
        &sandbox,
        &bao,
        "{ asset = \"no-value\" }",
        &root,
        &["has no key \"value\"", "keys present: other"],
    );
    fails(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        &format!("kv_version = 1\n{root}"),
        &["mount secret is KV v2, but the store says kv_version = 1"],
    );
    fails(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        "auth = { method = \"token\", token = \"not-a-token\" }",
        &[
            "login with a token written in the connection file failed",
            "invalid, expired or revoked",
        ],
    );
    let read_only = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &root);
    let text = std::fs::read_to_string(&read_only.path)
        .unwrap()
        .replace("[token]\n", "[token]\nstore = \"vault\"\n");
    std::fs::write(&read_only.path, text).unwrap();
    lists(&read_only).fails_with(
        3,
        &["store \"vault\" is read-only", "mode = \"read-write\""],
    );
    bao.seal();
    fails(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        &root,
        &["is sealed"],
    );
    bao.stop();
    fails(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        &root,
        &["is unreachable", &bao.addr],
    );
    assert!(
        sandbox.requests().is_empty(),
        "no call went out without its secret (fail closed)"
    );
}

/// `calls` empty inputs run with `--batch` from a file, in one process.
fn batch_of(connection: &ConnectionFile, calls: usize) -> Run {
    let file = connection.dir().join("inputs.ndjson");
    std::fs::write(&file, "{}\n".repeat(calls)).unwrap();
    let conn = connection.path.display().to_string();
    let input = format!("@{}", file.display());
    host(&[
        "run",
        &conn,
        "list-user-privileges",
        "--batch",
        "--input",
        &input,
    ])
}

#[test]
fn one_hundred_calls_within_the_ttl_read_vault_once() {
    let (sandbox, bao) = seeded();
    let store = |ttl: u32| format!("cache_ttl_seconds = {ttl}\n{}", root_auth(&bao));
    let cached = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &store(300));
    let out = batch_of(&cached, 100);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(
        out.stdout
            .lines()
            .filter(|l| l.starts_with("{\"ok\":"))
            .count(),
        100
    );
    assert_eq!(
        bao.audit_reads(ASSET_PATH),
        1,
        "100 calls within the TTL make one read"
    );
    let uncached = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &store(0));
    assert_eq!(batch_of(&uncached, 10).code, 0);
    assert_eq!(
        bao.audit_reads(ASSET_PATH),
        11,
        "without the cache every call reads"
    );
}

#[test]
fn a_rotated_token_is_read_again_and_the_call_retried_once() {
    let (sandbox, bao) = seeded();
    let conn = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &root_auth(&bao));
    let mut batch = Batch::start(&conn, "list-contact-lists", &[]);
    assert!(batch.call(&json!({}))["ok"].is_object());
    let rotated = "canary-rotated-token-77e1";
    sandbox.control(
        "tokens",
        json!({"token": rotated, "scopes": ["contact_data"]}),
    );
    sandbox.control("tokens/revoke", json!({"token": TOKEN}));
    bao.kv2_put("secret", "connectors/cc-token", json!({"value": rotated}));
    let second = batch.call(&json!({}));
    assert!(second["ok"].is_object(), "{second}");
    let (code, _) = batch.finish();
    assert_eq!(code, 0);
    assert_eq!(
        bao.audit_reads(ASSET_PATH),
        2,
        "one read, then one more after the API refused the old token"
    );
    let last = sandbox.requests().last().cloned().unwrap();
    assert!(
        last["authorization"] == json!(format!("Bearer {rotated}")),
        "the retry used the rotated token"
    );
}

#[test]
fn vault_stopping_mid_run_is_survived_while_the_cache_is_valid() {
    let (sandbox, mut bao) = seeded();
    let conn = connection(
        &sandbox,
        &bao,
        "{ asset = \"cc-token\" }",
        &format!("cache_ttl_seconds = 2\n{}", root_auth(&bao)),
    );
    let mut batch = Batch::start(&conn, "list-contact-lists", &[]);
    assert!(batch.call(&json!({}))["ok"].is_object());
    bao.stop();
    assert!(
        batch.call(&json!({}))["ok"].is_object(),
        "the cached token still works"
    );
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let after = batch.call(&json!({}));
    let message = after["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("is unreachable") && message.contains("'cc-token'"),
        "{after}"
    );
    assert_eq!(after["error"]["exit_code"], 6);
    let (code, _) = batch.finish();
    assert_eq!(code, 6);
}

#[test]
fn check_reports_each_field_and_the_policy_without_values() {
    let (sandbox, bao) = seeded();
    bao.kv2_put(
        "secret",
        "connectors/cc-app",
        json!({"client_secret": CANARIES[1]}),
    );
    bao.kv2_put("secret", "elsewhere/cc-token", json!({"value": TOKEN}));
    bao.put_policy(
        "connector",
        "path \"secret/data/connectors/*\" { capabilities = [\"read\"] }",
    );
    let token = bao.create_token(&["connector"], "1h", true);
    let store = format!("auth = {{ method = \"token\", token = \"{token}\" }}");
    let conn = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &store);
    let fields = "[fields]\nclient_id = \"demo\"\nclient_secret = { asset = \"cc-app\", key = \"client_secret\" }\n\n";
    let text = std::fs::read_to_string(&conn.path)
        .unwrap()
        .replace("[token]", &format!("{fields}[token]"));
    std::fs::write(&conn.path, &text).unwrap();
    let ok = host(&["check", &conn.path.display().to_string()]);
    assert_eq!(ok.code, 0, "{ok:#?}");
    for needle in [
        "field client_id",
        "direct input",
        "field client_secret",
        "secret/data/connectors/cc-app",
        "policy allows read",
        "token access_token",
    ] {
        assert!(ok.stdout.contains(needle), "{needle}: {}", ok.stdout);
    }
    // A second store whose path the policy does not cover.
    std::fs::write(
        &conn.path,
        text.replace(
            "{ asset = \"cc-token\" }",
            "{ asset = \"cc-token\", store = \"elsewhere\" }",
        )
        .replace(
            "key = \"client_secret\" }",
            "key = \"client_secret\", store = \"vault\" }",
        )
        .replace("[stores.vault]", &format!("[stores.elsewhere]\naddress = \"{}\"\npath = \"elsewhere\"\n{store}\n\n[stores.vault]", bao.addr)),
    )
    .unwrap();
    let denied = host(&["check", &conn.path.display().to_string()]);
    assert_eq!(denied.code, 3, "{denied:#?}");
    assert!(
        denied.stdout.contains("FAILED") && denied.stdout.contains("permission denied"),
        "{}",
        denied.stdout
    );
}

#[test]
fn a_short_lived_vault_token_is_renewed_while_in_use() {
    let (sandbox, bao) = seeded();
    bao.put_policy(
        "connector",
        "path \"secret/data/connectors/*\" { capabilities = [\"read\"] }",
    );
    let token = bao.create_token(&["connector"], "3s", true);
    let store =
        format!("cache_ttl_seconds = 0\nauth = {{ method = \"token\", token = \"{token}\" }}");
    let conn = connection(&sandbox, &bao, "{ asset = \"cc-token\" }", &store);
    let mut batch = Batch::start(&conn, "list-contact-lists", &[]);
    // Twelve reads over six seconds: twice the token's TTL, so only renewal keeps it alive.
    for i in 0..12 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let reply = batch.call(&json!({}));
        assert!(reply["ok"].is_object(), "call {i}: {reply}");
    }
    let (code, stderr) = batch.finish();
    assert_eq!(code, 0);
    assert!(
        stderr.contains("vault token renewed"),
        "the token was renewed: {stderr}"
    );
}

#[test]
fn a_store_address_is_shown_without_its_user_name_and_password() {
    // `check` printed `http://user:password@host` whole. See: issue 15.
    let (sandbox, bao) = seeded();
    let address = bao
        .addr
        .replacen("http://", "http://ops:pa55-in-url-83f6a4@", 1);
    let text = format!(
        "[fields]\nclient_id = \"demo\"\n\n[token]\naccess_token = {{ asset = \"cc-token\" }}\n\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n\n[stores.vault]\naddress = \"{address}\"\npath = \"connectors\"\n{}\n",
        sandbox.url,
        root_auth(&bao)
    );
    let conn = ConnectionFile::new(&component("cc_connector"), &text);
    let out = host(&["check", &conn.path.display().to_string()]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stdout.contains(&format!("Vault at {}", bao.addr)),
        "{}",
        out.stdout
    );
    for text in [&out.stdout, &out.stderr] {
        assert!(
            !text.contains("pa55-in-url") && !text.contains("ops:"),
            "{text}"
        );
    }
}
