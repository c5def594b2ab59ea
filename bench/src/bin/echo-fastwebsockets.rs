//! Echo server on fastwebsockets 0.10, as its own `echo_server` example writes it (hyper 1
//! upgrade, `FragmentCollector`), on the current-thread runtime every tokio server here uses.
//! `echo-fastwebsockets [--addr HOST:PORT] [--count-allocs HOST:PORT]`.

use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use laputa_bench::{tokio_listener, tokio_runtime, CountingAlloc, ServerOptions, MAX_MESSAGE};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

async fn echo(upgrade: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = upgrade.await?;
    ws.set_max_message_size(MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => return Ok(()),
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
}

async fn upgrade(mut request: Request<Incoming>) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, upgrade) = upgrade::upgrade(&mut request)?;
    tokio::spawn(tokio::task::unconstrained(async move {
        let _ = echo(upgrade).await;
    }));
    Ok(response)
}

fn main() {
    let options = ServerOptions::from_env(&[]);
    options.refuse_deflate("fastwebsockets 0.10");
    tokio_runtime().block_on(async move {
        let listener = tokio_listener(&options.addr);
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = http1::Builder::new().serve_connection(io, service_fn(upgrade)).with_upgrades().await;
            });
        }
    });
}
