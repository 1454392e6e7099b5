//! The `standup-tickets` binary: the command line in [`standup_tickets::cli`].

use std::process::ExitCode;

/// mimalloc (see [`standup_tickets::alloc`]).
#[global_allocator]
static ALLOC: standup_tickets::alloc::Allocator = standup_tickets::alloc::Allocator;

fn main() -> ExitCode {
    standup_tickets::cli::main()
}
