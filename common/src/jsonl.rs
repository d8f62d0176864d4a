//! JSON-lines records: read them as they stream in, write them as soon as
//! they are known.

use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::marker::PhantomData;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::{redact, Error, Secret, Tenant};

/// Longest record line accepted; a longer one is an input error, not an
/// out-of-memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Typed records from a JSON-lines stream, yielded one per line as each line
/// arrives. Blank lines are skipped. Errors name the source and line:
/// `stdin:3: missing field "url"`.
#[derive(Debug)]
pub struct Records<R, T> {
    reader: R,
    source_name: String,
    line: u64,
    buf: Vec<u8>,
    done: bool,
    _record: PhantomData<fn() -> T>,
}

impl<R: BufRead, T: DeserializeOwned> Records<R, T> {
    pub fn new(reader: R, source_name: impl Into<String>) -> Self {
        Records {
            reader,
            source_name: source_name.into(),
            line: 0,
            buf: Vec::new(),
            done: false,
            _record: PhantomData,
        }
    }

    /// The line number of the record last yielded.
    pub fn line(&self) -> u64 {
        self.line
    }

    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Input {
            source_name: self.source_name.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    fn next_line(&mut self) -> Option<Result<(), Error>> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        match (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
        {
            Ok(0) => None,
            Ok(_) => {
                self.line += 1;
                if self.buf.len() > MAX_LINE_BYTES {
                    return Some(Err(self.error("line is longer than 1 MiB")));
                }
                Some(Ok(()))
            }
            Err(error) => Some(Err(Error::Read {
                source_name: self.source_name.clone(),
                error,
            })),
        }
    }
}

impl<R: BufRead, T: DeserializeOwned> Iterator for Records<R, T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let result = match self.next_line()? {
                Err(e) => Err(e),
                Ok(()) => match std::str::from_utf8(&self.buf) {
                    Err(_) => Err(self.error("line is not valid UTF-8")),
                    Ok(text) if text.trim().is_empty() => continue,
                    Ok(text) => parse_record(text).map_err(|m| self.error(m)),
                },
            };
            // After a bad line the stream's position means nothing: stop.
            self.done = result.is_err();
            return Some(result);
        }
    }
}

/// Parses one line into a record; the error is the message without position.
pub fn parse_record<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {}", describe(&e)))?;
    if !value.is_object() {
        return Err(format!("expected a JSON object, found {}", kind_of(&value)));
    }
    serde_json::from_value(value).map_err(|e| describe(&e))
}

/// serde's message without its " at line 1 column 5" suffix and with plain
/// quotes, so it reads well after our own `source:line:` prefix.
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" at line ") {
        Some(at) if error.line() > 0 => format!("{} (column {})", &text[..at], error.column()),
        _ => text,
    };
    text.replace('`', "\"")
}

/// "an array", "a string", …: a JSON value's kind, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An input source: a named file, or stdin when the path is absent or `-`.
pub fn open(path: Option<&Path>) -> Result<(Box<dyn BufRead + Send>, String), Error> {
    match path {
        None => Ok((Box::new(BufReader::new(io::stdin())), "stdin".to_string())),
        Some(p) if p == Path::new("-") => {
            Ok((Box::new(BufReader::new(io::stdin())), "stdin".to_string()))
        }
        Some(p) => {
            let name = p.display().to_string();
            let file = File::open(p).map_err(|error| Error::Read {
                source_name: name.clone(),
                error,
            })?;
            Ok((Box::new(BufReader::new(file)), name))
        }
    }
}

/// Writes one record per line and flushes it at once, so the next tool in
/// the pipe can start on it. A closed stdout surfaces as
/// [`Error::Output`] with a `BrokenPipe` source, which [`crate::exit::finish`]
/// turns into a quiet stop.
///
/// [`RecordWriter::write`] scrubs registered secrets from every record;
/// [`RecordWriter::write_tenant`] is the one path that carries a token, down
/// a pipe to the next tool (on a terminal it shows `***` unless built with
/// [`RecordWriter::show_tokens`]).
#[derive(Debug)]
pub struct RecordWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    terminal: bool,
    show_tokens: bool,
}

impl RecordWriter<io::Stdout> {
    pub fn stdout() -> Self {
        let mut writer = RecordWriter::new(io::stdout());
        writer.terminal = io::stdout().is_terminal();
        writer
    }
}

impl<W: Write> RecordWriter<W> {
    /// A writer to `out`, which is taken not to be a terminal.
    pub fn new(out: W) -> Self {
        RecordWriter {
            out,
            buf: Vec::with_capacity(512),
            terminal: false,
            show_tokens: false,
        }
    }

