//! The pure modules of c2c-webhook (signatures, wire JSON, conversion, intake), compiled on their
//! own for fuzzing (see Cargo.toml).

#[path = "../src/convert.rs"]
pub mod convert;
#[path = "../src/intake.rs"]
pub mod intake;
#[path = "../src/signature.rs"]
pub mod signature;
#[path = "../src/wire.rs"]
pub mod wire;
