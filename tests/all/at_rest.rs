//! Encryption at rest of what the host keeps in files outside Vault: token
//! files sealed with Vault Transit (a real OpenBao with the Transit engine)
//! across a key rotation, the default local key, a key file, explicit plain
//! files and the migration of a plain token file; `serve`'s typed secrets,
//! webhook secrets, tenant tokens and connect links. After each, no secret
//! appears in any file on disk.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use connector_tests::openbao::OpenBao;
use connector_tests::serve::Serve;
use connector_tests::signin;
use connector_tests::*;
use serde_json::{json, Value};

use connector_host::at_rest::format;

/// Connects `connection` over plain HTTP, with the data directory beside it.
fn connect(sandbox: &Sandbox, connection: &ConnectionFile) {
    let connecting = Connecting::start(connection, &[]);
    let location = signin::sign_in(&sandbox.url, &connecting.prompt, "verify");
    ureq::get(&location)
        .call()
        .expect("the loopback redirect answers");
    let done = connecting.finish();
    assert_eq!(done.code, 0, "{done:#?}");
}

/// `run list-contact-lists` with the data directory beside the connection.
fn list(connection: &ConnectionFile) -> Run {
    let (key, dir) = data_env(connection);
    let conn = connection.path.display().to_string();
    host_env(
        &["run", &conn, "list-contact-lists", "--input", "{}"],
        &[(key, dir.as_str())],
    )
}

/// The one token file of `connection`.
fn token_file(connection: &ConnectionFile) -> PathBuf {
    std::fs::read_dir(connection.dir().join("data/tokens"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .expect("a token file")
}

/// The tokens in a token file, opened as the connection opens it.
fn tokens_in(connection: &ConnectionFile) -> Vec<String> {
    use connector_host::at_rest::{token_binding, AtRest};
    let parsed = connector_host::Connection::load(&connection.path).unwrap();
    let keys = AtRest::new(&parsed.at_rest, &parsed.stores);
    let file = token_file(connection);
    let opened = block_on(keys.read(&file, &token_binding(&file)))
        .unwrap()
        .unwrap();
    let record: Value = serde_json::from_slice(&opened.plain).unwrap();
    ["access_token", "refresh_token"]
        .iter()
        .filter_map(|k| record[k].as_str().map(str::to_owned))
        .collect()
}

/// Every file below `dir`, read whole: none holds any of `secrets`.
fn assert_nowhere_on_disk(dir: &Path, secrets: &[String]) {
    let mut pending = vec![dir.to_owned()];
    let mut files = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            for (i, secret) in secrets.iter().enumerate() {
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "secret #{i} is in {} in the clear",
                    path.display()
                );
            }
        }
    }
    assert!(files > 0, "nothing under {}", dir.display());
}

/// The Transit key version in a sealed file's header.
fn transit_version(file: &Path) -> u32 {
    let bytes = std::fs::read(file).unwrap();
    let header = format::header(&bytes).expect("a sealed file");
    header
        .key_ref
        .transit_version()
        .expect("a Transit data key")
}

fn set_at_rest(connection: &ConnectionFile, base: &str, at_rest: &str) {
    std::fs::write(&connection.path, format!("{base}\n{at_rest}")).unwrap();
}

