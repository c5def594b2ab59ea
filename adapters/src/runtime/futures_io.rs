//! The `futures-io` traits (`AsyncRead`, `AsyncWrite`) and `async-io`'s timer, shared by the
//! smol and async-std runtimes.

/// Implements [`RuntimeIo`](super::RuntimeIo) for `$runtime` over the `futures-io` streams
/// with the bounds given, shutting down their write side with `$shutdown`.
macro_rules! impl_futures_io {
    ($runtime:ty, $shutdown:path, $($bound:tt)+) => {
        impl<S: $($bound)+> $crate::runtime::RuntimeIo<S> for $runtime
        {
            fn poll_read(
                stream: &mut S,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncRead::poll_read(std::pin::Pin::new(stream), cx, buf)
            }

            fn poll_write(
                stream: &mut S,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(std::pin::Pin::new(stream), cx, buf)
            }

            fn poll_write_vectored(
                stream: &mut S,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(std::pin::Pin::new(stream), cx, bufs)
            }

            /// futures-io cannot tell; its default vectored write takes the first buffer, which
            /// is what a plain write would do.
            fn is_write_vectored(_stream: &S) -> bool {
                true
            }

            fn poll_flush(stream: &mut S, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(std::pin::Pin::new(stream), cx)
            }

            fn poll_shutdown(stream: &mut S, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
                $shutdown(std::pin::Pin::new(stream), cx)
            }
        }
    };
}

pub(crate) use impl_futures_io;

/// The `Runtime` items of a runtime whose timers are `async-io`'s, which every executor can
/// poll: `Sleep`, `sleep_until` and `reset_sleep`.
macro_rules! async_io_sleep {
    () => {
        type Sleep = async_io::Timer;

        fn sleep_until(deadline: std::time::Instant) -> Self::Sleep {
            async_io::Timer::at(deadline)
        }

        fn reset_sleep(sleep: std::pin::Pin<&mut Self::Sleep>, deadline: std::time::Instant) {
            sleep.get_mut().set_at(deadline);
        }
    };
}

pub(crate) use async_io_sleep;
