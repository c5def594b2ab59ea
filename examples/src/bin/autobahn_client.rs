//! Runs the Autobahn TestSuite's client cases against a fuzzing server.
//!
//! `autobahn_client [--server ws://HOST:PORT] [--agent NAME] [--runtime blocking|tokio|smol|async-std]
//! [--deflate]` (defaults `ws://127.0.0.1:9001` and `laputa`; `--help` lists the flags): asks
//! `/getCaseCount`, runs `/runCase?case=N&agent=NAME` for each case (echoing every message
//! until the server closes), then asks `/updateReports?agent=NAME` so the server writes its
//! report.

use clap::Parser;
use laputa::runtime::{self, TcpRuntime};
use laputa::{blocking, ClientRequest, Config, Error};
use laputa_examples::{conformance_config, fail, run_async, Runtime};

/// Runs the Autobahn TestSuite's client cases against a fuzzing server, then has it write its
/// report.
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    /// The fuzzing server's URL.
    #[arg(long, value_name = "URL", default_value = "ws://127.0.0.1:9001")]
    server: String,
    /// The agent name the cases run under, as the report names it.
    #[arg(long, value_name = "NAME", default_value = "laputa")]
    agent: String,
    /// Offer permessage-deflate (RFC 7692), with `client_no_context_takeover`.
    #[arg(long)]
    deflate: bool,
    /// The runtime to run on.
    #[arg(long, value_enum, default_value_t)]
    runtime: Runtime,
}

fn main() {
    let flags = Flags::parse();
    laputa_examples::init_logging();
    let server = flags.server.trim_end_matches('/');
    let agent = flags.agent.as_str();
    let mut config = conformance_config(flags.deflate);
    if let Some(deflate) = config.deflate.as_mut() {
        // Offer `client_no_context_takeover` as Autobahn's reference client does: its 13.2, 13.5
        // and 13.6 servers only accept offers that carry it (RFC 7692 7.1.1.2: a hint that the
        // client will not use context takeover, which the client then honours).
        deflate.client_no_context_takeover = true;
    }
    let count = match flags.runtime {
        Runtime::Blocking => run_blocking(server, agent, &config),
        runtime => run_async!(runtime, run(server, agent, &config)),
    };
    println!("ran {count} cases");
}

fn run_blocking(server: &str, agent: &str, config: &Config) -> u32 {
    let count = case_count(server, config).unwrap_or_else(|e| fail(format!("getCaseCount: {e}")));
    for case in 1..=count {
        if let Err(e) = run_case(&format!("{server}/runCase?case={case}&agent={agent}"), config) {
            eprintln!("case {case}: {e}");
        }
    }
    let (mut ws, _) = connect(&format!("{server}/updateReports?agent={agent}"), config)
        .unwrap_or_else(|e| fail(format!("updateReports: {e}")));
    let _ = ws.close();
    count
}

fn connect(
    url: &str,
    config: &Config,
) -> Result<(blocking::WebSocket<blocking::ClientStream>, http::Response<()>), Error> {
    blocking::connect_with(ClientRequest::new(url)?, config.clone())
}

fn case_count(server: &str, config: &Config) -> Result<u32, Error> {
    let (mut ws, _) = connect(&format!("{server}/getCaseCount"), config)?;
    let message = ws.read()?;
    let count = message.as_text().and_then(|t| t.trim().parse().ok());
    let _ = ws.close();
    count.ok_or_else(|| fail(format!("unexpected case count {message:?}")))
}

/// Echoes until the connection ends; a closed connection is the normal end of a case.
fn run_case(url: &str, config: &Config) -> Result<(), Error> {
    let (mut ws, _) = connect(url, config)?;
    loop {
        match ws.read() {
            Ok(message) => ws.send(message)?,
            Err(e) if e.is_closed() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// The same on an async runtime.
async fn run<R: TcpRuntime>(server: &str, agent: &str, config: &Config) -> u32 {
    let count = async_case_count::<R>(server, config).await.unwrap_or_else(|e| fail(format!("getCaseCount: {e}")));
    for case in 1..=count {
        if let Err(e) = async_run_case::<R>(&format!("{server}/runCase?case={case}&agent={agent}"), config).await {
            eprintln!("case {case}: {e}");
        }
    }
    let (mut ws, _) = async_connect::<R>(&format!("{server}/updateReports?agent={agent}"), config)
        .await
        .unwrap_or_else(|e| fail(format!("updateReports: {e}")));
    let _ = ws.close().await;
    count
}

async fn async_connect<R: TcpRuntime>(
    url: &str,
    config: &Config,
) -> Result<(runtime::WebSocket<R::ClientStream, R>, http::Response<()>), Error> {
    runtime::connect_with::<R>(ClientRequest::new(url)?, config.clone()).await
}

async fn async_case_count<R: TcpRuntime>(server: &str, config: &Config) -> Result<u32, Error> {
    let (mut ws, _) = async_connect::<R>(&format!("{server}/getCaseCount"), config).await?;
    let message = ws.recv().await?;
    let count = message.as_text().and_then(|t| t.trim().parse().ok());
    let _ = ws.close().await;
    count.ok_or_else(|| fail(format!("unexpected case count {message:?}")))
}

async fn async_run_case<R: TcpRuntime>(url: &str, config: &Config) -> Result<(), Error> {
    let (mut ws, _) = async_connect::<R>(url, config).await?;
    loop {
        match ws.recv().await {
            Ok(message) => ws.send(message).await?,
            Err(e) if e.is_closed() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
