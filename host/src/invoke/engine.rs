//! The wasmtime engines, the linker, and the cache of compiled components.
//!
//! A process has a **pooled** engine, whose instance slots (memories,
//! tables, core instances, fiber stacks) are reserved once and reused, so a
//! call's fresh store and instance cost microseconds; and, only when needed,
//! an **on-demand** engine for what does not fit a slot. Every call still
//! gets a fresh store and a fresh instance: a slot is handed back wiped
//! (memory zeroed or unmapped, tables reset) before another call gets it.
//!
//! Slots are sized from [`Limits::default`]: a connection whose `[limits]`
//! are within the defaults runs pooled; one that raises `memory_mib`,
//! `max_memories`, `max_tables`, `max_table_elements` or `max_instances`
//! past them, and a component whose own declarations do not fit a slot,
//! are loaded on the on-demand engine instead, where the same per-call
//! limits apply through the store limiter. Either way the limiter, not the
//! slot size, is what refuses a call, so errors name the `[limits]` setting.
//!
//! Components are compiled by [`super::compile`] and kept in
//! [`super::artifact`]'s cache; both use [`config`], so an artifact
//! compiled anywhere fits either engine.

use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Strategy,
};

use super::compile::LoadSettings;
use super::limits::Limits;
use super::store::CallState;
use super::InvokeError;
use crate::egress::PoolSettings;

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Calls that may run at once on the pooled engine, by default.
pub const DEFAULT_POOLED_CALLS: u32 = 256;

/// How a [`super::Runtime`] runs calls and pools connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSettings {
    /// Instance slots of the pooling allocator: calls that may run at once
    /// (`CONNECTOR_HOST_POOLED_CALLS`). 0 turns pooling off: every call's
    /// instance is allocated on demand, as before pooling.
    pub pooled_calls: u32,
    /// The outgoing connection pool (`CONNECTOR_HOST_MAX_IDLE_PER_ORIGIN`,
    /// `CONNECTOR_HOST_MAX_CONNECTIONS_PER_ORIGIN`).
    pub connections: PoolSettings,
    /// How components are compiled and how long and large they may be
    /// (`CONNECTOR_HOST_COMPILE_SECONDS`, `CONNECTOR_HOST_MAX_COMPONENT_MIB`,
    /// `CONNECTOR_HOST_COMPILE_MIB`).
    pub loading: LoadSettings,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            pooled_calls: DEFAULT_POOLED_CALLS,
            connections: PoolSettings::default(),
            loading: LoadSettings::default(),
        }
    }
}

impl RuntimeSettings {
    /// The defaults, changed by the `CONNECTOR_HOST_*` variables that are set.
    ///
    /// # Errors
    ///
    /// [`InvokeError::Engine`] naming a variable that is not a whole number.
    pub fn from_env() -> Result<RuntimeSettings, InvokeError> {
        let mut settings = RuntimeSettings::default();
        let read = |name: &str, into: &mut usize| -> Result<(), InvokeError> {
            let Some(text) = std::env::var_os(name) else {
                return Ok(());
            };
            *into = text
                .to_str()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| {
                    InvokeError::Engine(format!(
                        "{name} is not a whole number\nhint: unset it, or give a count such as 16"
                    ))
                })?;
            Ok(())
        };
        let mut calls = settings.pooled_calls as usize;
        read("CONNECTOR_HOST_POOLED_CALLS", &mut calls)?;
        settings.pooled_calls = u32::try_from(calls).unwrap_or(u32::MAX);
        let pool = &mut settings.connections;
        read(
            "CONNECTOR_HOST_MAX_IDLE_PER_ORIGIN",
            &mut pool.max_idle_per_origin,
        )?;
        read(
            "CONNECTOR_HOST_MAX_CONNECTIONS_PER_ORIGIN",
            &mut pool.max_connections_per_origin,
        )?;
        let loading = &mut settings.loading;
        let mut seconds = loading.timeout.as_secs() as usize;
        read("CONNECTOR_HOST_COMPILE_SECONDS", &mut seconds)?;
        loading.timeout = Duration::from_secs(seconds.max(1) as u64);
        let mut mib = (loading.max_component_bytes >> 20) as usize;
        read("CONNECTOR_HOST_MAX_COMPONENT_MIB", &mut mib)?;
        loading.max_component_bytes = (mib.max(1) as u64) << 20;
        let mut mib = (loading.compiler_memory_bytes >> 20) as usize;
        read("CONNECTOR_HOST_COMPILE_MIB", &mut mib)?;
        loading.compiler_memory_bytes = (mib.max(64) as u64) << 20;
        loading.trust =
            crate::signing::TrustPolicy::from_env().map_err(InvokeError::TrustPolicy)?;
        if let Some(text) = std::env::var_os("CONNECTOR_HOST_FIRST_COMPILE") {
            loading.first_compile = match text.to_str().map(str::trim) {
                Some("baseline") => Tier::Baseline,
                Some("optimized") => Tier::Optimized,
                _ => {
                    return Err(InvokeError::Engine(
                        "CONNECTOR_HOST_FIRST_COMPILE is neither `baseline` nor `optimized`\nhint: unset it for the default (baseline, then optimized in the background)".into(),
                    ))
                }
            };
        }
        Ok(settings)
    }
}

