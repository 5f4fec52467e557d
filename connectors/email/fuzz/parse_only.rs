//! The `parse` module of c2c-email, compiled on its own for fuzzing (see Cargo.toml).

#[path = "../src/parse/mod.rs"]
pub mod parse;
