//! Timing helpers: percentiles of sequential runs, throughput of concurrent
//! workers, and the printed table.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sorted durations of repeated runs.
pub struct Latencies(Vec<Duration>);

impl Latencies {
    /// The `p`th percentile (0–100).
    pub fn percentile(&self, p: usize) -> Duration {
        let index = (self.0.len() * p / 100).min(self.0.len() - 1);
        self.0[index]
    }

    /// The median.
    pub fn p50(&self) -> Duration {
        self.percentile(50)
    }

    /// The 99th percentile.
    pub fn p99(&self) -> Duration {
        self.percentile(99)
    }
}

/// Runs `f` `runs` times, one after another, after `runs / 10` warm-up runs.
pub async fn sequential<F, Fut>(runs: usize, mut f: F) -> anyhow::Result<Latencies>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for _ in 0..runs / 10 {
        f().await?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(Latencies(times))
}

/// Calls per second of `workers` tasks each running `f` in a loop for `span`
/// (after a quarter of it as warm-up).
pub async fn throughput<F, Fut>(workers: usize, span: Duration, f: F) -> anyhow::Result<f64>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let f = Arc::new(f);
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (f, counting, stop, done) = (f.clone(), counting.clone(), stop.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                f().await?;
                if counting.load(Ordering::Relaxed) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(span / 4).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(span).await;
    let calls = done.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok(calls as f64 / elapsed.as_secs_f64())
}

/// One line of the table: a figure, its baseline, and the goal.
pub struct Row {
    pub what: String,
    pub host: String,
    pub baseline: String,
    pub ratio: Option<f64>,
    pub goal: String,
    pub met: Option<bool>,
}

pub fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

pub fn rate(r: f64) -> String {
    format!("{r:.0}/s")
}

/// Prints the rows as one table.
pub fn print(rows: &[Row]) {
    println!(
        "\n{:<52} {:>12} {:>12} {:>7}  {:<22} met",
        "what", "host", "baseline", "ratio", "goal"
    );
    println!("{}", "-".repeat(118));
    for row in rows {
        let ratio = row.ratio.map_or(String::new(), |r| format!("{r:.2}"));
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        println!(
            "{:<52} {:>12} {:>12} {:>7}  {:<22} {met}",
            row.what, row.host, row.baseline, ratio, row.goal
        );
    }
}
