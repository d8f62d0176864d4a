//! Where credentials come from, against the real registry behind htpasswd:
//! `REGISTRY_USERNAME`/`REGISTRY_PASSWORD` only for the registry they are
//! meant for (`REGISTRY_HOST`, or the one registry of the images),
//! `GITHUB_TOKEN` only for ghcr.io, `--authfile`/`REGISTRY_AUTH_FILE` and the
//! containers auth files podman and skopeo write. Every case checks, at a
//! counting proxy, which registry was sent an `Authorization` header.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;
use testkit::image::Kind;
use testkit::registry::{PASSWORD, USER};
use testkit::Output;

use crate::support::{
    assert_code, assert_exit, assert_hidden, assert_says, Proxy, Registry, Sandbox, HTPASSWD_ENV,
};

/// `app:staging-1` in the shared htpasswd registry, behind a counting proxy
/// of this test's own.
struct Protected {
    registry: Registry,
    proxy: Proxy,
    digest: String,
}

impl Protected {
    fn start() -> Protected {
        let registry = Registry::htpasswd();
        let pushed = registry.push("app", "staging-1", Kind::Oci, "credentials");
        let proxy = registry.proxy();
        Protected {
            registry,
            proxy,
            digest: pushed.digest,
        }
    }

    /// `127.0.0.1:PROXYPORT`: the registry credentials are stored for.
    fn authority(&self) -> String {
        self.proxy.authority()
    }

    fn source(&self) -> String {
        self.proxy.image("app:staging-1")
    }

    /// Whether any request reached this registry with an `Authorization` header.
    fn was_sent_credentials(&self) -> bool {
        !self.proxy.authorized_requests().is_empty()
    }
}

/// Runs `args` in the hermetic sandbox with `XDG_RUNTIME_DIR` pointing into
/// it, so podman's runtime auth file is the test's own.
fn run(sandbox: &Sandbox, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let runtime = sandbox.path("run");
    let mut all = vec![("XDG_RUNTIME_DIR", runtime.to_str().unwrap())];
    all.extend_from_slice(env);
    sandbox.run(args, &all, stdin)
}

/// A containers auth file at `path` with `auths[host]` = `user:password`.
fn auth_file(path: &Path, host: &str, password: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let auth = STANDARD.encode(format!("{USER}:{password}"));
    std::fs::write(path, json!({"auths": {host: {"auth": auth}}}).to_string()).unwrap();
    path.to_path_buf()
}

#[test]
fn the_env_pair_goes_only_to_the_registry_host_names() {
    let registry = Protected::start();
    let sandbox = Sandbox::new();
    let elsewhere = [
        HTPASSWD_ENV[0],
        HTPASSWD_ENV[1],
        ("REGISTRY_HOST", "registry.example.com"),
    ];
    let out = run(&sandbox, &[&registry.source()], &elsewhere, None);
    assert_code(&out, 1);
    assert!(!registry.was_sent_credentials());
    assert_says(&out, "are for registry.example.com, not");
    assert_hidden(&out, PASSWORD);

    let host = registry.authority();
    let here = [HTPASSWD_ENV[0], HTPASSWD_ENV[1], ("REGISTRY_HOST", &host)];
    let out = run(&sandbox, &[&registry.source(), "latest"], &here, None);
    assert_code(&out, 0);
    assert!(registry.was_sent_credentials());
    registry
        .registry
        .assert_at("app", "latest", &registry.digest);
}

