//! `cargo run -p xtask -- man` regenerates `docs/man`; `-- man --check`
//! exits 1 when the committed files are out of date.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = xtask::man_dir();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["man"] => match xtask::write_all(&dir) {
            Ok(n) => {
                eprintln!("xtask: wrote {n} files under {}", dir.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("xtask: cannot write {}: {e}", dir.display());
                ExitCode::from(1)
            }
        },
        ["man", "--check"] => match xtask::stale(&dir) {
            Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
            Ok(stale) => {
                eprintln!("xtask: out of date: {stale:?}; run `make man`");
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("xtask: {e}");
                ExitCode::from(1)
            }
        },
        _ => {
            eprintln!("usage: cargo run -p xtask -- man [--check]");
            ExitCode::from(2)
        }
    }
}
