//! A tool's man page, in the sections a reader of man pages expects: NAME,
//! SYNOPSIS, DESCRIPTION, OPTIONS, the tool's own sections, ENVIRONMENT,
//! EXIT STATUS, EXAMPLES, SEE ALSO.
//!
//! Everything comes from the tool's clap definition: NAME, SYNOPSIS and
//! OPTIONS from `clap_mangen`, DESCRIPTION from the long about, and the other
//! sections from the `SECTION:` blocks of `after_long_help` (the text
//! `--help` shows), so the page and `--help` cannot disagree. Only SEE ALSO
//! is held here. The whole page is set without hyphenation or justification
//! and commands are set as examples (`.EX`), with `\-` for every hyphen, so
//! that what a reader copies from the page pastes into a shell.

use clap::Command;
use roff::{bold, roman, Roff};

/// The sections every page has, in this order (tool-specific sections from
/// `after_long_help` go between OPTIONS and ENVIRONMENT).
pub const STANDARD_SECTIONS: [&str; 8] = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "ENVIRONMENT",
    "EXIT STATUS",
    "EXAMPLES",
    "SEE ALSO",
];

/// `after_long_help` sections that read best as a list of terms (a variable,
/// an exit code, a credential source) with their meaning.
const TERM_LIST_SECTIONS: [&str; 4] = ["ENVIRONMENT", "EXIT STATUS", "CREDENTIALS", "IMAGES"];

/// The roff page of `cmd`. `version` is the workspace version: never the
/// commit-stamped `--version` string, so that the page only changes when
/// the tool does.
pub fn render(cmd: &Command, tools: &[&str], version: &str, repository: &str) -> String {
    let name = cmd.get_name().to_string();
    let man = clap_mangen::Man::new(cmd.clone())
        // An empty date, quoted: roff would drop a bare empty argument and
        // shift the others. No date keeps the page reproducible.
        .date("\"\"")
        .source(format!("{name} {version}"))
        .manual("Canary release tools");

    let mut page = String::new();
    // No hyphenation (HY for groff's man macros, which reset .nh at every
    // paragraph; .nh for the others) and no justification: commands and
    // flags keep their shape.
    page.push_str(&clap_piece(|w| man.render_title(w)).replacen(".TH ", ".nr HY 0\n.TH ", 1));
    page.push_str(".nh\n.ad l\n");
    page.push_str(&without_preamble(clap_piece(|w| {
        man.render_name_section(w)
    })));

    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]);
    synopsis(&mut roff, cmd);
    roff.control("SH", ["DESCRIPTION"]);
    description(&mut roff, cmd);
    page.push_str(&without_preamble(roff_text(&roff)));
    page.push_str(&without_preamble(clap_piece(|w| {
        man.render_options_section(w)
    })));

    let sections = help_sections(
        &cmd.get_after_long_help()
            .or_else(|| cmd.get_after_help())
            .map(|s| s.to_string())
            .unwrap_or_default(),
    );
    let standard = |title: &str| STANDARD_SECTIONS.contains(&title);
    let mut roff = Roff::new();
    for section in sections.iter().filter(|s| !standard(&s.title)) {
        render_section(&mut roff, section);
    }
    for title in ["ENVIRONMENT", "EXIT STATUS", "EXAMPLES"] {
        for section in sections.iter().filter(|s| s.title == title) {
            render_section(&mut roff, section);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut see_also = Vec::new();
    for (i, tool) in tools.iter().filter(|t| **t != name).enumerate() {
        if i > 0 {
            see_also.push(roman(", "));
        }
        see_also.push(bold(*tool));
        see_also.push(roman("(1)"));
    }
    roff.text(see_also);
    roff.control("PP", []);
    roff.text([roman(format!(
        "The guide, the record formats and the migration from the bash scripts: {repository}"
    ))]);
    page.push_str(&without_preamble(roff_text(&roff)));
    ascii(&page)
}

/// The top-level section titles of a rendered page, in order.
pub fn section_titles(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix(".SH "))
        .map(|t| t.trim_matches('"').to_string())
        .collect()
}

/// One `TITLE:` block of `after_long_help`.
#[derive(Debug, PartialEq)]
struct HelpSection {
    title: String,
    /// What followed the title on its line, like `(first match wins)`.
    note: Option<String>,
    lines: Vec<String>,
}

