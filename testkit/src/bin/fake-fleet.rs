//! `fake-fleet`: serves N fake tenants on loopback for the demo and the
//! benchmarks, prints them as tenant JSON lines on stdout, then serves and
//! takes commands on stdin until stdin closes or the process is killed.

use std::io::{self, BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use testkit::fleet::{Fault, Fleet, TenantSpec};

const USAGE: &str = "\
usage: fake-fleet --tenants N [--latency-ms MS] [--path-prefixed] [--sha SHA] [--fault I=MODE]...

Serves N fake tenants on 127.0.0.1, prints one tenant JSON line per tenant on
stdout ({\"name\",\"url\",\"token\"[,\"headers\"]}), then serves until stdin
closes or the process is killed, taking commands on stdin, one per line:

  sha I|all SHA     tenant I (or every tenant) reports SHA from now on; prints OK
  fault I|all MODE  tenant I (or every tenant) misbehaves as MODE from now on; prints OK
  requests          prints REQUESTS <requests all tenants received so far>

  --tenants N       how many tenants (named canary-0 … canary-N-1)
  --latency-ms MS   added to every request (default 0)
  --path-prefixed   one port for all, tenant I at http://127.0.0.1:PORT/t/I
                    (default: one port per tenant)
  --sha SHA         the build sha /health and /buildinfo report (default 0000000)
  --fault I=MODE    tenant I (0-based) misbehaves; MODE is one of ok,
                    status500:/ROUTE, not-json, html-error, fail-open, slow:MS,
                    memory-lost, down, org-header:ORG, respond:STATUS:BODY

The request counter is served at <tenant url>/_fleet/requests (per tenant)
and, in the path-prefixed layout, at http://127.0.0.1:PORT/_fleet/requests.";

#[derive(Debug)]
struct Args {
    tenants: usize,
    latency: Duration,
    path_prefixed: bool,
    sha: String,
    faults: Vec<(usize, Fault)>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        tenants: 0,
        latency: Duration::ZERO,
        path_prefixed: false,
        sha: "0000000".to_string(),
        faults: Vec::new(),
    };
    let mut tenants = None;
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") && f != "--fault" => {
                (f.to_string(), Some(v.to_string()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--tenants" => {
                let v = value()?;
                tenants = Some(
                    v.parse()
                        .map_err(|_| format!("--tenants: not a number: {v:?}"))?,
                );
            }
            "--latency-ms" => {
                let v = value()?;
                let ms = v
                    .parse()
                    .map_err(|_| format!("--latency-ms: not a number: {v:?}"))?;
                args.latency = Duration::from_millis(ms);
            }
            "--path-prefixed" => args.path_prefixed = true,
            "--sha" => args.sha = value()?,
            "--fault" => {
                let v = value()?;
                let (i, mode) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--fault: expected I=MODE, got {v:?}"))?;
                let i = i
                    .parse()
                    .map_err(|_| format!("--fault: not a tenant index: {i:?}"))?;
                args.faults.push((
                    i,
                    mode.parse::<Fault>().map_err(|e| format!("--fault: {e}"))?,
                ));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    args.tenants = tenants
        .filter(|&n| n > 0)
        .ok_or("--tenants N (N > 0) is required")?;
    if let Some((i, _)) = args.faults.iter().find(|(i, _)| *i >= args.tenants) {
        return Err(format!(
            "--fault {i}=…: tenants are numbered 0 to {}",
            args.tenants - 1
        ));
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("fake-fleet: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut specs: Vec<TenantSpec> = (0..args.tenants)
        .map(|i| {
            TenantSpec::healthy(&format!("canary-{i}"))
                .with_sha(&args.sha)
                .with_latency(args.latency)
        })
        .collect();
    for (i, fault) in args.faults {
        specs[i].fault = fault;
    }
    let started = if args.path_prefixed {
        Fleet::start_path_prefixed(specs)
    } else {
        Fleet::start(specs)
    };
    let fleet = match started {
        Ok(fleet) => fleet,
        Err(e) => {
            eprintln!("fake-fleet: cannot start the fleet: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lines = fleet.tenant_lines();
    let mut out = io::stdout().lock();
    if out
        .write_all(lines.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    drop(out);
    eprintln!(
        "fake-fleet: serving {} tenant(s); close stdin or kill me to stop",
        fleet.len()
    );
    // Serve, taking commands, until stdin reaches end of file.
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let reply = command(&fleet, &line).unwrap_or_else(|e| format!("ERROR {e}"));
        let mut out = io::stdout().lock();
        if writeln!(out, "{reply}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    eprintln!(
        "fake-fleet: stdin closed after {} request(s)",
        fleet.total_requests()
    );
    ExitCode::SUCCESS
}

/// Runs one stdin command; the reply line, or what is wrong with it.
fn command(fleet: &Fleet, line: &str) -> Result<String, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let tenants = |which: &str| -> Result<Vec<usize>, String> {
        match which {
            "all" => Ok((0..fleet.len()).collect()),
            i => match i.parse() {
                Ok(i) if i < fleet.len() => Ok(vec![i]),
                _ => Err(format!(
                    "not a tenant: {which:?} (0 to {} or all)",
                    fleet.len() - 1
                )),
            },
        }
    };
    match words.as_slice() {
        ["sha", which, sha] => {
            for i in tenants(which)? {
                fleet.set_sha(i, sha);
            }
            Ok("OK".into())
        }
        ["fault", which, mode] => {
            let fault: Fault = mode.parse()?;
            for i in tenants(which)? {
                fleet.set_fault(i, fault.clone());
            }
            Ok("OK".into())
        }
        ["requests"] => Ok(format!("REQUESTS {}", fleet.total_requests())),
        _ => Err(format!(
            "unknown command {line:?}: sha I|all SHA, fault I|all MODE or requests"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Result<Args, String> {
        parse(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn flags_parse() {
        let a = args("--tenants 3 --latency-ms=50 --path-prefixed --sha abc1234 --fault 2=slow:100 --fault 0=down").unwrap();
        assert_eq!(
            (a.tenants, a.latency, a.path_prefixed),
            (3, Duration::from_millis(50), true)
        );
        assert_eq!(a.sha, "abc1234");
        assert_eq!(
            a.faults,
            [
                (2, Fault::Slow(Duration::from_millis(100))),
                (0, Fault::Down)
            ]
        );
        assert_eq!(args("--help").unwrap_err(), "");
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        for (line, message) in [
            ("", "--tenants N (N > 0) is required"),
            ("--tenants 0", "--tenants N (N > 0) is required"),
            ("--tenants x", "--tenants: not a number: \"x\""),
            (
                "--tenants 2 --fault 2=down",
                "--fault 2=…: tenants are numbered 0 to 1",
            ),
            (
                "--tenants 2 --fault down",
                "--fault: expected I=MODE, got \"down\"",
            ),
            ("--tenants 2 --bogus", "unknown argument \"--bogus\""),
            ("--tenants", "--tenants needs a value"),
        ] {
            assert_eq!(args(line).unwrap_err(), message, "{line}");
        }
    }

    #[test]
    fn commands_change_the_fleet_and_count_its_requests() {
        let fleet =
            Fleet::start_path_prefixed(vec![TenantSpec::healthy("a"), TenantSpec::healthy("b")])
                .unwrap();
        let health = |i: usize| -> String {
            ureq::get(format!("{}/health", fleet.url(i)))
                .call()
                .unwrap()
                .body_mut()
                .read_to_string()
                .unwrap()
        };
        assert_eq!(command(&fleet, "sha all abc1234").unwrap(), "OK");
        assert!(health(0).contains("abc1234") && health(1).contains("abc1234"));
        assert_eq!(command(&fleet, "sha 1 def5678").unwrap(), "OK");
        assert!(health(0).contains("abc1234") && health(1).contains("def5678"));
        assert_eq!(command(&fleet, "requests").unwrap(), "REQUESTS 4");
        assert_eq!(command(&fleet, "fault 0 down").unwrap(), "OK");
        assert!(ureq::get(format!("{}/health", fleet.url(1))).call().is_ok());
        for (line, message) in [
            ("sha 2 abc", "not a tenant: \"2\" (0 to 1 or all)"),
            ("fault 0 nope", "unknown fault \"nope\""),
            ("shout", "unknown command \"shout\""),
        ] {
            let e = command(&fleet, line).unwrap_err();
            assert!(e.starts_with(message), "{line}: {e}");
        }
    }
}