/// Whether calls under `limits` fit the pooled engine's slots.
pub(crate) fn fits_slots(limits: &Limits) -> bool {
    let slot = Limits::default();
    limits.memory_bytes <= slot.memory_bytes
        && limits.max_memories <= slot.max_memories
        && limits.max_tables <= slot.max_tables
        && limits.max_table_elements <= slot.max_table_elements
        && limits.max_instances <= slot.max_instances
}

/// Whether a compile error says the component does not fit a pool slot
/// (wasmtime's messages all name "pooling allocator").
pub(crate) fn does_not_fit_slots(error: &wasmtime::Error) -> bool {
    format!("{error:#}").contains("pooling allocator")
}

/// Which compiler made a connector's code.
///
/// A component met for the first time is compiled by Winch, wasmtime's
/// baseline compiler (one pass, no optimisation: Constant Contact's 1.3 MB
/// loads in about 240 ms here, against about 700 ms with Cranelift), and runs on that
/// code at once while Cranelift compiles it again in the background; the
/// optimized code then replaces it, in the connector already loaded and in
/// the artifact cache. Both compilers are wasmtime's Tier 1 on x86_64 and
/// get the same sandbox, limits and epoch deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Winch: compiled fast, runs slower; replaced when Cranelift is done.
    Baseline,
    /// Cranelift: what every cached load gets.
    Optimized,
}

impl Tier {
    /// `baseline` or `optimized`.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Baseline => "baseline",
            Tier::Optimized => "optimized",
        }
    }
}

/// What every engine of `tier` shares, and all that decides how code is
/// compiled: an artifact compiled under it (by the compiler child process,
/// which has no instance pool) deserializes into the pooled and the
/// on-demand engine alike (both have the same
/// `precompile_compatibility_hash`).
pub(crate) fn config_for(tier: Tier) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    if tier == Tier::Baseline {
        config.strategy(Strategy::Winch);
    }
    config
}

/// Builds an engine: async calls and epoch interruption for deadlines;
/// pooled with room for `pooled_calls` calls at once, or on demand for 0.
pub(crate) fn engine(pooled_calls: u32, tier: Tier) -> wasmtime::Result<Engine> {
    let mut config = config_for(tier);
    let engine = if pooled_calls == 0 {
        Engine::new(&config)?
    } else {
        let mut pool = pooling(pooled_calls);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool.clone()));
        match Engine::new(&config) {
            Ok(engine) => engine,
            Err(e) => {
                // A kernel without PAGEMAP_SCAN (before Linux 6.7): reset by
                // unmapping instead, slower but as clean.
                tracing::debug!("pooling without PAGEMAP_SCAN: {e:#}");
                pool.pagemap_scan(Enabled::No)
                    .linear_memory_keep_resident(0)
                    .table_keep_resident(0)
                    .async_stack_keep_resident(0);
                config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
                Engine::new(&config)?
            }
        }
    };
    spawn_epoch_ticker(&engine);
    Ok(engine)
}