/// Splits help text into its `TITLE:` sections. A title is a line at the left
/// margin that starts with a word in capitals and ends with a colon, like
/// `EXIT STATUS:` or `CREDENTIALS (first match wins):`.
fn help_sections(text: &str) -> Vec<HelpSection> {
    let mut sections: Vec<HelpSection> = Vec::new();
    for line in text.lines() {
        if let Some((title, note)) = section_title(line) {
            sections.push(HelpSection {
                title,
                note,
                lines: Vec::new(),
            });
        } else if let Some(section) = sections.last_mut() {
            section.lines.push(line.trim_end().to_string());
        }
    }
    for section in &mut sections {
        while section.lines.last().is_some_and(|l| l.is_empty()) {
            section.lines.pop();
        }
    }
    sections
}

fn section_title(line: &str) -> Option<(String, Option<String>)> {
    let head = line.strip_suffix(':')?;
    if head.starts_with(' ') {
        return None;
    }
    let words: Vec<&str> = head.split(' ').collect();
    let caps = words
        .iter()
        .take_while(|w| w.len() >= 2 && w.chars().all(|c| c.is_ascii_uppercase()))
        .count();
    if caps == 0 {
        return None;
    }
    let title = words[..caps].join(" ");
    let rest = words[caps..].join(" ");
    let note = rest
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim()
        .to_string();
    Some((title, (!note.is_empty()).then_some(note)))
}

fn render_section(roff: &mut Roff, section: &HelpSection) {
    roff.control("SH", [section.title.as_str()]);
    if let Some(note) = &section.note {
        roff.text([roman(sentence(note))]);
    }
    if section.title == "EXAMPLES" {
        literal(roff, &section.lines);
    } else if TERM_LIST_SECTIONS.contains(&section.title.as_str()) {
        term_list(roff, &section.lines);
    } else {
        prose_and_literals(roff, &section.lines);
    }
}

/// `text` with a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    let mut s: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Where a help line's term ends and its meaning starts: the first run of
/// two or more spaces after the indentation.
fn split_term(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start();
    let at = body.find("  ")?;
    Some((body[..at].trim_end(), body[at..].trim_start()))
}

/// Help lines are indented by 2 under their title; a line at the margin is
/// prose about the section as a whole.
fn term_list(roff: &mut Roff, lines: &[String]) {
    enum Block {
        Prose(String),
        Term(String, String),
    }
    let mut blocks: Vec<Block> = Vec::new();
    let mut last_blank = true;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            last_blank = true;
            continue;
        }
        let depth = indent(line);
        let next_deeper = lines
            .get(i + 1)
            .is_some_and(|n| !n.trim().is_empty() && indent(n) > depth);
        let continues = match blocks.last_mut() {
            Some(Block::Term(_, desc)) if !last_blank && depth > 2 => Some(desc),
            Some(Block::Prose(text)) if !last_blank && depth <= 2 && split_term(line).is_none() => {
                Some(text)
            }
            _ => None,
        };
        if let Some(text) = continues {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(line.trim());
        } else if depth == 0 {
            blocks.push(Block::Prose(line.trim().to_string()));
        } else if let Some((term, desc)) = split_term(line) {
            blocks.push(Block::Term(term.to_string(), desc.to_string()));
        } else if next_deeper {
            blocks.push(Block::Term(line.trim().to_string(), String::new()));
        } else {
            blocks.push(Block::Prose(line.trim().to_string()));
        }
        last_blank = false;
    }
    for block in blocks {
        match block {
            Block::Prose(text) => {
                roff.control("PP", []);
                roff.text([roman(text)]);
            }
            Block::Term(term, desc) => {
                roff.control("TP", []);
                roff.text([bold(term)]);
                roff.text([roman(desc)]);
            }
        }
    }
}

/// Prose at the section's own indentation; anything indented deeper (a
/// record, a table, a command) is set as it is.
fn prose_and_literals(roff: &mut Roff, lines: &[String]) {
    let base = common_indent(lines);
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        if indent(&lines[i]) > base {
            let start = i;
            while i < lines.len() && (lines[i].trim().is_empty() || indent(&lines[i]) > base) {
                i += 1;
            }
            let mut block = &lines[start..i];
            while block.last().is_some_and(|l| l.trim().is_empty()) {
                block = &block[..block.len() - 1];
            }
            literal(roff, block);
        } else {
            let mut text = Vec::new();
            while i < lines.len() && !lines[i].trim().is_empty() && indent(&lines[i]) <= base {
                text.push(lines[i].trim());
                i += 1;
            }
            roff.control("PP", []);
            roff.text([roman(text.join(" "))]);
        }
    }
}

