//! The poller: one task per subscription, in every replica, of which only
//! the lease holder works. Each turn it renews its lease, delivers the
//! outbox's oldest event when due, or polls the trigger when due.
//!
//! A poll goes through [`crate::Session::poll`] on the tenant's [`Scope`]
//! (credential, scopes, rate limit and quota, egress, limits, audit). Its
//! events and the new checkpoint are written in one change of the record
//! before anything is delivered; an event leaves the outbox only after a
//! 2xx, or after the retry budget into the dead letters. So a crash at any
//! point loses nothing: the events are delivered again, with the same ids.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::space::Scope;
use super::state::State;
use super::subscriptions::{message_id, queue};
use super::subscriptions_kept::{self as kept, Entry, Lease, Pending, Subscription, HEALTH};
use super::tenants::Principal;
use crate::events::{DeliveryError, Destination, Message, Sender, WebhookSecret};
use crate::name::Name;
use crate::oauth::store::now;

/// Events waiting in one outbox before the trigger is polled again: a
/// receiver that is down holds polls back (and spends no quota).
const MAX_OUTBOX: usize = 100;

/// Starts the poller (it ends when `stop` is cancelled).
pub fn start(state: Arc<State>, stop: CancellationToken) {
    tokio::spawn(supervise(state, stop));
}

/// Finds every subscription (through the index) and keeps one task per
/// subscription running in this replica.
async fn supervise(state: Arc<State>, stop: CancellationToken) {
    let holder = format!("replica-{}", &super::auth::random_token()[..16]);
    let tick = state.config.events.tick;
    let mut running: HashMap<(Entry, String), JoinHandle<()>> = HashMap::new();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(tick) => {}
        }
        running.retain(|_, task| !task.is_finished());
        let entries = match kept::index(&state.home_documents()).read().await {
            Ok(found) => found.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(%error, "cannot read the subscriptions index");
                continue;
            }
        };
        for entry in entries {
            let scope = Scope::new(state.clone(), Principal::Operator, &entry.tenant);
            let Ok(Some(found)) = kept::record(&scope, &entry.connection).read().await else {
                continue;
            };
            for id in found.subscriptions.keys() {
                let key = (entry.clone(), id.clone());
                if running.contains_key(&key) {
                    continue;
                }
                let worker = Worker {
                    sender: Sender::new(state.runtime.transport(), state.config.events.timeout),
                    scope: scope.clone(),
                    connection: entry.connection.clone(),
                    id: id.clone(),
                    holder: holder.clone(),
                    secret: None,
                };
                running.insert(key, tokio::spawn(worker.run(stop.clone())));
            }
        }
    }
}

/// What a turn found.
enum Step {
    /// The subscription is gone: the task ends.
    Gone,
    /// Work was done: turn again at once.
    Again,
    /// Nothing to do for now.
    Idle,
}

/// What claiming the lease found.
enum Claim {
    Gone,
    Other,
    Mine(Box<Subscription>),
}

/// One subscription's task.
struct Worker {
    scope: Scope,
    connection: Name,
    id: String,
    holder: String,
    sender: Sender,
    secret: Option<WebhookSecret>,
}

