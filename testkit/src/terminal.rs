//! A tool as a person or a reader that has gone sees it: run on a real
//! terminal (a pty from util-linux `script`), or writing into a stdout that
//! was closed before it started.

use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use crate::Output;

/// Runs `cmd` on a real terminal: `script -qec` gives it a pty as stdin,
/// stdout and stderr, so the output's `stdout` is everything a person would
/// see (the tool's stderr included), with `\r\n` made `\n`; its `stderr` is
/// `script`'s own. `cmd`'s program, arguments, variables set or removed
/// (as by [`crate::hermetic`]) and working directory carry over; an
/// `env_clear` does not.
pub fn run_on_terminal(cmd: Command) -> Output {
    let mut line = shell_quote(cmd.get_program());
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(arg));
    }
    let mut script = Command::new("script");
    script
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => script.env(name, value),
            None => script.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        script.current_dir(dir);
    }
    let mut out = Output::of(&mut script, None);
    out.stdout = out.stdout.replace("\r\n", "\n");
    out
}

/// Runs `cmd` (fed `stdin` if given) with its stdout already closed by its
/// reader, as in `tool | true` once `true` has gone: the reader's end of a
/// socket pair is dropped before the tool starts, so its first write fails
/// with a broken pipe, deterministically (with `tool | head -c0` the tool
/// could win the race and write before the close). The output's `stdout`
/// is empty.
pub fn run_with_closed_stdout(mut cmd: Command, stdin: Option<&str>) -> Output {
    let (writer, reader) = UnixStream::pair().expect("a socket pair");
    drop(reader);
    let input = stdin.map(str::to_owned);
    cmd.stdout(Stdio::from(OwnedFd::from(writer)))
        .stderr(Stdio::piped())
        .stdin(match input {
            Some(_) => Stdio::piped(),
            None => Stdio::null(),
        });
    let mut child = cmd.spawn().expect("spawn the tool under test");
    if let (Some(input), Some(mut pipe)) = (input, child.stdin.take()) {
        // Fed from a thread: the tool may stop before reading it all.
        std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    }
    let done = child.wait_with_output().expect("wait for the tool");
    Output {
        code: done.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&done.stderr).into_owned(),
    }
}

/// `word` in single quotes for `sh`.
fn shell_quote(word: &OsStr) -> String {
    let word = word.to_str().expect("a UTF-8 argument");
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_on_a_terminal_has_a_tty_its_arguments_and_variables() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", r#"test -t 1 && test -t 2 && echo "tty $0 $GREETING""#])
            .arg("it's")
            .env("GREETING", "hello there")
            .env_remove("TERM_PROGRAM");
        let out = run_on_terminal(cmd);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, "tty it's hello there\n");
    }

    #[test]
    fn a_closed_stdout_refuses_the_first_write() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            r#"trap '' PIPE; read line; printf x || echo "refused after $line" >&2"#,
        ]);
        let out = run_with_closed_stdout(cmd, Some("reading\n"));
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stderr.contains("refused after reading"), "{out:?}");
        assert!(out.stdout.is_empty());
    }
}
