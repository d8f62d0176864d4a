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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_delimiter_form() {
        let text = "ready<<EOF_1\n3\nEOF_1\nnames<<X\na\nb\nX\n";
        assert_eq!(
            step_outputs(text),
            [("ready", "3"), ("names", "a\nb")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }
}
