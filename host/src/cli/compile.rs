//! `connector-host compile-component` (hidden): the compiler child process.
//! The host starts it for every component it has to compile, writes the
//! component to its stdin and reads the artifact from its stdout; see
//! `connector_host::invoke` (compile) for why compiling happens here.

use clap::Args;

/// Compile a component from stdin to an artifact on stdout (used by the host itself).
#[derive(Args)]
pub struct CompileComponent {
    /// The parent engine's compatibility hash; a different engine refuses.
    #[arg(long)]
    compatibility: String,
    /// The address space this process may use, in MiB.
    #[arg(long)]
    memory_mib: u64,
    /// The CPU time this process may use, in seconds (all threads).
    #[arg(long)]
    cpu_seconds: u64,
    /// Winch's quick code instead of Cranelift's optimized code.
    #[arg(long)]
    baseline: bool,
    /// No load waits for it: run at the lowest priority.
    #[arg(long)]
    background: bool,
}

impl CompileComponent {
    /// Compiles; the error is the reason the parent shows.
    pub fn execute(self) -> anyhow::Result<()> {
        connector_host::invoke::run_compiler_child(
            &self.compatibility,
            self.memory_mib << 20,
            self.cpu_seconds,
            if self.baseline {
                connector_host::invoke::Tier::Baseline
            } else {
                connector_host::invoke::Tier::Optimized
            },
            self.background,
        )
        .map_err(anyhow::Error::msg)
    }
}
