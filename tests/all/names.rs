//! Names are identifiers, never paths (issue 15): a connector's field names,
//! connection names in every route, typed secrets' places in files and in
//! Vault, and deletes. Each test is an attack by a hostile connector author
//! or a hostile API client holding the token, against a real `serve`; each
//! asserts the attack is refused like a wrong name and that nothing outside
//! its place is read, written or deleted. `SECURITY.md` cites them.

use std::path::{Path, PathBuf};

use connector_tests::openbao::OpenBao;
use connector_tests::serve::Serve;
use connector_tests::*;
use serde_json::{json, Value};

/// The hostile component with its second field named `name` instead of
/// `slot_field`: the test connector's `FIELD_SLOT` bytes, replaced by the
/// same number of bytes (`name` padded with the `~` it trims), so the
/// component stays a valid one that declares `name`.
fn hostile_declaring(name: &str) -> Vec<u8> {
    let mut bytes = std::fs::read(component("hostile_connector")).unwrap();
    let start = find(&bytes, b"slot_field~").expect("the hostile component carries its slot");
    let end = start
        + bytes[start..]
            .iter()
            .take_while(|&&b| b != 0 && b != b'"')
            .count();
    let len = bytes[start + b"slot_field".len()..end]
        .iter()
        .take_while(|&&b| b == b'~')
        .count()
        + b"slot_field".len();
    assert!(name.len() <= len, "the slot holds {len} bytes");
    let mut patch = name.as_bytes().to_vec();
    patch.resize(len, b'~');
    bytes[start..start + len].copy_from_slice(&patch);
    assert!(find(&bytes, b"slot_field~").is_none(), "one slot only");
    bytes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A probe connection `name` whose secret field `probe_key` is typed in.
fn create_probe(serve: &Serve, name: &str, key: &str) {
    let draft = json!({"name": name, "connector": "probe",
        "fields": {"probe_key": {"value": key}}});
    let created = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
}

/// Runs the probe's `check` on connection `name`; the status.
fn check(serve: &Serve, name: &str) -> u16 {
    serve
        .call(
            "POST",
            &format!("/api/connections/{name}/activities/check"),
            Some(&json!({})),
        )
        .status
}

/// Every file under `dir` with its contents (a snapshot to compare).
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_connector_cannot_name_a_field_that_leaves_its_place() {
    let serve = Serve::start("", &[]);
    create_probe(&serve, "victim", "victim-key-1f9a2c");
    let victim_file = serve.connection_file("victim");
    let before = std::fs::read(&victim_file).unwrap();
    let connectors = serve.dir().join("connectors");
    let climbing = [
        "/../../victim.toml",
        "../victim",
        "x/../../other",
        "/etc/passwd",
        ".secrets",
        "a\\b",
        "Client_Secret",
        "tab\there",
    ];
    for (i, name) in climbing.iter().enumerate() {
        std::fs::write(
            connectors.join(format!("hostile-{i}.wasm")),
            hostile_declaring(name),
        )
        .unwrap();
    }
    // The catalogue loads new files in the background: wait until none is loading.
    let started = std::time::Instant::now();
    let listed = loop {
        let listed = serve.call("GET", "/api/connectors", None).json;
        let loading = listed["connectors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["state"] == "loading");
        if !loading {
            break listed;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "{listed}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let entries = listed["connectors"].as_array().unwrap();
    for i in 0..climbing.len() {
        let file = format!("hostile-{i}.wasm");
        let entry = entries
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(&file))
            .unwrap_or_else(|| panic!("{file} is listed: {listed}"));
        let error = entry["error"].as_str().unwrap_or_else(|| panic!("{entry}"));
        assert!(
            error.contains("fields[1].name") && error.contains("not a valid field name"),
            "{error}"
        );
    }
    // No connection can be made with it: there is no loadable connector of that name.
    let draft = json!({"name": "attack", "connector": "hostile",
        "fields": {"client_secret": {"value": "attack-value-77aa01"}}});
    let refused = serve.call("POST", "/api/connections", Some(&draft));
    assert!(
        refused.status == 404 || refused.status == 502,
        "{refused:#?}"
    );
    assert_eq!(std::fs::read(&victim_file).unwrap(), before);
    assert!(!serve.connection_file("attack").exists());
    assert_eq!(check(&serve, "victim"), 200);
}

#[test]
fn typed_secrets_of_two_connections_never_share_a_place() {
    // In the old layout `.secrets/<connection>-<field>`, connection `v` with
    // field `x-probe_key` and connection `v-x` with field `probe_key` wrote
    // the same file. Names cannot hold a separator, so now they cannot.
    let serve = Serve::start("", &[]);
    let connectors = serve.dir().join("connectors");
    std::fs::write(
        connectors.join("hostile.wasm"),
        hostile_declaring("x-probe_key"),
    )
    .unwrap();
    create_probe(&serve, "v-x", "victim-key-2b7e91");
    let draft = json!({"name": "v", "connector": "hostile",
        "fields": {"x-probe_key": {"value": "attacker-key-c4d5e6"}}});
    let created = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
    let secrets = serve.dir().join("connections/.secrets");
    let data = serve.dir().join("data");
    assert_eq!(
        unsealed(&secrets.join("v-x/probe_key"), &data),
        "victim-key-2b7e91"
    );
    assert_eq!(
        unsealed(&secrets.join("v/x-probe_key"), &data),
        "attacker-key-c4d5e6"
    );
    assert_eq!(check(&serve, "v-x"), 200);
}

#[test]
fn no_route_takes_a_path_or_a_look_alike_for_a_connection_name() {
    let serve = Serve::start("", &[]);
    create_probe(&serve, "victim", "victim-key-3c8d02");
    // A connection file outside the connections directory, as an attacker
    // would aim at: `<serve>/outside/victim.toml`.
    let outside = serve.dir().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let target = outside.join("victim.toml");
    std::fs::copy(serve.connection_file("victim"), &target).unwrap();
    let before = tree(serve.dir());
    let unknown = serve.call("GET", "/api/connections/nobody", None);
    assert_eq!(unknown.status, 404);
    let names = [
        "..%2Foutside%2Fvictim",
        "..%2F..%2Foutside%2Fvictim",
        "%2E%2E%2Foutside%2Fvictim",
        "..%5Coutside%5Cvictim",
        "%2Fetc%2Fpasswd",
        "Victim",
        "victim%00",
        "vi%E2%80%8Bctim",
        "%EF%BD%96ictim",
        "victim.toml",
        ".secrets",
    ];
    let routes: [(&str, &str); 9] = [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/check"),
        ("GET", "/status"),
        ("POST", "/connect"),
        ("POST", "/activities/check"),
        ("POST", "/activities/check/pages"),
        ("GET", "/activities/check"),
    ];
    for name in names {
        for (method, tail) in routes {
            let path = format!("/api/connections/{name}{tail}");
            let body = (method != "GET" && method != "DELETE")
                .then(|| json!({"connector": "probe", "fields": {}}));
            let answer = serve.call(method, &path, body.as_ref());
            assert!(
                answer.status == 404 || answer.status == 405,
                "{method} {path}: {answer:#?}"
            );
            if answer.status == 404 {
                assert_eq!(
                    answer.json["error"]["class"], "not_found",
                    "{method} {path}"
                );
            }
        }
    }
    assert!(
        tree(serve.dir()) == before,
        "nothing inside or outside the connections directory changed"
    );
    assert_eq!(check(&serve, "victim"), 200);
}

#[test]
fn deleting_a_connection_deletes_exactly_its_own_secrets() {
    // In files: `prod` is deleted, `prod-eu` keeps its typed secret.
    let serve = Serve::start("", &[]);
    create_probe(&serve, "prod", "prod-key-4d9e13");
    create_probe(&serve, "prod-eu", "prod-eu-key-5eaf24");
    let secrets = serve.dir().join("connections/.secrets");
    assert!(secrets.join("prod/probe_key").exists());
    assert_eq!(
        serve.call("DELETE", "/api/connections/prod", None).status,
        204
    );
    assert!(!secrets.join("prod").exists(), "prod's secrets are gone");
    assert_eq!(
        unsealed(
            &secrets.join("prod-eu/probe_key"),
            &serve.dir().join("data")
        ),
        "prod-eu-key-5eaf24"
    );
    assert_eq!(check(&serve, "prod-eu"), 200);
    assert_eq!(serve.call("GET", "/api/connections/prod", None).status, 404);

    // In Vault: the same, with exact deletes of the typed secret.
    let bao = OpenBao::start();
    let stores = format!(
        "[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
        bao.addr
    );
    let vault = Serve::start(&stores, &[("VAULT_TOKEN", &bao.root_token)]);
    create_probe(&vault, "prod", "prod-key-6fb035");
    create_probe(&vault, "prod-eu", "prod-eu-key-70c146");
    let read = |path: &str| {
        bao.call(
            &bao.root_token,
            None,
            "GET",
            &format!("secret/data/connectors/{path}"),
            None,
        )
        .unwrap()
    };
    assert!(read("secrets/prod/probe_key").is_success());
    assert_eq!(
        vault.call("DELETE", "/api/connections/prod", None).status,
        204
    );
    assert!(
        !read("secrets/prod/probe_key").is_success(),
        "prod's secret is gone"
    );
    let kept: Value = read("secrets/prod-eu/probe_key").body;
    assert_eq!(kept["data"]["data"]["value"], "prod-eu-key-70c146");
    assert_eq!(check(&vault, "prod-eu"), 200);
}

#[test]
fn an_asset_name_given_through_the_api_cannot_climb_out_of_the_store() {
    let bao = OpenBao::start();
    bao.kv2_put(
        "secret",
        "other/admin",
        json!({"value": "outside-value-81d257"}),
    );
    let stores = format!(
        "[stores.vault]\naddress = \"{}\"\nmode = \"read-write\"\npath = \"connectors\"\n",
        bao.addr
    );
    let serve = Serve::start(&stores, &[("VAULT_TOKEN", &bao.root_token)]);
    for name in [
        "../other/admin",
        "x/../../other/admin",
        "/other/admin",
        "a//b",
        ".x",
    ] {
        let draft = json!({"name": "climb", "connector": "probe",
            "fields": {"probe_key": {"asset": {"store": "vault", "name": name}}}});
        let refused = serve.call("POST", "/api/connections", Some(&draft));
        assert_eq!(refused.status, 422, "{name}: {refused:#?}");
        let message = refused.json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("fields.probe_key.asset.name: not a valid asset name"),
            "{message}"
        );
        assert!(!serve.connection_file("climb").exists());
    }
    // A folder below the store's path is fine.
    bao.kv2_put(
        "secret",
        "connectors/team/key",
        json!({"value": "team-value-92e368"}),
    );
    let draft = json!({"name": "team", "connector": "probe",
        "fields": {"probe_key": {"asset": {"store": "vault", "name": "team/key"}}}});
    assert_eq!(
        serve.call("POST", "/api/connections", Some(&draft)).status,
        201
    );
    assert_eq!(check(&serve, "team"), 200);
}
