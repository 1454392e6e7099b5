//! The `standup-tickets` binary: the command line in [`standup_tickets::cli`].

use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a request allocates and frees many
/// small buffers across threads, where glibc's arenas showed up as a tenth
/// of the server's time at an on-sale peak.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    standup_tickets::cli::main()
}
