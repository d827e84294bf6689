//! The append-only, hash-chained audit log.

pub mod event;
