//! The `scanhist` binary: parse arguments, run, exit with a documented code.

use std::process::ExitCode;

use clap::Parser;
use scanhist::cli::{run, Cli, ExitStatus};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(status) => status.into(),
        Err(error) => {
            eprintln!("scanhist: {error:#}");
            ExitStatus::Usage.into()
        }
    }
}
