//! The PostgreSQL store, against real clusters.
