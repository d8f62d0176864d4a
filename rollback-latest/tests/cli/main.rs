//! End-to-end tests: the built `rollback-latest` binary against a real
//! `docker-registry` holding two images, through a counting/fault proxy.

mod support;

mod actions;
mod images;
mod inspect;
mod list;
mod pin;
mod pipes;
mod race;
mod rollback;
mod shas;
mod terminal;
