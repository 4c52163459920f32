//! The wasmtime engine, the linker, and the cache of compiled components.
//!
//! One engine serves every connector of a process. Components are compiled
//! once and kept as precompiled artifacts keyed by the component's sha256 and
//! the engine's compatibility hash, so a later process loads in microseconds
//! instead of compiling again.

use std::hash::{BuildHasher, Hash, Hasher};
use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use super::store::CallState;

/// How often the epoch advances; deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Builds the engine: async calls and epoch interruption for deadlines.
pub(crate) fn engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    spawn_epoch_ticker(&engine);
    Ok(engine)
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

/// Compiles `bytes`, or loads the artifact an earlier run left in the cache.
pub(crate) fn component(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    let Some(path) = cache_path(engine, bytes) else {
        return Component::new(engine, bytes);
    };
    if path.exists() {
        // SAFETY: only this function writes files in the cache directory, which
        // is private to the user (0700), and the name binds the artifact to the
        // exact component bytes and engine configuration.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unusable cached artifact: {e}")
            }
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store_artifact(&path, &component.serialize()?) {
        tracing::warn!(path = %path.display(), "cannot cache compiled component: {e}");
    }
    Ok(component)
}

fn cache_path(engine: &Engine, bytes: &[u8]) -> Option<PathBuf> {
    let dir = std::env::var_os("CONNECTOR_HOST_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("connector-host")))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = hex::encode(Sha256::digest(bytes));
    Some(dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish())))
}

/// Writes atomically so a concurrent process never loads a half-written file.
fn store_artifact(path: &std::path::Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("cache paths have a parent");
    create_private_dir(dir)?;
    let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), rand_suffix()));
    std::fs::write(&tmp, artifact)?;
    std::fs::rename(&tmp, path)
}

fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Unique enough for a temporary file name: `RandomState` is randomly seeded.
fn rand_suffix() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
}
