//! Compiling a component, bounded in time and memory.
//!
//! Cranelift cannot be interrupted: a component made to compile slowly (a
//! compile bomb: one function whose thousands of locals meet at thousands
//! of block ends compiles in time and memory quadratic in its size; 80 KB
//! took 45 s in a debug build here, and 6 s and 2.1 GB in a release build)
//! keeps a core busy for as long as it takes, whoever stops waiting.
//! So the `connector-host` binary compiles in a child process of itself
//! (the hidden `compile-component` subcommand): the child limits its own
//! memory and CPU time, dies with its parent, and is killed at the
//! deadline; its artifact comes back over a pipe. A library user without
//! such a binary compiles on a blocking thread: the load still fails at the
//! deadline, but that thread runs on until the compiler is done.
//!
//! Either way the artifact is only ever made by this host's own compiler
//! from the bytes given, which is what lets [`super::artifact`] trust it.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use wasmtime::Engine;

use super::artifact::{self, Artifact, ArtifactCache};
use super::engine::{self, Tier};
use super::tier_up::{Backends, Compiled};
use super::{InvokeError, Limits};

/// The hidden subcommand the compiler child runs.
pub const COMPILER_SUBCOMMAND: &str = "compile-component";

/// How components are compiled and how long and large they may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSettings {
    /// The whole load of one component: compiling, reflecting on its
    /// exports and running `describe` (`CONNECTOR_HOST_COMPILE_SECONDS`).
    pub timeout: Duration,
    /// The largest component file loaded (`CONNECTOR_HOST_MAX_COMPONENT_MIB`).
    pub max_component_bytes: u64,
    /// The compiler child process's address space
    /// (`CONNECTOR_HOST_COMPILE_MIB`).
    pub compiler_memory_bytes: u64,
    /// Where compiling happens.
    pub compiler: Compiler,
    /// Whose signatures a component must carry to load at all
    /// (`CONNECTOR_HOST_TRUSTED_KEYS`, `CONNECTOR_HOST_ALLOW_UNSIGNED`).
    pub trust: crate::signing::TrustPolicy,
    /// How a component not in the cache is compiled first
    /// (`CONNECTOR_HOST_FIRST_COMPILE`): [`Tier::Baseline`] runs it within
    /// a fifth of the time and compiles optimized code in the background.
    pub first_compile: Tier,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings {
            timeout: Duration::from_secs(60),
            max_component_bytes: 64 << 20,
            compiler_memory_bytes: 2048 << 20,
            compiler: Compiler::default(),
            trust: crate::signing::TrustPolicy::none(),
            first_compile: Tier::Baseline,
        }
    }
}

/// Where components are compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compiler {
    /// On a blocking thread of this process: past the deadline the load
    /// fails, but the thread runs on until the compiler finishes.
    InProcess,
    /// In a child process running `<program> compile-component`, limited
    /// in memory and CPU time and killed at the deadline.
    Child(PathBuf),
}

static CHILD_PROGRAM: OnceLock<PathBuf> = OnceLock::new();

impl Default for Compiler {
    /// A child process when [`compile_in_child_processes`] was called,
    /// else in this process.
    fn default() -> Self {
        CHILD_PROGRAM
            .get()
            .map_or(Compiler::InProcess, |p| Compiler::Child(p.clone()))
    }
}

/// Makes every [`super::Runtime`] created afterwards with default settings
/// compile in a child process running this same binary, which must
/// dispatch its `compile-component` subcommand to
/// [`run_compiler_child`] (the `connector-host` CLI does).
pub fn compile_in_child_processes() {
    // /proc/self/exe names this very binary even after an upgrade replaced
    // the file, so the child's compiler always matches the parent's engine.
    let program = Path::new("/proc/self/exe");
    let program = if program.exists() {
        program.to_owned()
    } else {
        match std::env::current_exe() {
            Ok(path) => path,
            Err(_) => return,
        }
    };
    let _ = CHILD_PROGRAM.set(program);
}