/// Slots for `calls` calls at once, each as large as the default per-call
/// limits allow: however a call spends its limits, it finds a slot.
fn pooling(calls: u32) -> PoolingAllocationConfig {
    let slot = Limits::default();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(calls)
        .total_stacks(calls)
        .total_gc_heaps(calls)
        .max_core_instances_per_component(count(slot.max_instances))
        .total_core_instances(calls.saturating_mul(count(slot.max_instances)))
        .max_memories_per_component(count(slot.max_memories))
        .max_memories_per_module(count(slot.max_memories))
        .total_memories(calls.saturating_mul(count(slot.max_memories)))
        .max_memory_size(usize::try_from(slot.memory_bytes).unwrap_or(usize::MAX))
        .max_tables_per_component(count(slot.max_tables))
        .max_tables_per_module(count(slot.max_tables))
        .total_tables(calls.saturating_mul(count(slot.max_tables)))
        .table_elements(slot.max_table_elements);
    // Resetting a slot by unmapping its pages costs a TLB shootdown across
    // cores and a page fault per page on reuse: 15 µs of a 41 µs `echo`
    // (perf, `make bench` section b). With PAGEMAP_SCAN, wasmtime finds the
    // pages a call dirtied within the kept-resident part and resets only
    // those to the initial image: `echo` at 19 µs. The sizes cover what a
    // call usually touches: the guest's stack and heap start, a table of
    // 100,000 elements, the fiber stack.
    pool.pagemap_scan(Enabled::Yes)
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(1 << 20)
        .async_stack_keep_resident(256 << 10);
    pool
}

/// Advances the engine's epoch until the engine is dropped; a guest that
/// loops without calling the host is stopped at its deadline this way.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = weak.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

/// A linker with WASI 0.2 (which Rust's std imports) and `wasi:http`.
pub(crate) fn linker(engine: &Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    Ok(linker)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Baseline code is held to the deadlines optimized code is: a guest
    /// that loops without calling the host stops at its epoch deadline.
    #[test]
    fn baseline_code_looping_forever_stops_at_its_epoch_deadline() {
        let engine = Engine::new(&config_for(Tier::Baseline)).unwrap();
        let wasm = wat::parse_str(r#"(module (func (export "spin") (loop (br 0))))"#).unwrap();
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        store.set_epoch_deadline(2);
        store.epoch_deadline_trap();
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let spin = instance
            .get_typed_func::<(), ()>(&mut store, "spin")
            .unwrap();
        let ticking = engine.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            ticking.increment_epoch();
        });
        let error = spin.call(&mut store, ()).unwrap_err();
        assert_eq!(
            error.downcast_ref::<wasmtime::Trap>(),
            Some(&wasmtime::Trap::Interrupt),
            "{error:#}"
        );
    }

    /// The two tiers' artifacts never meet: each engine refuses the other's.
    #[test]
    fn an_artifact_of_one_tier_does_not_load_in_the_other() {
        let baseline = Engine::new(&config_for(Tier::Baseline)).unwrap();
        let optimized = Engine::new(&config_for(Tier::Optimized)).unwrap();
        let compatibility = super::super::compile::compatibility;
        assert_ne!(compatibility(&baseline), compatibility(&optimized));
        let wasm = wat::parse_str("(component (core module (func (export \"f\"))))").unwrap();
        let artifact = baseline.precompile_component(&wasm).unwrap();
        // SAFETY: compiled just above (the point is that it is refused).
        let loaded = unsafe { wasmtime::component::Component::deserialize(&optimized, &artifact) };
        assert!(loaded.is_err());
    }
}
