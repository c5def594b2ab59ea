//! The chat page (`examples/chat/`) in headless Chromium: two people join under their names,
//! each sees the other in the list, and lines typed in one page (Enter) appear in the other.
//!
//! `chat_example_in_a_browser` runs the `chat` program as issue 20 specifies it; until it
//! exists, `chat_page_in_a_browser` serves the same page with a file responder of a few lines
//! and the chat service (`laputa_examples::chat`) on a `laputa::server::Server` on another
//! port, the page told where through its `?ws=` development parameter. It also checks that the
//! page shows a lost connection and reconnects, and that Leave leaves. Its screenshot, of two
//! people chatting at 1000x700, is the README's `docs/chat.png`:
//! `cp target/laputa-tests/chat-browser/chat.png docs/chat.png` after a run.

use laputa::server::{BlockingServer, Server};
use laputa::CloseCode;
use laputa_examples::chat::chat_service;
use laputa_tests::browser::{Browser, Page};
use laputa_tests::{example_bin, free_port, out_dir, target_dir, workspace_root, ChildGuard};
use serde_json::json;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// No step takes this long unless it is broken.
const WAIT: Duration = Duration::from_secs(20);
/// Reconnecting waits for the page's backoff too.
const RECONNECT_WAIT: Duration = Duration::from_secs(45);

/// The conversation of the screenshot: who says what, in order.
const LINES: [(&str, &str); 4] = [
    ("Sheeta", "Pazu, the crystal is glowing!"),
    ("Pazu", "I see it! The light points up, above the clouds."),
    ("Sheeta", "Then Laputa is real..."),
    ("Pazu", "Let's find it together. Balus can wait."),
];

#[test]
fn chat_example_in_a_browser() {
    let addr = free_port();
    let mut chat = ChildGuard::spawn(
        Command::new(example_bin("chat")).args(["--addr", &addr.to_string()]),
        &out_dir("chat-example-browser").join("chat.log"),
    );
    chat.wait_for_output(&format!("chat: open http://{addr}/"), WAIT);
    let browser = Browser::launch().expect("chromium");
    let (mut sheeta, _pazu) = two_people_chat(&browser, &format!("http://{addr}/"));
    sheeta.screenshot(&target_dir().join("chat-screenshot.png")).expect("a screenshot");
}

#[test]
fn chat_page_in_a_browser() {
    let page = PageFiles::serve(&workspace_root().join("examples").join("chat"));
    let start_chat = |addr: &str| -> BlockingServer {
        Server::builder().bind(addr).service("/chat", chat_service()).expect("mounted").start_blocking().expect("bound")
    };
    let chat = start_chat("127.0.0.1:0");
    let chat_addr = chat.local_addr();
    let url = format!("http://{}/?ws=ws://{chat_addr}/chat", page.addr);

    let browser = Browser::launch().expect("chromium");
    let (mut sheeta, mut pazu) = two_people_chat(&browser, &url);
    sheeta.screenshot(&out_dir("chat-browser").join("chat.png")).expect("a screenshot");

    // The server goes away: both pages say so and try again; it comes back: both are in.
    chat.stop(CloseCode::GOING_AWAY, "restarting");
    for page in [&mut sheeta, &mut pazu] {
        wait(page, "document.getElementById('state').dataset.state === 'reconnecting'", WAIT);
        assert_eq!(page.eval("document.getElementById('input').disabled").unwrap(), true);
    }
    let chat = start_chat(&chat_addr.to_string());
    for page in [&mut sheeta, &mut pazu] {
        wait(page, "document.getElementById('state').dataset.state === 'connected'", RECONNECT_WAIT);
        // In the order they came back.
        wait(page, &users_are_any_order(&["Pazu", "Sheeta"]), WAIT);
    }
    say(&mut pazu, &mut sheeta, "Pazu", "Back again.");

    // Leave: the page says disconnected and shows the name form; the other sees her go.
    sheeta.click("#leave").expect("clicked");
    wait(&mut sheeta, "document.getElementById('state').dataset.state === 'disconnected'", WAIT);
    wait(&mut sheeta, "!document.getElementById('join-form').hidden", WAIT);
    wait(&mut pazu, &users_are(&["Pazu"]), WAIT);
    chat.stop(CloseCode::GOING_AWAY, "done");
}