#[test]
fn without_registry_host_the_env_pair_goes_to_the_one_registry_of_the_images() {
    let protected = Protected::start();
    let open = Registry::start();
    open.push("web", "staging-1", Kind::Oci, "open");
    let open_proxy = open.proxy();
    let sandbox = Sandbox::new();

    // One registry: the pair is for it.
    let out = run(&sandbox, &[&protected.source()], &HTPASSWD_ENV, None);
    assert_code(&out, 0);
    assert!(protected.was_sent_credentials());
    let authorized_before = protected.proxy.authorized_requests().len();

    // Two registries: the pair goes to neither, and a warning says so.
    let requests = format!(
        "{}\n{}\n",
        json!({"image": protected.proxy.image("app"), "source": "staging-1", "tag": "latest"}),
        json!({"image": open_proxy.image("web"), "source": "staging-1", "tag": "latest"}),
    );
    let out = run(&sandbox, &[], &HTPASSWD_ENV, Some(&requests));
    assert_exit(&out, 1, "not used: the images are on several registries");
    assert_eq!(
        protected.proxy.authorized_requests().len(),
        authorized_before
    );
    assert!(open_proxy.authorized_requests().is_empty());
    assert!(open.digest_of("web", "latest").is_some());
    assert_hidden(&out, PASSWORD);
}

#[test]
fn github_token_goes_only_to_ghcr() {
    let registry = Protected::start();
    let out = run(
        &Sandbox::new(),
        &[&registry.source()],
        &[
            ("GITHUB_TOKEN", "ghp-Never-Sent-Elsewhere"),
            ("GITHUB_ACTOR", USER),
        ],
        None,
    );
    assert_exit(&out, 1, "anonymous");
    assert!(!registry.was_sent_credentials());
    assert_hidden(&out, "ghp-Never-Sent-Elsewhere");
}

#[test]
fn authfile_flag_and_registry_auth_file() {
    let registry = Protected::start();
    let sandbox = Sandbox::new();
    let good = auth_file(
        &sandbox.path("good/auth.json"),
        &registry.authority(),
        PASSWORD,
    );
    let good = good.to_str().unwrap();

    let out = run(
        &sandbox,
        &[&registry.source(), "--authfile", good],
        &[],
        None,
    );
    assert_code(&out, 0);
    let out = run(
        &sandbox,
        &[&registry.source()],
        &[("REGISTRY_AUTH_FILE", good)],
        None,
    );
    assert_code(&out, 0);

    // The flag wins over the variable; a wrong password names the file.
    let wrong = "Wr0ng-Authfile-Pass";
    let bad = auth_file(&sandbox.path("bad/auth.json"), &registry.authority(), wrong);
    let out = run(
        &sandbox,
        &[&registry.source(), "--authfile", bad.to_str().unwrap()],
        &[("REGISTRY_AUTH_FILE", good)],
        None,
    );
    assert_exit(&out, 1, &format!("{} auths", bad.display()));
    assert_hidden(&out, wrong);

    // An auth file asked for by name must exist.
    let missing = sandbox.path("missing.json");
    let out = run(
        &sandbox,
        &[&registry.source(), "--authfile", missing.to_str().unwrap()],
        &[],
        None,
    );
    assert_exit(&out, 2, &missing.display().to_string());
}

#[test]
fn podman_and_skopeo_logins_are_used_after_docker_config() {
    let registry = Protected::start();
    let host = registry.authority();

    let sandbox = Sandbox::new();
    auth_file(&sandbox.path("run/containers/auth.json"), &host, PASSWORD);
    let out = run(&sandbox, &[&registry.source()], &[], None);
    assert_code(&out, 0);

    let sandbox = Sandbox::new();
    auth_file(
        &sandbox.path(".config/containers/auth.json"),
        &host,
        PASSWORD,
    );
    let out = run(&sandbox, &[&registry.source()], &[], None);
    assert_code(&out, 0);

    // docker's config.json comes first; a wrong login there is named.
    let wrong = "Wr0ng-Docker-Pass";
    let config = sandbox.docker_config(
        &json!({"auths": {&host: {"auth": STANDARD.encode(format!("{USER}:{wrong}"))}}}),
    );
    let out = run(&sandbox, &[&registry.source()], &[], None);
    assert_exit(&out, 1, &format!("{} auths", config.display()));
    assert_hidden(&out, wrong);
}
