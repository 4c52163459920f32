//! Loads WebAssembly connector components and runs their activities.
//!
//! The host knows nothing about any particular API. It learns what a connector
//! is from the component itself: `connector:sdk/metadata.describe` gives the
//! metadata, and wasmtime's type reflection gives every activity's input and
//! output types.
//!
//! # Layout
//!
//! Read in the order one call runs:
//!
//! - [`connection`]: the connection file (connector path and pin, field values,
//!   access token, endpoint overrides, limits); [`documents`]: where a
//!   long-running host keeps them (a directory, or a store for replicas).
//! - [`secrets`]: field values from direct input, the environment, a file or
//!   a credential asset in Vault, cached with a TTL; [`at_rest`]: what is
//!   kept in files outside Vault is sealed (Vault Transit or a key file).
//! - [`oauth`]: the OAuth2 connection: connect, token store, refresh, scope check.
//! - [`quota`]: calendar quotas (requests a day per application), counted
//!   across processes in the credential store.
//! - [`egress`]: the HTTP hook every guest request passes through: deny
//!   undeclared origins, apply overrides, inject the bearer token, cap bodies.
//! - [`signing`]: whose code may load at all: components' signatures
//!   checked against the operator's trusted keys before compiling.
//! - [`invoke`]: the engine, the loaded connector, one store per call with its
//!   deadline and memory cap, and JSON ⇄ WIT value conversion from reflected types.
//! - [`session`]: an opened connection and the one call pipeline over all of
//!   the above ([`Session::call`]), which every front end uses.
//!
//! The front ends over it: the CLI (`src/cli/`), [`serve`], [`mcp`] and,
//! with the `worker` feature, `worker` (Temporal). [`events`] is what
//! leaves the host on its own: the event envelope and signed webhook
//! deliveries.
//!
//! Nothing reaches back up this list. Beside it, [`name`] holds the names
//! that become parts of paths (connections, fields, activities, assets) and
//! cannot escape them, [`redact`] makes text safe to show (guest and server
//! text escaped, URLs and parser messages cut, remembered secrets blanked)
//! and [`logging`] keeps secrets and users' input out of the log; [`audit`]
//! writes the tamper-evident trail of who read, changed and ran what;
//! [`metrics`] counts what the pipeline does for operators.
#![warn(missing_docs)]

pub mod at_rest;
pub mod audit;
pub mod catalogue;
pub mod check;
pub mod connection;
pub mod documents;
pub mod egress;
pub mod events;
pub mod invoke;
pub mod logging;
pub mod mcp;
pub mod metrics;
pub mod name;
pub mod oauth;
mod ownership;
pub mod quota;
pub mod redact;
pub mod secrets;
pub mod serve;
pub mod session;
pub mod signing;
pub mod suggest;
#[cfg(feature = "worker")]
pub mod worker;

pub use connection::{Connection, ConnectionError};
pub use egress::{EgressPolicy, Origin, SendGate};
pub use invoke::{
    CallOptions, Connector, ConnectorInfo, InvokeError, Limits, Runtime, RuntimeSettings, Tier,
};
pub use name::{AssetName, Name, NameError};
pub use session::{
    CallHooks, ErrorClass, PollRequest, Polled, Session, SessionError, TriggerEvent,
};
