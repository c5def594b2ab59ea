//! An axum application that answers WebSocket upgrades with laputa on every path and echoes
//! every message; other requests get the HTTP error the core chooses (400, 405, 426).
//!
//! `axum_echo [--addr HOST:PORT] [--deflate]` (default 127.0.0.1:9001; `--help` lists the
//! flags). `--deflate` accepts permessage-deflate offers. It prints `axum_echo listening on
//! ws://ADDR` once it listens.

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use clap::Parser;
use laputa::{Accept, Config, Reject};
use laputa_examples::{conformance_config, fail, ServerFlags};

/// An axum application that answers WebSocket upgrades with laputa on every path and echoes
/// every message (the subprotocol `echo` when offered; `/forbidden` is refused with 403).
#[derive(Debug, Parser)]
#[command(args_override_self = true)]
struct Flags {
    #[command(flatten)]
    server: ServerFlags,
}

/// Answers an upgrade: the core checks the request and makes the 101; the echo runs in a task
/// of its own once hyper hands over the connection.
async fn websocket(mut request: Request, config: Config) -> Response {
    let decide = |incoming: &laputa::IncomingRequest| {
        // Offer the "echo" subprotocol to clients that ask for it; refuse one path, to show how.
        if incoming.path() == "/forbidden" {
            return Err(Reject::new(http::StatusCode::FORBIDDEN).body("not here"));
        }
        Ok(match incoming.protocols().any(|p| p == "echo") {
            true => Accept::new().protocol("echo"),
            false => Accept::new(),
        })
    };
    match laputa::hyper::upgrade_with::<_, Body, _>(&mut request, config, decide) {
        Ok((response, upgrade)) => {
            tokio::spawn(async move {
                let Ok(mut ws) = upgrade.await else { return };
                while let Ok(message) = ws.recv().await {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
            });
            response
        }
        Err(refusal) => refusal,
    }
}

fn main() {
    let Flags { server: ServerFlags { addr, deflate } } = Flags::parse();
    laputa_examples::init_logging();
    let config = conformance_config(deflate);
    laputa_examples::block_on_tokio(async move {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
        println!("axum_echo listening on ws://{}", listener.local_addr().map_or(addr.clone(), |a| a.to_string()));
        let app = Router::new().fallback(move |request| websocket(request, config.clone()));
        axum::serve(listener, app).await.unwrap_or_else(|e| fail(e));
    });
}
