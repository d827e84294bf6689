//! The append-only, hash-chained audit log: the event type (`event`) and the pure chain
//! (`chain`: canonical bytes, hash, link, streaming verifier). Storage lives in `crate::store`.

pub mod chain;
pub mod event;
pub mod synthetic;
