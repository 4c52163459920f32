//! The queues a worker polls, kept in step with its connections: a rescan
//! opens new and changed connections, drops removed ones, starts a poller
//! (with the queue's rate limit set on the server) for each queue that
//! gained its first connection and stops the poller of a queue left empty.
//!
//! Each poller is a Temporal SDK core worker for one queue, polled directly
//! so activity names can be anything known at run time: every task is
//! resolved against [`Routes`] when it arrives.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use temporalio_common::protos::coresdk::activity_task::activity_task::Variant;
use temporalio_common::protos::coresdk::activity_task::Start;
use temporalio_common::protos::coresdk::ActivityTaskCompletion;
use temporalio_common::worker::WorkerTaskTypes;
use temporalio_sdk_core::{
    init_worker, CoreRuntime, PollError, PollerBehavior, Worker as CoreWorker, WorkerConfig,
    WorkerVersioningStrategy,
};
use tokio_util::sync::CancellationToken;

use super::activity::{self, Queue};
use super::queue::{per_second, queue_name, set_rate_limit};
use super::routes::Key;
use super::routes::{Routes, Served};
use super::source::ConnectionSource;
use super::Temporal;
use crate::redact;

/// The SDK core times attempts out locally after their timeouts plus this;
/// this worker's own heartbeats (not the core's) tell it of cancellation and
/// timeouts, and every call has the host's deadline, so the core's timers
/// only clean up what the server already gave up on.
const LOCAL_TIMEOUT_BUFFER: Duration = Duration::from_secs(3600);

/// Activity polls kept open per queue.
const POLLERS: usize = 4;

/// One queue's poller.
struct Poller {
    core: Arc<CoreWorker>,
    done: tokio::task::JoinHandle<()>,
}

/// The worker's queues and connections.
pub struct Fleet<S> {
    source: S,
    temporal: Arc<Temporal>,
    core: CoreRuntime,
    routes: Arc<Routes>,
    pollers: HashMap<String, Poller>,
    /// The last error opening each connection (said once, not every rescan).
    broken: HashMap<Key, String>,
    max_concurrent: usize,
}

impl<S: ConnectionSource> Fleet<S> {
    /// A fleet over `source`, running at most `max_concurrent` attempts per queue.
    pub fn new(
        source: S,
        temporal: Arc<Temporal>,
        core: CoreRuntime,
        max_concurrent: usize,
    ) -> Self {
        Fleet {
            source,
            temporal,
            core,
            routes: Arc::default(),
            pollers: HashMap::new(),
            broken: HashMap::new(),
            max_concurrent,
        }
    }

    /// Looks at the connections again and brings the queues in step.
    pub async fn rescan(&mut self) {
        let listed = self.source.list().await;
        for name in self.routes.names() {
            if !listed.iter().any(|(n, _)| *n == name) {
                self.routes.remove(&name);
                println!("stopped serving {name}: its connection is gone");
            }
        }
        self.broken
            .retain(|name, _| listed.iter().any(|(n, _)| n == name));
        for (name, stamp) in listed {
            if self.routes.stamp(&name).as_ref() == Some(&stamp) {
                continue;
            }
            self.open(name, stamp).await;
        }
        self.sync_pollers().await;
    }

    /// Opens (or opens again) connection `name` and serves it.
    async fn open(&mut self, name: Key, stamp: super::source::Stamp) {
        match self.source.open(&name).await {
            Ok(session) => {
                self.broken.remove(&name);
                let queue = queue_name(&session);
                let info = session.connector().info();
                let (activities, triggers) = (&info.activities, &info.triggers);
                println!(
                    "serving {name} on queue {queue}: {} activities, {} trigger polls",
                    activities.len(),
                    triggers.len()
                );
                for activity in activities {
                    println!("  {name}.{}", activity.name);
                }
                for trigger in triggers {
                    println!("  {name}.{} (trigger poll)", trigger.name);
                }
                let session = Arc::new(session);
                self.routes.insert(
                    name,
                    Served {
                        session,
                        stamp,
                        queue,
                    },
                );
            }
            Err(error) => {
                let text = redact::secrets_removed(&format!("{error}"));
                if self.routes.remove(&name).is_some() {
                    println!("stopped serving {name}: it can no longer be opened");
                }
                if self.broken.get(&name) != Some(&text) {
                    eprintln!(
                        "connector-host worker: connection {name} is not served: {}",
                        redact::terminal(&text)
                    );
                    self.broken.insert(name, text);
                }
            }
        }
    }

