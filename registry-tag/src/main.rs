use std::process::ExitCode;

fn main() -> ExitCode {
    common::exit::main("registry-tag", registry_tag::run)
}
