//! End-to-end tests: the built `rollback-latest` binary against a real
//! `docker-registry` holding two images, through a counting/fault proxy.

mod support;

mod images;
mod inspect;
mod list;
mod pin;
mod pipes;
mod rollback;
mod shas;
mod terminal;
