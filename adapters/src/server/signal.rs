//! A notification any number of tasks can wait for: a generation counter and the wakers of
//! those waiting for it to move. Runtime-agnostic, for the server's stop and its counts.

use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

#[derive(Debug, Default)]
pub(crate) struct Signal {
    state: Mutex<(u64, Vec<Waker>)>,
}

impl Signal {
    /// Moves the generation and wakes every waiter.
    pub(crate) fn notify(&self) {
        let wakers = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.0 += 1;
            std::mem::take(&mut state.1)
        };
        for waker in wakers {
            waker.wake();
        }
    }

    /// The current generation.
    pub(crate) fn generation(&self) -> u64 {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    /// Ready once the generation is not `seen`; else the task is woken when it moves.
    pub(crate) fn poll_changed(&self, cx: &mut Context<'_>, seen: u64) -> Poll<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 != seen {
            return Poll::Ready(());
        }
        if !state.1.iter().any(|w| w.will_wake(cx.waker())) {
            state.1.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
