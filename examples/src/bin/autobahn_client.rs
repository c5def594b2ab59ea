//! Runs the Autobahn TestSuite's client cases against a fuzzing server.
//!
//! `autobahn_client --server ws://HOST:PORT --agent NAME [--runtime blocking|tokio|smol|async-std] [--deflate]`:
//! asks `/getCaseCount`, runs `/runCase?case=N&agent=NAME` for each case (echoing every message
//! until the server closes), then asks `/updateReports?agent=NAME` so the server writes its
//! report.

use laputa::runtime::{self, TcpRuntime};
use laputa::{blocking, ClientRequest, CloseCode, Config, Error};
use laputa_examples::{conformance_config, fail, run_async, Args};

fn main() {
    laputa_examples::init_logging();
    let args = Args::parse(&["deflate"]);
    let server = args.value("server").unwrap_or("ws://127.0.0.1:9001").trim_end_matches('/');
    let agent = args.value("agent").unwrap_or("laputa");
    let mut config = conformance_config(args.switch("deflate"));
    if let Some(deflate) = config.deflate.as_mut() {
        // Offer `client_no_context_takeover` as Autobahn's reference client does: its 13.2, 13.5
        // and 13.6 servers only accept offers that carry it (RFC 7692 7.1.1.2: a hint that the
        // client will not use context takeover, which the client then honours).
        deflate.client_no_context_takeover = true;
    }
    let count = match args.runtime().unwrap_or_else(|e| fail(e)) {
        "blocking" => run_blocking(server, agent, &config),
        name => run_async!(name, run(server, agent, &config)),
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
    let _ = ws.close(CloseCode::NORMAL, "");
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
    let _ = ws.close(CloseCode::NORMAL, "");
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
    let _ = ws.close(CloseCode::NORMAL, "").await;
    count
}

async fn async_connect<R: TcpRuntime>(
    url: &str,
    config: &Config,
) -> Result<(runtime::WebSocket<R::TcpStream, R>, http::Response<()>), Error> {
    runtime::connect_with::<R>(ClientRequest::new(url)?, config.clone()).await
}

async fn async_case_count<R: TcpRuntime>(server: &str, config: &Config) -> Result<u32, Error> {
    let (mut ws, _) = async_connect::<R>(&format!("{server}/getCaseCount"), config).await?;
    let message = ws.recv().await?;
    let count = message.as_text().and_then(|t| t.trim().parse().ok());
    let _ = ws.close(CloseCode::NORMAL, "").await;
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
