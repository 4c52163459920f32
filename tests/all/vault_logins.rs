//! The Vault logins a security team uses beyond token, AppRole and userpass,
//! each against a real OpenBao: LDAP (OpenBao 2.6 binding to a real
//! `slapd`), JWT/OIDC workload identity (keys and tokens made in the test, one
//! rotated on disk mid-run), TLS client certificate (CA and certificates
//! made in the test, OpenBao on a TLS listener), and a Vault Agent token
//! file rewritten mid-run. Each: a call resolves its credential asset
//! through the store; a wrong credential is an error naming the method,
//! mount and role; no credential (password, JWT and its claims, token, key)
//! shows up in output, in the trace-level log, or in any file.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use connector_tests::ldap::{self, Slapd};
use connector_tests::openbao::OpenBao;
use connector_tests::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use serde_json::{json, Value};

const LDAP_PASSWORD: &str = "canary-ldap-password-4c1d9e";
const WRONG_PASSWORD: &str = "canary-ldap-wrong-password-a80b";
const JWT_SUBJECT: &str = "canary-jwt-subject-2f77c0";
const AGENT_TOKENS: [&str; 3] = [
    "canary-agent-token-one-71ad0e",
    "canary-agent-token-two-9be214",
    "canary-agent-token-tri-0c5f3a",
];
const BOGUS_TOKEN: &str = "canary-agent-token-bogus-e4d2";
const POLICY: &str = "path \"secret/data/connectors/*\" { capabilities = [\"read\"] }";

/// An OpenBao holding the asset `cc-token` and a policy `connector` reading it.
fn seeded(bao: &OpenBao) {
    bao.kv2_put("secret", "connectors/cc-token", json!({"value": TOKEN}));
    bao.put_policy("connector", POLICY);
}

/// A Constant Contact connection reading its token from the store at
/// `address` logging in with `auth`; nothing cached, so every call asks Vault.
fn connection(sandbox: &Sandbox, address: &str, store: &str) -> ConnectionFile {
    let text = format!(
        "[token]\naccess_token = {{ asset = \"cc-token\" }}\n\n[endpoints]\n\"https://api.cc.email\" = \"{}\"\n\n[limits]\nrate_limits = []\n\n[stores.vault]\naddress = \"{address}\"\npath = \"connectors\"\ncache_ttl_seconds = 0\n{store}\n",
        sandbox.url
    );
    ConnectionFile::new(&component("cc_connector"), &text)
}

fn lists(connection: &ConnectionFile, env: &[(&str, &str)]) -> Run {
    let conn = connection.path.display().to_string();
    let out = host_env(&["run", &conn, "list-contact-lists"], env);
    clean(&[&out.stdout, &out.stderr], connection.dir());
    out
}

/// Panics if a credential of this module is in `texts` or in a file of `dir`.
fn clean(texts: &[&str], dir: &Path) {
    let mut all: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
    for entry in std::fs::read_dir(dir).expect("read the connection directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_file() {
            all.push(String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned());
        }
    }
    let canaries = [LDAP_PASSWORD, WRONG_PASSWORD, JWT_SUBJECT, BOGUS_TOKEN];
    for (i, canary) in canaries.iter().chain(&AGENT_TOKENS).enumerate() {
        assert!(
            all.iter().all(|t| !t.contains(canary)),
            "credential #{i} leaked"
        );
    }
}

/// The `connector-host:` error lines of a failed run (not the log).
fn error_lines(run: &Run) -> String {
    let lines = run
        .stderr
        .lines()
        .skip_while(|l| !l.starts_with("connector-host:"));
    lines.collect::<Vec<_>>().join("\n")
}

/// OpenBao 2.6 (2.7 ships no LDAP auth) with LDAP auth at `corp-ldap/`
/// against `slapd`: the user's DN is `uid=<name>,ou=people,…`, bound with
/// the password given (no service account, no search before the bind);
/// user `svc-cc` gets the policy `connector`.
fn ldap_openbao(slapd: &Slapd) -> OpenBao {
    let bao = OpenBao::start_with_binary(&ldap::openbao_with_ldap(), "");
    seeded(&bao);
    bao.enable_auth("ldap", "corp-ldap");
    let config = json!({ "url": slapd.url, "userdn": ldap::PEOPLE, "userattr": "uid" });
    bao.root_ok(None, "POST", "auth/corp-ldap/config", Some(config));
    let user = json!({ "policies": ["connector"] });
    bao.root_ok(None, "POST", "auth/corp-ldap/users/svc-cc", Some(user));
    bao
}

