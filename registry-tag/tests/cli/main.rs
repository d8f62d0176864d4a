//! End-to-end tests: the built `registry-tag` binary against a real
//! `docker-registry` (distribution 2.8) on a free loopback port with
//! temporary storage, behind htpasswd or token auth and a counting/fault
//! proxy where a test needs them.

mod support;

mod annotations;
mod atomic;
mod auth;
mod credentials;
mod flags;
mod library;
mod pipes;
mod protocol;
mod races;
mod reports;
mod requests;
mod resolve;
mod retag;
mod secrets;
mod terminal;
mod trace;
