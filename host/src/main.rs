//! `connector-host`: parses the command line, runs the command, prints the
//! error chain and sets the exit code. Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CONNECTOR_HOST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("connector-host: cannot start the async runtime: {e}");
            return ExitCode::from(cli::exit::INTERNAL);
        }
    };
    match runtime.block_on(args.execute()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("connector-host: {error:#}");
            ExitCode::from(cli::exit::code(&error))
        }
    }
}
