use std::process::ExitCode;

fn main() -> ExitCode {
    common::exit::main("canary-smoke", canary_smoke::run)
}
