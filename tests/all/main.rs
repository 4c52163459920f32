//! End-to-end tests: the real `connector-host` CLI, the real components and
//! the real sandbox, over loopback. One binary so wasmtime links once.

mod activities;
mod cli;
mod egress;
mod errors;
mod fidelity;
mod hostile;
mod isolation;
mod limits;
mod oauth;
mod pagination;
mod secrets;
mod transport;
