//! Project chores, run as `cargo run -p xtask -- <chore>`:
//!
//!   man                 regenerate docs/man (man pages and completions)
//!   man --check         exit 1 when the committed files are out of date
//!   dist-name           print canary-release-tools-<version>-<host target>
//!   archive STAGE OUT   pack the directory STAGE into OUT/<name of STAGE>.tar.gz,
//!                       reproducibly, and rewrite OUT/SHA256SUMS
//!   serve DIR           serve DIR over http on loopback: prints the base URL,
//!                       serves until stdin closes (for tests/installer.sh)

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "usage: cargo run -p xtask -- man [--check] | dist-name | archive STAGE OUT | serve DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["man"] => man(),
        ["man", "--check"] => man_check(),
        ["dist-name"] => xtask::dist::host_target().map(|target| {
            println!(
                "{}",
                xtask::dist::archive_name(env!("CARGO_PKG_VERSION"), &target)
            );
            ExitCode::SUCCESS
        }),
        ["archive", stage, out] => archive(Path::new(stage), Path::new(out)),
        ["serve", dir] => serve(dir),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    result.unwrap_or_else(|e| {
        eprintln!("xtask: {e}");
        ExitCode::from(1)
    })
}

fn man() -> std::io::Result<ExitCode> {
    let dir = xtask::man_dir();
    let n = xtask::write_all(&dir)?;
    eprintln!("xtask: wrote {n} files under {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn man_check() -> std::io::Result<ExitCode> {
    let stale = xtask::stale(&xtask::man_dir())?;
    if stale.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("xtask: out of date: {stale:?}; run `make man`");
    Ok(ExitCode::from(1))
}

fn archive(stage: &Path, out: &Path) -> std::io::Result<ExitCode> {
    let mtime = xtask::dist::source_date_epoch(&xtask::workspace_dir())?;
    let path = xtask::dist::archive(stage, out, mtime)?;
    eprintln!(
        "xtask: wrote {} and {}",
        path.display(),
        out.join("SHA256SUMS").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(dir: &str) -> std::io::Result<ExitCode> {
    let url = xtask::serve::start(dir.into())?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{url}")?;
    stdout.flush()?;
    // Whoever started the server stops it by closing our stdin.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    Ok(ExitCode::SUCCESS)
}
