//! Signed connectors (issue 20, item 1): components signed with the real
//! `wasmsign2` tool, a trust policy of public keys, and every load path —
//! `describe`, `run`, `mcp`, `serve`'s catalogue and hot reload, `worker` —
//! refusing an altered, an untrusted and an unsigned component before it
//! is compiled (no artifact of it ever reaches the cache).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use connector_tests::serve::Serve;
use connector_tests::temporal::{Temporal, Worker};
use connector_tests::*;
use serde_json::{json, Value};

/// The development key pair `make components` signs every component with.
fn dev_key() -> PathBuf {
    target_dir().join("signing/dev.pub")
}

/// Runs the real `wasmsign2` tool.
fn wasmsign2(args: &[&str]) {
    let out = Command::new("wasmsign2")
        .args(args)
        .output()
        .expect("wasmsign2 (make tools installs it)");
    assert!(
        out.status.success(),
        "wasmsign2 {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The probe component as its publisher signed it, and three variants a
/// hostile party could offer in its place.
struct Variants {
    dir: tempfile::TempDir,
}

impl Variants {
    fn new() -> Variants {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).display().to_string();
        std::fs::copy(component("probe_connector"), at("signed.wasm")).unwrap();
        // One byte changed in the middle of the code.
        let mut bytes = std::fs::read(at("signed.wasm")).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(at("altered.wasm"), bytes).unwrap();
        // The signature taken off.
        let (unsigned, detached) = (at("unsigned.wasm"), at("detached.sig"));
        wasmsign2(&[
            "detach",
            "-i",
            &at("signed.wasm"),
            "-o",
            &unsigned,
            "-S",
            &detached,
        ]);
        // Signed by a key nobody trusts (signing the signed file would add
        // a signature beside the publisher's).
        let (key, public) = (at("mallory.sk"), at("mallory.pub"));
        wasmsign2(&["keygen", "-k", &key, "-K", &public]);
        let untrusted = at("untrusted.wasm");
        wasmsign2(&["sign", "-k", &key, "-i", &unsigned, "-o", &untrusted]);
        Variants { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.wasm"))
    }

    fn mallory(&self) -> PathBuf {
        self.dir.path().join("mallory.pub")
    }
}

/// Each refused variant and the words its refusal must carry.
const REFUSED: [(&str, &str); 3] = [
    ("altered", "altered after it was signed"),
    (
        "untrusted",
        "signed, but by no key CONNECTOR_HOST_TRUSTED_KEYS trusts (key dev)",
    ),
    ("unsigned", "it is not signed"),
];

/// Whether the artifact cache `cache` holds an artifact compiled from `file`.
fn compiled(cache: &Path, file: &Path) -> bool {
    let digest = blake3::hash(&std::fs::read(file).unwrap())
        .to_hex()
        .to_string();
    std::fs::read_dir(cache)
        .map(|d| {
            d.flatten().any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(&digest) && name.ends_with(".cwasm")
            })
        })
        .unwrap_or(false)
}

/// What a run that must succeed printed.
fn ok_text(run: Run) -> String {
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
}

fn trusting(cache: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "CONNECTOR_HOST_TRUSTED_KEYS",
            dev_key().display().to_string(),
        ),
        ("CONNECTOR_HOST_CACHE_DIR", cache.display().to_string()),
    ]
}

