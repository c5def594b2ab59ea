//! Headless Chromium for the browser tests, driven over the DevTools protocol (CDP), which is
//! itself a WebSocket: spoken here with laputa's own blocking client.
//!
//! [`Browser::launch`] starts Debian's `chromium` (or `$LAPUTA_CHROMIUM`) headless, with a
//! fresh profile under `target/laputa-tests/`, its DevTools on a loopback port it picks
//! (read back from the profile's `DevToolsActivePort`). [`Browser::new_page`] opens a tab
//! (`Target.createTarget`) and attaches to it over its own WebSocket, so that each [`Page`]
//! is driven on its own: navigate, evaluate JavaScript (`Runtime.evaluate`, promises
//! awaited), wait for a condition with a deadline, type and press Enter as a person would,
//! and capture a PNG screenshot. Dropping the [`Browser`] closes Chromium (killing it if it
//! does not exit) and removes the profile.
//!
//! ```
//! use laputa_tests::browser::Browser;
//! use std::time::Duration;
//!
//! let browser = Browser::launch().expect("chromium");
//! let mut page = browser.new_page().expect("a tab");
//! page.goto("data:text/html,<input id=who><p id=out></p><script>
//!     who.onkeydown = (e) => { if (e.key === 'Enter') out.textContent = 'hello ' + who.value };
//! </script>").expect("loaded");
//! page.type_into("#who", "Pazu").unwrap();
//! page.press_enter().unwrap();
//! let said = page.wait_for("out.textContent || null", Duration::from_secs(10)).unwrap();
//! assert_eq!(said, "hello Pazu");
//! assert_eq!(page.eval("Promise.resolve(6 * 7)").unwrap(), 42);
//! ```

use base64::Engine as _;
use laputa::blocking::{ClientStream, Stream as _, WebSocket};
use laputa::{Config, Message};
use serde_json::{json, Value};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long one DevTools command may take, and Chromium to start or to exit.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often [`Page::wait_for`] evaluates its condition.
const POLL: Duration = Duration::from_millis(50);

/// What went wrong while driving the browser, said in one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserError(String);

impl fmt::Display for BrowserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BrowserError {}

fn error(message: impl fmt::Display) -> BrowserError {
    BrowserError(message.to_string())
}

/// A headless Chromium with its DevTools on loopback; closed (or killed) and its profile
/// removed when dropped. See [the module docs](self).
pub struct Browser {
    child: Child,
    /// The browser target's connection (opens tabs).
    cdp: Mutex<Cdp>,
    /// `127.0.0.1:PORT` of the DevTools server.
    devtools: String,
    profile: PathBuf,
    log: PathBuf,
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser").field("devtools", &self.devtools).field("log", &self.log).finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts Chromium headless on loopback: `$LAPUTA_CHROMIUM`, else `chromium` from `PATH`
    /// (Debian's package, which `./scripts/test.sh` installs), with the flags it needs as root
    /// in a container and a new profile; its output goes to `chromium.log` beside the profile
    /// (the error names it).
    pub fn launch() -> Result<Self, BrowserError> {
        let program = std::env::var_os("LAPUTA_CHROMIUM").unwrap_or_else(|| "chromium".into());
        Self::launch_program(&program)
    }