impl super::Runtime {
    /// A connector's compiled component for calls under `limits`: from the
    /// cache (optimized), or compiled now in the first tier
    /// ([`LoadSettings::first_compile`]).
    pub(super) async fn compile(
        &self,
        path: &Path,
        bytes: &[u8],
        digest: &str,
        limits: &Limits,
    ) -> Result<Compiled, InvokeError> {
        let fits = engine::fits_slots(limits);
        let optimized = self.optimized_backends(fits)?;
        let optimized_name = artifact::name(digest, &compatibility(&optimized.first().engine));
        let cache = self.artifact_cache();
        let cached = blocking(bytes.len(), || cache.and_then(|c| c.get(&optimized_name)));
        let (tier, backends, artifact, began, name) = match cached {
            Some(artifact) => {
                let name = optimized_name.clone();
                (Tier::Optimized, optimized, artifact, Instant::now(), name)
            }
            None => {
                let tier = self.loading.first_compile;
                let backends = match tier {
                    Tier::Optimized => optimized,
                    Tier::Baseline => Backends::Only(self.baseline()?),
                };
                let (artifact, began, name) = self
                    .artifact(&backends.first().engine, bytes, digest, tier)
                    .await
                    .map_err(|f| f.into_error(path, &self.loading))?;
                (tier, backends, artifact, began, name)
            }
        };
        let (backend, component) = backends.place(path, &artifact, bytes.len())?;
        let slots = match (tier, &self.pooled) {
            (Tier::Baseline, Some(pooled)) if fits => pooled.slots.clone(),
            _ => backend.slots.clone(),
        };
        Ok(Compiled {
            backend,
            component,
            slots,
            began,
            artifact: name,
            optimized: optimized_name,
            tier,
        })
    }

    /// Where optimized code for calls that fit a slot (`fits`) or not runs.
    pub(super) fn optimized_backends(&self, fits: bool) -> Result<Backends, InvokeError> {
        Ok(match self.pooled.as_ref().filter(|_| fits) {
            Some(pooled) => Backends::Pooled(pooled.clone(), self.on_demand_lazily()),
            None => Backends::Only(self.on_demand()?),
        })
    }

    /// The artifact cache, opened (and its directory checked) on first use.
    pub(super) fn artifact_cache(&self) -> Option<&Arc<ArtifactCache>> {
        self.cache
            .get_or_init(|| ArtifactCache::open().map(Arc::new))
            .as_ref()
    }

    /// Who signed `bytes`, or why they may not load. A component this
    /// installation already verified (a record under its digest in the
    /// artifact cache, MAC'd like an artifact, naming the key) is not
    /// hashed again while that key is still trusted: the check then costs
    /// a BLAKE3 of the bytes instead of a SHA-256 and an Ed25519 verify.
    pub(super) fn signer(
        &self,
        path: &Path,
        bytes: &[u8],
        digest: &str,
    ) -> Result<crate::signing::Signer, InvokeError> {
        let policy = &self.loading.trust;
        if policy.keys().is_empty() {
            return Ok(crate::signing::Signer::NotChecked);
        }
        let cache = self.artifact_cache();
        let record = artifact::verified_name(digest);
        let recorded = cache.and_then(|c| c.get_small(&record));
        if let Some(signer) = recorded.and_then(|key| policy.signer_with_key(&key)) {
            return Ok(signer);
        }
        let signer = policy
            .check(bytes)
            .map_err(|reason| InvokeError::Untrusted {
                path: path.to_owned(),
                reason,
            })?;
        if let (Some(cache), Some(key)) = (cache, policy.key_of(&signer)) {
            cache.put(&record, key);
        }
        Ok(signer)
    }

    /// The compiled form of `bytes`: from the cache when this installation
    /// wrote it, else compiled (within the deadline) and cached.
    async fn artifact(
        &self,
        engine: &Engine,
        bytes: &[u8],
        digest: &str,
        tier: Tier,
    ) -> Result<(Artifact, Instant, String), Failure> {
        let cache = self.artifact_cache();
        let name = artifact::name(digest, &compatibility(engine));
        if let Some(artifact) = blocking(bytes.len(), || cache.and_then(|c| c.get(&name))) {
            return Ok((artifact, Instant::now(), name));
        }
        // The semaphore is never closed. Waiting for a turn does not count
        // against this component's deadline.
        let _permit = self.compiles.acquire().await.ok();
        let began = Instant::now();
        tracing::info!(
            artifact = name,
            bytes = bytes.len(),
            tier = tier.name(),
            "compiling a component"
        );
        let compiled = precompile(engine, bytes, &self.loading, tier, false).await?;
        if let Some(cache) = cache {
            blocking(bytes.len(), || cache.put(&name, &compiled));
        }
        Ok((Artifact::Fresh(compiled), began, name))
    }
}