/// Opens `url` twice, joins as Sheeta (name typed, Enter) and Pazu (the Join button), checks
/// each sees both in `#users`, and has them say [`LINES`], each line checked in the other page.
/// The pages are 1000x700.
fn two_people_chat(browser: &Browser, url: &str) -> (Page, Page) {
    let mut sheeta = browser.new_page().expect("a tab");
    let mut pazu = browser.new_page().expect("a tab");
    for page in [&mut sheeta, &mut pazu] {
        page.set_viewport(1000, 700).expect("a viewport");
        page.goto(url).expect("the page");
        wait(page, "document.getElementById('state').dataset.state === 'disconnected'", WAIT);
    }
    sheeta.type_into("#name", "Sheeta").expect("typed");
    sheeta.press_enter().expect("Enter");
    wait(&mut sheeta, "document.getElementById('state').dataset.state === 'connected'", WAIT);
    pazu.type_into("#name", "Pazu").expect("typed");
    pazu.click("#join").expect("clicked");
    wait(&mut pazu, "document.getElementById('state').dataset.state === 'connected'", WAIT);
    for page in [&mut sheeta, &mut pazu] {
        wait(page, &users_are(&["Sheeta", "Pazu"]), WAIT);
        assert_eq!(page.eval("document.getElementById('state').textContent").unwrap(), "connected");
    }
    // The input has the focus once joined: typing goes straight into it.
    assert_eq!(sheeta.eval("document.activeElement.id").unwrap(), "input");
    for (who, text) in LINES {
        if who == "Sheeta" {
            say(&mut sheeta, &mut pazu, who, text);
        } else {
            say(&mut pazu, &mut sheeta, who, text);
        }
    }
    (sheeta, pazu)
}

/// `from` types `text` into `#input` and presses Enter; both pages show it under `name`, the
/// sender's as its own.
fn say(from: &mut Page, to: &mut Page, name: &str, text: &str) {
    from.type_into("#input", text).expect("typed");
    from.press_enter().expect("Enter");
    let line = |mine: bool| {
        format!(
            "[...document.querySelectorAll('#messages .line')].some((li) => \
             li.querySelector('.name').textContent === {name} && li.querySelector('.text').textContent === {text} \
             && li.classList.contains('mine') === {mine})",
            name = json!(name),
            text = json!(text),
        )
    };
    wait(to, &line(false), WAIT);
    wait(from, &line(true), WAIT);
    assert_eq!(from.eval("document.getElementById('input').value").unwrap(), "", "the input is cleared");
}

/// A condition: `#users` lists exactly `names`, in this order.
fn users_are(names: &[&str]) -> String {
    format!(
        "JSON.stringify([...document.querySelectorAll('#users li')].map((li) => li.dataset.name)) === {}",
        json!(json!(names).to_string())
    )
}

/// A condition: `#users` lists `names` (sorted), in any order.
fn users_are_any_order(names: &[&str]) -> String {
    format!(
        "JSON.stringify([...document.querySelectorAll('#users li')].map((li) => li.dataset.name).sort()) === {}",
        json!(json!(names).to_string())
    )
}

fn wait(page: &mut Page, condition: &str, timeout: Duration) {
    if let Err(e) = page.wait_for(condition, timeout) {
        let state = page.eval("document.getElementById('state').textContent").unwrap_or_default();
        let messages = page.eval("document.getElementById('messages').innerText").unwrap_or_default();
        panic!("{e}\nstate: {state}\nmessages: {messages}");
    }
}

/// The page's files served over HTTP/1.1 by a thread per connection (test code only: GET of
/// `/` and the files of one directory, 404 for anything else); stops when dropped.
struct PageFiles {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accepter: Option<thread::JoinHandle<()>>,
}

impl PageFiles {
    fn serve(dir: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let stop = Arc::new(AtomicBool::new(false));
        let (dir, stopping) = (dir.to_path_buf(), stop.clone());
        let accepter = thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let dir = dir.clone();
                if let Ok(stream) = stream {
                    thread::spawn(move || answer(stream, &dir));
                }
            }
        });
        Self { addr, stop, accepter: Some(accepter) }
    }
}

impl Drop for PageFiles {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accepter) = self.accepter.take() {
            let _ = accepter.join();
        }
    }
}

/// Answers one request on `stream` with a file of `dir` and closes it.
fn answer(mut stream: TcpStream, dir: &Path) {
    let _ = stream.set_read_timeout(Some(WAIT));
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.strip_prefix("GET ").and_then(|rest| rest.split(' ').next()).unwrap_or("");
    let path = target.split('?').next().unwrap_or("");
    let file: Option<PathBuf> = match path {
        "/" => Some(dir.join("index.html")),
        // One plain name: no traversal out of `dir`.
        _ => path
            .strip_prefix('/')
            .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .filter(|name| !name.starts_with('.'))
            .map(|name| dir.join(name)),
    };
    let response = match file.and_then(|file| Some((std::fs::read(&file).ok()?, file))) {
        Some((body, file)) => {
            let kind = match file.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("js") => "text/javascript; charset=utf-8",
                _ => "application/octet-stream",
            };
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            response.extend_from_slice(&body);
            response
        }
        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&response);
}
