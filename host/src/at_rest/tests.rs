//! The sealing and opening of files with key files (Transit is tested end
//! to end against OpenBao in `tests/all/at_rest.rs`).

use super::*;

fn key_file(dir: &Path, name: &str) -> AtRest {
    let path = dir.join(name);
    AtRest::new(&AtRestSettings::LocalKey(path), &BTreeMap::new())
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn a_file_round_trips_and_holds_no_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path(), "k");
    let file = dir.path().join("tokens").join("a.json");
    block_on(keys.write(&file, "oauth-tokens/a.json", b"CANARY-1")).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert!(!bytes.windows(6).any(|w| w == b"CANARY"));
    let opened = block_on(keys.read(&file, "oauth-tokens/a.json"))
        .unwrap()
        .unwrap();
    assert_eq!(opened.plain.as_slice(), b"CANARY-1");
    assert!(!opened.needs_sealing);
}

#[test]
fn another_key_a_changed_byte_or_a_moved_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path(), "k");
    let file = dir.path().join("a.json");
    block_on(keys.write(&file, "oauth-tokens/a.json", b"CANARY-2")).unwrap();
    let other = key_file(dir.path(), "other");
    let error = block_on(other.read(&file, "oauth-tokens/a.json"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("a.json is sealed with key file key") && error.contains("hint:"),
        "{error}"
    );
    let moved = block_on(keys.read(&file, "oauth-tokens/b.json"))
        .err()
        .unwrap()
        .to_string();
    assert!(moved.contains("moved here from another place"), "{moved}");
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let changed = block_on(keys.read(&file, "oauth-tokens/a.json"))
        .err()
        .unwrap()
        .to_string();
    assert!(changed.contains("it was changed"), "{changed}");
    let plain = block_on(AtRest::plain().read(&file, "oauth-tokens/a.json"))
        .err()
        .unwrap()
        .to_string();
    assert!(plain.contains("key = \"plain\""), "{plain}");
    for message in [error, moved, changed, plain] {
        assert!(!message.contains("CANARY"));
    }
}

#[test]
fn a_plain_file_from_before_opens_and_asks_to_be_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.json");
    std::fs::write(&file, b"{\"access_token\":\"CANARY-3\"}").unwrap();
    let keys = key_file(dir.path(), "k");
    let opened = block_on(keys.read(&file, "oauth-tokens/a.json"))
        .unwrap()
        .unwrap();
    assert!(opened.needs_sealing);
    assert!(
        !block_on(AtRest::plain().read(&file, "x"))
            .unwrap()
            .unwrap()
            .needs_sealing
    );
    assert!(block_on(keys.read(&dir.path().join("absent"), "x"))
        .unwrap()
        .is_none());
}

#[test]
fn plain_writes_only_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a");
    block_on(AtRest::plain().write(&file, "x", b"CANARY-4")).unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"CANARY-4");
}

#[test]
fn plain_files_below_a_directory_are_sealed_in_place_once() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join(".secrets");
    std::fs::create_dir_all(secrets.join("c/.webhooks")).unwrap();
    std::fs::write(secrets.join("c/field"), b"CANARY-5").unwrap();
    std::fs::write(secrets.join("c/.webhooks/w"), b"whsec_CANARY").unwrap();
    std::fs::write(secrets.join("c/field.lock"), b"").unwrap();
    let keys = key_file(dir.path(), "k");
    assert_eq!(block_on(keys.seal_plain_files(&secrets)).unwrap(), 2);
    assert_eq!(block_on(keys.seal_plain_files(&secrets)).unwrap(), 0);
    let file = secrets.join("c/field");
    let opened = block_on(keys.read(&file, &file_binding(&file)))
        .unwrap()
        .unwrap();
    assert_eq!(opened.plain.as_slice(), b"CANARY-5");
    assert_eq!(std::fs::read(secrets.join("c/field.lock")).unwrap(), b"");
    assert_eq!(
        block_on(keys.seal_plain_files(&dir.path().join("absent"))).unwrap(),
        0
    );
}

/// The cost of sealing and opening a token-sized file with a key file, in
/// memory (printed with `--nocapture`, not asserted).
#[test]
fn cost_of_sealing_and_opening() {
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path(), "k");
    let file = dir.path().join("t.json");
    let plain = vec![b'x'; 600];
    let rounds = 2000u32;
    block_on(async {
        let started = std::time::Instant::now();
        let mut sealed = Vec::new();
        for _ in 0..rounds {
            sealed = keys
                .seal(&file, "oauth-tokens t.json", &plain)
                .await
                .unwrap();
        }
        let seal = started.elapsed() / rounds;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            keys.open(&file, "oauth-tokens t.json", &sealed)
                .await
                .unwrap();
        }
        let open = started.elapsed() / rounds;
        eprintln!("600-byte record with a key file: seal {seal:?}, open {open:?} (in memory)");
    });
}
