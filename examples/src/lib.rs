//! Shared bits of the example programs: the flags they have in common (parsed with `clap`), the
//! runtimes they run on, the limits the conformance runs need, logging and failing.

pub mod chat;

use laputa::{Config, DeflateConfig};
use std::future::Future;

/// The `--runtime` a program runs on.
///
/// ```
/// use clap::ValueEnum;
/// use laputa_examples::Runtime;
///
/// assert_eq!(Runtime::from_str("async-std", false), Ok(Runtime::AsyncStd));
/// assert!(Runtime::from_str("glommio", false).is_err());
/// assert_eq!(Runtime::default(), Runtime::Blocking);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// One thread per connection over `std::net` (`laputa::blocking`).
    #[default]
    Blocking,
    /// tokio's multi-threaded runtime.
    Tokio,
    /// smol, its tasks on smol's global executor.
    Smol,
    /// async-std (discontinued upstream; smol is the maintained choice).
    AsyncStd,
}

/// The flags of the echo servers: where to listen and whether to accept permessage-deflate.
///
/// ```
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct Flags {
///     #[command(flatten)]
///     server: laputa_examples::ServerFlags,
/// }
///
/// let flags = Flags::try_parse_from(["echo", "--deflate"]).unwrap();
/// assert_eq!((flags.server.addr.as_str(), flags.server.deflate), ("127.0.0.1:9001", true));
/// assert!(Flags::try_parse_from(["echo", "--adr", "127.0.0.1:1"]).is_err());
/// ```
#[derive(Debug, Clone, clap::Args)]
pub struct ServerFlags {
    /// The address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9001")]
    pub addr: String,
    /// Accept permessage-deflate offers (RFC 7692).
    #[arg(long)]
    pub deflate: bool,
}

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
/// completion on the async [`Runtime`] `runtime` (tokio, smol or async-std; `Blocking` is not
/// one: the program fails).
///
/// ```no_run
/// use laputa_examples::Runtime;
///
/// async fn hello<R: laputa::runtime::TcpRuntime>(name: &str) {
///     println!("hello {name}");
/// }
/// laputa_examples::run_async!(Runtime::Smol, hello("Pazu"));
/// ```
#[macro_export]
macro_rules! run_async {
    ($runtime:expr, $function:ident($($arg:expr),* $(,)?)) => {
        match $runtime {
            $crate::Runtime::Tokio => $crate::block_on_tokio($function::<laputa::tokio::Tokio>($($arg),*)),
            $crate::Runtime::Smol => $crate::block_on_smol($function::<laputa::smol::Smol>($($arg),*)),
            $crate::Runtime::AsyncStd => {
                $crate::block_on_async_std($function::<laputa::async_std::AsyncStd>($($arg),*))
            }
            $crate::Runtime::Blocking => $crate::fail("the blocking runtime is not an async runtime"),
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

/// Prints `PROGRAM: message` as one line on stderr and exits with status 1: the way every
/// example reports a failure (usage errors are clap's, with status 2). Line breaks in `message`
/// become spaces, so that a script can take the reason from the last line of stderr.
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("{}: {}", program_name(), one_line(&message.to_string()));
    std::process::exit(1)
}

/// The name this program was started as, without its directory (`client`, `echo_server`).
fn program_name() -> String {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let name = std::path::Path::new(&argv0).file_stem().map(|name| name.to_string_lossy().into_owned());
    name.filter(|name| !name.is_empty()).unwrap_or_else(|| "error".to_owned())
}

/// `text` on one line: each run of line breaks (and the blanks around it) becomes one space.
///
/// ```
/// assert_eq!(laputa_examples::one_line("refused:\r\n  not here\n"), "refused: not here");
/// assert_eq!(laputa_examples::one_line("fine"), "fine");
/// ```
pub fn one_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}
