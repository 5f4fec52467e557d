//! The `c2c-bridge` binary: parse the command line and hand over to the library.

/// jemalloc instead of glibc's malloc: the relay path allocates and frees many small and
/// medium buffers from several threads (HTTP bodies, JSON, sled's node copies), where glibc's
/// allocator spent about a fifth of the daemon's CPU in profiles (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    c2c_bridge::commands::main()
}