    fn launch_program(program: &std::ffi::OsStr) -> Result<Self, BrowserError> {
        static LAUNCHED: AtomicUsize = AtomicUsize::new(0);
        let n = LAUNCHED.fetch_add(1, Ordering::Relaxed);
        let dir = crate::target_dir().join("laputa-tests").join(format!("chromium-{}-{n}", std::process::id()));
        let profile = dir.join("profile");
        let _ = fs::remove_dir_all(&profile);
        fs::create_dir_all(&profile).map_err(|e| error(format!("cannot create {profile:?}: {e}")))?;
        let log = dir.join("chromium.log");
        let out = fs::File::create(&log).map_err(|e| error(format!("cannot create {log:?}: {e}")))?;
        let err = out.try_clone().map_err(error)?;
        let child = Command::new(program)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--mute-audio",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .inspect_err(|_| drop(fs::remove_dir_all(&profile)))
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => error(format!(
                    "{program:?} not found: install Debian's chromium (apt-get install chromium; \
                     ./scripts/test.sh does) or point LAPUTA_CHROMIUM at one"
                )),
                _ => error(format!("cannot start {program:?}: {e}")),
            })?;
        // Dropped on any error below: Chromium is stopped and the profile removed.
        let mut starting = Starting { child: Some(child), profile: profile.clone() };
        let devtools = starting.wait_for_devtools(&log)?;
        let cdp = Cdp::connect(&devtools)?;
        let child = starting.child.take().expect("still held");
        Ok(Self { child, cdp: Mutex::new(cdp), devtools: devtools.host, profile, log })
    }

    /// The address of the DevTools server, `127.0.0.1:PORT`.
    pub fn devtools_addr(&self) -> &str {
        &self.devtools
    }

    /// Where Chromium's output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Opens a new tab on `about:blank` and attaches to it.
    pub fn new_page(&self) -> Result<Page, BrowserError> {
        let created = self.cdp.lock().unwrap_or_else(PoisonError::into_inner).call(
            "Target.createTarget",
            json!({"url": "about:blank"}),
            COMMAND_TIMEOUT,
        )?;
        let target = created["targetId"].as_str().ok_or_else(|| error(format!("no targetId in {created}")))?;
        let cdp = Cdp::connect(&Endpoint { host: self.devtools.clone(), path: format!("/devtools/page/{target}") })?;
        Ok(Page { cdp, target: target.to_owned() })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closed politely, Chromium takes its helper processes with it.
        let closing = self.cdp.get_mut().unwrap_or_else(PoisonError::into_inner).send("Browser.close", json!({}));
        stop(&mut self.child, closing.is_ok());
        let _ = fs::remove_dir_all(&self.profile);
        if !thread::panicking() {
            // Chromium's log is kept only for a test that failed.
            let _ = fs::remove_dir_all(self.log.parent().expect("the log is in the browser's directory"));
        }
    }
}

/// Chromium started, its DevTools not reached yet.
struct Starting {
    child: Option<Child>,
    profile: PathBuf,
}

/// Where a DevTools WebSocket is.
struct Endpoint {
    host: String,
    path: String,
}

impl Starting {
    /// Waits for Chromium to write `DevToolsActivePort` (the port, then the browser's path).
    fn wait_for_devtools(&mut self, log: &Path) -> Result<Endpoint, BrowserError> {
        let file = self.profile.join("DevToolsActivePort");
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let text = fs::read_to_string(&file).unwrap_or_default();
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                if let Ok(port) = port.trim().parse::<u16>() {
                    return Ok(Endpoint { host: format!("127.0.0.1:{port}"), path: path.trim().to_owned() });
                }
            }
            let child = self.child.as_mut().expect("held while starting");
            if let Ok(Some(status)) = child.try_wait() {
                return Err(error(format!("chromium exited with {status} before listening; see {log:?}")));
            }
            if Instant::now() >= deadline {
                return Err(error(format!("chromium wrote no {file:?} within {COMMAND_TIMEOUT:?}; see {log:?}")));
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, false);
            let _ = fs::remove_dir_all(&self.profile);
        }
    }
}

/// Waits for `child` to exit if it was asked to, else (or past the wait) kills it.
fn stop(child: &mut Child, asked: bool) {
    let deadline = Instant::now() + if asked { Duration::from_secs(5) } else { Duration::ZERO };
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One tab, attached over its own DevTools WebSocket.
pub struct Page {
    cdp: Cdp,
    target: String,
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page").field("target", &self.target).finish_non_exhaustive()
    }
}

impl Page {
    /// Navigates to `url` and waits until the document has loaded (`readyState` complete).
    pub fn goto(&mut self, url: &str) -> Result<(), BrowserError> {
        let navigated = self.cdp.call("Page.navigate", json!({"url": url}), COMMAND_TIMEOUT)?;
        if let Some(failure) = navigated["errorText"].as_str().filter(|text| !text.is_empty()) {
            return Err(error(format!("cannot open {url}: {failure}")));
        }
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'", COMMAND_TIMEOUT)?;
        Ok(())
    }

    /// Evaluates the JavaScript `expression` in the page, awaits it if it is a promise, and
    /// returns its value as JSON (`null` for `undefined`); a thrown exception is an error
    /// with its description.
    pub fn eval(&mut self, expression: &str) -> Result<Value, BrowserError> {
        let params = json!({"expression": expression, "awaitPromise": true, "returnByValue": true});
        let mut evaluated = self.cdp.call("Runtime.evaluate", params, COMMAND_TIMEOUT)?;
        if let Some(details) = evaluated.get("exceptionDetails") {
            let description = details["exception"]["description"].as_str().or(details["text"].as_str());
            return Err(error(format!("{expression}: {}", description.unwrap_or("an exception"))));
        }
        Ok(evaluated["result"]["value"].take())
    }

