//! Shared bits of the example programs: flag parsing and the limits the conformance runs need.

use laputa::{Config, DeflateConfig};

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

    /// Fails on a `--runtime` this build does not have.
    pub fn runtime(&self) -> Result<&str, String> {
        match self.value("runtime").unwrap_or("blocking") {
            "blocking" => Ok("blocking"),
            other => Err(format!("unknown runtime {other:?}; available: blocking")),
        }
    }
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

/// Prints `message` on stderr and exits with status 1.
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
