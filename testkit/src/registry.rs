//! Launches Debian's docker-registry on a free loopback port.