    /// Evaluates `expression` until it is truthy, and returns that value; an error after
    /// `timeout`, with the last value or error. An evaluation that fails (the page is between
    /// documents, say) counts as not yet.
    pub fn wait_for(&mut self, expression: &str, timeout: Duration) -> Result<Value, BrowserError> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.eval(expression) {
                Ok(value) if truthy(&value) => return Ok(value),
                Ok(value) => value.to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(error(format!("{expression} still falsy after {timeout:?}: {last}")));
            }
            thread::sleep(POLL);
        }
    }

    /// Focuses the element `selector` and types `text` into it (as an input method would:
    /// `input` events, no key events).
    pub fn type_into(&mut self, selector: &str, text: &str) -> Result<(), BrowserError> {
        self.focus(selector)?;
        self.cdp.call("Input.insertText", json!({"text": text}), COMMAND_TIMEOUT).map(drop)
    }

    /// Focuses the element `selector`; an error if there is none.
    pub fn focus(&mut self, selector: &str) -> Result<(), BrowserError> {
        let found = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return false; e.focus(); return true; }})()",
            json!(selector)
        ))?;
        if found != true {
            return Err(error(format!("no element {selector}")));
        }
        Ok(())
    }

    /// Presses and releases Enter on the focused element, as a keyboard does (it submits a
    /// form).
    pub fn press_enter(&mut self) -> Result<(), BrowserError> {
        let key = json!({"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "nativeVirtualKeyCode": 13});
        let mut down = key.clone();
        down["type"] = "keyDown".into();
        down["text"] = "\r".into();
        let mut up = key;
        up["type"] = "keyUp".into();
        self.cdp.call("Input.dispatchKeyEvent", down, COMMAND_TIMEOUT)?;
        self.cdp.call("Input.dispatchKeyEvent", up, COMMAND_TIMEOUT).map(drop)
    }

    /// Clicks the middle of the element `selector` with the mouse (after scrolling it into
    /// view); an error if there is none.
    pub fn click(&mut self, selector: &str) -> Result<(), BrowserError> {
        let center = self.eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (!e) return null; e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
            json!(selector)
        ))?;
        let (Some(x), Some(y)) = (center[0].as_f64(), center[1].as_f64()) else {
            return Err(error(format!("no element {selector}")));
        };
        for kind in ["mousePressed", "mouseReleased"] {
            let event = json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1});
            self.cdp.call("Input.dispatchMouseEvent", event, COMMAND_TIMEOUT)?;
        }
        Ok(())
    }

    /// Makes the viewport `width` by `height` CSS pixels, at one device pixel each.
    pub fn set_viewport(&mut self, width: u32, height: u32) -> Result<(), BrowserError> {
        let metrics = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false});
        self.cdp.call("Emulation.setDeviceMetricsOverride", metrics, COMMAND_TIMEOUT).map(drop)
    }

    /// Captures the viewport as a PNG file at `path` (its directory is created).
    pub fn screenshot(&mut self, path: &Path) -> Result<(), BrowserError> {
        let shot = self.cdp.call("Page.captureScreenshot", json!({"format": "png"}), COMMAND_TIMEOUT)?;
        let data = shot["data"].as_str().ok_or_else(|| error("no data in the screenshot"))?;
        let png = base64::engine::general_purpose::STANDARD.decode(data).map_err(error)?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| error(format!("cannot create {dir:?}: {e}")))?;
        }
        fs::write(path, png).map_err(|e| error(format!("cannot write {path:?}: {e}")))
    }

    /// Closes the tab.
    pub fn close(mut self) -> Result<(), BrowserError> {
        self.cdp.send("Page.close", json!({})).map(drop)
    }
}

/// JavaScript's truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// One DevTools WebSocket: commands by id, their answers awaited, events skipped.
struct Cdp {
    ws: WebSocket<ClientStream>,
    next_id: u64,
}

impl Cdp {
    fn connect(endpoint: &Endpoint) -> Result<Self, BrowserError> {
        let url = format!("ws://{}{}", endpoint.host, endpoint.path);
        let mut config = Config::default();
        // Screenshots arrive as one base64 message.
        config.max_message_size = 256 << 20;
        config.max_frame_size = 256 << 20;
        let (ws, _) = laputa::blocking::connect_with(url.as_str(), config).map_err(|e| error(format!("{url}: {e}")))?;
        Ok(Self { ws, next_id: 1 })
    }