/// The smallest indentation of the lines that are not blank.
fn common_indent(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0)
}

/// Lines set exactly as written (less their common indentation), in the
/// example font, never filled: commands that paste.
fn literal(roff: &mut Roff, lines: &[String]) {
    let base = common_indent(lines);
    roff.control("PP", []);
    roff.control("EX", []);
    for line in lines {
        roff.text([roman(line.get(base..).unwrap_or("").to_string())]);
    }
    roff.control("EE", []);
}

/// The usage lines `--help` starts with (`canary-wait [OPTIONS] --sha <SHA>`),
/// with the tool's name in bold.
fn synopsis(roff: &mut Roff, cmd: &Command) {
    let usage = cmd.clone().render_usage().to_string();
    let name = cmd.get_name();
    for (i, line) in usage.lines().enumerate() {
        let line = line.trim();
        let line = line.strip_prefix("Usage:").unwrap_or(line).trim();
        if line.is_empty() {
            continue;
        }
        if i > 0 {
            roff.control("br", []);
        }
        match line.strip_prefix(name) {
            Some(rest) => roff.text([bold(name), roman(rest)]),
            None => roff.text([roman(line)]),
        };
    }
}

/// The long about, less its first paragraph (NAME has it): paragraphs, and
/// indented blocks (a usage table, a sample line) set as they are.
fn description(roff: &mut Roff, cmd: &Command) {
    let text = cmd
        .get_long_about()
        .or_else(|| cmd.get_about())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let about = cmd.get_about().map(|s| s.to_string()).unwrap_or_default();
    let mut paragraphs: Vec<&str> = text.split("\n\n").map(|p| p.trim_end()).collect();
    let same = |a: &str, b: &str| a.trim().trim_end_matches('.') == b.trim().trim_end_matches('.');
    if paragraphs.len() > 1 && paragraphs.first().is_some_and(|p| same(p, &about)) {
        paragraphs.remove(0);
    }
    for paragraph in paragraphs.iter().filter(|p| !p.trim().is_empty()) {
        let lines: Vec<String> = paragraph.lines().map(str::to_string).collect();
        if lines.iter().all(|l| l.starts_with(' ')) {
            literal(roff, &lines);
        } else {
            roff.control("PP", []);
            roff.text([roman(
                lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" "),
            )]);
        }
    }
}

/// The page in ASCII: every other character as a groff/mandoc `\[uXXXX]`
/// escape, so that the page renders the same whatever encoding a `man`
/// assumes (no preprocessor needed).
fn ascii(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", c as u32));
        }
    }
    out
}

/// What roff writes before a page's first line, for apostrophes that paste;
/// one copy per page is enough.
fn without_preamble(piece: String) -> String {
    let mut rest = piece.as_str();
    while let Some(line_end) = rest.find('\n') {
        let line = &rest[..line_end];
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            rest = &rest[line_end + 1..];
        } else {
            break;
        }
    }
    rest.to_string()
}

fn roff_text(roff: &Roff) -> String {
    let mut out = Vec::new();
    roff.to_writer(&mut out).expect("writing to a Vec");
    String::from_utf8(out).expect("roff of UTF-8 text is UTF-8")
}

