//! `make bench` (serve): what the audit trail costs. Two `serve`s over the
//! same connection file, one writing the trail to a file and one without,
//! measured in turns (off, on, off, on) so both see the same machine; then
//! the trail is verified.

use std::path::Path;
use std::time::{Duration, Instant};

use connector_tests::serve::Serve;
use connector_tests::*;

/// Calls per turn and concurrency.
const CALLS: usize = 1000;
const TURNS: usize = 2;

/// The serial p50/p99 and the 16-way rate of one serve over `connection`.
struct Figures {
    serial: Vec<Duration>,
    parallel: Vec<f64>,
}

fn measure(serve: &Serve, figures: &mut Figures) {
    let agent = super::pooled_agent();
    let url = super::bench_url(serve);
    let call = |agent: &ureq::Agent| super::timed_call(agent, &url);
    for _ in 0..20 {
        call(&agent);
    }
    figures
        .serial
        .extend((0..CALLS).map(|_| call(&agent)).collect::<Vec<_>>());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                for _ in 0..CALLS / 16 {
                    call(&agent);
                }
            });
        }
    });
    figures
        .parallel
        .push((CALLS / 16 * 16) as f64 / started.elapsed().as_secs_f64());
}

fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort();
    times[((times.len() as f64 - 1.0) * p) as usize]
}

/// Serve with the trail off and on, in turns, over `connection_text`.
pub fn audit_on_and_off(env: &[(&str, &str)], connection_text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("audit.log");
    let trail_text = trail.display().to_string();
    let mut on_env = env.to_vec();
    on_env.push(("CONNECTOR_HOST_AUDIT_LOG", &trail_text));
    let off = Serve::start("", env);
    let on = Serve::start("", &on_env);
    for serve in [&off, &on] {
        std::fs::write(serve.connection_file("bench"), connection_text).unwrap();
    }
    let new = || Figures {
        serial: Vec::new(),
        parallel: Vec::new(),
    };
    let (mut without, mut with) = (new(), new());
    for _ in 0..TURNS {
        measure(&off, &mut without);
        measure(&on, &mut with);
    }
    println!(
        "\nserve with the audit trail off and on ({TURNS} turns of {CALLS} calls each, same run)"
    );
    println!(
        "{:<28} {:>10} {:>10} {:>12}",
        "", "p50", "p99", "calls/s (16)"
    );
    let row = |name: &str, f: &mut Figures| {
        let rate = f.parallel.iter().sum::<f64>() / f.parallel.len() as f64;
        let (p50, p99) = (
            percentile(&mut f.serial, 0.5),
            percentile(&mut f.serial, 0.99),
        );
        println!("{name:<28} {p50:>10.2?} {p99:>10.2?} {rate:>12.0}");
        (p50, rate)
    };
    let (off50, off_rate) = row("audit off", &mut without);
    let (on50, on_rate) = row("audit on (file)", &mut with);
    println!(
        "audit overhead: p50 {:+.1}% ({:+.1} µs a call), throughput at 16 {:+.1}%",
        (on50.as_secs_f64() / off50.as_secs_f64() - 1.0) * 100.0,
        (on50.as_secs_f64() - off50.as_secs_f64()) * 1e6,
        (on_rate / off_rate - 1.0) * 100.0
    );
    drop(on);
    report_trail(&trail);
}

/// Lines written, bytes per line, and `audit verify`'s verdict.
fn report_trail(trail: &Path) {
    let text = std::fs::read_to_string(trail).unwrap();
    let lines = text.lines().count();
    let verified = host(&["audit", "verify", &trail.display().to_string()]);
    println!(
        "trail: {lines} lines, {} bytes a line on average; audit verify: {}",
        text.len() / lines.max(1),
        if verified.code == 0 {
            "intact"
        } else {
            "BROKEN"
        }
    );
}