    /// Sends a command without waiting for its answer; its id.
    fn send(&mut self, method: &str, params: Value) -> Result<u64, BrowserError> {
        let id = self.next_id;
        self.next_id += 1;
        let command = json!({"id": id, "method": method, "params": params});
        self.ws.send(command.to_string()).map_err(|e| error(format!("{method}: {e}")))?;
        Ok(id)
    }

    /// Sends a command and returns its result, skipping the events that arrive meanwhile; an
    /// error when Chromium answers with one, or after `timeout`.
    fn call(&mut self, method: &str, params: Value, timeout: Duration) -> Result<Value, BrowserError> {
        let id = self.send(method, params)?;
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(error(format!("{method}: no answer within {timeout:?}")));
            }
            self.ws.get_mut().set_read_timeout(Some(remaining)).map_err(error)?;
            let message = match self.ws.read() {
                Ok(Message::Text(text)) => text,
                Ok(_) => continue,
                Err(laputa::Error::Io(e))
                    if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) =>
                {
                    continue
                }
                Err(e) => return Err(error(format!("{method}: {e}"))),
            };
            let mut answer: Value =
                serde_json::from_str(&message).map_err(|e| error(format!("{method}: not JSON ({e}): {message}")))?;
            if answer["id"] != id {
                continue; // an event, or the answer to a command sent without waiting
            }
            if let Some(failure) = answer.get("error") {
                return Err(error(format!("{method}: {failure}")));
            }
            return Ok(answer["result"].take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truthiness_is_javascripts() {
        for value in [json!(null), json!(false), json!(0), json!(0.0), json!("")] {
            assert!(!truthy(&value), "{value}");
        }
        for value in [json!(true), json!(1), json!(-0.5), json!("0"), json!([]), json!({})] {
            assert!(truthy(&value), "{value}");
        }
    }

    /// Every part of the harness on a `data:` page: navigation, evaluation (values, promises,
    /// exceptions), waiting (met and timed out), typing, Enter, clicks, the viewport and a
    /// screenshot of its size.
    #[test]
    fn drives_a_data_url_page() {
        let browser = Browser::launch().expect("chromium");
        let mut page = browser.new_page().expect("a tab");
        page.goto(
            "data:text/html,<form id=f><input id=t><button id=b type=button>go</button></form><p id=o></p>\
             <script>f.onsubmit = (e) => { e.preventDefault(); o.textContent = 'sent ' + t.value };\
             b.onclick = () => { o.textContent = 'clicked' };</script>",
        )
        .expect("loaded");
        assert_eq!(page.eval("1 + 1").unwrap(), 2);
        assert_eq!(page.eval("new Promise((ok) => setTimeout(() => ok('later'), 10))").unwrap(), "later");
        assert_eq!(page.eval("undefined").unwrap(), Value::Null);
        let thrown = page.eval("throw new Error('balus')").unwrap_err();
        assert!(thrown.to_string().contains("balus"), "{thrown}");
        assert!(page.focus("#missing").is_err());
        assert!(page.click("#missing").is_err());

        page.type_into("#t", "Sheeta").unwrap();
        page.press_enter().unwrap();
        assert_eq!(page.wait_for("o.textContent", Duration::from_secs(10)).unwrap(), "sent Sheeta");
        page.click("#b").unwrap();
        assert_eq!(page.wait_for("o.textContent === 'clicked'", Duration::from_secs(10)).unwrap(), true);
        let late = page.wait_for("window.never", Duration::from_millis(200)).unwrap_err();
        assert!(late.to_string().contains("window.never still falsy"), "{late}");

        page.set_viewport(640, 480).unwrap();
        let path = crate::out_dir("browser-harness").join("page.png");
        page.screenshot(&path).unwrap();
        let png = fs::read(&path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // The IHDR chunk: width and height, big-endian, after the signature and chunk header.
        assert_eq!((&png[16..20], &png[20..24]), (&640u32.to_be_bytes()[..], &480u32.to_be_bytes()[..]));

        // A second tab is driven on its own.
        let mut other = browser.new_page().expect("a second tab");
        other.goto("data:text/html,<title>two</title>").unwrap();
        assert_eq!(other.eval("document.title").unwrap(), "two");
        assert_eq!(page.eval("o.textContent").unwrap(), "clicked");
        other.close().unwrap();
    }

    /// A missing program is a clear error that says what to install.
    #[test]
    fn a_missing_chromium_is_named() {
        let missing = Browser::launch_program("/nonexistent/chromium".as_ref()).unwrap_err();
        assert!(missing.to_string().contains("not found: install Debian's chromium"), "{missing}");
    }
}