fn clap_piece(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    render(&mut out).expect("writing to a Vec");
    String::from_utf8(out).expect("roff of UTF-8 text is UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails showing the whole page when `part` is not in it.
    fn assert_has(page: &str, part: &str) {
        assert!(page.contains(part), "{page}");
    }

    const HELP: &str = "\
CREDENTIALS (first match wins):
  REGISTRY_USERNAME, REGISTRY_PASSWORD  for every registry
  otherwise                             anonymous

ENVIRONMENT:
  GITHUB_ACTIONS       when \"true\": tokens are masked
                       first
  HTTPS_PROXY, NO_PROXY (and lower-case forms)
                       proxy for the polls

Registries on loopback are spoken to
over plain http.

EXIT STATUS:
  0  green
  2  usage error: a bad flag,
     or no tenants

EXAMPLES:
  tenant-list | canary-wait --sha 4c1d56e | canary-smoke
  printf '%s\\n' a \\
    | registry-tag --atomic";

    fn page(help: &'static str) -> String {
        let cmd = Command::new("demo-tool")
            .about("Do one thing")
            .long_about("Do one thing.\n\nAt length, with --flags.\n\n  demo-tool X   one\n  demo-tool Y   two")
            .after_long_help(help)
            .arg(clap::Arg::new("sha").long("sha").help("The build"));
        render(
            &cmd,
            &["demo-tool", "other-tool"],
            "1.2.3",
            "https://example.com/r",
        )
    }

    #[test]
    fn sections_are_the_standard_ones_in_order() {
        let titles = section_titles(&page(HELP));
        assert_eq!(
            titles,
            [
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "CREDENTIALS",
                "ENVIRONMENT",
                "EXIT STATUS",
                "EXAMPLES",
                "SEE ALSO"
            ]
        );
    }

    #[test]
    fn terms_become_tagged_paragraphs_with_their_continuations() {
        let page = page(HELP);
        assert_has(
            &page,
            ".TP\n\\fBGITHUB_ACTIONS\\fR\nwhen \"true\": tokens are masked first\n",
        );
        assert_has(
            &page,
            ".TP\n\\fBHTTPS_PROXY, NO_PROXY (and lower\\-case forms)\\fR\nproxy for the polls\n",
        );
        assert_has(
            &page,
            ".PP\nRegistries on loopback are spoken to over plain http.\n",
        );
        assert_has(
            &page,
            ".TP\n\\fB2\\fR\nusage error: a bad flag, or no tenants\n",
        );
        assert_has(&page, ".SH CREDENTIALS\nFirst match wins.\n");
    }

    #[test]
    fn examples_are_unfilled_with_hyphens_and_quotes_that_paste() {
        let page = page(HELP);
        assert!(
            page.contains(".nr HY 0\n.TH "),
            "hyphenation stays on: {page}"
        );
        assert!(
            page.contains(".nh\n.ad l\n"),
            "hyphenation and justification stay on: {page}"
        );
        let examples = page.split(".SH EXAMPLES\n").nth(1).unwrap();
        assert!(
            examples.starts_with(
                ".PP\n.EX\ntenant\\-list | canary\\-wait \\-\\-sha 4c1d56e | canary\\-smoke\n\
             printf \\*(Aq%s\\\\n\\*(Aq a \\\\\n  | registry\\-tag \\-\\-atomic\n.EE\n"
            ),
            "{examples}"
        );
    }

    #[test]
    fn description_sets_indented_blocks_as_they_are() {
        let page = page(HELP);
        let description = page.split(".SH DESCRIPTION\n").nth(1).unwrap();
        assert!(description.starts_with(
            ".PP\nAt length, with \\-\\-flags.\n.PP\n.EX\ndemo\\-tool X   one\ndemo\\-tool Y   two\n.EE\n"
        ), "{description}");
    }

    #[test]
    fn other_characters_than_ascii_are_escaped() {
        let cmd = Command::new("t")
            .about("Moves latest \u{2192} sha256:\u{2026}")
            .after_long_help("EXAMPLES:\n  t \u{1F600}");
        let page = render(&cmd, &["t"], "1", "r");
        assert!(page.is_ascii(), "{page}");
        assert_has(&page, "latest \\[u2192] sha256:\\[u2026]");
        assert_has(&page, "t \\[u1F600]");
    }

    #[test]
    fn synopsis_is_the_usage_of_help() {
        let page = page(HELP);
        assert_has(
            &page,
            ".SH SYNOPSIS\n\\fBdemo\\-tool\\fR [OPTIONS]\n.SH DESCRIPTION",
        );
    }

    #[test]
    fn the_page_names_the_workspace_version_and_the_other_tools() {
        let page = page(HELP);
        assert_has(
            &page,
            ".TH demo-tool 1 \"\" \"demo-tool 1.2.3\" \"Canary release tools\"",
        );
        assert_has(&page, ".SH \"SEE ALSO\"\n\\fBother\\-tool\\fR(1)\n");
        assert_eq!(
            page.matches(".ds Aq").count(),
            2,
            "one apostrophe preamble: {page}"
        );
    }
}
