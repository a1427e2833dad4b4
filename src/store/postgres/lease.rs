//! Leases: work that must happen once among several daemons.
