//! # The probe connector: a second, unrelated connector for host tests
//!
//! It shares nothing with the Constant Contact connector but the generic
//! `connector:sdk` contract and the SDK, so a host that runs both without code for
//! either is generic (DESIGN §3). Its activities give the host tests what they need:
//!
//! - `echo`: every common WIT type in and out, for the JSON ⇄ WIT conversion;
//! - `fetch`: one raw HTTP request (the SDK's [`Request`]), for egress, header and
//!   override tests;
//! - `spin`: a loop that never ends unless told to, for the deadline;
//! - `allocate`: a memory hog, for the memory cap;
//! - `check`: an activity with no output (`result<_, activity-error>`);
//! - `remember` and `scan`: a marker left in global state and memory by one
//!   call, looked for by a later one (isolation between calls and tenants).
#![warn(missing_docs)]

use std::hint::black_box;

/// Generated bindings for `wit/probe.wit`; the `connector:sdk` types are the SDK's.
#[allow(missing_docs)] // generated code; the WIT carries the documentation
mod bindings {
    wit_bindgen::generate!({
        path: ["../../../wit/sdk", "wit"],
        world: "test:probe/probe-connector",
        with: { "connector:sdk/types@0.4.0": connector_sdk::types },
        generate_all,
    });
}

use bindings::exports::connector::sdk::metadata;
use bindings::exports::test::probe::probe::{
    AllocateInput, AllocateOutput, CheckInput, EchoInput, EchoOutput, FetchInput, FetchOutput,
    FetchedEvent, FetchedEvents, Guest, RememberInput, RememberOutput, ScanInput, ScanOutput,
    SpinInput, SpinOutput,
};
use connector_sdk::http::{method, Request};
use connector_sdk::types::ConnectorInfo;
use connector_sdk::types::KeyPlacement;
use connector_sdk::{
    invalid_input, ActivityError, ActivityMeta, Auth, Describe, Field, TriggerMeta,
};

/// The type the host calls into.
struct Probe;

bindings::export!(Probe with_types_in bindings);

/// A probe activity: no scopes, no pitfalls.
const fn probe(name: &'static str, description: &'static str) -> ActivityMeta {
    ActivityMeta {
        name,
        display_name: name,
        category: "Probe",
        description,
        scopes: &[],
        retry_safe: true,
        read_only: true,
        destructive: false,
        pitfalls: &[],
        bounds: &[],
    }
}

const INFO: Describe = Describe {
    name: "probe",
    version: env!("CARGO_PKG_VERSION"),
    description: "A test connector: echo, fetch, spin, allocate, check.",
    // An optional key, so tests can see the host add it (and only where bound).
    auth: Auth::ApiKey {
        name: "x-probe-key",
        placement: KeyPlacement::Header,
        field: "probe_key",
        prefix: Some("Key "),
    },
    fields: &[Field {
        name: "probe_key",
        label: "Probe key",
        description: "Sent as `x-probe-key: Key <value>` when set.",
        required: false,
        secret: true,
        default_value: None,
    }],
    // Tests map this origin to a local server with a connection override.
    origins: &["https://probe.example"],
    rate_limits: &[],
    areas: &[&[
        probe("echo", "Returns its input and a greeting."),
        // Any method to any path: it may change or delete whatever is there.
        ActivityMeta {
            retry_safe: false,
            read_only: false,
            destructive: true,
            ..probe("fetch", "Sends one HTTP request and returns the answer.")
        },
        // Bounded by the host alone: the probe itself never checks it.
        ActivityMeta {
            bounds: &[&[connector_sdk::check::range("iterations", 0, 1_000_000)]],
            ..probe("spin", "Counts to `iterations`, or forever.")
        },
        probe("allocate", "Allocates and touches the given number of MiB."),
        probe("check", "Succeeds with no output, or fails as asked."),
        probe("remember", "Leaves a marker in global state and memory."),
        probe("scan", "Looks for a marker an earlier call left."),
    ]],
    triggers: &[TriggerMeta {
        name: "fetched",
        display_name: "Fetched",
        description: "Sends one request with the method its settings name.",
        scopes: &[],
        default_interval_seconds: 60,
        minimum_interval_seconds: 1,
    }],
    icon: None,
    extra_keys: &[],
};

/// What `remember` leaves in global state.
static REMEMBERED: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// The trace in memory is the marker with every byte XOR this, so the input
/// (which holds the plain marker) never matches and only `remember` writes it.
const MASK: u8 = 0xa5;