/// What a Transit seal and open cost: a process's first (login and data
/// key), a new data key, the data key in use, another process's data key
/// (unwrapped), one seen before (printed with `--nocapture`, not asserted).
fn print_transit_costs(connection: &ConnectionFile) {
    use connector_host::at_rest::{AtRest, AtRestSettings};
    let parsed = connector_host::Connection::load(&connection.path).unwrap();
    let mut every_write = parsed.at_rest.clone();
    if let AtRestSettings::Transit {
        data_key_lifetime, ..
    } = &mut every_write
    {
        *data_key_lifetime = Duration::ZERO;
    }
    let (writer, reader) = (
        AtRest::new(&every_write, &parsed.stores),
        AtRest::new(&parsed.at_rest, &parsed.stores),
    );
    let file = connection.dir().join("timing.bin");
    let plain = [b'x'; 600];
    let timed = |what: &str, work: &dyn Fn() -> Vec<u8>| {
        let started = Instant::now();
        let out = work();
        eprintln!("transit {what}: {:?}", started.elapsed());
        out
    };
    timed("first seal of a process (login, data key)", &|| {
        block_on(writer.seal(&file, "t", &plain)).unwrap()
    });
    let sealed = timed("seal with a new data key", &|| {
        block_on(writer.seal(&file, "t", &plain)).unwrap()
    });
    block_on(reader.seal(&file, "t", &plain)).unwrap();
    timed("seal with the data key in use", &|| {
        block_on(reader.seal(&file, "t", &plain)).unwrap()
    });
    timed("open with another process's data key (unwrap)", &|| {
        block_on(reader.open(&file, "t", &sealed))
            .unwrap()
            .plain
            .to_vec()
    });
    timed("open with a data key seen before", &|| {
        block_on(reader.open(&file, "t", &sealed))
            .unwrap()
            .plain
            .to_vec()
    });
}

#[test]
fn transit_seals_token_files_and_a_rotated_key_still_opens_old_records() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit", "--access-token-lifetime", "2"]);
    let bao = OpenBao::start();
    bao.root_ok(
        None,
        "POST",
        "sys/mounts/transit",
        Some(json!({"type": "transit"})),
    );
    for key in ["connector-host", "other"] {
        bao.root_ok(
            None,
            "POST",
            &format!("transit/keys/{key}"),
            Some(json!({})),
        );
    }
    let app = App::register(&sandbox, "rotating", false);
    let store = format!(
        "[stores.vault]\naddress = \"{}\"\npath = \"connectors\"\nauth = {{ method = \"token\", token = \"{}\" }}\n",
        bao.addr, bao.root_token
    );
    let connection = app.connection(&sandbox, &store);
    let base = std::fs::read_to_string(&connection.path).unwrap();
    set_at_rest(
        &connection,
        &base,
        "[at_rest]\nkey = \"transit\"\nstore = \"vault\"\n",
    );
    connect(&sandbox, &connection);
    let file = token_file(&connection);
    assert_eq!(transit_version(&file), 1);
    assert!(list(&connection).ok()["lists"].is_array());
    let mut secrets = tokens_in(&connection);

    // Rotated: the version-1 record still opens (the run reads it and
    // refreshes the expired token), and the new record uses version 2.
    bao.root_ok(None, "POST", "transit/keys/connector-host/rotate", None);
    std::thread::sleep(Duration::from_millis(2100));
    assert!(list(&connection).ok()["lists"].is_array());
    assert_eq!(
        transit_version(&file),
        2,
        "new records use the newest version"
    );
    secrets.extend(tokens_in(&connection));
    assert!(list(&connection).ok()["lists"].is_array());
    print_transit_costs(&connection);
    assert_nowhere_on_disk(connection.dir(), &secrets);

    // Another Transit key is a clear error naming the file and both keys.
    set_at_rest(
        &connection,
        &base,
        "[at_rest]\nkey = \"transit\"\nstore = \"vault\"\ntransit_key = \"other\"\n",
    );
    let wrong = list(&connection);
    wrong.fails_with(
        3,
        &[
            "is sealed with Vault Transit key transit/connector-host version 2",
            "the configured key is Vault Transit key transit/other",
            "hint:",
        ],
    );
    for secret in &secrets {
        assert!(!wrong.stderr.contains(secret.as_str()));
    }
}

