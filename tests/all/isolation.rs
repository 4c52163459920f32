//! Isolation on pooled instance slots and pooled connections (issue 10):
//! nothing one call or tenant leaves behind is visible to the next. The
//! probe's `remember` leaves a marker in its global state and a trace of it
//! in linear memory; `scan` looks for both in all of memory.
//!
//! Two tenants (two connectors, loaded as two connections would be) share
//! one process here through the library, as `serve` would run them.

use std::path::Path;

use connector_host::egress::TlsSettings;
use connector_host::{CallOptions, Connector, Limits, Origin, Runtime, RuntimeSettings};
use connector_tests::origin::{Origin as TestOrigin, TestCa};
use connector_tests::*;
use serde_json::{json, Value};

async fn load(runtime: &Runtime, limits: &Limits) -> Connector {
    let path = component("probe_connector");
    let bytes = std::fs::read(&path).expect("read the probe");
    runtime
        .load(&path, &bytes, limits)
        .await
        .expect("load the probe")
}

async fn call(connector: &Connector, activity: &str, input: Value) -> Value {
    connector
        .call(activity, &input, &CallOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{activity}: {e}"))
}

#[test]
fn two_tenants_interleaved_on_one_pooled_slot_see_nothing_of_each_other() {
    block_on(async {
        // One slot: every call of either tenant runs in the same memory,
        // tables and instance slots, one after another.
        let settings = RuntimeSettings {
            pooled_calls: 1,
            ..RuntimeSettings::default()
        };
        let runtime = Runtime::with_settings(&settings).unwrap();
        let tenant_a = load(&runtime, &Limits::default()).await;
        let tenant_b = load(&runtime, &Limits::default()).await;
        assert!(tenant_a.is_pooled() && tenant_b.is_pooled());
        for round in 0..10 {
            for (writer, reader, name) in [(&tenant_a, &tenant_b, "a"), (&tenant_b, &tenant_a, "b")]
            {
                let marker = format!("tenant-{name}-marker-{round:03}-5f2c9e");
                let wrote = call(writer, "remember", json!({"marker": marker})).await;
                assert_eq!(
                    wrote["previous"],
                    Value::Null,
                    "global state survived a call"
                );
                assert_eq!(
                    wrote["seen_after_write"], true,
                    "the scan cannot see a trace"
                );
                for next in [reader, writer] {
                    let seen = call(next, "scan", json!({"marker": marker})).await;
                    assert_eq!(
                        seen["found"], false,
                        "round {round}: {name}'s marker leaked"
                    );
                    assert!(seen["scanned_bytes"].as_u64().unwrap() >= 1 << 16);
                }
            }
        }
    });
}

#[test]
fn limits_past_the_slot_sizes_run_on_demand_with_the_same_isolation() {
    block_on(async {
        let runtime = Runtime::new().unwrap();
        let large = Limits {
            memory_bytes: 256 << 20,
            ..Limits::default()
        };
        let pooled = load(&runtime, &Limits::default()).await;
        let on_demand = load(&runtime, &large).await;
        assert!(pooled.is_pooled() && !on_demand.is_pooled());
        let marker = "on-demand-marker-0001-a7e3";
        call(&on_demand, "remember", json!({"marker": marker})).await;
        let seen = call(&on_demand, "scan", json!({"marker": marker})).await;
        assert_eq!(seen["found"], false);
        // And the larger memory is really there: 100 MiB passes 64 MiB slots.
        let options = CallOptions {
            limits: large,
            ..CallOptions::default()
        };
        let big = on_demand
            .call("allocate", &json!({"megabytes": 100}), &options)
            .await
            .unwrap();
        assert_eq!(big["allocated"], 100);
    });
}

#[test]
fn one_batch_process_keeps_no_global_state_between_calls() {
    let connection = ConnectionFile::new(&component("probe_connector"), "");
    let mut batch = Batch::start(&connection, "remember", &[]);
    for i in 0..5 {
        let line = batch.call(&json!({"marker": format!("batch-marker-{i:04}-c3d1")}));
        assert_eq!(line["ok"]["previous"], Value::Null, "{line}");
        assert_eq!(line["ok"]["seen_after_write"], true, "{line}");
    }
    assert_eq!(batch.finish().0, 0);
}

#[test]
fn connections_made_under_one_trust_are_never_used_under_another() {
    let ca = TestCa::new("connector-host isolation CA");
    let origin = TestOrigin::tls(&ca, &["localhost"], "{}");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    block_on(async {
        let runtime = Runtime::new().unwrap();
        let probe = load(&runtime, &Limits::default()).await;
        let options = |ca_file: Option<&Path>| CallOptions {
            overrides: vec![(
                Origin::parse("https://probe.example").unwrap(),
                Origin::parse(&format!("https://localhost:{}", origin.port)).unwrap(),
            )],
            tls: TlsSettings {
                ca_file: ca_file.map(Path::to_owned),
            },
            ..CallOptions::default()
        };
        let input = json!({"url": "https://probe.example/v3/ping", "headers": []});
        let trusting = options(Some(&ca_file));
        let out = probe.call("fetch", &input, &trusting).await.unwrap();
        assert_eq!(out["status"], 200);
        // The connection that the test CA vouched for sits idle in the pool;
        // a tenant without that CA must not get it.
        let refused = probe.call("fetch", &input, &options(None)).await;
        let error = refused
            .expect_err("an untrusted origin answered")
            .to_string();
        assert!(
            error.contains("not signed by a CA this host trusts"),
            "{error}"
        );
        let again = probe.call("fetch", &input, &trusting).await.unwrap();
        assert_eq!(again["status"], 200);
        assert_eq!(origin.requests(), 2);
        assert_eq!(origin.connections(), 2, "one reused, one refused");
    });
}

/// The probe's bytes with a custom section no other load had: a digest
/// the artifact cache has never seen, so it loads on baseline code.
fn never_seen_probe() -> Vec<u8> {
    let mut bytes = std::fs::read(component("probe_connector")).expect("read the probe");
    let nonce = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
    let name = b"nonce";
    let size = 1 + name.len() + nonce.len();
    bytes.push(0); // a custom section: id 0, size, name, payload
    bytes.push(u8::try_from(size).expect("a one-byte LEB128 size"));
    bytes.push(u8::try_from(name.len()).unwrap());
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(nonce.as_bytes());
    bytes
}

#[test]
fn a_call_waits_for_a_taken_slot_and_is_refused_only_at_its_deadline() {
    waits_for_a_taken_slot(None);
}

#[test]
fn a_call_on_baseline_code_waits_for_a_taken_slot_as_well() {
    waits_for_a_taken_slot(Some(never_seen_probe()));
}

/// One pooled slot, a call spinning in it: another waits for it, and one
/// with a shorter deadline is refused at that deadline. `bytes`: a probe
/// that must run on baseline code (else the probe as built, on whatever
/// code the cache has).
fn waits_for_a_taken_slot(bytes: Option<Vec<u8>>) {
    let threads = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    threads.block_on(async {
        let settings = RuntimeSettings {
            pooled_calls: 1,
            ..RuntimeSettings::default()
        };
        let runtime = Runtime::with_settings(&settings).unwrap();
        let probe = match &bytes {
            None => load(&runtime, &Limits::default()).await,
            Some(bytes) => {
                let path = component("probe_connector");
                let probe = runtime
                    .load(&path, bytes, &Limits::default())
                    .await
                    .unwrap();
                // Its optimized code takes a compiler process and seconds.
                assert_eq!(probe.tier(), connector_host::Tier::Baseline);
                probe
            }
        };
        let probe = std::sync::Arc::new(probe);
        let within = |seconds: f64| CallOptions {
            limits: Limits {
                timeout: std::time::Duration::from_secs_f64(seconds),
                ..Limits::default()
            },
            ..CallOptions::default()
        };
        let spinner = probe.clone();
        let spin_for = within(2.0);
        let spinning = tokio::spawn(async move {
            spinner
                .call("spin", &json!({"iterations": null}), &spin_for)
                .await
        });
        // Give the spinning call time to take the only slot.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let patient = probe.clone();
        let waiting = tokio::spawn(async move {
            let started = std::time::Instant::now();
            let outcome = patient.call("check", &json!({}), &within(10.0)).await;
            (outcome, started.elapsed())
        });
        let started = std::time::Instant::now();
        let error = probe
            .call("check", &json!({}), &within(0.5))
            .await
            .expect_err("a call got the only slot while another held it");
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(450),
            "refused before its deadline: {:?}",
            started.elapsed()
        );
        assert_eq!(
            connector_host::ErrorClass::of_invoke(&error),
            connector_host::ErrorClass::LimitHit,
            "exit 5 on the CLI, 503 from serve"
        );
        let text = error.to_string();
        assert!(
            text.contains("as many calls at once as its instance pool holds")
                && text
                    .contains("all 1 instance slots stayed taken until the call's 0.5 s deadline")
                && text.contains("CONNECTOR_HOST_POOLED_CALLS"),
            "{text}"
        );
        let spun = spinning
            .await
            .unwrap()
            .expect_err("spin ends at its deadline");
        assert!(spun.to_string().contains("deadline"), "{spun}");
        // The patient call waited for the slot rather than failing.
        let (outcome, waited) = waiting.await.unwrap();
        outcome.expect("the call that could wait got the slot once it was free");
        assert!(
            waited >= std::time::Duration::from_millis(1500),
            "it ran before the slot was free: {waited:?}"
        );
    });
}
