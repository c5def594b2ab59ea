//! Runs the Autobahn TestSuite's client cases against a fuzzing server.
//!
//! `autobahn_client --server ws://HOST:PORT --agent NAME [--runtime blocking] [--deflate]`: asks
//! `/getCaseCount`, runs `/runCase?case=N&agent=NAME` for each case (echoing every message until
//! the server closes), then asks `/updateReports?agent=NAME` so the server writes its report.

use laputa::{blocking, ClientRequest, CloseCode, Config, Error};
use laputa_examples::{conformance_config, fail, Args};

fn main() {
    let args = Args::parse(&["deflate"]);
    let server = args.value("server").unwrap_or("ws://127.0.0.1:9001").trim_end_matches('/');
    let agent = args.value("agent").unwrap_or("laputa");
    args.runtime().unwrap_or_else(|e| fail(e));
    let deflate = args.switch("deflate");
    let mut config = conformance_config(deflate);
    if let Some(deflate) = config.deflate.as_mut() {
        // Offer `client_no_context_takeover` as Autobahn's reference client does: its 13.2, 13.5
        // and 13.6 servers only accept offers that carry it (RFC 7692 7.1.1.2: a hint that the
        // client will not use context takeover, which the client then honours).
        deflate.client_no_context_takeover = true;
    }
    let count = case_count(server, &config).unwrap_or_else(|e| fail(format!("getCaseCount: {e}")));
    for case in 1..=count {
        if let Err(e) = run_case(&format!("{server}/runCase?case={case}&agent={agent}"), &config) {
            eprintln!("case {case}: {e}");
        }
    }
    let (mut ws, _) = connect(&format!("{server}/updateReports?agent={agent}"), &config)
        .unwrap_or_else(|e| fail(format!("updateReports: {e}")));
    let _ = ws.close(CloseCode::NORMAL, "");
    println!("ran {count} cases");
}

fn connect(
    url: &str,
    config: &Config,
) -> Result<(blocking::WebSocket<std::net::TcpStream>, http::Response<()>), Error> {
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
