//! The catalogue against components made to stall or shadow it, through a
//! real `connector-host serve` (issue 15, "What to build" item 2): a compile
//! bomb, 20,000 exports and a FIFO named `*.wasm` hold up no other call; a
//! component claiming another's name takes it from nobody; the artifact
//! cache loads only what this installation wrote, and refuses a directory
//! others can write; a new component runs on baseline code at once and on
//! optimized code once it is compiled (issue 21).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use connector_tests::generated::{compile_bomb, many_exports};
use connector_tests::serve::{Serve, API_TOKEN};
use connector_tests::*;
use serde_json::{json, Value};

/// The probe's `echo`: no sandbox, no credential, a few microseconds.
fn echo_input() -> Value {
    json!({"text": "hi", "count": 1, "offset": -2, "ratio": 0.5, "enabled": true,
        "tags": [], "color": "red", "shape": "nothing", "inner": {"name": "n", "numbers": []},
        "pair": ["a", 1], "permissions": ["read"]})
}

/// A call that fails (rather than hangs) if the server stalls: its status,
/// body and how long it took.
fn timed(serve: &Serve, method: &str, path: &str, body: Option<&Value>) -> (u16, Value, Duration) {
    let agent = ureq::builder().timeout(Duration::from_secs(60)).build();
    let request = agent
        .request(method, &format!("{}{path}", serve.url))
        .set("Authorization", &format!("Bearer {API_TOKEN}"));
    let started = Instant::now();
    let response = match body {
        Some(body) => request.send_json(body.clone()),
        None => request.call(),
    };
    let response = match response {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e} (after {:?})", started.elapsed()),
    };
    let status = response.status();
    let json = response.into_json().unwrap_or(Value::Null);
    (status, json, started.elapsed())
}

/// A probe connection `name`, with one echo answered.
fn probe_connection(serve: &Serve, name: &str) {
    let created = serve.call(
        "POST",
        "/api/connections",
        Some(&json!({"name": name, "connector": "probe"})),
    );
    assert_eq!(created.status, 201, "{created:#?}");
    assert_eq!(echo(serve, name).0, 200);
}

/// Five echoes through connection `name`, each answered: their latencies.
fn echoes(serve: &Serve, name: &str) -> Vec<Duration> {
    (0..5)
        .map(|_| {
            let (status, took) = echo(serve, name);
            assert_eq!(status, 200);
            took
        })
        .collect()
}

/// Echo through connection `name`: status and latency.
fn echo(serve: &Serve, name: &str) -> (u16, Duration) {
    let path = format!("/api/connections/{name}/activities/echo");
    let (status, body, took) = timed(serve, "POST", &path, Some(&echo_input()));
    if status == 200 {
        assert_eq!(body["greeting"], "hello, hi", "{body}");
    }
    (status, took)
}

/// The catalogue entry of `file` in `GET /api/connectors`.
fn listed(serve: &Serve, file: &str) -> Value {
    let (status, list, _) = timed(serve, "GET", "/api/connectors", None);
    assert_eq!(status, 200, "{list}");
    list["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["file"].as_str().is_some_and(|f| f == file))
        .cloned()
        .unwrap_or_else(|| panic!("{file} is not listed: {list}"))
}

/// Polls the list until `file` is no longer loading.
fn settled(serve: &Serve, file: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let entry = listed(serve, file);
        if entry["state"] != "loading" || Instant::now() > deadline {
            return entry;
        }
    }
}

/// Processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let parent_of = |stat: &str| {
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        fields.get(1)?.parse::<u32>().ok()
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| parent_of(&s))
                == Some(pid)
        })
        .collect()
}