#[test]
fn ldap_login_binds_to_slapd_through_its_mount_and_a_wrong_password_is_named_not_echoed() {
    let slapd = Slapd::start(&[("svc-cc", LDAP_PASSWORD)]);
    let (sandbox, bao) = (Sandbox::start(), ldap_openbao(&slapd));
    let auth = "auth = { method = \"ldap\", mount = \"corp-ldap\", username = \"svc-cc\", password = { env = \"LDAP_PASSWORD\" } }";
    let conn = connection(&sandbox, &bao.addr, auth);
    let env = [("LDAP_PASSWORD", LDAP_PASSWORD)];
    // At trace level (every test run is), so the log is checked too.
    let out = lists(&conn, &env);
    assert_eq!(out.code, 0, "{out:#?}");
    let logins = bao.audit_requests().into_iter();
    let logins = logins.filter(|e| e["request"]["path"] == "auth/corp-ldap/login/svc-cc");
    assert_eq!(logins.count(), 1, "one login at the mount's path");
    let check = host_env(&["check", &conn.path.display().to_string()], &env);
    clean(&[&check.stdout, &check.stderr], conn.dir());
    assert!(
        check.stdout.contains("login ldap (mount corp-ldap)"),
        "{}",
        check.stdout
    );
    ldap_refuses_a_wrong_password(&conn, &bao);
}

/// A wrong password: slapd refuses the bind, OpenBao the login, and the
/// host's error names method and mount but neither user nor password.
fn ldap_refuses_a_wrong_password(conn: &ConnectionFile, bao: &OpenBao) {
    let refused = lists(conn, &[("LDAP_PASSWORD", WRONG_PASSWORD)]);
    refused.fails_with(
        6,
        &[
            "Vault login with ldap (mount corp-ldap) failed",
            "hint: check the LDAP user name and password",
        ],
    );
    // OpenBao's LDAP backend tried the bind and slapd refused it.
    assert!(
        refused.stderr.contains("failed to bind as user"),
        "{refused:#?}"
    );
    let refusals = bao.audit_responses().into_iter().filter(|e| {
        e["request"]["path"] == "auth/corp-ldap/login/svc-cc" && e["error"] == "invalid credentials"
    });
    assert_eq!(refusals.count(), 1, "one refused login at the mount's path");
    let error = error_lines(&refused);
    assert!(
        !error.contains("svc-cc"),
        "the user name is not in the error: {error}"
    );
}

/// A signing key for JWTs (ES256) and its public key as PEM.
struct Issuer256 {
    pair: ring::signature::EcdsaKeyPair,
    public_pem: String,
}

impl Issuer256 {
    fn new() -> Issuer256 {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("a P-256 key");
        let alg = &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let rng = ring::rand::SystemRandom::new();
        let pair = ring::signature::EcdsaKeyPair::from_pkcs8(alg, &key.serialize_der(), &rng)
            .expect("ring reads rcgen's PKCS #8");
        Issuer256 {
            pair,
            public_pem: key.public_key_pem(),
        }
    }

    /// A JWT for the host's workload, valid for `seconds` from now.
    fn jwt(&self, seconds: u64) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({
            "iss": "https://issuer.test", "aud": "connector-host", "sub": JWT_SUBJECT,
            "iat": now, "nbf": now - 1, "exp": now + seconds,
        });
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let signed = format!(
            "{}.{}",
            b64(&json!({"alg": "ES256", "typ": "JWT"})),
            b64(&claims)
        );
        let rng = ring::rand::SystemRandom::new();
        let signature = self.pair.sign(&rng, signed.as_bytes()).expect("sign");
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.as_ref());
        format!("{signed}.{signature}")
    }
}

