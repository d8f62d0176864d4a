//! One redaction mechanism for every output path.
//!
//! Every [`Secret`] registers its value here when it is made (values shorter
//! than [`MIN_LEN`] characters are not registered: they would blank out
//! ordinary words). [`scrub`] then replaces each registered value with `***`
//! wherever it appears:
//!
//! - raw;
//! - JSON string-escaped, in any mix of forms, also escaped more than once
//!   (a body inside a record): `\/` for `/`, `\"`, `\\`, `\n`…, and
//!   `\u00XX` for any character, in lower or upper hex;
//! - percent-encoded characters (`%2F`), as in a URL;
//! - base64 (standard and URL-safe, with or without padding), and with
//!   [`register_basic`] the base64 of `user:password` as sent in a Basic
//!   `Authorization` header.
//!
//! `term::say`/`note`, every `ci` output, `exit::finish`, `trace` and
//! `RecordWriter::write` call [`scrub`]; tools pass any other text they write
//! (JUnit, files, tables) through it too.
//!
//! A body shown in part (a trace, a check's `got`, an error) goes through
//! [`excerpt`]: the values of secret-bearing JSON keys ([`SECRET_KEYS`]) are
//! masked and the whole text scrubbed BEFORE it is cut, because a cut-off
//! prefix of a secret no longer matches it, and a token a server has just
//! sent (a token service's reply) is not registered until it is parsed.

use std::borrow::Cow;
use std::sync::RwLock;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::Secret;

/// Values shorter than this many characters are not registered.
pub const MIN_LEN: usize = 4;

/// What a registered value is replaced with.
pub const MASK: &str = "***";

/// The registered values as a trie of characters: scrubbing walks it from
/// each position of the text, decoding escapes as it goes, so its cost does
/// not grow with the number of secrets. Where a value no longer shares a
/// prefix with any other, the rest of it is kept as one `tail` in a shared
/// string rather than a node per character, so a registered token costs a
/// few hundred bytes and memory stays flat over a large fleet.
#[derive(Debug)]
struct Trie {
    nodes: Vec<Node>,
    /// Every node's tail, one after another.
    tails: String,
}

#[derive(Debug, Default)]
struct Node {
    /// Sorted by character.
    children: Vec<(char, usize)>,
    /// A value ends at this node (or after its tail).
    terminal: bool,
    /// That value is base64 without padding: up to two `=` after it are
    /// part of the match. (Registering padded forms too would make every
    /// token's base64 a chain of one node per character.)
    padded: bool,
    /// `tails[start..end]`: the rest of the one value below this node (a
    /// node with a tail has no children; the value ends after the tail).
    tail: (u32, u32),
}