/// Whether the masked marker appears anywhere in linear memory. The masked
/// bytes are compared one by one and never built, so the scan leaves no trace.
fn trace_in_memory(marker: &[u8]) -> (bool, u64) {
    let size = core::arch::wasm32::memory_size(0) * 65536;
    let found = (1..size.saturating_sub(marker.len())).any(|start| {
        marker.iter().enumerate().all(|(k, byte)| {
            // SAFETY: every address below `memory.size` is readable in wasm;
            // the scan only reads.
            let there = unsafe { std::ptr::read_volatile((start + k) as *const u8) };
            there == byte ^ MASK
        })
    });
    (found, size as u64)
}

impl metadata::Guest for Probe {
    fn describe() -> ConnectorInfo {
        INFO.build()
    }
}

impl Guest for Probe {
    fn echo(input: EchoInput) -> Result<EchoOutput, ActivityError> {
        Ok(EchoOutput {
            greeting: format!("hello, {}", input.text),
            echoed: input,
        })
    }

    fn fetched(
        checkpoint: Option<String>,
        _since: Option<String>,
        url: String,
        method_name: String,
    ) -> Result<FetchedEvents, ActivityError> {
        let response = Request::new(method(&method_name), &url)?.send()?;
        let seen: u64 = checkpoint.as_deref().map_or(0, |c| c.parse().unwrap_or(0)) + 1;
        Ok(FetchedEvents {
            events: vec![FetchedEvent {
                id: format!("fetch-{seen}"),
                occurred_at: "2026-12-07T00:00:00Z".into(),
                status: response.status,
            }],
            checkpoint: seen.to_string(),
        })
    }

    fn fetch(input: FetchInput) -> Result<FetchOutput, ActivityError> {
        let mut request =
            Request::new(method(input.method.as_deref().unwrap_or("GET")), &input.url)?;
        for (name, value) in input.headers {
            request = request.header(&name, value);
        }
        if let Some(body) = input.body {
            request = request.body(body.into_bytes());
        }
        let response = request.send()?;
        Ok(FetchOutput {
            status: response.status,
            body: String::from_utf8_lossy(&response.body).into_owned(),
            headers: response
                .headers
                .into_iter()
                .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
                .collect(),
        })
    }

    fn spin(input: SpinInput) -> Result<SpinOutput, ActivityError> {
        let mut done: u64 = 0;
        // `black_box` keeps the optimiser from replacing the loop with its result.
        while input.iterations.is_none_or(|max| done < max) {
            done = black_box(done + 1);
        }
        Ok(SpinOutput { iterations: done })
    }

    fn allocate(input: AllocateInput) -> Result<AllocateOutput, ActivityError> {
        let bytes = (input.megabytes as usize)
            .checked_mul(1024 * 1024)
            .ok_or_else(|| {
                invalid_input(format!(
                    "{} MiB is more than a wasm32 memory holds",
                    input.megabytes
                ))
            })?;
        // A plain allocation: past the host's memory cap it traps, as any guest would.
        // Ones, not zeros, so every page is written rather than left fresh.
        let buffer = vec![1u8; bytes];
        black_box(&buffer);
        Ok(AllocateOutput {
            allocated: input.megabytes,
        })
    }

    fn remember(input: RememberInput) -> Result<RememberOutput, ActivityError> {
        if input.marker.len() < 16 {
            return Err(invalid_input("the marker must be at least 16 bytes"));
        }
        let previous = REMEMBERED
            .lock()
            .map_err(|_| invalid_input("poisoned"))?
            .replace(input.marker.clone());
        let trace: Vec<u8> = input.marker.bytes().map(|b| b ^ MASK).collect();
        // Left on the heap on purpose: a later call must not find it.
        std::mem::forget(black_box(trace));
        Ok(RememberOutput {
            previous,
            seen_after_write: trace_in_memory(input.marker.as_bytes()).0,
        })
    }

    fn scan(input: ScanInput) -> Result<ScanOutput, ActivityError> {
        let remembered = REMEMBERED
            .lock()
            .map_err(|_| invalid_input("poisoned"))?
            .is_some();
        let (in_memory, scanned_bytes) = trace_in_memory(input.marker.as_bytes());
        Ok(ScanOutput {
            found: remembered || in_memory,
            scanned_bytes,
        })
    }

    fn check(input: CheckInput) -> Result<(), ActivityError> {
        match input.fail_with {
            Some(message) => Err(invalid_input(message)),
            None => Ok(()),
        }
    }
}
