//! The eval harness. This file so far only declares the scenario format (`scenario`); the
//! runners come later. No I/O here.

pub mod scenario;
