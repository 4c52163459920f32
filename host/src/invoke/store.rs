//! The state of one call: a fresh store per call, so nothing a guest leaves
//! behind reaches the next call or another tenant.
//!
//! The store carries WASI without environment, arguments, files or sockets
//! (the guest gets nothing the host did not decide to give it), the egress
//! hooks, the limiter of [`super::limits`], and bounds on the host-side state
//! the guest can create: handles in the resource table, the size of a header
//! set (and, in the egress hooks, of an outgoing body's buffer).

use std::sync::{Arc, Mutex};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::limits::{CallLimiter, Limits};
use crate::egress::{EgressEvent, EgressHooks, EgressPolicy, Transport};

/// How much of a guest's stderr is kept for error messages.
const STDERR_CAPACITY: usize = 16 * 1024;

/// Everything one call's store holds.
pub struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: EgressHooks,
    pub(crate) limiter: CallLimiter,
    pub(crate) stderr: MemoryOutputPipe,
}

impl CallState {
    /// State for one call under `policy` and `limits`.
    pub(crate) fn new(
        policy: Arc<EgressPolicy>,
        transport: Arc<Transport>,
        events: Arc<Mutex<Vec<EgressEvent>>>,
        limits: &Limits,
    ) -> CallState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(limits.max_header_bytes);
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.max_resources);
        CallState {
            wasi,
            http,
            table,
            hooks: EgressHooks::new(policy, transport, events),
            limiter: CallLimiter::new(limits),
            stderr,
        }
    }

    /// What the guest wrote to stderr (a panic message, usually), trimmed.
    pub(crate) fn guest_stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_owned()
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for CallState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}