/// Runs file and memory work proportional to a component of `size` bytes:
/// in place for a usual one (well under a millisecond), and for a large
/// one off the async worker, so other requests go on meanwhile.
pub(super) fn blocking<T>(size: usize, work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let large = size > 4 << 20;
    match Handle::try_current() {
        Ok(handle) if large && handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// The engine's compatibility hash as hex: artifacts are only exchanged
/// between engines that agree on it.
pub(crate) fn compatibility(engine: &Engine) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Compiles `bytes` for `engine` (of `tier`) within `settings.timeout`;
/// `background` when no load waits for it (the optimized compile after a
/// baseline load), which then gets only what other compiles leave.
pub(crate) async fn precompile(
    engine: &Engine,
    bytes: &[u8],
    settings: &LoadSettings,
    tier: Tier,
    background: bool,
) -> Result<Vec<u8>, Failure> {
    let deadline = Instant::now() + settings.timeout;
    if let Compiler::Child(program) = &settings.compiler {
        let child = in_child(program, engine, bytes, settings, deadline, tier, background);
        match child.await {
            Err(Failure::Spawn(error)) => tracing::warn!(
                program = %program.display(),
                "cannot start the compiler process ({error}); compiling in this process, where a compile past the deadline cannot be stopped"
            ),
            other => return other,
        }
    }
    in_thread(engine, bytes, deadline).await
}

/// Why compiling failed.
pub(crate) enum Failure {
    /// The child could not be started.
    Spawn(std::io::Error),
    /// Past the deadline; `stopped` when the compiler was killed.
    Timeout { stopped: bool },
    /// The compiler's own message: not a valid component.
    Invalid(String),
    /// The compiler died (its memory limit, usually).
    Crashed(String),
}

impl Failure {
    /// The error, naming the setting when a bound was passed.
    pub(crate) fn into_error(self, path: &Path, settings: &LoadSettings) -> super::InvokeError {
        let limit = |what: String, setting| super::InvokeError::LoadLimit {
            path: path.to_owned(),
            what,
            setting,
        };
        match self {
            Failure::Timeout { stopped } => limit(
                format!(
                    "compiling took longer than {} s, the limit (CONNECTOR_HOST_COMPILE_SECONDS); {}",
                    settings.timeout.as_secs(),
                    if stopped { "the compiler was stopped" } else { "the compiler thread runs on until it finishes" }
                ),
                "CONNECTOR_HOST_COMPILE_SECONDS",
            ),
            Failure::Crashed(how) => limit(
                format!(
                    "the compiler process {how}, as it does past its memory limit of {} MiB (CONNECTOR_HOST_COMPILE_MIB)",
                    settings.compiler_memory_bytes >> 20
                ),
                "CONNECTOR_HOST_COMPILE_MIB",
            ),
            Failure::Invalid(reason) => super::InvokeError::Load {
                path: path.to_owned(),
                reason,
            },
            Failure::Spawn(error) => super::InvokeError::Load {
                path: path.to_owned(),
                reason: format!("cannot start the compiler process: {error}"),
            },
        }
    }
}

async fn in_thread(engine: &Engine, bytes: &[u8], deadline: Instant) -> Result<Vec<u8>, Failure> {
    let (engine, bytes) = (engine.clone(), bytes.to_vec());
    let compiling = tokio::task::spawn_blocking(move || engine.precompile_component(&bytes));
    match tokio::time::timeout_at(deadline.into(), compiling).await {
        Ok(Ok(Ok(artifact))) => Ok(artifact),
        Ok(Ok(Err(error))) => Err(Failure::Invalid(format!("{error:#}"))),
        Ok(Err(panic)) => Err(Failure::Crashed(format!("panicked: {panic}"))),
        Err(_) => Err(Failure::Timeout { stopped: false }),
    }
}

async fn in_child(
    program: &Path,
    engine: &Engine,
    bytes: &[u8],
    settings: &LoadSettings,
    deadline: Instant,
    tier: Tier,
    background: bool,
) -> Result<Vec<u8>, Failure> {
    // CPU time is a backstop for a child whose parent could not kill it:
    // it counts every compiler thread, so allow all cores the whole time.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let cpu_seconds = settings.timeout.as_secs().saturating_mul(cores) + 5;
    let mut child = tokio::process::Command::new(program)
        .arg0("connector-host")
        .arg(COMPILER_SUBCOMMAND)
        .args(["--compatibility", &compatibility(engine)])
        .args([
            "--memory-mib",
            &(settings.compiler_memory_bytes >> 20).to_string(),
        ])
        .args(["--cpu-seconds", &cpu_seconds.to_string()])
        .args((tier == Tier::Baseline).then_some("--baseline"))
        .args(background.then_some("--background"))
        .env_clear()
        // The binary's allocator (mimalloc) reserves address space 1 GiB at
        // a time, which the address-space limit would count in full: cc's
        // compile peaks at 1.4 GiB of address space for 130 MB resident
        // with the default, 480 MiB with 64 MiB reservations.
        .env("MIMALLOC_ARENA_RESERVE", "64M")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(Failure::Spawn)?;
    let exchanged = tokio::time::timeout_at(deadline.into(), exchange(&mut child, bytes)).await;
    let Ok((status, artifact, stderr)) = exchanged else {
        // Killed and reaped now: no core burns past the deadline.
        let _ = child.kill().await;
        return Err(Failure::Timeout { stopped: true });
    };
    let status = status.map_err(|e| Failure::Crashed(format!("could not be waited for: {e}")))?;
    if status.success() {
        return Ok(artifact);
    }
    // The child prints its error as the CLI does: `connector-host: <reason>`.
    let said = String::from_utf8_lossy(&stderr);
    let said = said
        .rsplit_once("connector-host: ")
        .map_or(said.trim(), |(_, reason)| reason.trim())
        .to_owned();
    match std::os::unix::process::ExitStatusExt::signal(&status) {
        Some(signal) => Err(Failure::Crashed(format!("was stopped by signal {signal}"))),
        // Rust's own words when an allocation fails; the text is the host's.
        None if said.contains("memory allocation") => {
            Err(Failure::Crashed("ran out of memory".into()))
        }
        None => Err(Failure::Invalid(said)),
    }
}

/// Writes the component to the child, reads its artifact and (the first
/// 64 KiB of) what it says on stderr, and waits for it to exit.
async fn exchange(
    child: &mut tokio::process::Child,
    bytes: &[u8],
) -> (std::io::Result<std::process::ExitStatus>, Vec<u8>, Vec<u8>) {
    let (mut stdin, mut stdout, stderr) = (
        child.stdin.take().expect("piped"),
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let write = async move {
        // A child that stops early closes its end: what it says matters, not this.
        let _ = stdin.write_all(bytes).await;
    };
    let read = async move {
        let mut artifact = Vec::new();
        let _ = stdout.read_to_end(&mut artifact).await;
        artifact
    };
    let ((), artifact, said) = tokio::join!(write, read, read_capped(stderr, 64 << 10));
    (child.wait().await, artifact, said)
}

/// The first `cap` bytes of `reader`; the rest is read and dropped, so the
/// writer never blocks on a full pipe.
async fn read_capped(mut reader: impl AsyncRead + Unpin, cap: usize) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n @ 1..) = reader.read(&mut chunk).await {
        let room = cap.saturating_sub(kept.len()).min(n);
        kept.extend_from_slice(&chunk[..room]);
    }
    kept
}

/// The compiler child process: limits its own memory and CPU time, dies
/// with its parent, reads a component on stdin and writes its artifact on
/// stdout. `compatibility_expected` is the parent's engine's: a child built
/// from another version of the host refuses rather than hand back an
/// artifact the parent cannot use.
///
/// # Errors
///
/// The sentence the parent shows as the reason the load failed: the
/// compiler's message for a component that does not compile, or what could
/// not be set up.
pub fn run_compiler_child(
    compatibility_expected: &str,
    memory_bytes: u64,
    cpu_seconds: u64,
    tier: Tier,
    background: bool,
) -> Result<(), String> {
    use std::io::{Read, Write};
    // With the parent gone nobody waits for the artifact: stop at once.
    rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
        .map_err(|e| format!("cannot set the parent-death signal: {e}"))?;
    if rustix::process::getppid().is_none_or(|p| p.as_raw_nonzero().get() == 1) {
        return Err("the parent process is gone".into());
    }
    // Serving calls comes first: the compiler gets what the cores have left,
    // and a background compile what a load's compile leaves (weights 110 and
    // 15 against a call's 1024). Per thread on Linux: set before the
    // compiler's threads start.
    let _ = rustix::process::nice(if background { 19 } else { 10 });
    rlimit::setrlimit(rlimit::Resource::AS, memory_bytes, memory_bytes)
        .map_err(|e| format!("cannot limit the compiler's memory: {e}"))?;
    rlimit::setrlimit(rlimit::Resource::CPU, cpu_seconds, cpu_seconds)
        .map_err(|e| format!("cannot limit the compiler's CPU time: {e}"))?;
    let engine = Engine::new(&engine::config_for(tier)).map_err(|e| format!("{e:#}"))?;
    let actual = compatibility(&engine);
    if actual != compatibility_expected {
        return Err(format!(
            "this connector-host compiles for engine {actual}, the caller runs {compatibility_expected}\nhint: restart the calling process after an upgrade"
        ));
    }
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the component: {e}"))?;
    let artifact = engine
        .precompile_component(&bytes)
        .map_err(|e| format!("{e:#}"))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&artifact)
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write the artifact: {e}"))
}
