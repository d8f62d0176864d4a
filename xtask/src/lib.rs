//! Man pages and shell completions, generated from each tool's clap `Cli` so
//! they cannot drift from `--help`; release archives; a test file server.

pub mod dist;
pub mod man;
pub mod serve;

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

/// Every shipped tool's command definition.
pub fn tools() -> Vec<clap::Command> {
    vec![
        tenant_list::Cli::command(),
        canary_wait::Cli::command(),
        canary_smoke::Cli::command(),
        registry_tag::Cli::command(),
        rollback_latest::Cli::command(),
    ]
}

/// The generated files, relative to `docs/man/`, with their contents.
pub fn render_all() -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    let tools = tools();
    let names: Vec<&str> = tools.iter().map(|c| c.get_name()).collect();
    for cmd in &tools {
        let name = cmd.get_name().to_string();
        let page = man::render(
            cmd,
            &names,
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_REPOSITORY"),
        );
        files.push((PathBuf::from(format!("{name}.1")), page.into_bytes()));
        for (shell, file) in [
            (Shell::Bash, format!("completions/{name}.bash")),
            (Shell::Zsh, format!("completions/_{name}")),
            (Shell::Fish, format!("completions/{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd.clone(), name.clone(), &mut out);
            files.push((PathBuf::from(file), out));
        }
    }
    Ok(files)
}

/// The generated files whose committed copy under `dir` is missing or differs.
pub fn stale(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    Ok(render_all()?
        .into_iter()
        .filter(|(path, content)| std::fs::read(dir.join(path)).ok().as_ref() != Some(content))
        .map(|(path, _)| path)
        .collect())
}

/// Writes every generated file under `dir`.
pub fn write_all(dir: &Path) -> std::io::Result<usize> {
    let files = render_all()?;
    for (path, content) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
    }
    Ok(files.len())
}

/// `docs/man` of this workspace.
pub fn man_dir() -> PathBuf {
    workspace_dir().join("docs/man")
}

/// The workspace's top directory.
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_man_pages_and_completions_are_current() {
        let stale = stale(&man_dir()).unwrap();
        assert!(
            stale.is_empty(),
            "docs/man is out of date for {stale:?}: run `make man` and commit the result"
        );
    }

    #[test]
    fn every_man_page_has_the_standard_sections() {
        for (path, page) in render_all().unwrap() {
            if path.extension().is_some_and(|e| e == "1") {
                let titles = man::section_titles(&String::from_utf8(page).unwrap());
                let standard: Vec<&String> = titles
                    .iter()
                    .filter(|t| man::STANDARD_SECTIONS.contains(&t.as_str()))
                    .collect();
                assert_eq!(
                    standard,
                    man::STANDARD_SECTIONS,
                    "{}: sections {titles:?}; ENVIRONMENT, EXIT STATUS and EXAMPLES come from \
                     the tool's after_long_help",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn every_tool_is_documented() {
        for cmd in tools() {
            cmd.clone().debug_assert();
            assert!(
                cmd.get_about().is_some(),
                "{} has no about text",
                cmd.get_name()
            );
        }
    }
}
