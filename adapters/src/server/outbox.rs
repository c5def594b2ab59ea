//! A session's outbound queue: bounded in bytes, with the service's slow-consumer policy applied
//! when it is full. Any thread or task pushes; the session's driver drains it into the core as
//! the socket takes bytes. Ping, pong and close frames are never dropped and never counted
//! against the bound.

use super::counters::Counters;
use laputa_core::{CloseCode, Message, PreparedMessage};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Instant;

/// What a service does with a message for a session whose outbound queue is full (the peer
/// reads slower than the server sends). Whatever the policy, one session that stops reading
/// never slows the others down: nothing waits for it but an explicit
/// [`Session::send_wait`](super::Session::send_wait).
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use laputa::server::{Service, SlowConsumer};
/// use laputa::CloseCode;
///
/// // A market feed: a client that falls behind is told so and let go.
/// let feed = Service::new(|| |_: &laputa::server::Session, _: laputa::Message| {})
///     .outbox_limit(256 * 1024)
///     .slow_consumer(SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER));
/// # let _ = feed; }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SlowConsumer {
    /// Drop the message for that session (counted in [`Stats::dropped`](super::Stats::dropped)).
    /// The session stays open and receives later messages once its queue has room.
    #[default]
    Drop,
    /// Close the session with this code (1008 policy violation, 1013 try again later, or the
    /// application's own): what is queued is discarded and the close frame goes first.
    Close(CloseCode),
}

/// What became of a message handed to a session.
///
/// ```
/// use laputa::server::Sent;
///
/// let outcome = Sent::Queued;
/// assert!(outcome.is_queued());
/// assert!(!Sent::Dropped.is_queued());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sent {
    /// Queued: it goes out in order as the peer reads.
    Queued,
    /// The queue was full and the service drops messages for slow sessions.
    Dropped,
    /// The queue was full and the service closes slow sessions: this one is now closing.
    Closing,
    /// The session is closing or closed: nothing more is sent.
    Closed,
    /// The session is not on this node: the message went to the other nodes of the cluster
    /// (`laputa::cluster`, feature `redis`), the one that holds the session delivers it.
    Forwarded,
}

impl Sent {
    /// Whether the message is on its way.
    ///
    /// ```
    /// use laputa::server::Sent;
    ///
    /// // Anything but `Queued` means the message will not reach the peer.
    /// for outcome in [Sent::Queued, Sent::Dropped, Sent::Closing, Sent::Closed] {
    ///     println!("{outcome:?}: on its way: {}", outcome.is_queued());
    /// }
    /// ```
    pub fn is_queued(self) -> bool {
        self == Sent::Queued
    }
}

/// Called once a message sent with [`Session::send_with`](super::Session::send_with) is
/// written to the socket (`true`), or when the session ends before it is (`false`).
pub(crate) type Completion = Box<dyn FnOnce(bool) + Send>;

/// One item of the queue.
pub(crate) enum Outgoing {
    /// A broadcast: encoded once, shared by every session's queue.
    Prepared(Arc<PreparedMessage>),
    /// A message for this session only.
    Message(Message),
    /// A ping with its payload (at most 125 bytes, checked when pushed).
    Ping(laputa_core::bytes::Bytes),
    /// Start the close handshake.
    Close(CloseCode, String),
    /// Call this once everything queued before it is written.
    Completion(Completion),
}

impl Outgoing {
    /// The bytes it counts against the queue's bound (control items count nothing).
    fn weight(&self) -> usize {
        match self {
            Outgoing::Prepared(prepared) => prepared.wire_len(),
            Outgoing::Message(message) => message.payload().len() + 14,
            Outgoing::Ping(_) | Outgoing::Close(..) | Outgoing::Completion(_) => 0,
        }
    }
}

/// A task that waits for room ([`Session::send_wait`](super::Session::send_wait)).
struct Waiter {
    waker: Waker,
    deadline: Instant,
}

