//! The one place the server touches `unsafe`: registering a socket with
//! the readiness set (`polling`'s `Poller::add`).
//!
//! `Poller::add` is unsafe because the poller would go on reporting a file
//! descriptor number after the socket behind it closed, and the kernel may
//! hand that number to a new socket. The rule that makes it sound is that
//! a socket leaves the poller before it closes. [`Registered`] makes the
//! rule structural instead of a promise every path keeps: it owns the
//! socket from the moment it is added, offers no way to take the socket out
//! or swap it, and deletes it from the poller in `Drop`, before the socket
//! itself drops. A worker that panics while it holds a connection, or a
//! stream thread that cannot start, drops the guard and so deregisters it.
//!
//! Everything else (which key, when to arm it) belongs to `serve/`.

use std::io;
use std::ops::Deref;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;

use polling::{Event, PollMode, Poller};

/// A socket (a connection or the listener) that is in the readiness set
/// for as long as this value lives.
///
/// It derefs to the socket for reading and writing; it does not deref
/// mutably, since replacing the socket would leave the old descriptor in
/// the poller.
pub(crate) struct Registered<S: AsFd> {
    source: S,
    /// `None` only for a socket that was never added (unit tests of the
    /// connection state machine drive a plain socket pair).
    poller: Option<Arc<Poller>>,
}

impl<S: AsFd + AsRawFd> Registered<S> {
    /// Adds `source` to `poller` with `interest`; on error the socket is
    /// handed back with it, never registered.
    pub(crate) fn add(
        poller: &Arc<Poller>,
        source: S,
        interest: Event,
        mode: PollMode,
    ) -> Result<Registered<S>, (io::Error, S)> {
        // SAFETY: `source` moves into the guard returned below, which owns it
        // until it drops; its `Drop` deletes the socket from this same poller
        // (kept alive by the `Arc`) before the socket's own drop closes the
        // descriptor. No method hands the socket out by value or mutably, so
        // the registered descriptor cannot close while registered.
        match unsafe { poller.add_with_mode(&source, interest, mode) } {
            Ok(()) => Ok(Registered {
                source,
                poller: Some(Arc::clone(poller)),
            }),
            Err(error) => Err((error, source)),
        }
    }
}

impl<S: AsFd> Registered<S> {
    /// A socket that is in no poller: what the connection state machine's
    /// unit tests drive.
    #[cfg(test)]
    pub(crate) fn unwatched(source: S) -> Registered<S> {
        Registered {
            source,
            poller: None,
        }
    }

    /// Changes what the poller waits for on this socket. The kernel checks
    /// the socket's readiness again on the change, so an edge-triggered
    /// registration loses no readiness that arrived before it.
    pub(crate) fn modify(&self, interest: Event, mode: PollMode) -> io::Result<()> {
        match &self.poller {
            Some(poller) => poller.modify_with_mode(&self.source, interest, mode),
            None => Ok(()),
        }
    }
}

impl<S: AsFd> Deref for Registered<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.source
    }
}

impl<S: AsFd> Drop for Registered<S> {
    fn drop(&mut self) {
        if let Some(poller) = &self.poller {
            // Errors are ignored: the socket may have been deleted by the
            // kernel already (it never is while open), and there is nothing
            // left to do with it either way.
            let _ = poller.delete(&self.source);
        }
    }
}