impl Worker {
    async fn run(mut self, stop: CancellationToken) {
        let tick = self.scope.config.events.tick;
        loop {
            let wait = match self.step().await {
                Step::Gone => return,
                Step::Again => Duration::ZERO,
                Step::Idle => tick,
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn step(&mut self) -> Step {
        let subscription = match self.claim().await {
            Ok(Claim::Gone) => return Step::Gone,
            Ok(Claim::Other) => return Step::Idle,
            Ok(Claim::Mine(s)) => s,
            Err(error) => {
                tracing::warn!(%error, subscription = %self.id, "cannot read the subscription");
                return Step::Idle;
            }
        };
        let now = now();
        if let Some(head) = subscription
            .outbox
            .first()
            .filter(|p| p.next_attempt <= now)
        {
            self.deliver(&subscription, head.clone()).await;
            return Step::Again;
        }
        let poll_due = subscription.trigger != HEALTH
            && subscription.outbox.len() < MAX_OUTBOX
            && subscription.next_poll <= now;
        if poll_due {
            self.poll(&subscription).await;
            return Step::Again;
        }
        Step::Idle
    }

    /// Takes or renews the lease unless another replica holds it; renewed
    /// once half of it is left, so a holder writes at most twice a lease.
    async fn claim(&self) -> Result<Claim, String> {
        let (id, holder) = (self.id.clone(), self.holder.clone());
        let lease = self.scope.config.events.lease.as_millis() as u64;
        kept::record(&self.scope, &self.connection)
            .change(move |slot| {
                let Some(s) = slot.as_mut().and_then(|k| k.subscriptions.get_mut(&id)) else {
                    return (false, Claim::Gone);
                };
                let now = now();
                match &s.lease {
                    Some(l) if l.holder != holder && l.until > now => (false, Claim::Other),
                    Some(l) if l.holder == holder && l.until > now + lease / 2 => {
                        (false, Claim::Mine(Box::new(s.clone())))
                    }
                    _ => {
                        s.lease = Some(Lease {
                            holder: holder.clone(),
                            until: now + lease,
                        });
                        (true, Claim::Mine(Box::new(s.clone())))
                    }
                }
            })
            .await
    }

    /// Sends the outbox's oldest event once and records what happened.
    async fn deliver(&mut self, subscription: &Subscription, head: Pending) {
        let outcome = self.send(subscription, &head).await;
        match &outcome {
            Ok(status) => {
                tracing::info!(subscription = %self.id, event = %head.id, status, "delivered")
            }
            Err(error) => {
                tracing::info!(subscription = %self.id, event = %head.id, %error, "delivery failed")
            }
        }
        let backoff = self.scope.config.events.backoff;
        let id = self.id.clone();
        let written = kept::record(&self.scope, &self.connection)
            .change(move |slot| {
                let Some(s) = slot.as_mut().and_then(|k| k.subscriptions.get_mut(&id)) else {
                    return (false, ());
                };
                if s.outbox.first().map(|p| &p.id) != Some(&head.id) {
                    return (false, ());
                }
                settle(s, &outcome, backoff);
                (true, ())
            })
            .await;
        if let Err(error) = written {
            tracing::warn!(%error, subscription = %self.id, "cannot record a delivery");
        }
    }

    async fn send(&mut self, subscription: &Subscription, head: &Pending) -> Result<u16, String> {
        let destination =
            Destination::parse(&subscription.url, &self.scope.config.events.destinations)
                .map_err(|e| e.to_string())?;
        if self.secret.is_none() {
            self.secret =
                Some(kept::read_secret(&self.scope, &self.connection, subscription).await?);
        }
        let secret = self.secret.as_ref().expect("read above");
        let message = Message {
            id: head.id.clone(),
            body: head.body.clone().into(),
        };
        self.sender
            .send(&destination, &message, secret)
            .await
            .map_err(|e: DeliveryError| e.to_string())
    }

    /// Polls the trigger from the kept checkpoint; its events and the next
    /// checkpoint are written together (dropped if another replica kept a
    /// poll from the same checkpoint meanwhile).
    async fn poll(&self, subscription: &Subscription) {
        let request = crate::session::PollRequest {
            checkpoint: subscription.checkpoint.clone(),
            since: subscription.since.clone(),
            settings: subscription.settings.clone(),
        };
        let polled = match self.scope.session(&self.connection).await {
            Ok(session) => session.poll(&subscription.trigger, &request).await,
            Err(error) => Err(error),
        };
        let interval = subscription.interval_seconds * 1000;
        let from = subscription.checkpoint.clone();
        let id = self.id.clone();
        let (connection, tenant) = (self.connection.clone(), self.scope.space.tenant.clone());
        let trigger = subscription.trigger.clone();
        let outcome = polled.map_err(|e| e.to_string());
        if let Err(error) = &outcome {
            tracing::info!(subscription = %self.id, %error, "poll failed");
        }
        let written = kept::record(&self.scope, &self.connection)
            .change(move |slot| {
                let Some(s) = slot.as_mut().and_then(|k| k.subscriptions.get_mut(&id)) else {
                    return (false, ());
                };
                if s.checkpoint != from {
                    return (false, ());
                }
                match &outcome {
                    Ok(polled) => {
                        for event in &polled.events {
                            let body = crate::events::envelope(
                                &trigger,
                                &event.occurred_at,
                                event.data.clone(),
                                connection.as_str(),
                                tenant.as_str(),
                            );
                            let key = message_id(s.id.as_str(), &trigger, &event.id);
                            queue(s, key, &trigger, body.to_string());
                        }
                        s.checkpoint = Some(polled.checkpoint.clone());
                        s.next_poll = now() + if polled.more { 0 } else { interval };
                        // A good poll clears a poll's error, not the failing
                        // delivery's: that one still stands until it is delivered.
                        if s.last_error
                            .as_deref()
                            .is_some_and(|e| e.starts_with("poll: "))
                        {
                            s.last_error = None;
                        }
                    }
                    Err(error) => {
                        s.next_poll = now() + interval;
                        s.last_error = Some(format!("poll: {error}"));
                    }
                }
                (true, ())
            })
            .await;
        if let Err(error) = written {
            tracing::warn!(%error, subscription = %self.id, "cannot keep a poll's events");
        }
    }
}

/// Records one attempt at the outbox's head: gone on success; else retried
/// after a backoff, or a dead letter once the budget is spent.
fn settle(s: &mut Subscription, outcome: &Result<u16, String>, backoff: crate::events::Backoff) {
    match outcome {
        Ok(_) => {
            s.outbox.remove(0);
            s.delivered += 1;
            s.last_error = None;
        }
        Err(error) => {
            let head = &mut s.outbox[0];
            head.attempts += 1;
            head.last_error = Some(error.clone());
            s.last_error = Some(format!("delivery: {error}"));
            if backoff.spent(head.attempts) {
                let dead = s.outbox.remove(0);
                s.dead.push(dead);
            } else {
                head.next_attempt = now() + backoff.delay(head.attempts).as_millis() as u64;
            }
        }
    }
}