#[derive(Default)]
struct State {
    items: VecDeque<Outgoing>,
    /// Sum of the items' weights.
    bytes: usize,
    /// The driver, woken when something is pushed.
    driver: Option<Waker>,
    /// Senders waiting for room.
    waiters: Vec<Waiter>,
    /// No more items are taken: the session is closing or over.
    closed: bool,
    /// The session is over: nothing will be drained any more.
    ended: bool,
}

/// The queue shared between a session's handles and its driver.
pub(crate) struct Outbox {
    state: Mutex<State>,
    limit: usize,
    policy: SlowConsumer,
    counters: Arc<Counters>,
}

impl Outbox {
    pub(crate) fn new(limit: usize, policy: SlowConsumer, counters: Arc<Counters>) -> Self {
        Self { state: Mutex::default(), limit, policy, counters }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pushes a data item, applying the slow-consumer policy when the queue is full. A queue
    /// holding nothing takes any one message, however large (its size is bounded by the core's
    /// limits on the peer, not here).
    pub(crate) fn push_data(&self, item: Outgoing) -> Sent {
        let weight = item.weight();
        let mut state = self.lock();
        if state.closed {
            return Sent::Closed;
        }
        if state.bytes > 0 && state.bytes + weight > self.limit {
            self.counters.add_dropped();
            return match self.policy {
                SlowConsumer::Drop => Sent::Dropped,
                SlowConsumer::Close(code) => {
                    self.counters.add_closed_slow();
                    tracing::debug!(%code, queued = state.bytes, "slow consumer: closing the session");
                    Self::discard_data(&mut state);
                    state.items.push_front(Outgoing::Close(code, "slow consumer".to_owned()));
                    let waiters = Self::close(&mut state);
                    Self::wake(&mut state);
                    drop(state);
                    waiters.into_iter().for_each(|waiter| waiter.waker.wake());
                    Sent::Closing
                }
            };
        }
        state.bytes += weight;
        state.items.push_back(item);
        Self::wake(&mut state);
        Sent::Queued
    }

    /// Whether a data item of `weight` bytes fits now (for waiting senders).
    pub(crate) fn has_room(&self, weight: usize) -> bool {
        let state = self.lock();
        state.closed || state.bytes == 0 || state.bytes + weight <= self.limit
    }

    /// A send that waits for room until `deadline`: `Ready` with what became of `item` once it
    /// fits (or the queue is closed), or [`Sent::Dropped`] (counted) once `deadline` passed;
    /// else `Pending`, with the task woken when room comes or at `deadline` (by the session's
    /// driver). `item` is taken only when `Ready`.
    pub(crate) fn poll_push_wait(
        &self,
        cx: &mut std::task::Context<'_>,
        item: &mut Option<Outgoing>,
        deadline: Instant,
    ) -> std::task::Poll<Sent> {
        use std::task::Poll;
        let Some(weight) = item.as_ref().map(Outgoing::weight) else { return Poll::Ready(Sent::Closed) };
        for attempt in 0..2 {
            if self.has_room(weight) {
                let item = item.take().expect("checked");
                return Poll::Ready(self.push_data(item));
            }
            if Instant::now() >= deadline {
                item.take();
                self.counters.add_dropped();
                return Poll::Ready(Sent::Dropped);
            }
            // Room may come between the check and the registration: check once more.
            if attempt == 0 {
                self.wait_for_room(cx.waker(), deadline);
            }
        }
        Poll::Pending
    }

    /// Registers a sender waiting for room until `deadline`.
    pub(crate) fn wait_for_room(&self, waker: &Waker, deadline: Instant) {
        let mut state = self.lock();
        state.waiters.retain(|w| !w.waker.will_wake(waker));
        state.waiters.push(Waiter { waker: waker.clone(), deadline });
        Self::wake(&mut state);
    }

    /// The earliest deadline of a waiting sender, for the driver's timer.
    pub(crate) fn earliest_waiter(&self) -> Option<Instant> {
        self.lock().waiters.iter().map(|w| w.deadline).min()
    }

    /// Wakes senders whose deadline passed, so that they give up.
    pub(crate) fn expire_waiters(&self, now: Instant) {
        let mut state = self.lock();
        let (expired, kept) = std::mem::take(&mut state.waiters).into_iter().partition(|w| w.deadline <= now);
        state.waiters = kept;
        drop(state);
        for waiter in expired {
            waiter.waker.wake();
        }
    }

    /// Pushes a control item (ping, close, completion): never dropped, never bounded.
    pub(crate) fn push_control(&self, item: Outgoing) -> Sent {
        let mut state = self.lock();
        if state.closed {
            return Sent::Closed;
        }
        let waiters = if matches!(item, Outgoing::Close(..)) { Self::close(&mut state) } else { Vec::new() };
        state.items.push_back(item);
        Self::wake(&mut state);
        drop(state);
        waiters.into_iter().for_each(|waiter| waiter.waker.wake());
        Sent::Queued
    }

    /// Takes no more items; returns the senders waiting for room, to be woken (outside the
    /// lock) so that they hear it instead of waiting out their deadline.
    fn close(state: &mut State) -> Vec<Waiter> {
        state.closed = true;
        std::mem::take(&mut state.waiters)
    }

    /// Takes the next item only if it is a ping, a close or a completion: what the driver takes
    /// while the connection's output is above its high-water mark, so that a close (a slow
    /// session's, put first) reaches the core and its close timeout starts even while the peer
    /// reads nothing.
    pub(crate) fn pop_control(&self, waker: Option<&Waker>) -> Option<Outgoing> {
        let mut state = self.lock();
        if state.items.front().is_some_and(|item| item.weight() == 0) {
            return state.items.pop_front();
        }
        Self::register(&mut state, waker);
        None
    }

    /// Takes the next item for the driver; `waker` is woken when one is pushed.
    pub(crate) fn pop(&self, waker: Option<&Waker>) -> Option<Outgoing> {
        let mut state = self.lock();
        let item = state.items.pop_front();
        match &item {
            Some(item) => {
                state.bytes -= item.weight();
                if !state.waiters.is_empty() {
                    for waiter in std::mem::take(&mut state.waiters) {
                        waiter.waker.wake();
                    }
                }
            }
            None => Self::register(&mut state, waker),
        }
        item
    }

    /// Keeps the driver's waker, for the next push.
    fn register(state: &mut State, waker: Option<&Waker>) {
        if let Some(waker) = waker {
            if !state.driver.as_ref().is_some_and(|w| w.will_wake(waker)) {
                state.driver = Some(waker.clone());
            }
        }
    }

    /// Whether anything is queued.
    #[cfg(feature = "_async")]
    pub(crate) fn has_items(&self) -> bool {
        !self.lock().items.is_empty()
    }

    /// Bytes of data queued.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Whether no more items are taken.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// The connection takes no more messages (its close handshake began): later pushes are
    /// refused, what is queued is dropped (its completions told `false`), and waiting senders
    /// are woken to hear it.
    pub(crate) fn refuse(&self) {
        self.shut(false);
    }

    /// The session is over: as [`refuse`](Self::refuse), and for good.
    pub(crate) fn end(&self) {
        self.shut(true);
    }

    fn shut(&self, ended: bool) {
        let mut state = self.lock();
        state.closed = true;
        state.ended |= ended;
        state.bytes = 0;
        let items = std::mem::take(&mut state.items);
        let waiters = std::mem::take(&mut state.waiters);
        drop(state);
        for item in items {
            if let Outgoing::Completion(done) = item {
                done(false);
            }
        }
        for waiter in waiters {
            waiter.waker.wake();
        }
    }

    /// Whether the session is over.
    pub(crate) fn is_ended(&self) -> bool {
        self.lock().ended
    }

    /// Drops queued data, keeping pings and completions (a slow session being closed); the
    /// completions, their messages dropped, will say `false` whenever the driver tells them, so
    /// that they run on the driver as `send_with` promises, never inside the send that
    /// overflowed the queue (and its locks: a broadcast's on the sessions).
    fn discard_data(state: &mut State) {
        state.items = std::mem::take(&mut state.items)
            .into_iter()
            .filter_map(|item| match item {
                Outgoing::Ping(_) => Some(item),
                Outgoing::Completion(done) => Some(Outgoing::Completion(Box::new(move |_| done(false)))),
                _ => None,
            })
            .collect();
        state.bytes = 0;
    }

    fn wake(state: &mut State) {
        if let Some(driver) = state.driver.take() {
            driver.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(limit: usize, policy: SlowConsumer) -> (Outbox, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        (Outbox::new(limit, policy, counters.clone()), counters)
    }

    fn message(len: usize) -> Outgoing {
        Outgoing::Message(Message::from(vec![0u8; len]))
    }

    #[test]
    fn a_full_queue_drops_data_but_never_control_frames() {
        let (outbox, counters) = outbox(100, SlowConsumer::Drop);
        assert_eq!(outbox.push_data(message(50)), Sent::Queued);
        assert_eq!(outbox.push_data(message(50)), Sent::Dropped, "64 + 64 is over 100");
        assert_eq!(outbox.push_control(Outgoing::Ping("p".into())), Sent::Queued);
        assert_eq!(counters.snapshot().dropped, 1);
        assert!(matches!(outbox.pop(None), Some(Outgoing::Message(_))));
        assert!(matches!(outbox.pop(None), Some(Outgoing::Ping(_))));
        assert!(outbox.pop(None).is_none());
        assert_eq!(outbox.push_data(message(50)), Sent::Queued, "room again once drained");
    }

    #[test]
    fn one_message_larger_than_the_bound_goes_into_an_empty_queue() {
        let (outbox, _) = outbox(100, SlowConsumer::Drop);
        assert_eq!(outbox.push_data(message(1000)), Sent::Queued);
        assert_eq!(outbox.queued_bytes(), 1014);
    }

    #[test]
    fn the_close_policy_discards_data_and_puts_the_close_first() {
        let (outbox, counters) = outbox(100, SlowConsumer::Close(CloseCode::TRY_AGAIN_LATER));
        outbox.push_control(Outgoing::Ping("keep".into()));
        outbox.push_data(message(80));
        assert_eq!(outbox.push_data(message(80)), Sent::Closing);
        assert_eq!(outbox.push_data(message(1)), Sent::Closed, "nothing more once closing");
        assert!(matches!(outbox.pop(None), Some(Outgoing::Close(CloseCode::TRY_AGAIN_LATER, _))));
        assert!(matches!(outbox.pop(None), Some(Outgoing::Ping(_))), "control frames are kept");
        assert!(outbox.pop(None).is_none(), "the data was discarded");
        assert_eq!(outbox.queued_bytes(), 0);
        let stats = counters.snapshot();
        assert_eq!((stats.dropped, stats.closed_slow), (1, 1));
    }

    #[test]
    fn control_items_at_the_front_are_taken_alone() {
        let (outbox, _) = outbox(1000, SlowConsumer::Drop);
        outbox.push_control(Outgoing::Ping("p".into()));
        outbox.push_data(message(10));
        outbox.push_control(Outgoing::Close(CloseCode::NORMAL, String::new()));
        assert!(matches!(outbox.pop_control(None), Some(Outgoing::Ping(_))));
        assert!(outbox.pop_control(None).is_none(), "data first: a close waits behind it");
        assert!(matches!(outbox.pop(None), Some(Outgoing::Message(_))));
        assert!(matches!(outbox.pop_control(None), Some(Outgoing::Close(..))));
    }

    #[test]
    fn ending_tells_completions_they_failed() {
        let (outbox, _) = outbox(100, SlowConsumer::Drop);
        let (tx, rx) = std::sync::mpsc::channel();
        outbox.push_data(message(1));
        outbox.push_control(Outgoing::Completion(Box::new(move |written| tx.send(written).unwrap())));
        outbox.end();
        assert_eq!(rx.try_recv(), Ok(false));
        assert_eq!(outbox.push_data(message(1)), Sent::Closed);
        assert!(outbox.is_ended());
    }
}