fn env_of<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn describe_names_the_signer_and_the_cli_refuses_what_the_policy_does_not_trust_before_compiling() {
    let variants = Variants::new();
    let cache = tempfile::tempdir().unwrap();
    let env = trusting(cache.path());
    let env = env_of(&env);
    let signed = variants.path("signed").display().to_string();

    let text = ok_text(host_env(&["describe", &signed], &env));
    assert!(text.contains("signed by: dev (key SHA256:"), "{text}");
    let json: Value =
        serde_json::from_str(&ok_text(host_env(&["describe", "--json", &signed], &env))).unwrap();
    assert_eq!(json["signature"]["status"], "trusted");
    assert_eq!(json["signature"]["name"], "dev");
    // No policy: nothing checked, and describe says so.
    let unchecked = ok_text(host(&[
        "describe",
        &variants.path("unsigned").display().to_string(),
    ]));
    assert!(unchecked.contains("signed by: not checked"), "{unchecked}");

    for (variant, reason) in REFUSED {
        let file = variants.path(variant);
        let shown = file.display().to_string();
        let refused = host_env(&["describe", &shown], &env);
        refused.fails_with(4, &[&format!("refused connector {shown}"), reason, "hint:"]);
        let connection = ConnectionFile::new(&file, "");
        let run = host_env(
            &[
                "run",
                &connection.path.display().to_string(),
                "echo",
                "--input",
                "{}",
            ],
            &env,
        );
        run.fails_with(4, &[&shown, reason]);
        assert!(
            !compiled(cache.path(), &file),
            "{variant}: compiled although refused"
        );
    }
    assert!(
        compiled(cache.path(), &variants.path("signed")),
        "the signed one was never compiled"
    );

    // The verification is recorded in the cache (so a cached load does not
    // hash the component again); a record copied to an altered component's
    // digest is not believed (its MAC binds the digest).
    let digest = |name: &str| {
        blake3::hash(&std::fs::read(variants.path(name)).unwrap())
            .to_hex()
            .to_string()
    };
    let record = cache.path().join(format!("{}.verified", digest("signed")));
    assert!(record.exists(), "no verification record");
    std::fs::copy(
        &record,
        cache.path().join(format!("{}.verified", digest("altered"))),
    )
    .unwrap();
    host_env(
        &["describe", &variants.path("altered").display().to_string()],
        &env,
    )
    .fails_with(4, &["altered after it was signed"]);
    // Nor is it once its key is no longer trusted.
    let mallory = variants.mallory().display().to_string();
    let cache_dir = cache.path().display().to_string();
    host_env(
        &["describe", &signed],
        &[
            ("CONNECTOR_HOST_TRUSTED_KEYS", &mallory),
            ("CONNECTOR_HOST_CACHE_DIR", &cache_dir),
        ],
    )
    .fails_with(4, &["signed, but by no key"]);

    // Unsigned components allowed explicitly: unsigned loads, a broken
    // signature still does not.
    let mut allowing = env.clone();
    allowing.push(("CONNECTOR_HOST_ALLOW_UNSIGNED", "true"));
    let text = ok_text(host_env(
        &["describe", &variants.path("unsigned").display().to_string()],
        &allowing,
    ));
    assert!(text.contains("signed by: unsigned"), "{text}");
    host_env(
        &["describe", &variants.path("altered").display().to_string()],
        &allowing,
    )
    .fails_with(4, &["altered after it was signed"]);
    // The publisher's key trusted instead: their signature is accepted.
    let text = ok_text(host_env(
        &[
            "describe",
            &variants.path("untrusted").display().to_string(),
        ],
        &[("CONNECTOR_HOST_TRUSTED_KEYS", &mallory)],
    ));
    assert!(text.contains("signed by: mallory"), "{text}");
}

#[test]
fn a_trusted_key_others_could_replace_and_a_wrong_setting_are_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let variants = Variants::new();
    let mallory = variants.mallory();
    std::fs::set_permissions(&mallory, std::fs::Permissions::from_mode(0o666)).unwrap();
    let signed = variants.path("signed").display().to_string();
    let shown = mallory.display().to_string();
    host_env(
        &["describe", &signed],
        &[("CONNECTOR_HOST_TRUSTED_KEYS", &shown)],
    )
    .fails_with(4, &[&shown, "mode 0666", "chmod go-w"]);
    let secret = variants.dir.path().join("mallory.sk").display().to_string();
    host_env(
        &["describe", &signed],
        &[("CONNECTOR_HOST_TRUSTED_KEYS", &secret)],
    )
    .fails_with(4, &["is not an Ed25519 public key", "never a secret key"]);
    let dev = dev_key().display().to_string();
    host_env(
        &["describe", &signed],
        &[
            ("CONNECTOR_HOST_TRUSTED_KEYS", &dev),
            ("CONNECTOR_HOST_ALLOW_UNSIGNED", "maybe"),
        ],
    )
    .fails_with(4, &["CONNECTOR_HOST_ALLOW_UNSIGNED must be true or false"]);
    let (code, stderr) =
        Serve::refuses_to_start(&format!("[signatures]\ntrusted_keys = [{shown:?}]\n"), &[]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("serve config [signatures]") && stderr.contains("mode 0666"),
        "{stderr}"
    );
}

