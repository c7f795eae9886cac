//! End-to-end tests for AfterResume live in `tests/`; they start the real `afterresume`
//! binary (built by `cargo build --workspace --bins`) on a free port and talk HTTP.
