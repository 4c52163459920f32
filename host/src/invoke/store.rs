//! The state of one call: a fresh store per call, so nothing a guest leaves
//! behind reaches the next call or another tenant.
//!
//! The store carries WASI without environment, arguments, files or sockets
//! (the guest gets nothing the host did not decide to give it), the egress
//! hooks, and a memory limiter that remembers when it refused to grow.

use std::sync::{Arc, Mutex};

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::egress::{EgressEvent, EgressHooks, EgressPolicy};

/// How much of a guest's stderr is kept for error messages.
const STDERR_CAPACITY: usize = 16 * 1024;

/// Everything one call's store holds.
pub struct CallState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: EgressHooks,
    pub(crate) limiter: MemoryLimiter,
    pub(crate) stderr: MemoryOutputPipe,
}

impl CallState {
    /// State for one call under `policy`, with memory capped at `memory_bytes`.
    pub(crate) fn new(
        policy: Arc<EgressPolicy>,
        events: Arc<Mutex<Vec<EgressEvent>>>,
        memory_bytes: u64,
    ) -> CallState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        CallState {
            wasi,
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: EgressHooks::new(policy, events),
            limiter: MemoryLimiter {
                limit: memory_bytes,
                refused: false,
            },
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

/// Caps linear memory and remembers a refusal, so that the trap that follows
/// (an allocator abort, usually) can be reported as what it is.
pub(crate) struct MemoryLimiter {
    limit: u64,
    pub(crate) refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired as u64 <= self.limit;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
