use std::process::ExitCode;

fn main() -> ExitCode {
    common::exit::main("canary-wait", canary_wait::run)
}
