//! The chat example's services (`laputa_examples::chat`) over a real `laputa::server::Server` on
//! tokio, with laputa's tokio client: welcomes, joins and leaves, lines to everyone, the name
//! rules, the limits, and the echo.

use laputa::server::Server;
use laputa::tokio::Tokio;
use laputa::{CloseCode, Closed, Error, Message};
use laputa_examples::chat::{chat_service, echo_service, MAX_MESSAGE_BYTES, MAX_TEXT_BYTES};
use serde_json::{json, Value};
use std::time::Duration;

type Client = laputa::tokio::WebSocket<laputa::tokio::ClientStream>;

/// No check takes this long unless it hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

async fn connect(url: &str) -> Client {
    laputa::tokio::connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}")).0
}

/// The next message, as JSON.
async fn next(ws: &mut Client) -> Value {
    match ws.recv().await.expect("a message") {
        Message::Text(text) => serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}")),
        other => panic!("not a text message: {other:?}"),
    }
}

/// How the server closed `ws`, once the client read to the end.
async fn closed_by_server(ws: &mut Client) -> Closed {
    match ws.recv().await {
        Err(Error::Closed(closed)) => closed,
        other => panic!("not closed: {other:?}"),
    }
}

#[test]
fn two_clients_chat_join_and_leave() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    runtime.block_on(async { tokio::time::timeout(WATCHDOG, scenario()).await.expect("the check hung") });
}

async fn scenario() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .service("/chat", chat_service())
        .and_then(|builder| builder.service("/echo", echo_service()))
        .expect("mounted")
        .start::<Tokio>()
        .await
        .expect("listening");
    let chat = |query: &str| format!("ws://{}/chat{query}", server.local_addr());

    let mut sheeta = connect(&chat("?name=Sheeta")).await;
    assert_eq!(next(&mut sheeta).await, json!({"type": "welcome", "you": "Sheeta", "users": ["Sheeta"]}));
    let mut pazu = connect(&chat("?name=%20Pazu%20")).await;
    assert_eq!(next(&mut pazu).await, json!({"type": "welcome", "you": "Pazu", "users": ["Sheeta", "Pazu"]}));
    assert_eq!(next(&mut sheeta).await, json!({"type": "join", "name": "Pazu"}));

    // A line reaches everyone, the sender included.
    pazu.send("Balus").await.expect("sent");
    let said = json!({"type": "message", "name": "Pazu", "text": "Balus"});
    assert_eq!(next(&mut sheeta).await, said);
    assert_eq!(next(&mut pazu).await, said);

    // A second Sheeta gets a suffix; a nameless one a number; both are announced to the room.
    let mut twin = connect(&chat("?name=Sheeta")).await;
    assert_eq!(
        next(&mut twin).await,
        json!({"type": "welcome", "you": "Sheeta (2)", "users": ["Sheeta", "Pazu", "Sheeta (2)"]})
    );
    let mut anonymous = connect(&chat("")).await;
    let welcome = next(&mut anonymous).await;
    assert_eq!(welcome["you"], "anon-1", "{welcome}");
    assert_eq!(welcome["users"], json!(["Sheeta", "Pazu", "Sheeta (2)", "anon-1"]));
    for ws in [&mut sheeta, &mut pazu] {
        assert_eq!(next(ws).await, json!({"type": "join", "name": "Sheeta (2)"}));
    }
    for ws in [&mut sheeta, &mut pazu, &mut twin] {
        assert_eq!(next(ws).await, json!({"type": "join", "name": "anon-1"}));
    }

    // A blank line is ignored (the next one arrives first); a long one is cut to 4 KiB.
    sheeta.send("  ").await.expect("sent");
    sheeta.send("a".repeat(MAX_TEXT_BYTES + 10)).await.expect("sent");
    let cut = json!({"type": "message", "name": "Sheeta", "text": "a".repeat(MAX_TEXT_BYTES)});
    for ws in [&mut sheeta, &mut pazu, &mut twin, &mut anonymous] {
        assert_eq!(next(ws).await, cut);
    }

    // Whoever leaves, cleanly or thrown out, is announced to those who stay.
    pazu.close().await.expect("closed");
    for ws in [&mut sheeta, &mut twin, &mut anonymous] {
        assert_eq!(next(ws).await, json!({"type": "leave", "name": "Pazu"}));
    }
    twin.send(vec![1u8, 2, 3]).await.expect("sent");
    assert_eq!(closed_by_server(&mut twin).await.code, CloseCode::UNSUPPORTED_DATA);
    for ws in [&mut sheeta, &mut anonymous] {
        assert_eq!(next(ws).await, json!({"type": "leave", "name": "Sheeta (2)"}));
    }
    anonymous.send("x".repeat(MAX_MESSAGE_BYTES + 1)).await.expect("sent");
    assert_eq!(closed_by_server(&mut anonymous).await.code, CloseCode::MESSAGE_TOO_BIG);
    assert_eq!(next(&mut sheeta).await, json!({"type": "leave", "name": "anon-1"}));

    // The name Pazu is free again; the one left sees the newcomer.
    let mut again = connect(&chat("?name=Pazu")).await;
    assert_eq!(next(&mut again).await, json!({"type": "welcome", "you": "Pazu", "users": ["Sheeta", "Pazu"]}));
    assert_eq!(next(&mut sheeta).await, json!({"type": "join", "name": "Pazu"}));

    let mut echo = connect(&format!("ws://{}/echo", server.local_addr())).await;
    for message in [Message::from("BALUS"), Message::from(vec![0u8, 255])] {
        echo.send(message.clone()).await.expect("sent");
        assert_eq!(echo.recv().await.expect("an echo"), message);
    }
    echo.close().await.expect("closed");
    again.close().await.expect("closed");
    assert_eq!(next(&mut sheeta).await, json!({"type": "leave", "name": "Pazu"}));
    // The server's stop waits for the close handshake, which the client answers as it reads.
    let ((), closed) = tokio::join!(server.stop(CloseCode::GOING_AWAY, "bye"), closed_by_server(&mut sheeta));
    assert_eq!(closed.code, CloseCode::GOING_AWAY);
}