    /// Starts pollers for queues that have connections now (again, if one
    /// died) and stops those whose connections are all gone.
    async fn sync_pollers(&mut self) {
        let wanted = self.routes.queues();
        self.pollers.retain(|queue, poller| {
            let keep = wanted.contains_key(queue) && !poller.done.is_finished();
            if !keep {
                poller.core.initiate_shutdown();
                println!("stopped polling queue {queue}");
            }
            keep
        });
        for (queue, session) in wanted {
            if self.pollers.contains_key(&queue) {
                continue;
            }
            let rate = per_second(&session);
            self.limit(&queue, rate).await;
            match self.start(&queue) {
                Ok(poller) => {
                    let rate = rate.map_or("no rate limit".to_owned(), |r| {
                        format!("{r:.2} activities per second")
                    });
                    println!("polling queue {queue} ({rate})");
                    self.pollers.insert(queue, poller);
                }
                Err(error) => {
                    eprintln!("connector-host worker: cannot poll queue {queue}: {error}")
                }
            }
        }
    }

    /// Sets the queue's rate limit on the server (every worker the same).
    async fn limit(&self, queue: &str, rate: Option<f64>) {
        let Some(rate) = rate else { return };
        let t = &self.temporal;
        if let Err(error) =
            set_rate_limit(&t.connection, &t.namespace, &t.identity, queue, rate).await
        {
            eprintln!("connector-host worker: {error}");
        }
    }

    /// An SDK core worker polling `queue`'s activity tasks.
    fn start(&self, queue: &str) -> Result<Poller, String> {
        let config = WorkerConfig::builder()
            .namespace(self.temporal.namespace.clone())
            .task_queue(queue.to_owned())
            .client_identity_override(self.temporal.identity.clone())
            .task_types(WorkerTaskTypes::activity_only())
            .versioning_strategy(WorkerVersioningStrategy::None {
                build_id: String::new(),
            })
            .max_outstanding_activities(self.max_concurrent)
            .activity_task_poller_behavior(PollerBehavior::SimpleMaximum(POLLERS))
            .local_timeout_buffer_for_activities(LOCAL_TIMEOUT_BUFFER)
            .build()?;
        let core = init_worker(&self.core, config, self.temporal.connection.clone())
            .map_err(|e| format!("{e:#}"))?;
        let core = Arc::new(core);
        let queue = Arc::new(Queue {
            name: queue.to_owned(),
            routes: self.routes.clone(),
            temporal: self.temporal.clone(),
        });
        let done = tokio::spawn(poll(core.clone(), queue));
        Ok(Poller { core, done })
    }

    /// Stops polling; attempts already running finish first.
    pub async fn shutdown(self) {
        for poller in self.pollers.values() {
            poller.core.initiate_shutdown();
        }
        for (_, poller) in self.pollers {
            let _ = poller.done.await;
        }
    }

    /// The queues being polled (for the start-up summary).
    pub fn queues(&self) -> BTreeMap<String, usize> {
        let routes = &self.routes;
        self.pollers
            .keys()
            .map(|q| (q.clone(), routes.activity_types(q).len()))
            .collect()
    }
}

/// Polls one queue until its core worker shuts down; each attempt runs on
/// its own task and is completed when it ends.
async fn poll(core: Arc<CoreWorker>, queue: Arc<Queue>) {
    let running: Running = Arc::default();
    loop {
        let task = match core.poll_activity_task().await {
            Ok(task) => task,
            Err(PollError::ShutDown) => break,
            Err(error) => {
                eprintln!(
                    "connector-host worker: polling queue {} failed: {error}",
                    queue.name
                );
                break;
            }
        };
        let token = task.task_token;
        match task.variant {
            Some(Variant::Start(start)) => {
                let stop = CancellationToken::new();
                lock(&running).insert(token.clone(), stop.clone());
                let attempt = attempt(core.clone(), queue.clone(), running.clone());
                tokio::spawn(attempt(token, start, stop));
            }
            Some(Variant::Cancel(_)) => {
                if let Some(stop) = lock(&running).get(&token) {
                    stop.cancel();
                }
            }
            None => {}
        }
    }
    core.shutdown().await;
}

/// Runs an attempt and completes its task.
fn attempt(
    core: Arc<CoreWorker>,
    queue: Arc<Queue>,
    running: Running,
) -> impl FnOnce(Vec<u8>, Start, CancellationToken) -> BoxFuture<'static, ()> {
    move |token, start, stop| {
        Box::pin(async move {
            let result = activity::run(&queue, token.clone(), start, stop).await;
            lock(&running).remove(&token);
            let completion = ActivityTaskCompletion {
                task_token: token,
                result: Some(result),
            };
            if let Err(error) = core.complete_activity_task(completion).await {
                tracing::warn!(%error, "could not complete an activity task");
            }
        })
    }
}

/// The attempts running on a queue, by task token, with their stop signals.
type Running = Arc<Mutex<HashMap<Vec<u8>, CancellationToken>>>;

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
