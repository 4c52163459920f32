//! Per-call limits, and the store limiter that enforces those on wasm state.
//!
//! Invariant (DESIGN §5.6): every limit holds against a hostile component,
//! each per call. Linear memory is summed over *all* of a component's
//! memories (wasmtime asks per memory, so a component with 32 memories of
//! 63 MiB would pass a per-memory check of 64 MiB); memories, tables and
//! core instances are counted; the host-side state a guest can make the host
//! hold (wasi-http fields and bodies, stream and pollable handles) is bounded
//! by the resource table's capacity, the header-set size and the body chunk
//! size (see [`super::store`]); the result is lifted under hostcall fuel and
//! converted under the output cap and inside the deadline (see
//! [`super::output`]); outgoing requests are counted by the egress hook.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// Per-call limits; each is set in the connection's `[limits]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock deadline for the whole call: guest time, host waits and
    /// the conversion of the result (`timeout_seconds`).
    pub timeout: Duration,
    /// Total linear memory across all memories (`memory_mib`).
    pub memory_bytes: u64,
    /// Largest response body handed to the guest (`max_response_mib`).
    pub max_response_bytes: u64,
    /// Largest result, as JSON text (`max_output_mib`).
    pub max_output_bytes: u64,
    /// Outgoing requests per call (`max_requests`).
    pub max_requests: usize,
    /// Outgoing requests in flight at once (`max_concurrent_requests`).
    pub max_concurrent_requests: usize,
    /// Core instances a component may create (`max_instances`).
    pub max_instances: usize,
    /// Linear memories (`max_memories`).
    pub max_memories: usize,
    /// Tables (`max_tables`).
    pub max_tables: usize,
    /// Table elements across all tables (`max_table_elements`).
    pub max_table_elements: usize,
    /// Host-side handles the guest may hold at once: header sets, bodies,
    /// streams, pollables (`max_resources`).
    pub max_resources: usize,
    /// Size of one header set, names and values (`max_header_kib`).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            max_response_bytes: 16 << 20,
            max_output_bytes: 16 << 20,
            max_requests: 200,
            max_concurrent_requests: 8,
            max_instances: 32,
            max_memories: 4,
            max_tables: 16,
            max_table_elements: 100_000,
            max_resources: 256,
            max_header_bytes: 64 << 10,
        }
    }
}

impl Limits {
    /// Hostcall fuel: how much the host may allocate lifting one transfer
    /// from the guest (its result, or the arguments of one host call).
    /// Lifted values take several times their JSON size (each is a `Val`),
    /// hence the factor; see `wasmtime::Store::set_hostcall_fuel`.
    pub(crate) fn hostcall_fuel(&self) -> usize {
        usize::try_from(self.max_output_bytes.saturating_mul(4)).unwrap_or(usize::MAX)
    }
}

/// Which wasm-state limit refused, for the person's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Total linear memory.
    Memory,
    /// Number of memories.
    Memories,
    /// Number of tables.
    Tables,
    /// Table elements.
    TableElements,
}

/// Sums what every memory and table of one call's store asks for.
pub(crate) struct CallLimiter {
    limits: Limits,
    memory: u64,
    memories: usize,
    tables: usize,
    table_elements: usize,
    /// The first refusal, so the trap that follows is reported as what it is.
    pub(crate) refused: Option<Refusal>,
}

impl CallLimiter {
    pub(crate) fn new(limits: &Limits) -> CallLimiter {
        CallLimiter {
            limits: limits.clone(),
            memory: 0,
            memories: 0,
            tables: 0,
            table_elements: 0,
            refused: None,
        }
    }

    fn refuse(&mut self, why: Refusal) -> wasmtime::Result<bool> {
        self.refused.get_or_insert(why);
        Ok(false)
    }
}

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A new memory is announced as growing from 0.
        if current == 0 {
            if self.memories == self.limits.max_memories {
                return self.refuse(Refusal::Memories);
            }
            self.memories += 1;
        }
        let total = self.memory + (desired - current) as u64;
        if total > self.limits.memory_bytes {
            return self.refuse(Refusal::Memory);
        }
        self.memory = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if current == 0 {
            if self.tables == self.limits.max_tables {
                return self.refuse(Refusal::Tables);
            }
            self.tables += 1;
        }
        let total = self.table_elements + (desired - current);
        if total > self.limits.max_table_elements {
            return self.refuse(Refusal::TableElements);
        }
        self.table_elements = total;
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.limits.max_instances
    }

    // Counted above with a clear refusal; these are wasmtime's own backstop.
    fn memories(&self) -> usize {
        self.limits.max_memories
    }

    fn tables(&self) -> usize {
        self.limits.max_tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_summed_across_memories() {
        let limits = Limits {
            memory_bytes: 64 << 20,
            max_memories: 40,
            ..Limits::default()
        };
        let mut limiter = CallLimiter::new(&limits);
        assert!(limiter.memory_growing(0, 63 << 20, None).unwrap());
        assert!(!limiter.memory_growing(0, 63 << 20, None).unwrap());
        assert_eq!(limiter.refused, Some(Refusal::Memory));
    }

    #[test]
    fn memories_and_tables_are_counted() {
        let mut limiter = CallLimiter::new(&Limits::default());
        for _ in 0..4 {
            assert!(limiter.memory_growing(0, 1 << 16, None).unwrap());
        }
        assert!(!limiter.memory_growing(0, 1 << 16, None).unwrap());
        assert_eq!(limiter.refused, Some(Refusal::Memories));
        let mut limiter = CallLimiter::new(&Limits::default());
        assert!(limiter.table_growing(0, 60_000, None).unwrap());
        assert!(!limiter.table_growing(0, 60_000, None).unwrap());
        assert_eq!(limiter.refused, Some(Refusal::TableElements));
    }
}