#[test]
fn mcp_refuses_an_altered_untrusted_or_unsigned_component_before_serving_a_tool() {
    let variants = Variants::new();
    let cache = tempfile::tempdir().unwrap();
    let env = trusting(cache.path());
    for (variant, reason) in REFUSED {
        let connection = ConnectionFile::new(&variants.path(variant), "");
        let out = host_command(
            &["mcp", &connection.path.display().to_string()],
            &env_of(&env),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "mcp started on {variant}: {stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        assert!(
            String::from_utf8_lossy(&out.stdout).trim().is_empty(),
            "it answered on stdout"
        );
        assert!(!compiled(cache.path(), &variants.path(variant)));
    }
}

/// The catalogue entry of `file`, once it is no longer loading.
fn entry(serve: &Serve, file: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = serve.call("GET", "/api/connectors", None).json;
        let found = list["connectors"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["file"] == file).cloned());
        match found {
            Some(e) if e["state"] != "loading" => return e,
            _ if Instant::now() > deadline => panic!("{file} never settled: {list}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

#[test]
fn serve_loads_only_signed_components_once_a_key_is_trusted_also_on_hot_reload() {
    let variants = Variants::new();
    let cache = tempfile::tempdir().unwrap();
    let config = format!(
        "[signatures]\ntrusted_keys = [{:?}]\n",
        dev_key().display().to_string()
    );
    let cache_env = cache.path().display().to_string();
    let mut serve = Serve::start(&config, &[("CONNECTOR_HOST_CACHE_DIR", &cache_env)]);
    let connectors = serve.dir().join("connectors");
    let probe = entry(&serve, "probe_connector.wasm");
    assert_eq!(probe["state"], "loaded", "{probe}");
    assert_eq!(
        probe["signature"],
        json!({"status": "trusted", "name": "dev", "fingerprint": probe["signature"]["fingerprint"]})
    );
    for (variant, reason) in REFUSED {
        let reason = reason.replace("CONNECTOR_HOST_TRUSTED_KEYS", "serve config [signatures]");
        std::fs::copy(
            variants.path(variant),
            connectors.join(format!("{variant}.wasm")),
        )
        .unwrap();
        let refused = entry(&serve, &format!("{variant}.wasm"));
        assert_eq!(refused["state"], "failed", "{refused}");
        assert!(
            refused["error"].as_str().unwrap().contains(&reason),
            "{refused}"
        );
        assert!(!compiled(cache.path(), &variants.path(variant)));
    }
    // Hot reload: the probe a connection uses is swapped for an altered copy.
    let created = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": "p", "connector": "probe"})),
    );
    assert_eq!(created.status, 201, "{created:#?}");
    let swapped = connectors.join(".probe_connector.swap");
    std::fs::copy(variants.path("altered"), &swapped).unwrap();
    std::fs::rename(&swapped, connectors.join("probe_connector.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while entry(&serve, "probe_connector.wasm")["state"] != "failed" {
        assert!(
            Instant::now() < deadline,
            "the altered probe was never refused"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let echo = serve.call(
        "POST",
        "/api/connections/p/activities/echo",
        Some(&json!({"text": "hi"})),
    );
    assert_ne!(echo.status, 200, "an altered component answered: {echo:#?}");
    let (_, stderr) = serve.stop();
    assert!(stderr.contains("altered after it was signed"), "not logged");
}

#[test]
fn a_worker_registers_no_activity_of_an_altered_untrusted_or_unsigned_component() {
    let variants = Variants::new();
    let dir = tempfile::tempdir().unwrap();
    let (connectors, connections) = (
        dir.path().join("connectors"),
        dir.path().join("connections"),
    );
    std::fs::create_dir_all(&connectors).unwrap();
    std::fs::create_dir_all(&connections).unwrap();
    for variant in ["signed", "altered", "untrusted", "unsigned"] {
        let file = connectors.join(format!("{variant}.wasm"));
        std::fs::copy(variants.path(variant), &file).unwrap();
        std::fs::write(
            connections.join(format!("{variant}.toml")),
            format!("connector = {:?}\n", file.display().to_string()),
        )
        .unwrap();
    }
    let temporal = Temporal::start();
    let dev = dev_key().display().to_string();
    let mut worker = Worker::start(
        &temporal,
        &connectors,
        &connections,
        &[("CONNECTOR_HOST_TRUSTED_KEYS", &dev)],
    );
    let ready = worker
        .output()
        .into_iter()
        .find(|l| l.starts_with("ready:"))
        .unwrap();
    assert!(ready.starts_with("ready: 1 queues"), "{ready}");
    let (_, stderr) = worker.stop();
    for (variant, reason) in REFUSED {
        assert!(
            stderr.contains(reason),
            "the {variant} one's refusal is not logged"
        );
    }
}
