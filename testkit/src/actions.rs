//! Reading back what a tool wrote for GitHub Actions.

/// The step outputs in the text of a `$GITHUB_OUTPUT` file, in order, read
/// as the runner does (`name<<DELIMITER`, the value's lines, `DELIMITER`).
/// A line in another form fails the test.
pub fn step_outputs(text: &str) -> Vec<(String, String)> {
    let mut lines = text.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line
            .split_once("<<")
            .unwrap_or_else(|| panic!("not the delimiter form: {line:?} in:\n{text}"));
        let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
        found.push((name.to_string(), value.join("\n")));
    }
    found
}

/// The workflow-command lines of `stderr` for `command` (`error`,
/// `warning`, `add-mask`…): `::error title=…::message`.
pub fn commands<'a>(stderr: &'a str, command: &str) -> Vec<&'a str> {
    let prefix = format!("::{command}");
    stderr
        .lines()
        .filter(|l| {
            l.strip_prefix(&prefix)
                .is_some_and(|rest| rest.starts_with([' ', ':']))
        })
        .collect()
}

/// `stderr` without its `::add-mask::` lines, which carry each secret by
/// design (the runner hides it everywhere else).
pub fn without_masks(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_workflow_commands() {
        let stderr = "::add-mask::s3cret\nnote\n::error title=t::bad\n::errors\n::error::plain\n";
        assert_eq!(
            commands(stderr, "error"),
            ["::error title=t::bad", "::error::plain"]
        );
        assert_eq!(commands(stderr, "add-mask"), ["::add-mask::s3cret"]);
        assert_eq!(
            without_masks(stderr),
            "note\n::error title=t::bad\n::errors\n::error::plain"
        );
    }

    #[test]
    fn reads_the_delimiter_form() {
        let text = "ready<<EOF_1\n3\nEOF_1\nnames<<X\na\nb\nX\n";
        assert_eq!(
            step_outputs(text),
            [("ready", "3"), ("names", "a\nb")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }
}