/// Replaces `path` as the kubelet does: a new file renamed over the old one.
fn swap_in(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// JWT auth at `jwt/` trusting `issuer`, role `connector-host` issuing
/// 2-second tokens: no renewal outlives them, so every call after 2 s logs in.
fn jwt_auth(bao: &OpenBao, issuer: &Issuer256) {
    bao.enable_auth("jwt", "jwt");
    let config = json!({ "jwt_validation_pubkeys": [issuer.public_pem], "bound_issuer": "https://issuer.test" });
    bao.root_ok(None, "POST", "auth/jwt/config", Some(config));
    let role = json!({
        "role_type": "jwt", "bound_audiences": ["connector-host"], "user_claim": "sub",
        "token_policies": ["connector"], "token_ttl": "2s", "token_max_ttl": "2s",
        // No leeway: an expired JWT is refused at once (the default is 150 s).
        "expiration_leeway": -1, "clock_skew_leeway": -1, "not_before_leeway": -1,
    });
    bao.root_ok(None, "POST", "auth/jwt/role/connector-host", Some(role));
}

#[test]
fn jwt_login_uses_a_token_rotated_on_disk_without_a_restart() {
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start());
    seeded(&bao);
    let issuer = Issuer256::new();
    jwt_auth(&bao, &issuer);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let first = issuer.jwt(3);
    swap_in(&file, &first);
    let auth = format!(
        "auth = {{ method = \"jwt\", role = \"connector-host\", jwt = {{ file = {:?} }} }}",
        file.display().to_string()
    );
    let conn = connection(&sandbox, &bao.addr, &auth);
    let mut batch = Batch::start(&conn, "list-contact-lists", &[]);
    assert!(batch.call(&json!({}))["ok"].is_object());
    // The first JWT and the Vault token it bought expire; a new JWT is put in place.
    std::thread::sleep(Duration::from_millis(4200));
    let expired = bao.call(
        "",
        None,
        "POST",
        "auth/jwt/login",
        Some(&json!({"role": "connector-host", "jwt": first})),
    );
    let expired = expired.unwrap();
    assert!(
        !expired.is_success(),
        "OpenBao refuses the first JWT now: {expired:?}"
    );
    let second = issuer.jwt(120);
    swap_in(&file, &second);
    let reply = batch.call(&json!({}));
    assert!(reply["ok"].is_object(), "the rotated JWT was read: {reply}");
    let (code, stderr) = batch.finish();
    assert_eq!(code, 0);
    let logins = bao
        .audit_requests()
        .into_iter()
        .filter(|e| e["request"]["path"] == "auth/jwt/login");
    assert!(
        logins.count() >= 3,
        "two logins by the host, one by the test"
    );
    for jwt in [&first, &second] {
        let signature = jwt.rsplit('.').next().unwrap();
        assert!(!stderr.contains(signature), "a JWT is in the log");
    }
    clean(&[&stderr], conn.dir());
    let check = host(&["check", &conn.path.display().to_string()]);
    assert!(
        check
            .stdout
            .contains("login jwt (mount jwt, role connector-host)"),
        "{}",
        check.stdout
    );
    // A JWT from a key the mount does not trust.
    swap_in(&file, &Issuer256::new().jwt(120));
    let refused = lists(&conn, &[]);
    refused.fails_with(
        6,
        &[
            "Vault login with jwt (mount jwt, role connector-host) failed",
            "hint:",
        ],
    );
}

/// A CA of the test, and files signed by it.
fn test_ca(name: &str) -> (Issuer<'static, KeyPair>, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    (Issuer::new(params, key), pem)
}

/// A certificate for `names` (or a client named `client`) signed by `ca`: (cert PEM, key PEM).
fn issue(ca: &Issuer<'static, KeyPair>, names: &[&str], client: Option<&str>) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    if let Some(cn) = client {
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    (
        params.signed_by(&key, ca).unwrap().pem(),
        key.serialize_pem(),
    )
}