/// CPU time `pid` has used, in clock ticks (user + system).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_compile_bomb_holds_up_no_other_call_and_is_stopped_at_its_deadline() {
    // Cranelift's compile is the one a bomb makes quadratic (Winch's, the
    // baseline, is linear): compile optimized code first, as the background
    // compile after a baseline load does, under the same bounds.
    let serve = Serve::start(
        "",
        &[
            ("CONNECTOR_HOST_COMPILE_SECONDS", "10"),
            ("CONNECTOR_HOST_MAX_COMPONENT_MIB", "1"),
            ("CONNECTOR_HOST_FIRST_COMPILE", "optimized"),
        ],
    );
    probe_connection(&serve, "p");
    let connectors = serve.dir().join("connectors");
    std::fs::write(connectors.join("big.wasm"), vec![0u8; 2 << 20]).unwrap();
    let big = listed(&serve, "big.wasm");
    assert_eq!(big["state"], "failed", "{big}");
    assert!(
        big["error"]
            .as_str()
            .unwrap()
            .contains("CONNECTOR_HOST_MAX_COMPONENT_MIB"),
        "{big}"
    );
    let idle = echoes(&serve, "p");
    // 4,000 locals live across 4,000 merges: 45 s to compile, unbounded.
    std::fs::write(connectors.join("bomb.wasm"), compile_bomb(4000)).unwrap();
    assert_eq!(listed(&serve, "bomb.wasm")["state"], "loading");
    let waits = echoes(&serve, "p");
    // Every echo was answered while the bomb was still compiling.
    assert_eq!(listed(&serve, "bomb.wasm")["state"], "loading");
    eprintln!("echo idle: {idle:?}; while a compile bomb loads: {waits:?}");
    let bomb = settled(&serve, "bomb.wasm");
    assert_eq!(bomb["state"], "failed", "{bomb}");
    let reason = bomb["error"].as_str().unwrap();
    assert!(
        reason.contains("CONNECTOR_HOST_COMPILE_SECONDS")
            && reason.contains("compiler was stopped"),
        "{reason}"
    );
    // The compiler was killed: no child left, no core burning.
    let pid = serve.pid().unwrap();
    assert_eq!(
        children(pid),
        Vec::<u32>::new(),
        "a compiler process outlived its deadline"
    );
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(pid) - before;
    assert!(
        used < 100,
        "serve used {used} ticks of CPU in 3 s after the deadline"
    );
}

#[test]
fn twenty_thousand_exports_and_a_fifo_named_wasm_hold_up_no_other_call() {
    let serve = Serve::start(
        "",
        &[
            ("CONNECTOR_HOST_COMPILE_SECONDS", "20"),
            ("CONNECTOR_HOST_FIRST_COMPILE", "optimized"),
        ],
    );
    probe_connection(&serve, "p");
    let connectors = serve.dir().join("connectors");
    let fifo = connectors.join("x.wasm");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir(connectors.join("d.wasm")).unwrap();
    let skipped = listed(&serve, "x.wasm");
    assert_eq!(skipped["state"], "skipped", "{skipped}");
    assert!(
        skipped["error"].as_str().unwrap().contains("a FIFO"),
        "{skipped}"
    );
    assert_eq!(listed(&serve, "d.wasm")["state"], "skipped");
    let idle = echoes(&serve, "p");
    std::fs::write(connectors.join("exports.wasm"), many_exports(20_000)).unwrap();
    let loading = listed(&serve, "exports.wasm");
    assert_eq!(loading["state"], "loading", "{loading}");
    let waits = echoes(&serve, "p");
    assert_eq!(listed(&serve, "exports.wasm")["state"], "loading");
    eprintln!("echo idle: {idle:?}; while 20,000 exports load: {waits:?}");
    // Whatever becomes of it (it describes nothing), it does not stay loading.
    let exports = settled(&serve, "exports.wasm");
    assert_eq!(exports["state"], "failed", "{exports}");
}

#[test]
fn a_component_claiming_another_ones_name_takes_it_from_nobody() {
    let mut serve = Serve::start("", &[]);
    probe_connection(&serve, "before");
    let connectors = serve.dir().join("connectors");
    // Copies under names that sort first: both claim the real ones' names.
    std::fs::copy(component("cc_connector"), connectors.join("aaa.wasm")).unwrap();
    std::fs::copy(component("probe_connector"), connectors.join("aab.wasm")).unwrap();
    for file in ["aaa.wasm", "cc_connector.wasm"] {
        let entry = listed(&serve, file);
        assert_eq!(entry["conflicts"][0]["name"], "constant-contact", "{entry}");
        assert_eq!(
            entry["conflicts"][0]["files"],
            json!(["aaa.wasm", "cc_connector.wasm"])
        );
    }
    let (status, refused, _) = timed(&serve, "GET", "/api/connectors/constant-contact", None);
    assert_eq!(
        (status, refused["error"]["class"].as_str()),
        (409, Some("conflict"))
    );
    let (message, hint) = (&refused["error"]["message"], &refused["error"]["hint"]);
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("aaa.wasm and cc_connector.wasm")
            && hint
                .as_str()
                .unwrap()
                .contains(r#"[names] "constant-contact" = "cc_connector.wasm""#),
        "{refused}"
    );
    let draft = json!({"name": "after", "connector": "probe"});
    assert_eq!(
        timed(&serve, "POST", "/api/connections", Some(&draft)).0,
        409
    );
    // A connection made before names its file: it runs as before, also
    // when its session is opened again (its file rewritten).
    let file = serve.connection_file("before");
    std::fs::write(&file, std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(echo(&serve, "before").0, 200);
    let (_, stderr) = serve.stop();
    assert!(
        stderr.contains(
            "connector name \"constant-contact\" is claimed by aaa.wasm and cc_connector.wasm"
        ),
        "the conflict is not in the log"
    );

    // The operator's choice settles it.
    let serve = Serve::start(
        "[names]\n\"constant-contact\" = \"cc_connector.wasm\"\n",
        &[],
    );
    std::fs::copy(
        component("cc_connector"),
        serve.dir().join("connectors/aaa.wasm"),
    )
    .unwrap();
    assert!(listed(&serve, "aaa.wasm")["conflicts"].is_null());
    let (status, chosen, _) = timed(&serve, "GET", "/api/connectors/constant-contact", None);
    assert_eq!(status, 200, "{chosen}");
    assert_eq!(
        chosen["file"], "cc_connector.wasm",
        "a file name, not a path"
    );
}

/// A private artifact cache for one test.
fn private_cache() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    (dir, cache)
}

