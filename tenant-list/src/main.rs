use std::process::ExitCode;

fn main() -> ExitCode {
    common::exit::main("tenant-list", tenant_list::run)
}
