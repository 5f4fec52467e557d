//! The `c2c-bridge` binary: parse the command line and hand over to the library.

fn main() -> std::process::ExitCode {
    c2c_bridge::commands::main()
}