/// The cached artifact of `component` (named by the BLAKE3 of its bytes).
fn artifact_of(cache: &Path, component: &Path) -> PathBuf {
    let digest = blake3::hash(&std::fs::read(component).unwrap())
        .to_hex()
        .to_string();
    std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with(&digest) && name.ends_with(".cwasm")
        })
        .unwrap_or_else(|| {
            panic!(
                "no artifact of {} in {}",
                component.display(),
                cache.display()
            )
        })
}

#[test]
fn a_planted_or_altered_artifact_is_never_loaded_and_is_replaced() {
    let (_dir, cache) = private_cache();
    // One artifact per component: the one every later start loads.
    let env = [
        ("CONNECTOR_HOST_CACHE_DIR", cache.to_str().unwrap()),
        ("CONNECTOR_HOST_FIRST_COMPILE", "optimized"),
    ];
    let mut first = Serve::start("", &env);
    std::fs::copy(
        component("legacy_connector"),
        first.dir().join("connectors/legacy.wasm"),
    )
    .unwrap();
    probe_connection(&first, "p");
    assert_eq!(settled(&first, "legacy.wasm")["state"], "loaded");
    first.stop();
    let probe = artifact_of(&cache, &component("probe_connector"));
    let legacy = artifact_of(&cache, &component("legacy_connector"));
    let genuine = std::fs::read(&probe).unwrap();

    // Another component's artifact (with a valid MAC, for its own name) in
    // the probe's place: the call must run the real probe.
    std::fs::copy(&legacy, &probe).unwrap();
    let mut planted = Serve::start("", &env);
    probe_connection(&planted, "p");
    let (_, stderr) = planted.stop();
    assert!(
        stderr.contains("cached artifact not loaded"),
        "the planted file went unnoticed"
    );
    assert_ne!(
        std::fs::read(&probe).unwrap(),
        std::fs::read(&legacy).unwrap(),
        "not replaced"
    );

    // One byte changed in the code.
    let mut altered = genuine.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x55;
    std::fs::write(&probe, &altered).unwrap();
    let mut tampered = Serve::start("", &env);
    probe_connection(&tampered, "p");
    let (_, stderr) = tampered.stop();
    assert!(
        stderr.contains("does not carry this installation's MAC"),
        "the altered file went unnoticed"
    );
    assert_ne!(std::fs::read(&probe).unwrap(), altered, "not replaced");

    // What `describe` said is recorded beside the artifact, bound to it:
    // another component's record (valid for its own name) in the probe's
    // place is refused, and the probe describes itself again.
    let record = |artifact: &Path| artifact.with_extension("cwasm.described-1");
    assert!(record(&probe).is_file(), "no description record");
    std::fs::copy(record(&legacy), record(&probe)).unwrap();
    let mut swapped = Serve::start("", &env);
    probe_connection(&swapped, "p");
    let (_, stderr) = swapped.stop();
    assert!(
        stderr.contains("cached artifact not loaded") && stderr.contains(".described"),
        "the swapped description went unnoticed: {stderr}"
    );
    assert_ne!(
        std::fs::read(record(&probe)).unwrap(),
        std::fs::read(record(&legacy)).unwrap(),
        "not replaced"
    );
}