    /// Whether [`RecordWriter::write_tenant`] prints real tokens on a
    /// terminal (`--show-tokens`). Off a terminal they always travel.
    pub fn show_tokens(mut self, show: bool) -> Self {
        self.show_tokens = show;
        self
    }

    /// Treats the output as a terminal (or not), whatever it is: for tests
    /// and for writers that are not stdout.
    pub fn terminal(mut self, terminal: bool) -> Self {
        self.terminal = terminal;
        self
    }

    /// Whether tenant tokens are written as `***`.
    pub fn hides_tokens(&self) -> bool {
        self.terminal && !self.show_tokens
    }

    /// Writes one record with every registered secret scrubbed.
    pub fn write<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), Error> {
        self.serialize(record)?;
        let line = match redact::scrub_bytes(&self.buf) {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(scrubbed) => Some(scrubbed),
        };
        match line {
            None => self.emit(),
            Some(line) => {
                self.buf = line;
                self.emit()
            }
        }
    }

    /// Writes a tenant record with its token, for the next tool in a pipe.
    /// On a terminal (unless [`RecordWriter::show_tokens`]) the token is
    /// `***` and the rest of the record is scrubbed like any other.
    pub fn write_tenant(&mut self, tenant: &Tenant) -> Result<(), Error> {
        if self.hides_tokens() {
            let mut shown = tenant.clone();
            shown.token = Secret::new(redact::MASK);
            return self.write(&shown);
        }
        self.serialize(tenant)?;
        self.emit()
    }

    fn serialize<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), Error> {
        self.buf.clear();
        // Serialising to memory first keeps the io error (a broken pipe)
        // visible instead of wrapped inside serde_json's own error type.
        serde_json::to_writer(&mut self.buf, record)
            .map_err(|e| Error::Output(io::Error::other(e)))?;
        self.buf.push(b'\n');
        Ok(())
    }

    fn emit(&mut self) -> Result<(), Error> {
        self.out.write_all(&self.buf).map_err(Error::Output)?;
        self.out.flush().map_err(Error::Output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Rec {
        url: String,
    }

    fn read(input: &str) -> Vec<Result<Rec, String>> {
        Records::<_, Rec>::new(input.as_bytes(), "stdin")
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn skips_blank_lines_and_counts_them() {
        let got = read("\n{\"url\":\"a\"}\n\n{\"nope\":1}\n{\"url\":\"c\"}\n");
        assert_eq!(got[0], Ok(Rec { url: "a".into() }));
        assert_eq!(got[1], Err("stdin:4: missing field \"url\"".to_string()));
        assert_eq!(got.len(), 2, "stops after the first bad line");
    }

    #[test]
    fn names_non_objects_and_bad_json() {
        assert_eq!(
            read("[1]\n")[0],
            Err("stdin:1: expected a JSON object, found an array".into())
        );
        let bad = read("{\"url\": }\n");
        let msg = bad[0].as_ref().unwrap_err();
        assert!(msg.starts_with("stdin:1: not valid JSON: "), "{msg}");
    }

    #[test]
    fn last_line_without_newline_is_read() {
        assert_eq!(read("{\"url\":\"z\"}"), vec![Ok(Rec { url: "z".into() })]);
    }

    fn written(writer: RecordWriter<Vec<u8>>) -> String {
        String::from_utf8(writer.out).unwrap()
    }

    fn tenant(token: &str) -> Tenant {
        serde_json::from_value(serde_json::json!({
            "name": "t", "url": "https://t.example.com", "token": token,
            "note": format!("echo {token}")
        }))
        .unwrap()
    }

    #[test]
    fn records_are_scrubbed_tenants_carry_their_token_down_a_pipe() {
        let t = tenant("jsonl-tok/1");
        let mut w = RecordWriter::new(Vec::new());
        w.write(&serde_json::json!({"got": "jsonl-tok/1"})).unwrap();
        w.write_tenant(&t).unwrap();
        let text = written(w);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"got":"***"}"#);
        assert!(
            lines[1].contains(r#""token":"jsonl-tok/1""#),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn tenants_on_a_terminal_show_stars_unless_asked() {
        let t = tenant("jsonl-tok/2");
        let mut w = RecordWriter::new(Vec::new()).terminal(true);
        w.write_tenant(&t).unwrap();
        let text = written(w);
        assert!(text.contains(r#""token":"***""#), "{text}");
        assert!(!text.contains("jsonl-tok/2"), "{text}");

        let mut w = RecordWriter::new(Vec::new())
            .terminal(true)
            .show_tokens(true);
        w.write_tenant(&t).unwrap();
        assert!(written(w).contains(r#""token":"jsonl-tok/2""#));
    }

    #[test]
    fn broken_pipe_is_reported_as_output_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = RecordWriter::new(Closed).write(&1).unwrap_err();
        assert!(crate::exit::is_broken_pipe(&err));
    }
}
