//! The CLI's one error type: a cause, reported as a single `error: <cause>` line on stderr,
//! and the exit status that goes with it.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// Exit status for bad arguments (clap's own choice for usage errors).
const EXIT_USAGE: u8 = 2;
/// Exit status for input that was rejected or I/O that failed.
const EXIT_RUNTIME: u8 = 1;

/// A failure of the command, with the cause to print.
#[derive(Debug)]
pub struct CliError {
    usage: bool,
    cause: String,
}

impl CliError {
    /// The arguments are wrong (exit status 2).
    pub fn usage(cause: impl fmt::Display) -> Self {
        Self {
            usage: true,
            cause: cause.to_string(),
        }
    }

    /// The input was rejected or I/O failed (exit status 1).
    pub fn runtime(cause: impl fmt::Display) -> Self {
        Self {
            usage: false,
            cause: cause.to_string(),
        }
    }

    /// Prints `error: <cause>` on one line of stderr and returns the exit status.
    pub fn report(&self) -> ExitCode {
        // Not eprintln!, which panics when stderr is closed; there is nowhere left to report.
        let _ = writeln!(std::io::stderr().lock(), "error: {self}");
        ExitCode::from(if self.usage { EXIT_USAGE } else { EXIT_RUNTIME })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the cause holds.
        let mut words = self
            .cause
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if let Some(first) = words.next() {
            f.write_str(first)?;
        }
        for word in words {
            write!(f, " {word}")?;
        }
        Ok(())
    }
}

/// Errors from `sframe_core` while handling the input (a frame or a plaintext) are runtime
/// failures; its Display is already one line.
impl From<sframe_core::SframeError> for CliError {
    fn from(e: sframe_core::SframeError) -> Self {
        Self::runtime(e)
    }
}

/// Handles what `clap` refused: help and version go to stdout as usual; a usage error is cut
/// down to its first paragraph (the cause, without the usage block and hints) on one line.
/// `cli` is the command that failed to parse, to name its subcommands when none was given.
pub fn clap_exit(e: &clap::Error, cli: &clap::Command) -> ExitCode {
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let names: Vec<&str> = cli.get_subcommands().map(clap::Command::get_name).collect();
        return CliError::usage(format!(
            "no subcommand given; use one of: {} (see '{} --help')",
            names.join(", "),
            cli.get_name()
        ))
        .report();
    }
    if !e.use_stderr() {
        // --help or --version. A failed print (closed stdout) changes nothing worth reporting.
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let rendered = e.render().to_string();
    let first_paragraph = rendered.split("\n\n").next().unwrap_or_default();
    let cause = first_paragraph
        .trim()
        .strip_prefix("error:")
        .unwrap_or(first_paragraph)
        .trim();
    CliError::usage(cause).report()
}