#[test]
fn a_cache_directory_others_can_write_is_refused_and_calls_still_work() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, cache) = private_cache();
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut serve = Serve::start("", &[("CONNECTOR_HOST_CACHE_DIR", cache.to_str().unwrap())]);
    probe_connection(&serve, "p");
    let (_, stderr) = serve.stop();
    assert!(
        stderr.contains("artifact cache refused") && stderr.contains("mode 0777"),
        "no warning"
    );
    assert_eq!(
        std::fs::read_dir(&cache).unwrap().count(),
        0,
        "it wrote into the refused cache"
    );
}

#[test]
fn requests_at_once_for_a_new_component_compile_it_once() {
    let (_dir, cache) = private_cache();
    let mut serve = Serve::start("", &[("CONNECTOR_HOST_CACHE_DIR", cache.to_str().unwrap())]);
    std::fs::copy(
        component("legacy_connector"),
        serve.dir().join("connectors/legacy.wasm"),
    )
    .unwrap();
    std::thread::scope(|s| {
        let asks: Vec<_> = (0..4)
            .map(|_| s.spawn(|| timed(&serve, "GET", "/api/connectors/legacy", None).0))
            .collect();
        for ask in asks {
            assert_eq!(ask.join().unwrap(), 200);
        }
    });
    let (_, stderr) = serve.stop();
    let digest = blake3::hash(&std::fs::read(component("legacy_connector")).unwrap())
        .to_hex()
        .to_string();
    let compiles = stderr
        .lines()
        .filter(|l| l.contains("compiling a component") && l.contains(&digest))
        .count();
    assert_eq!(compiles, 1, "{stderr}");
}

#[test]
fn a_pinned_connection_runs_only_the_bytes_it_pins() {
    use sha2::Digest;
    let serve = Serve::start("", &[]);
    probe_connection(&serve, "pinned");
    let probe = std::fs::read(component("probe_connector")).unwrap();
    let file = serve.connection_file("pinned");
    let text = std::fs::read_to_string(&file).unwrap();
    let pin = format!("{:x}", sha2::Sha256::digest(&probe));
    std::fs::write(&file, format!("connector_sha256 = \"{pin}\"\n{text}")).unwrap();
    assert_eq!(echo(&serve, "pinned").0, 200);
    // The component replaced in place by another one; the session opened again.
    let connector = serve.dir().join("connectors/probe_connector.wasm");
    std::fs::copy(component("legacy_connector"), &connector).unwrap();
    std::fs::write(&file, std::fs::read(&file).unwrap()).unwrap();
    let path = "/api/connections/pinned/activities/echo";
    let (status, refused, _) = timed(&serve, "POST", path, Some(&echo_input()));
    assert_ne!(status, 200, "{refused}");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("the connection pins {pin}")),
        "{refused}"
    );
}

/// What `GET /api/connectors/probe` says of the code it runs on.
fn compiled_tier(serve: &Serve) -> String {
    let (status, body, _) = timed(serve, "GET", "/api/connectors/probe", None);
    assert_eq!(status, 200, "{body}");
    body["compiled"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_new_component_runs_on_baseline_code_until_its_optimized_code_replaces_it() {
    let (_dir, cache) = private_cache();
    let env = [("CONNECTOR_HOST_CACHE_DIR", cache.to_str().unwrap())];
    let digest = blake3::hash(&std::fs::read(component("probe_connector")).unwrap())
        .to_hex()
        .to_string();
    let artifacts = || {
        std::fs::read_dir(&cache)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&digest) && n.ends_with(".cwasm"))
            .count()
    };

    let mut first = Serve::start("", &env);
    probe_connection(&first, "p");
    let deadline = Instant::now() + Duration::from_secs(120);
    while compiled_tier(&first) != "optimized" {
        assert!(
            Instant::now() < deadline,
            "never replaced by optimized code"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Calls go on across the swap, on the new code.
    assert_eq!(echo(&first, "p").0, 200);
    let (_, stderr) = first.stop();
    let compiled = |tier: &str| {
        stderr
            .lines()
            .any(|l| l.contains("compiling a component") && l.contains(&digest) && l.contains(tier))
    };
    assert!(compiled("baseline"), "{stderr}");
    assert!(
        stderr.contains("optimized code replaced the baseline code"),
        "{stderr}"
    );
    assert_eq!(artifacts(), 2, "the baseline and the optimized artifact");

    // The next process loads the optimized code from the cache: no compile.
    let mut second = Serve::start("", &env);
    assert_eq!(compiled_tier(&second), "optimized");
    probe_connection(&second, "p");
    let (_, stderr) = second.stop();
    let compiles = stderr
        .lines()
        .filter(|l| l.contains("compiling a component") && l.contains(&digest));
    assert_eq!(compiles.count(), 0, "{stderr}");
}
