//! End-to-end tests: the real `connector-host` CLI, the real components and
//! the real sandbox, over loopback. One binary so wasmtime links once.

mod activities;
mod agents;
mod beyond;
mod catalogue;
mod cli;
mod clients;
mod conformance;
mod egress;
mod errors;
mod example;
mod fidelity;
mod hostile;
mod isolation;
mod limits;
mod listen;
mod looks;
mod mcp;
mod names;
mod newcomer;
mod oauth;
mod page;
mod page_api;
mod pagination;
mod quota;
mod replicas;
mod secrets;
mod serve;
mod session;
mod signals;
mod signin;
mod template;
mod transport;
mod worker;
