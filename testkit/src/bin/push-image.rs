//! `push-image`: pushes a synthetic image to a loopback registry, for the
//! demo. Prints the pushed manifest's digest.
//!
//!   push-image REGISTRY_URL REPOSITORY TAG KIND SEED
//!
//! KIND is oci, docker, oci-index or docker-list; the same SEED and KIND give
//! the same digest.

use std::process::ExitCode;

use testkit::image::{Kind, Pusher};

const USAGE: &str =
    "usage: push-image REGISTRY_URL REPOSITORY TAG oci|docker|oci-index|docker-list SEED";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, repo, tag, kind, seed] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let kind = match kind.as_str() {
        "oci" => Kind::Oci,
        "docker" => Kind::DockerV2,
        "oci-index" => Kind::OciIndex,
        "docker-list" => Kind::DockerList,
        other => {
            eprintln!("push-image: unknown kind {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !url.starts_with("http://127.") && !url.starts_with("http://localhost") {
        eprintln!("push-image: only loopback registries (http://127.x or http://localhost)");
        return ExitCode::from(2);
    }
    println!("{}", Pusher::new(url).push(repo, tag, kind, seed).digest);
    ExitCode::SUCCESS
}
