//! `pairdesk`: the server binary and its command-line subcommands.

use server::{analyze, cli, cluster, export, fake_exchange, replay, serve};

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    // `analyze` and `backtest` are synchronous batch work: no runtime needed.
    let command = match cli.command {
        cli::Command::Analyze(args) => return analyze::run(&args),
        cli::Command::Backtest(args) => return analyze::backtest::run(&args),
        cli::Command::Screen(args) => return analyze::screen::run(&args),
        command => command,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("pairdesk: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            cli::Command::Serve(args) => serve::run(args).await,
            cli::Command::Ingest(args) => cluster::publish::run(args).await,
            cli::Command::FakeExchange(args) => fake_exchange::run_standalone(args).await,
            cli::Command::Export(args) => export::run(&args).await,
            cli::Command::Replay(args) => replay::run(&args).await,
            cli::Command::Analyze(_) | cli::Command::Backtest(_) | cli::Command::Screen(_) => Ok(()), // handled above
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pairdesk: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
