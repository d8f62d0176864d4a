//! A real registry for tests: Debian's `docker-registry` (distribution 2.8)
//! on a free loopback port, with a temporary config and in-memory storage
//! (a test registry holds a few small images; memory is several times faster
//! than files per upload),
//! optionally behind htpasswd or token auth. Killed on drop.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::image::Pusher;
use crate::token_server::{Signer, TokenServer};
use crate::TempDir;

/// The program started; `DOCKER_REGISTRY` overrides it (for a registry
/// binary outside `PATH`).
const PROGRAM: &str = "docker-registry";

const MISSING: &str =
    "docker-registry not found: install Debian's docker-registry package (apt-get install docker-registry)";

/// The htpasswd user of [`Registry::start_htpasswd`].
pub const USER: &str = "ci-pusher";
/// Its password. Tests check that it never appears in any output.
pub const PASSWORD: &str = "Pr0mote-Secret-7d1f";
/// `htpasswd -nbB -C 4 ci-pusher Pr0mote-Secret-7d1f`, computed once:
/// docker-registry accepts only bcrypt entries, and a fixed line spares the
/// tests both the `htpasswd` binary and a bcrypt implementation.
const HTPASSWD_LINE: &str =
    "ci-pusher:$2y$04$QLuIRjKVW0joRB3bkawo7.G5hrN5S4rh/iNaTBjtqh8fX1z8Hn16m";

/// How the registry authenticates.
#[derive(Debug, Clone)]
enum Auth {
    None,
    Htpasswd,
    Token(Signer),
}

/// A running `docker-registry`.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    port: u16,
    auth: Auth,
    dir: TempDir,
}

impl Registry {
    /// A registry without authentication.
    pub fn start() -> Registry {
        Registry::launch(Auth::None)
    }

    /// A registry behind htpasswd (Basic) auth with [`USER`]/[`PASSWORD`].
    pub fn start_htpasswd() -> Registry {
        Registry::launch(Auth::Htpasswd)
    }

    /// A registry behind Bearer token auth, trusting `tokens`' certificate.
    pub fn start_token(tokens: &TokenServer) -> Registry {
        Registry::launch(Auth::Token(tokens.signer()))
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host())
    }

    /// A pusher with the registry's own credentials, for test setup.
    pub fn pusher(&self) -> Pusher {
        let pusher = Pusher::new(&self.url());
        match &self.auth {
            Auth::None => pusher,
            Auth::Htpasswd => pusher.basic(USER, PASSWORD),
            Auth::Token(signer) => pusher.tokens(signer.clone()),
        }
    }

    /// The registry's log so far (errors only), for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }

    fn launch(auth: Auth) -> Registry {
        let program = std::env::var("DOCKER_REGISTRY").unwrap_or_else(|_| PROGRAM.to_string());
        Registry::launch_program(&program, auth)
    }

    fn launch_program(program: &str, auth: Auth) -> Registry {
        let mut last_log = String::new();
        // A port found free can be taken before the registry binds it: try again.
        for _ in 0..5 {
            let dir = TempDir::new("registry").expect("create the registry's temp dir");
            let port = free_port();
            let config = dir.join("config.yml");
            std::fs::write(&config, config_yaml(&dir, port, &auth)).expect("write registry config");
            if matches!(auth, Auth::Htpasswd) {
                std::fs::write(dir.join("htpasswd"), format!("{HTPASSWD_LINE}\n"))
                    .expect("write htpasswd");
            }
            let log = std::fs::File::create(dir.join("registry.log")).expect("create registry log");
            let child = match Command::new(program)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("dup log"))
                .stderr(log)
                .env_remove("REGISTRY_HTTP_ADDR")
                .spawn()
            {
                Ok(child) => child,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!("{MISSING}"),
                Err(e) => panic!("cannot start {program}: {e}"),
            };
            let mut registry = Registry {
                child,
                port,
                auth: auth.clone(),
                dir,
            };
            if registry.wait_ready() {
                return registry;
            }
            last_log = registry.log();
        }
        panic!("docker-registry did not start; its log:\n{last_log}");
    }

    /// Until `/v2/` answers (200, or 401 behind auth), at most 15 s.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(1)))
            .build()
            .into();
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(resp) = agent.get(format!("{}/v2/", self.url())).call() {
                let status = resp.status().as_u16();
                if status == 200 || status == 401 {
                    // Another registry may hold the port and have answered
                    // while ours failed to bind it: ours must still be alive.
                    std::thread::sleep(Duration::from_millis(30));
                    return matches!(self.child.try_wait(), Ok(None));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        false
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("find a free loopback port")
}

fn config_yaml(dir: &TempDir, port: u16, auth: &Auth) -> String {
    let mut yaml = format!(
        "version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  inmemory: {{}}
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: testkit-not-a-secret
"
    );
    match auth {
        Auth::None => {}
        Auth::Htpasswd => yaml.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: testkit\n    path: {}\n",
            dir.join("htpasswd").display()
        )),
        Auth::Token(signer) => yaml.push_str(&format!(
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            signer.realm(),
            signer.service(),
            signer.issuer(),
            signer.cert_path().display()
        )),
    }
    yaml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_fails_with_install_advice() {
        let panic = std::panic::catch_unwind(|| {
            Registry::launch_program("/nonexistent/docker-registry", Auth::None)
        })
        .expect_err("must not start");
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert_eq!(message, MISSING);
        assert!(message.contains("apt-get install docker-registry"));
    }

    #[test]
    fn starts_answers_and_stops() {
        let registry = Registry::start();
        let url = format!("{}/v2/", registry.url());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        assert_eq!(agent.get(&url).call().unwrap().status().as_u16(), 200);
        drop(registry);
        assert!(
            agent.get(&url).call().is_err(),
            "still answering after drop"
        );
    }
}
