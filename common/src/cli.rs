//! Command-line pieces every tool shares.

use crate::trace;

/// `-v/--verbose`, counted: `#[command(flatten)] verbosity: Verbosity`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct Verbosity {
    /// Trace on stderr what the tool does: each HTTP request (method, URL,
    /// status, time, bytes, retry) and other steps; -vv adds headers and a
    /// body excerpt. Secrets show as ***. RUNNER_DEBUG=1 under GitHub
    /// Actions counts as -v.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl Verbosity {
    /// The level asked for, raised to 1 by `RUNNER_DEBUG=1` under GitHub
    /// Actions (a re-run "with debug logging").
    pub fn level(&self) -> u8 {
        let runner_debug = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
            && std::env::var("RUNNER_DEBUG").is_ok_and(|v| v == "1");
        if runner_debug {
            self.verbose.max(1)
        } else {
            self.verbose
        }
    }

    /// Sets the process-wide trace level; returns it.
    pub fn init(&self) -> u8 {
        let level = self.level();
        trace::set_level(level);
        level
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        verbosity: Verbosity,
    }

    #[test]
    fn counts_v() {
        let cli = Cli::try_parse_from(["t", "-vv"]).unwrap();
        assert_eq!(cli.verbosity.verbose, 2);
        let cli = Cli::try_parse_from(["t", "--verbose"]).unwrap();
        assert_eq!(cli.verbosity.verbose, 1);
        assert_eq!(Cli::try_parse_from(["t"]).unwrap().verbosity.verbose, 0);
    }
}