#[test]
fn the_local_key_a_key_file_plain_files_and_a_plain_file_from_before() {
    let sandbox = Sandbox::start_with(&["--no-rate-limit"]);
    let app = App::register(&sandbox, "rotating", false);
    let connection = app.connection(&sandbox, "");
    let base = std::fs::read_to_string(&connection.path).unwrap();

    // Plain only when the operator says so.
    set_at_rest(&connection, &base, "[at_rest]\nkey = \"plain\"\n");
    connect(&sandbox, &connection);
    let file = token_file(&connection);
    let plain: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let access = plain["access_token"].as_str().unwrap().to_owned();
    let key_path = connection.dir().join("data/at-rest.key");
    assert!(!key_path.exists(), "no key is made for plain files");

    // Without a setting: that plain file is read, re-written sealed with a
    // key made on first use (0600), and still works.
    set_at_rest(&connection, &base, "");
    let started = Instant::now();
    assert!(list(&connection).ok()["lists"].is_array());
    eprintln!("first run with the local key: {:?}", started.elapsed());
    assert!(format::is_sealed(&std::fs::read(&file).unwrap()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(list(&connection).ok()["lists"].is_array());
    assert_nowhere_on_disk(
        &connection.dir().join("data/tokens"),
        std::slice::from_ref(&access),
    );

    // A key file others may read is refused; the right mode but another key
    // is a clear error naming the file and both keys.
    let other_key = connection.dir().join("other.key");
    std::fs::write(&other_key, "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=\n").unwrap();
    let with_file = format!(
        "[at_rest]\nkey = \"file\"\nkey_file = {:?}\n",
        other_key.display().to_string()
    );
    set_at_rest(&connection, &base, &with_file);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&other_key, std::fs::Permissions::from_mode(0o644)).unwrap();
        list(&connection).fails_with(3, &["other.key", "mode 0644", "hint: chmod 600"]);
        std::fs::set_permissions(&other_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let wrong = list(&connection);
    wrong.fails_with(
        3,
        &[
            "is sealed with key file key",
            "but the configured key is key file key",
            "other.key",
            "hint:",
        ],
    );
    assert!(!wrong.stderr.contains(&access));
    set_at_rest(&connection, &base, "");
    assert!(list(&connection).ok()["lists"].is_array());
}

#[test]
fn serve_keeps_typed_secrets_webhook_secrets_tenant_tokens_and_links_sealed() {
    let notes = crate::example::NotesApi::start();
    let back = "https://app.example.com/connected";
    let config = format!(
        "connect_redirects = [\"{back}\"]\n[endpoints]\n\"https://notes.example\" = \"{}\"\n[events]\nwebhook_destinations = [\"http://127.0.0.1:9\"]\ntick_ms = 100\n",
        notes.url
    );
    let serve = Serve::start(&config, &[]);
    std::fs::copy(
        component("example_connector"),
        serve.dir().join("connectors/example_connector.wasm"),
    )
    .unwrap();
    let key = crate::example::KEY;
    let draft = json!({"name": "notes", "connector": "notes", "fields": {"token": {"value": key}}});
    let created = serve.call("POST", "/api/connections", Some(&draft));
    assert_eq!(created.status, 201, "{created:#?}");
    let body = json!({"trigger": "note-created", "url": "http://127.0.0.1:9/hook",
        "interval_seconds": 60, "since": "2000-01-01T00:00:00Z"});
    let subscribed = serve.call("POST", "/api/connections/notes/subscriptions", Some(&body));
    assert_eq!(subscribed.status, 201, "{subscribed:#?}");
    let webhook_secret = subscribed.json["secret"].as_str().unwrap().to_owned();
    let tenant_token = crate::tenants::issue(&serve, "acme");
    let request = json!({"end_user": "user-1", "connector": "notes", "connection": "notes-1",
        "fields": {}, "redirect_url": back});
    let link = serve.call("POST", "/api/connect-links", Some(&request));
    assert_eq!(link.status, 201, "{link:#?}");
    let link_id = link.json["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    // The typed secret still works, opened from its sealed file.
    let made = serve.call(
        "POST",
        "/api/connections/notes/activities/create-note",
        Some(&json!({"text": "sealed"})),
    );
    assert_eq!(made.status, 200, "{made:#?}");

    let connections = serve.dir().join("connections");
    for kept in [".secrets/notes/token", ".api-tokens.json"] {
        let bytes = std::fs::read(connections.join(kept)).unwrap();
        assert!(format::is_sealed(&bytes), "{kept} is sealed");
    }
    let secrets = vec![key.to_owned(), webhook_secret, tenant_token, link_id];
    assert_nowhere_on_disk(serve.dir(), &secrets);
}
