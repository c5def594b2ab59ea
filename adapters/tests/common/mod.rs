//! Helpers shared by the async adapter tests: running a test on each runtime, timeouts.
#![allow(dead_code)]

use laputa::runtime::{Runtime, TcpRuntime};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

/// A runtime the tests can run: its `block_on`.
pub(crate) trait Harness: TcpRuntime {
    fn block_on<F: Future>(future: F) -> F::Output;
}

#[cfg(feature = "tokio")]
impl Harness for laputa::tokio::Tokio {
    fn block_on<F: Future>(future: F) -> F::Output {
        let runtime = ::tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(future)
    }
}

#[cfg(feature = "smol")]
impl Harness for laputa::smol::Smol {
    fn block_on<F: Future>(future: F) -> F::Output {
        ::smol::block_on(future)
    }
}

#[cfg(feature = "async-std")]
impl Harness for laputa::async_std::AsyncStd {
    fn block_on<F: Future>(future: F) -> F::Output {
        ::async_std::task::block_on(future)
    }
}

/// `Some(output)`, or `None` if `future` takes longer than `limit`.
pub(crate) async fn timeout<R: Runtime, F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut sleep = Box::pin(R::sleep_until(Instant::now() + limit));
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => sleep.as_mut().poll(cx).map(|_| None),
    })
    .await
}

pub(crate) async fn sleep<R: Runtime>(duration: Duration) {
    R::sleep_until(Instant::now() + duration).await;
}