fn write_private(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn cert_login_presents_the_client_certificate_and_refuses_a_readable_key() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_pem) = test_ca("vault-test-ca");
    let (server_cert, server_key) = issue(&ca, &["127.0.0.1"], None);
    let (client_cert, client_key) = issue(&ca, &[], Some("connector-host"));
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        write_private(&path, text, 0o600);
        path.display().to_string()
    };
    let (ca_file, cert_file, key_file) = (
        file("ca.pem", &ca_pem),
        file("client.pem", &client_cert),
        file("client.key", &client_key),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let tls = format!(
        "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = {:?}\n  tls_key_file = {:?}\n}}\n",
        file("server.pem", &server_cert), file("server.key", &server_key)
    );
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start_with(&tls));
    seeded(&bao);
    bao.enable_auth("cert", "cert");
    let role = json!({ "certificate": ca_pem, "token_policies": ["connector"], "token_ttl": "1h" });
    bao.root_ok(None, "POST", "auth/cert/certs/connector-host", Some(role));
    let store = |cert: &str, key: &str| {
        format!(
        "ca_cert = {ca_file:?}\nauth = {{ method = \"cert\", cert_file = {cert:?}, key_file = {key:?}, name = \"connector-host\" }}"
    )
    };
    let address = format!("https://127.0.0.1:{port}");
    let conn = connection(&sandbox, &address, &store(&cert_file, &key_file));
    let out = lists(&conn, &[]);
    assert_eq!(out.code, 0, "{out:#?}");
    let key_body = client_key.lines().nth(1).unwrap();
    assert!(!out.stderr.contains(key_body), "the key is in the log");
    // A certificate from a CA the mount does not trust.
    let (other_ca, _) = test_ca("someone-else");
    let (stranger_cert, stranger_key) = issue(&other_ca, &[], Some("connector-host"));
    let stranger = connection(
        &sandbox,
        &address,
        &store(
            &file("stranger.pem", &stranger_cert),
            &file("stranger.key", &stranger_key),
        ),
    );
    lists(&stranger, &[]).fails_with(
        6,
        &[
            "Vault login with cert (mount cert, role connector-host) failed",
            "hint:",
        ],
    );
    // A key others may read is refused before anything is sent.
    std::fs::set_permissions(
        &key_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let readable = lists(&conn, &[]);
    readable.fails_with(6, &["client.key has mode 0644", "chmod 600"]);
    assert!(!readable.stderr.contains(key_body));
}

/// Writes `token` in place and puts the file's mtime back to `mtime`: the
/// same inode, size and mtime, so only a denial can reveal the new token.
fn rewrite_unnoticed(path: &Path, token: &str) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    std::fs::write(path, token).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(mtime).unwrap();
}

#[test]
fn agent_token_file_is_followed_when_rewritten_and_never_renewed_or_revoked() {
    let (sandbox, bao) = (Sandbox::start(), OpenBao::start());
    seeded(&bao);
    for id in AGENT_TOKENS {
        let body = json!({ "id": id, "policies": ["connector"], "ttl": "1h" });
        bao.root_ok(None, "POST", "auth/token/create", Some(body));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    swap_in(&file, AGENT_TOKENS[0]);
    let auth = format!(
        "auth = {{ method = \"agent\", token_file = {:?} }}",
        file.display().to_string()
    );
    let conn = connection(&sandbox, &bao.addr, &auth);
    let mut batch = Batch::start(&conn, "list-contact-lists", &[]);
    assert!(batch.call(&json!({}))["ok"].is_object());
    // The Agent re-authenticates: the old token is revoked, a new file renamed in.
    bao.revoke_token(AGENT_TOKENS[0]);
    swap_in(&file, AGENT_TOKENS[1]);
    let reply = batch.call(&json!({}));
    assert!(reply["ok"].is_object(), "the new file was read: {reply}");
    // A rewrite the stat check cannot see: the denial makes the host look.
    bao.revoke_token(AGENT_TOKENS[1]);
    rewrite_unnoticed(&file, AGENT_TOKENS[2]);
    let reply = batch.call(&json!({}));
    assert!(reply["ok"].is_object(), "read again after a 403: {reply}");
    swap_in(&file, BOGUS_TOKEN);
    let refused = batch.call(&json!({}));
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Vault login with agent (token file token) failed")
            && message.contains("hint: check that Vault Agent is running"),
        "{refused}"
    );
    let (code, stderr) = batch.finish();
    assert_eq!(code, 6);
    clean(&[&stderr, &refused.to_string()], conn.dir());
    // The dev server revokes its first root token itself: only the Agent's
    // tokens (policy `connector`) count.
    let agents: Vec<Value> = bao
        .audit_requests()
        .into_iter()
        .filter(|e| {
            let policies = e["auth"]["policies"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            policies.contains(&json!("connector"))
        })
        .collect();
    assert!(agents.len() >= 4, "the host used the Agent's tokens");
    let paths = agents
        .iter()
        .map(|e| e["request"]["path"].as_str().unwrap_or_default().to_owned());
    let own: Vec<String> = paths
        .filter(|p| p.starts_with("auth/token/renew") || p.starts_with("auth/token/revoke"))
        .collect();
    assert!(
        own.is_empty(),
        "the host renewed or revoked the Agent's token: {own:?}"
    );
}
