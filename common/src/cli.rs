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

/// `--insecure`, worded once for every tool that reads tenant records:
/// `#[command(flatten)] insecure: Insecure`, then `cli.insecure.allowed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct Insecure {
    /// Allow tenants on plain http to hosts other than loopback (plain http
    /// to 127.0.0.0/8, [::1] and localhost is always allowed).
    #[arg(long = "insecure")]
    pub allowed: bool,
}

/// The flags of every tool that passes tenant records on (tenant-list,
/// canary-wait): `--insecure`, `--show-tokens` and `-v`, worded once.
/// `#[command(flatten)] pipe: TenantPipe`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::Args)]
pub struct TenantPipe {
    #[command(flatten)]
    pub insecure: Insecure,

    /// Write tokens in full when stdout is a terminal (they are shown as
    /// *** there otherwise; a pipe always gets them).
    #[arg(long)]
    pub show_tokens: bool,

    #[command(flatten)]
    pub verbosity: Verbosity,
}

/// Checks a tool's clap definition (`clap::Command::debug_assert`): what
/// [`cli_is_consistent!`](crate::cli_is_consistent) runs.
pub fn assert_consistent<C: clap::CommandFactory>() {
    C::command().debug_assert();
}

/// The unit test every tool's `Cli` gets: `common::cli_is_consistent!(Cli);`
/// inside its `#[cfg(test)]` module.
#[macro_export]
macro_rules! cli_is_consistent {
    ($cli:ty) => {
        #[test]
        fn cli_is_consistent() {
            $crate::cli::assert_consistent::<$cli>();
        }
    };
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
        pipe: TenantPipe,
    }

    crate::cli_is_consistent!(Cli);

    #[test]
    fn shared_flags_keep_their_spelling() {
        let cli = Cli::try_parse_from(["t", "--insecure", "--show-tokens", "-v"]).unwrap();
        assert!(cli.pipe.insecure.allowed && cli.pipe.show_tokens);
        assert_eq!(cli.pipe.verbosity.verbose, 1);
        let cli = Cli::try_parse_from(["t"]).unwrap();
        assert!(!cli.pipe.insecure.allowed && !cli.pipe.show_tokens);
    }

    #[test]
    fn counts_v() {
        let cli = Cli::try_parse_from(["t", "-vv"]).unwrap();
        assert_eq!(cli.pipe.verbosity.verbose, 2);
        let cli = Cli::try_parse_from(["t", "--verbose"]).unwrap();
        assert_eq!(cli.pipe.verbosity.verbose, 1);
        assert_eq!(
            Cli::try_parse_from(["t"]).unwrap().pipe.verbosity.verbose,
            0
        );
    }
}