impl Trie {
    const fn new() -> Self {
        Trie {
            nodes: Vec::new(),
            tails: String::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn tail(&self, node: usize) -> &str {
        let (start, end) = self.nodes[node].tail;
        &self.tails[start as usize..end as usize]
    }

    fn insert(&mut self, value: &str, padded: bool) {
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
        }
        let mut at = 0;
        let mut rest = value;
        loop {
            self.split_tail(at);
            let Some(c) = rest.chars().next() else {
                self.nodes[at].terminal = true;
                self.nodes[at].padded |= padded;
                return;
            };
            rest = &rest[c.len_utf8()..];
            at = match self.child(at, c) {
                Some(next) => next,
                None => {
                    let start = self.tails.len() as u32;
                    self.tails.push_str(rest);
                    let next = self.nodes.len();
                    self.nodes.push(Node {
                        children: Vec::new(),
                        terminal: true,
                        padded,
                        tail: (start, self.tails.len() as u32),
                    });
                    self.add_child(at, c, next);
                    return;
                }
            };
        }
    }

    /// Turns the first character of `node`'s tail into a child node holding
    /// the rest, so another value can branch off below it.
    fn split_tail(&mut self, node: usize) {
        let (start, end) = self.nodes[node].tail;
        let Some(first) = self.tail(node).chars().next() else {
            return;
        };
        let rest_start = start + first.len_utf8() as u32;
        let next = self.nodes.len();
        // The value that ended after the tail now ends at or after the child.
        let padded = std::mem::take(&mut self.nodes[node].padded);
        self.nodes[node].terminal = false;
        self.nodes.push(Node {
            children: Vec::new(),
            terminal: true,
            padded,
            tail: (rest_start, end),
        });
        self.nodes[node].tail = (0, 0);
        self.add_child(node, first, next);
    }

    fn add_child(&mut self, node: usize, c: char, child: usize) {
        let children = &mut self.nodes[node].children;
        let slot = children.partition_point(|&(k, _)| k < c);
        children.insert(slot, (c, child));
    }

    fn child(&self, node: usize, c: char) -> Option<usize> {
        let children = &self.nodes[node].children;
        children
            .binary_search_by_key(&c, |&(k, _)| k)
            .ok()
            .map(|i| children[i].1)
    }

    /// The end of the longest registered value that starts at `start`.
    fn longest_match(&self, text: &str, start: usize) -> Option<usize> {
        let mut best = None;
        self.walk(text.as_bytes(), start, 0, &mut best);
        best
    }

    fn walk(&self, text: &[u8], at: usize, node: usize, best: &mut Option<usize>) {
        for &(c, len) in decode_at(text, at).as_slice() {
            if let Some(next) = self.child(node, c) {
                let end = at + len;
                let node = &self.nodes[next];
                let tail = self.tail(next);
                if node.terminal && tail.is_empty() {
                    keep_longest(best, with_padding(text, end, node.padded));
                }
                match_tail(text, end, tail, node.padded, best);
                self.walk(text, end, next, best);
            }
        }
    }
}

/// Follows `tail` through the text from `at` in every reading of each
/// position; where all of it matched, that end is a candidate.
fn match_tail(text: &[u8], at: usize, tail: &str, padded: bool, best: &mut Option<usize>) {
    let Some(c) = tail.chars().next() else {
        return;
    };
    let rest = &tail[c.len_utf8()..];
    for &(read, len) in decode_at(text, at).as_slice() {
        if read == c {
            if rest.is_empty() {
                keep_longest(best, with_padding(text, at + len, padded));
            } else {
                match_tail(text, at + len, rest, padded, best);
            }
        }
    }
}

/// `end`, moved past up to two `=` when the value was unpadded base64.
fn with_padding(text: &[u8], end: usize, padded: bool) -> usize {
    if !padded {
        return end;
    }
    end + text[end..]
        .iter()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count()
}

fn keep_longest(best: &mut Option<usize>, end: usize) {
    if best.is_none_or(|b| end > b) {
        *best = Some(end);
    }
}

static REGISTRY: RwLock<Trie> = RwLock::new(Trie::new());

/// Registers a value (and its base64) for [`scrub`]; [`Secret::new`] calls
/// this. Values shorter than [`MIN_LEN`] characters are ignored.
pub fn register(value: &str) {
    if value.chars().count() < MIN_LEN {
        return;
    }
    let mut trie = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    trie.insert(value, false);
    for form in base64_forms(value.as_bytes()) {
        trie.insert(&form, true);
    }
}

/// Also registers the base64 of `user:password`, the form a Basic
/// `Authorization` header carries.
pub fn register_basic(user: &str, password: &Secret) {
    if password.expose().chars().count() < MIN_LEN {
        return;
    }
    let pair = format!("{user}:{}", password.expose());
    let mut trie = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    for form in base64_forms(pair.as_bytes()) {
        trie.insert(&form, true);
    }
}

/// The base64 of `bytes`, standard and URL-safe, without padding: the
/// trie takes up to two `=` after them as part of the match.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut forms = vec![STANDARD_NO_PAD.encode(bytes), URL_SAFE_NO_PAD.encode(bytes)];
    forms.dedup();
    forms
}

