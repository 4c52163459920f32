//! The host's log: `CONNECTOR_HOST_LOG` (an `EnvFilter`, default `error`)
//! to stderr, with no secret at any level.
//!
//! Three guards, outermost first:
//! 1. libraries known to log what they send or receive are held back whatever
//!    the filter says: `hashicorp_vault` prints every Vault response body at
//!    trace (secrets included), `reqwest` every URL at debug (a userpass
//!    login's URL holds the user name), and `rmcp` every JSON-RPC message at
//!    trace (an MCP tool call's arguments: users' personal data), and
//!    Temporal's SDK core and client every task and payload at debug and
//!    trace (activity inputs and results, the same data);
//! 2. every line is passed through [`redact::secrets_removed`], which blanks
//!    any secret value this process has resolved, whoever logged it;
//! 3. control characters are escaped ([`redact::terminal`]), so guest or
//!    server text quoted in a log line cannot rewrite the terminal.
//!
//! Beside them, the compiler's targets, which write gigabytes at trace while
//! a component compiles, stay at info unless the filter names them itself.
//! The host's own events never carry a call's input: at most its size.

use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::redact;

/// The environment variable holding the filter.
pub const ENV: &str = "CONNECTOR_HOST_LOG";

/// Directives that win over the user's filter (see the module docs).
const HELD_BACK: &[&str] = &[
    "hashicorp_vault=off",
    "reqwest=info",
    "rmcp=info",
    "temporalio_sdk_core=info",
    "temporalio_client=info",
    "temporalio_common=info",
];

/// Targets that flood at debug and trace (Cranelift and wasmtime's compiler
/// print every function they compile): capped at info unless the user's
/// filter names the target, which is then taken as meant.
const FLOODING: &[&str] = &[
    "cranelift_codegen",
    "cranelift_frontend",
    "cranelift_entity",
    "regalloc2",
    "wasmtime_internal_cranelift",
    "wasmtime_cranelift",
    "wasmtime_environ",
    "wasmtime_internal_environ",
    "wasmtime::runtime::vm",
    "wasmtime::compile",
    "wasmtime_internal_jit",
];

/// Installs the global subscriber; later calls do nothing.
pub fn init() {
    let spec = std::env::var(ENV).unwrap_or_default();
    let _ = tracing_subscriber::fmt()
        .with_writer(GuardedStderr)
        .with_ansi(false)
        .with_env_filter(filter(&spec))
        .try_init();
}

/// The user's filter (or `error`) with [`HELD_BACK`] added last, so it wins.
fn filter(spec: &str) -> EnvFilter {
    let spec = if spec.trim().is_empty() {
        "error"
    } else {
        spec
    };
    let mut filter = EnvFilter::try_new(spec).unwrap_or_else(|_| EnvFilter::new("error"));
    for target in FLOODING.iter().filter(|t| !spec.contains(*t)) {
        let directive = format!("{target}=info");
        filter = filter.add_directive(directive.parse().expect("fixed directives parse"));
    }
    for directive in HELD_BACK {
        filter = filter.add_directive(directive.parse().expect("fixed directives parse"));
    }
    filter
}

/// Stderr behind the guards; the formatter writes each event in one call.
#[derive(Clone, Copy)]
struct GuardedStderr;

impl<'a> MakeWriter<'a> for GuardedStderr {
    type Writer = GuardedStderr;
    fn make_writer(&'a self) -> Self::Writer {
        GuardedStderr
    }
}

impl Write for GuardedStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(bytes);
        let safe = redact::terminal(&redact::secrets_removed(&text));
        std::io::stderr().lock().write_all(safe.as_bytes())?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// What a subscriber with `filter(spec)` prints for a few events.
    fn printed(spec: &str) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || SinkWriter(sink.clone()))
            .with_ansi(false)
            .with_env_filter(filter(spec))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "hashicorp_vault::client", "vault-body");
            tracing::debug!(target: "reqwest::async_impl::client", "reqwest-url");
            tracing::info!(target: "reqwest::connect", "reqwest-info");
            tracing::trace!(target: "connector_host::oauth", "host-trace");
            tracing::trace!(target: "rmcp::service", "rmcp-message");
            tracing::trace!(target: "cranelift_codegen::machinst", "compiler-trace");
            tracing::trace!(target: "wasmtime_internal_cranelift::compiler", "compiler-trace");
        });
        let bytes = buffer.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct SinkWriter(Arc<Mutex<Vec<u8>>>);
    impl Write for SinkWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn body_logging_libraries_stay_quiet_even_at_trace() {
        for spec in ["trace", "hashicorp_vault=trace,reqwest=trace,trace"] {
            let out = printed(spec);
            assert!(
                !out.contains("vault-body") && !out.contains("reqwest-url"),
                "{spec}: {out}"
            );
            assert!(
                out.contains("reqwest-info") && out.contains("host-trace"),
                "{spec}: {out}"
            );
        }
        assert!(!printed("").contains("host-trace"));
    }

    #[test]
    fn mcp_messages_never_and_the_compiler_only_when_asked_by_name() {
        let out = printed("trace,rmcp=trace");
        assert!(!out.contains("rmcp-message"), "{out}");
        assert!(!out.contains("compiler-trace"), "{out}");
        let asked = printed("info,cranelift_codegen=trace");
        assert_eq!(asked.matches("compiler-trace").count(), 1, "{asked}");
    }
}
