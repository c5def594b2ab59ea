//! Shared bits of the example programs: flag parsing and the limits the conformance runs need.

use laputa::{Config, DeflateConfig};
use std::future::Future;

/// Command-line flags: `--name value` pairs, `--switch` flags and positional arguments.
#[derive(Debug, Default)]
pub struct Args {
    options: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()`; `switches` names the flags that take no value.
    pub fn parse(switches: &[&str]) -> Self {
        Self::from_iter(std::env::args().skip(1), switches)
    }

    /// Parses the given arguments.
    pub fn from_iter(args: impl IntoIterator<Item = String>, switches: &[&str]) -> Self {
        let mut parsed = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.strip_prefix("--") {
                Some(name) if switches.contains(&name) => parsed.options.push((name.to_owned(), None)),
                Some(name) => parsed.options.push((name.to_owned(), args.next())),
                None => parsed.positional.push(arg),
            }
        }
        parsed
    }

    /// The value of `--name`, if given.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options.iter().rev().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }

    /// Whether the switch `--name` was given.
    pub fn switch(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| n == name)
    }

    /// The positional arguments.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }

    /// The `--runtime` to run on (`blocking` by default); fails on one this build does not have.
    pub fn runtime(&self) -> Result<&str, String> {
        match self.value("runtime").unwrap_or("blocking") {
            name @ ("blocking" | "tokio" | "smol" | "async-std") => Ok(name),
            other => Err(format!("unknown runtime {other:?}; available: {}", RUNTIMES.join(", "))),
        }
    }
}

/// The values `--runtime` takes.
pub const RUNTIMES: [&str; 4] = ["blocking", "tokio", "smol", "async-std"];

/// Runs a future to completion on a multi-threaded tokio runtime.
pub fn block_on_tokio<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(format!("cannot start tokio: {e}")))
        .block_on(future)
}

/// Runs a future to completion on smol (tasks spawned meanwhile run on smol's global executor).
pub fn block_on_smol<F: Future>(future: F) -> F::Output {
    smol::block_on(future)
}

/// Runs a future to completion on async-std.
pub fn block_on_async_std<F: Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}

/// Runs `function::<R>(args...)`, a function generic over the [`laputa::runtime::Runtime`], to
/// completion on the async runtime named `runtime` (`tokio`, `smol` or `async-std`).
///
/// ```no_run
/// async fn hello<R: laputa::runtime::TcpRuntime>(name: &str) {
///     println!("hello {name}");
/// }
/// laputa_examples::run_async!("smol", hello("Pazu"));
/// ```
#[macro_export]
macro_rules! run_async {
    ($runtime:expr, $function:ident($($arg:expr),* $(,)?)) => {
        match $runtime {
            "tokio" => $crate::block_on_tokio($function::<laputa::tokio::Tokio>($($arg),*)),
            "smol" => $crate::block_on_smol($function::<laputa::smol::Smol>($($arg),*)),
            "async-std" => $crate::block_on_async_std($function::<laputa::async_std::AsyncStd>($($arg),*)),
            other => $crate::fail(format!("{other:?} is not an async runtime")),
        }
    };
}

/// Limits raised to 64 MiB, as the Autobahn TestSuite's large cases need; permessage-deflate
/// with its default settings when `deflate` is set (the `--deflate` flag).
pub fn conformance_config(deflate: bool) -> Config {
    let mut config = Config::default();
    config.deflate = deflate.then(|| {
        let mut deflate = DeflateConfig::default();
        // Compress every message, even tiny ones: kosoku's case 12.x.1/13.x.1 code hashes
        // received messages and fails on an uncompressed binary one (its shim hands those over
        // as `str`), although RFC 7692 lets a sender leave any message uncompressed.
        deflate.min_compress_size = 0;
        deflate
    });
    config.max_frame_size = 64 << 20;
    config.max_message_size = 64 << 20;
    config.max_fragments = 1 << 20;
    config
}

/// Prints laputa's logs on stderr as the `RUST_LOG` variable selects them (`RUST_LOG=debug`:
/// every connection's handshake, close and failure; `trace`: every frame), warnings only when
/// it is unset. Standard output stays the program's own.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// Prints `message` on stderr and exits with status 1.
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
