use std::process::ExitCode;

fn main() -> ExitCode {
    common::exit::main("rollback-latest", rollback_latest::run)
}
