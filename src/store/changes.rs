//! What a committed write changed that copies elsewhere depend on. A store
//! function that changes such data says so with [`note`] in the same
//! transaction, next to its SQL; after the commit the writer hands the
//! batch's notes to the one listener the application registered
//! ([`crate::store::Store::on_change`]), which empties the dependent caches
//! before any caller of that commit hears "done". A service cannot forget
//! it: it is not the service's to say.
//!
//! A note from a command later rolled back only costs a needless reload,
//! never a stale answer.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};

use rusqlite::Connection;

bitflags::bitflags! {
    /// Kinds of data that something keeps a copy of.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Changes: u8 {
        /// What the public catalogue shows: clubs, shows, their options and
        /// settled seats, banners, merch.
        const CATALOG = 1;
        /// Paid and refunded money and seats: the admin figures.
        const SALES = 1 << 1;
        /// An admin's standing: status, role, session epoch.
        const TEAM = 1 << 2;
    }
}

thread_local! {
    // Only the writer thread's value matters: store functions that write run
    // there. A stray note on a reader thread is never read.
    static NOTED: Cell<u8> = const { Cell::new(0) };
}

/// Records, inside the writer's transaction on `_c`, that this command
/// changes `what`.
pub fn note(_c: &Connection, what: Changes) {
    NOTED.with(|n| n.set(n.get() | what.bits()));
}

/// The notes since the last call, cleared.
pub(super) fn take() -> Changes {
    Changes::from_bits_truncate(NOTED.with(|n| n.replace(0)))
}

type Listener = Arc<dyn Fn(Changes) + Send + Sync>;

/// Set once, read by the writer thread after every commit.
#[derive(Clone, Default)]
pub struct ChangeListener(Arc<OnceLock<Listener>>);

impl ChangeListener {
    pub(super) fn set(&self, f: Listener) -> bool {
        self.0.set(f).is_ok()
    }

    /// Called after a commit with what its commands noted.
    pub(super) fn committed(&self) {
        let changes = take();
        if !changes.is_empty()
            && let Some(f) = self.0.get()
        {
            f(changes);
        }
    }
}
