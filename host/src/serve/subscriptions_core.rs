//! TEMPORARY: the library API the lead is landing in main (`Session::poll`,
//! `Connector::trigger`, `Connector::settings_schema`), with the agreed
//! signatures, so this branch builds until main has them. Removed when main
//! is merged: the inherent methods take over and this file goes.

#![allow(dead_code)]

use serde_json::{Map, Value};

use crate::{Connector, Session, SessionError};

/// What a poll takes (the lead's `connector_host::session::PollRequest`).
pub struct PollRequest {
    /// The opaque checkpoint of the previous poll.
    pub checkpoint: Option<String>,
    /// Where a first poll starts.
    pub since: Option<String>,
    /// The trigger's settings.
    pub settings: Map<String, Value>,
}

/// What a poll found.
pub struct Polled {
    /// The events, oldest first.
    pub events: Vec<TriggerEvent>,
    /// The next checkpoint.
    pub checkpoint: String,
    /// Whether more are waiting.
    pub more: bool,
}

/// One event.
pub struct TriggerEvent {
    /// Its stable id.
    pub id: String,
    /// When it happened.
    pub occurred_at: String,
    /// The whole event record as JSON.
    pub data: Value,
}

/// A trigger as `describe` lists it.
pub struct TriggerInfo {
    /// Its name.
    pub name: String,
    /// Seconds between polls by default.
    pub default_interval_seconds: u32,
    /// The shortest interval allowed.
    pub minimum_interval_seconds: u32,
}

/// `Session::poll` until main has it.
pub trait SessionPoll {
    /// Polls `trigger`.
    async fn poll(&self, trigger: &str, request: &PollRequest) -> Result<Polled, SessionError>;
}

impl SessionPoll for Session {
    async fn poll(&self, _: &str, _: &PollRequest) -> Result<Polled, SessionError> {
        Err(SessionError::from(crate::ConnectionError::Read {
            path: "triggers are not in this build yet".into(),
            source: std::io::ErrorKind::Unsupported.into(),
        }))
    }
}

/// `Connector::trigger` and `settings_schema` until main has them.
pub trait ConnectorTriggers {
    /// The trigger `name`.
    fn trigger(&self, name: &str) -> Option<&TriggerInfo>;
    /// Its settings' JSON Schema.
    fn settings_schema(&self, trigger: &str) -> Option<Value>;
    /// Every trigger's name.
    fn trigger_names(&self) -> Vec<String>;
}

impl ConnectorTriggers for Connector {
    fn trigger(&self, _: &str) -> Option<&TriggerInfo> {
        None
    }
    fn settings_schema(&self, _: &str) -> Option<Value> {
        None
    }
    fn trigger_names(&self) -> Vec<String> {
        Vec::new()
    }
}