/// `text` with every registered value, in any of its forms, replaced by `***`.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let trie = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    if trie.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while at < text.len() {
        if let Some(end) = trie.longest_match(text, at) {
            let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
            buf.push_str(&text[copied..at]);
            buf.push_str(MASK);
            copied = end;
            at = end;
        } else {
            at += text[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// [`scrub`] for bytes that should be UTF-8 (a serialised record); other
/// bytes are returned unchanged.
pub fn scrub_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(bytes) {
        Ok(text) => match scrub(text) {
            Cow::Borrowed(_) => Cow::Borrowed(bytes),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        },
        Err(_) => Cow::Borrowed(bytes),
    }
}

/// JSON keys whose string values are always masked in an [`excerpt`],
/// compared without regard to case.
pub const SECRET_KEYS: [&str; 7] = [
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "password",
    "secret",
    "authorization",
];

/// True for a [`SECRET_KEYS`] key, in any case: a record field of that
/// name is never echoed.
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

/// The start of `text` (a response body, an error) fit to show: the values
/// of [`SECRET_KEYS`] masked, every registered secret scrubbed, then cut to
/// `max_chars` characters and put on one line ([`crate::ci::neutralize`]).
/// Masking and scrubbing see the whole text, so a secret that the cut would
/// split is still recognised.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let masked = mask_json_secrets(text);
    crate::ci::neutralize(&scrub(&masked), max_chars)
}

