//! Cross-tool end-to-end tests live in `tests/cli/`: they run the five built
//! tools (found next to the test executable) against the fake fleet and a
//! real registry, and check every output for every form of every secret
//! (issue 11.7) and the exit status after a closed stdout (issue 11.1).
//! This library is empty; it exists so the package has a target.
