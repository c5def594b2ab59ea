//! An upgrade performed by hyper 1.x turns into a laputa connection: the core checks the request,
//! negotiates the subprotocol and makes the 101; hyper writes it and hands over the stream.
#![cfg(feature = "hyper")]

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use laputa::{Accept, ClientRequest, Config, Message, Reject};

async fn handle(mut request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let decide = |incoming: &laputa::IncomingRequest| {
        if incoming.path() == "/private" {
            return Err(Reject::new(StatusCode::UNAUTHORIZED).body("who are you?"));
        }
        Ok(Accept::new().protocol("chat"))
    };
    match laputa::hyper::upgrade_with(&mut request, Config::default(), decide) {
        Ok((response, upgrade)) => {
            tokio::spawn(async move {
                let mut ws = upgrade.await.unwrap();
                while let Ok(message) = ws.recv().await {
                    ws.send(message).await.unwrap();
                }
            });
            Ok(response)
        }
        Err(refusal) => Ok(refusal),
    }
}

/// A hyper server on a free port; its address.
async fn serve() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .with_upgrades(),
            );
        }
    });
    addr
}

#[tokio::test]
async fn hyper_upgrade_echoes() {
    let addr = serve().await;
    let request = ClientRequest::new(&format!("ws://{addr}/chat")).unwrap().protocol("superchat").protocol("chat");
    let (mut ws, response) = laputa::tokio::connect_with(request, Config::default()).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    ws.send("Balse").await.unwrap();
    assert_eq!(ws.recv().await.unwrap(), Message::from("Balse"));
    ws.close().await.unwrap();
    assert!(ws.closed().unwrap().clean);
}

#[tokio::test]
async fn hyper_refusals() {
    let addr = serve().await;
    let error = laputa::tokio::connect(format!("ws://{addr}/private")).await.unwrap_err();
    assert_eq!(error.http_status(), Some(StatusCode::UNAUTHORIZED));
    // A plain GET is not an upgrade: the core's 400.
    let mut request = Request::get("/").header("host", "x").body(()).unwrap();
    let refusal: Response<Full<Bytes>> = laputa::hyper::upgrade(&mut request).unwrap_err();
    assert_eq!(refusal.status(), StatusCode::BAD_REQUEST);
}
