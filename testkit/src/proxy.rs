//! A counting, latency-adding, fault-injecting HTTP proxy.