/// `text` with the string value of every [`SECRET_KEYS`] key replaced by
/// `***`: `{"access_token":"eyJ…"}` → `{"access_token":"***"}`. The text is
/// scanned, not parsed, so this also works on a body cut short (a value
/// running to the end is masked to the end) and on JSON escaped inside a
/// JSON string (`{\"token\":\"…\"}`), at any depth.
pub fn mask_json_secrets(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].iter().position(|&b| b == b'"') {
        let quote = at + found;
        at = quote + 1;
        let Some((start, end)) = secret_value(bytes, quote) else {
            continue;
        };
        let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
        buf.push_str(&text[copied..start]);
        buf.push_str(MASK);
        copied = end;
        at = end.max(at);
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// When the quote at `quote` opens a [`SECRET_KEYS`] key followed by a
/// string value, the byte range of that value's content. A key escaped
/// `depth` times (`\"token\"`) takes a value quoted the same way.
fn secret_value(bytes: &[u8], quote: usize) -> Option<(usize, usize)> {
    let depth = bytes[..quote]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    let key = quote + 1;
    let len = SECRET_KEYS.iter().find_map(|k| {
        let candidate = bytes.get(key..key + k.len())?;
        candidate
            .eq_ignore_ascii_case(k.as_bytes())
            .then_some(k.len())
    })?;
    let mut at = closing_quote(bytes, key + len, depth)?;
    at = skip_space(bytes, at);
    if bytes.get(at) != Some(&b':') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    let start = closing_quote(bytes, at, depth)?;
    let mut end = start;
    loop {
        match bytes.get(end) {
            None => return Some((start, end)),
            Some(b'"') => {
                let run = bytes[start..end]
                    .iter()
                    .rev()
                    .take_while(|&&b| b == b'\\')
                    .count();
                // A quote escaped `depth` times ends the value; one preceded
                // by more backslashes is a quote or backslash inside it.
                if run % (2 * (depth + 1)) == depth {
                    return Some((start, end - depth));
                }
            }
            Some(_) => {}
        }
        end += 1;
    }
}

/// When `depth` backslashes and a quote stand at `at`, the index after them.
fn closing_quote(bytes: &[u8], at: usize, depth: usize) -> Option<usize> {
    let slashes = bytes.get(at..at + depth)?;
    (slashes.iter().all(|&b| b == b'\\') && bytes.get(at + depth) == Some(&b'"'))
        .then_some(at + depth + 1)
}

fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// At most three readings of one position, without allocating (scrubbing
/// runs over every byte of every record).
#[derive(Debug, Default)]
struct Readings {
    items: [(char, usize); 3],
    len: usize,
}

impl Readings {
    fn push(&mut self, reading: (char, usize)) {
        if self.len < self.items.len() {
            self.items[self.len] = reading;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[(char, usize)] {
        &self.items[..self.len]
    }
}

/// The characters the text at `at` may stand for, with how many bytes each
/// reading takes: the character itself, and the escapes JSON (once or more)
/// and URLs use for it.
fn decode_at(text: &[u8], at: usize) -> Readings {
    let mut found = Readings::default();
    let Some(&first) = text.get(at) else {
        return found;
    };
    // Safe: `at` is always on a char boundary of a valid str.
    let rest = &text[at..];
    let width = utf8_width(first);
    if let Some(c) = std::str::from_utf8(&rest[..width.min(rest.len())])
        .ok()
        .and_then(|s| s.chars().next())
    {
        found.push((c, width));
    }
    match first {
        b'\\' => {
            let run = rest.iter().take_while(|&&b| b == b'\\').count();
            // A run of backslashes is one escaped backslash, however many
            // times the text was escaped.
            if run > 1 {
                found.push(('\\', run));
            }
            let after = &rest[run..];
            match after.first() {
                Some(b'u') => {
                    if let Some(c) = hex_char(after.get(1..5)) {
                        found.push((c, run + 5));
                    }
                }
                Some(&b) => {
                    let c = match b {
                        b'/' => Some('/'),
                        b'"' => Some('"'),
                        b'\'' => Some('\''),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        _ => None,
                    };
                    if let Some(c) = c {
                        found.push((c, run + 1));
                    }
                }
                None => {}
            }
        }
        b'%' => {
            if let Some(c) = hex_char(rest.get(1..3)).filter(char::is_ascii) {
                found.push((c, 3));
            }
        }
        _ => {}
    }
    found
}

fn hex_char(digits: Option<&[u8]>) -> Option<char> {
    let digits = std::str::from_utf8(digits?).ok()?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(digits, 16).ok()?)
}

fn utf8_width(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn every_form_of_a_secret_is_scrubbed() {
        let raw = "s3cr/et+\"x&y<z";
        let _secret = Secret::new(raw);
        let forms = [
            raw.to_string(),
            r#"s3cr/et+\"x&y<z"#.to_string(),
            r#"s3cr\/et+\"x&y<z"#.to_string(),
            r#"s3cr\u002Fet\u002B\u0022x\u0026y\u003Cz"#.to_string(),
            r#"s3cr\u002fet\u002b\u0022x\u0026y\u003cz"#.to_string(),
            // Escaped twice: a JSON body inside a JSON record.
            serde_json::to_string(&serde_json::to_string(raw).unwrap()).unwrap(),
            STANDARD.encode(raw),
            URL_SAFE_NO_PAD.encode(raw),
            r#"s3cr%2Fet%2b"x&y<z"#.to_string(),
        ];
        for form in forms {
            let text = format!("before {form} after");
            let got = scrub(&text);
            assert!(got.contains("***"), "{form:?} not scrubbed: {got}");
            assert!(!got.contains("s3cr"), "{form:?} left a piece: {got}");
            assert!(
                got.starts_with("before ") && got.ends_with(" after"),
                "{got}"
            );
        }
    }

    #[test]
    fn basic_credentials_are_scrubbed() {
        let password = Secret::new("pa55/word!");
        register_basic("robot", &password);
        let header = format!("Basic {}", STANDARD.encode("robot:pa55/word!"));
        assert_eq!(scrub(&header), "Basic ***");
    }

    #[test]
    fn short_values_are_not_registered_and_clean_text_is_borrowed() {
        let _short = Secret::new("ab!");
        assert_eq!(scrub("ab! is short"), "ab! is short");
        assert!(matches!(scrub("nothing here ✓"), Cow::Borrowed(_)));
    }

    #[test]
    fn secret_json_values_are_masked_at_any_depth_and_when_cut() {
        let cases = [
            (
                r#"{"access_token":"eyJ.abc","expires_in":300}"#,
                r#"{"access_token":"***","expires_in":300}"#,
            ),
            (
                r#"{"Token" : "a\"b\\", "PASSWORD":"x","user":"u"}"#,
                r#"{"Token" : "***", "PASSWORD":"***","user":"u"}"#,
            ),
            (r#"{"id_token":"eyJhbGciOi"#, r#"{"id_token":"***"#),
            (
                r#"{"message":"{\"refresh_token\":\"r-1\",\"n\":1}"}"#,
                r#"{"message":"{\"refresh_token\":\"***\",\"n\":1}"}"#,
            ),
            (
                r#"{"my_token":"keep","secret":null,"authorization":"Bearer x"}"#,
                r#"{"my_token":"keep","secret":null,"authorization":"***"}"#,
            ),
            ("token: not json", "token: not json"),
        ];
        for (body, masked) in cases {
            assert_eq!(mask_json_secrets(body), masked, "{body}");
        }
    }

    #[test]
    fn an_excerpt_is_scrubbed_before_it_is_cut() {
        let long = format!("xtok-{}", "9".repeat(40));
        let _secret = Secret::new(long.as_str());
        let body = format!(r#"{{"echo":"{long}"}}"#);
        // The cut falls inside the secret: what is left of it no longer
        // matches, so it must have been scrubbed first.
        let shown = excerpt(&body, 20);
        assert!(!shown.contains("xtok-9"), "{shown}");
        assert_eq!(excerpt(&body, 200), r#"{"echo":"***"}"#);
        let reply = format!(r#"{{"token":"eyJ{}"}}"#, "A".repeat(500));
        assert_eq!(excerpt(&reply, 300), r#"{"token":"***"}"#);
    }

    #[test]
    fn mixed_escapes_and_longest_match() {
        let _a = Secret::new("tok-1234");
        let _b = Secret::new("tok-12345678");
        assert_eq!(scrub("x tok-12345678 y"), "x *** y");
        assert_eq!(scrub("tok\\u002d1234"), "***");
        assert_eq!(scrub("é tok-1234é"), "é ***é");
    }

    #[test]
    fn values_branching_off_a_tail_are_each_found() {
        let mut trie = Trie::new();
        for value in ["abcdefgh", "abcdxyz1", "abcd", "abcdefghij", "zz€zz"] {
            trie.insert(value, false);
        }
        let end = |text: &str| trie.longest_match(text, 0);
        assert_eq!(end("abcdefgh!"), Some(8));
        assert_eq!(end("abcdefghij"), Some(10));
        assert_eq!(end("abcdxyz1"), Some(8));
        assert_eq!(end("abcdxyz"), Some(4), "falls back to the shorter value");
        assert_eq!(end("abcdefg"), Some(4));
        assert_eq!(end("abc"), None);
        assert_eq!(end("zz\\u20aczz"), Some(10), "an escape inside a tail");
        assert_eq!(end("zz€z"), None);
    }

    #[test]
    fn a_token_costs_a_few_nodes_not_one_per_character() {
        // Memory stays flat over a large fleet: 10,000 tenants register
        // 10,000 tokens, each with its base64 forms.
        let mut trie = Trie::new();
        let tokens = 1000;
        for i in 0..tokens {
            let token = format!("tenant-admin-token-{i:05}-0123456789abcdef");
            trie.insert(&token, false);
            for form in base64_forms(token.as_bytes()) {
                trie.insert(&form, true);
            }
        }
        let per_token = trie.nodes.len() / tokens;
        assert!(
            per_token <= 40,
            "{per_token} nodes per token (one per character would be ~300)"
        );
        assert!(trie
            .longest_match(
                "dGVuYW50LWFkbWluLXRva2VuLTAwMDA3LTAxMjM0NTY3ODlhYmNkZWY=",
                0
            )
            .is_some());
    }
}
