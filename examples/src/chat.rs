//! The services of the `chat` example: a chat room at `/chat` and an echo at `/echo`, for the
//! page in `examples/chat/` (the `chat` program serves both the page and these services).
//!
//! # The chat protocol
//!
//! A client opens `/chat?name=NAME` and sends plain text messages, each one chat line. The
//! server sends JSON text messages:
//!
//! - `{"type":"welcome","you":NAME,"users":[NAMES]}` to the one who joined: the name it got
//!   and everyone in the room, in the order they joined, itself last;
//! - `{"type":"join","name":NAME}` and `{"type":"leave","name":NAME}` to everyone else;
//! - `{"type":"message","name":NAME,"text":TEXT}` to everyone, the sender included.
//!
//! Every member sees the same order of events: a member's joining, leaving and lines are sent
//! to the whole room under one lock, and a newcomer's welcome lists exactly the members whose
//! joins it will not be told.
//!
//! On a clustered server (`chat --redis URL`: [`laputa::cluster`]) the room spans every node:
//! joins, leaves and lines reach the members on every node, in the order each node said them.
//! A welcome lists the members of the newcomer's node; those on other nodes appear as they join.
//! Names are unique per node.
//!
//! Names: `?name=` with runs of blanks made one space, control characters dropped, trimmed and
//! cut to [`MAX_NAME_CHARS`] characters; none, or nothing left, gives `anon-1`, `anon-2`, ...
//! A name already in the room gets a suffix: `Sheeta`, `Sheeta (2)`, `Sheeta (3)` (compared
//! as written: `sheeta` is another name).
//!
//! Lines: a text longer than [`MAX_TEXT_BYTES`] is cut to its first 4 KiB (at a character
//! boundary) and sent; a blank one is ignored. A message larger than [`MAX_MESSAGE_BYTES`]
//! closes the session with 1009 (the core's limit, before it is buffered whole), a binary
//! message with 1003.
//!
//! The room trusts any Origin: it has no cookies nor credentials that another site could
//! borrow; a deployment that wants only its own page adds an `Admission::origin` check.

use laputa::core::server::Admission;
use laputa::server::{Behavior, Service, Session, SessionId, Sessions};
use laputa::{CloseCode, Closed, Config, Message};
use serde_json::json;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The longest name, in characters (Unicode scalar values), before a ` (N)` suffix.
///
/// ```
/// assert_eq!(laputa_examples::chat::MAX_NAME_CHARS, 32);
/// ```
pub const MAX_NAME_CHARS: usize = 32;

/// The longest chat line, in bytes of UTF-8: a longer one is cut to this.
///
/// ```
/// assert_eq!(laputa_examples::chat::MAX_TEXT_BYTES, 4096);
/// ```
pub const MAX_TEXT_BYTES: usize = 4096;

/// The largest message a client may send: a larger one closes its session with 1009
/// (message too big). Lines between [`MAX_TEXT_BYTES`] and this are cut, not refused, so that
/// a client that counts characters where the server counts bytes is not thrown out.
///
/// ```
/// assert_eq!(laputa_examples::chat::MAX_MESSAGE_BYTES, 64 * 1024);
/// ```
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The chat room, to mount at `/chat`: one room shared by every session of this service
/// (call it once per room). Protocol and name rules: [the module docs](self).
///
/// ```
/// use laputa::server::Server;
/// use laputa::Message;
/// use laputa_examples::chat::chat_service;
/// use serde_json::{json, Value};
///
/// let server = Server::builder().bind("127.0.0.1:0").service("/chat", chat_service())?.start_blocking()?;
/// let url = format!("ws://{}/chat?name=Sheeta", server.local_addr());
/// let (mut ws, _) = laputa::blocking::connect(url.as_str())?;
/// let json = |message: Message| serde_json::from_str::<Value>(message.as_text().unwrap()).unwrap();
/// assert_eq!(json(ws.read()?), json!({"type": "welcome", "you": "Sheeta", "users": ["Sheeta"]}));
/// ws.send("Hello")?;
/// assert_eq!(json(ws.read()?), json!({"type": "message", "name": "Sheeta", "text": "Hello"}));
/// server.stop(laputa::CloseCode::GOING_AWAY, "bye");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn chat_service() -> Service {
    let room = Arc::new(Mutex::new(Room::default()));
    Service::new(move || Member { room: room.clone(), name: None }).admission(Admission::new().config(limits()))
}

/// An echo, to mount at `/echo`: every message goes back to its sender as it came, text or
/// binary, up to [`MAX_MESSAGE_BYTES`].
///
/// ```
/// use laputa::server::Server;
/// use laputa_examples::chat::echo_service;
///
/// let server = Server::builder().bind("127.0.0.1:0").service("/echo", echo_service())?.start_blocking()?;
/// let (mut ws, _) = laputa::blocking::connect(format!("ws://{}/echo", server.local_addr()).as_str())?;
/// ws.send("balus")?;
/// assert_eq!(ws.read()?.as_text(), Some("balus"));
/// server.stop(laputa::CloseCode::GOING_AWAY, "bye");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn echo_service() -> Service {
    Service::new(|| {
        |session: &Session, message: Message| {
            session.send(message);
        }
    })
    .admission(Admission::new().config(limits()))
}

/// The sessions' limits: small messages, as a chat needs.
fn limits() -> Config {
    let mut config = Config::default();
    config.max_message_size = MAX_MESSAGE_BYTES;
    config.max_frame_size = MAX_MESSAGE_BYTES;
    config
}

/// Who is in the room, in the order they joined.
#[derive(Default)]
struct Room {
    members: Vec<(SessionId, Arc<str>)>,
    /// The last `anon-N` given.
    anonymous: u64,
}

/// The topic every member of the room subscribes to once welcomed: what the room says goes to
/// it, encoded once, so that on a clustered server ([`Sessions`] spanning nodes over Redis) the
/// members on every node hear it.
const ROOM: &str = "room";

/// Sends `text` to every member of the room, on this node and on the others of a cluster.
fn say(sessions: &Sessions, text: String) {
    sessions.publish(ROOM, text);
}

/// One session's view of the room: its name once it joined.
struct Member {
    room: Arc<Mutex<Room>>,
    name: Option<Arc<str>>,
}

/// The room, locked: a member's hook that panicked left it whole (each change is one call).
fn lock(room: &Mutex<Room>) -> MutexGuard<'_, Room> {
    room.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Behavior for Member {
    fn on_open(&mut self, session: &Session) {
        let wanted = session.context().query_param("name");
        let mut guard = lock(&self.room);
        let room = &mut *guard;
        let taken = |name: &str| room.members.iter().any(|(_, taken)| &**taken == name);
        let name: Arc<str> = assign_name(wanted.as_deref(), &mut room.anonymous, taken).into();
        let mut users: Vec<&str> = room.members.iter().map(|(_, name)| &**name).collect();
        users.push(&name);
        session.send(welcome(&name, &users));
        say(session.sessions(), join(&name));
        session.subscribe(ROOM);
        room.members.push((session.id().clone(), name.clone()));
        self.name = Some(name);
    }

    fn on_message(&mut self, session: &Session, message: Message) {
        let Some(name) = &self.name else { return };
        let Some(text) = message.as_text() else {
            let _ = session.close_with(CloseCode::UNSUPPORTED_DATA, "text messages only");
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        let _room = lock(&self.room);
        say(session.sessions(), line(name, cut_text(text)));
    }

    fn on_close(&mut self, session: &Session, _: &Closed) {
        let Some(name) = self.name.take() else { return };
        let mut room = lock(&self.room);
        room.members.retain(|(id, _)| id != session.id());
        session.unsubscribe(ROOM);
        say(session.sessions(), leave(&name));
    }
}

/// `raw` as a name: runs of blanks made one space, control characters dropped, trimmed, at
/// most [`MAX_NAME_CHARS`] characters; `None` when nothing is left.
fn clean_name(raw: &str) -> Option<String> {
    let spaced = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let name: String = spaced.chars().filter(|c| !c.is_control()).take(MAX_NAME_CHARS).collect();
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// The name a newcomer gets: `wanted`, cleaned, or else the next free `anon-N` (counting in
/// `anonymous`), with ` (2)`, ` (3)`, ... after it while `taken` says it is in use.
fn assign_name(wanted: Option<&str>, anonymous: &mut u64, taken: impl Fn(&str) -> bool) -> String {
    let Some(name) = wanted.and_then(clean_name) else {
        loop {
            *anonymous += 1;
            let name = format!("anon-{anonymous}");
            if !taken(&name) {
                return name;
            }
        }
    };
    if !taken(&name) {
        return name;
    }
    (2..).map(|n| format!("{name} ({n})")).find(|candidate| !taken(candidate)).expect("a free suffix")
}

/// The first [`MAX_TEXT_BYTES`] of `text`, cut at a character boundary.
fn cut_text(text: &str) -> &str {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let end = (0..=MAX_TEXT_BYTES).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    &text[..end]
}

fn welcome(you: &str, users: &[&str]) -> String {
    json!({"type": "welcome", "you": you, "users": users}).to_string()
}

fn join(name: &str) -> String {
    json!({"type": "join", "name": name}).to_string()
}

fn leave(name: &str) -> String {
    json!({"type": "leave", "name": name}).to_string()
}

fn line(name: &str, text: &str) -> String {
    json!({"type": "message", "name": name, "text": text}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn names_are_cleaned_trimmed_and_cut() {
        assert_eq!(clean_name("  Sheeta "), Some("Sheeta".to_owned()));
        assert_eq!(clean_name("Captain\t\n Dola"), Some("Captain Dola".to_owned()));
        assert_eq!(clean_name("Pa\u{0}zu\u{7f}"), Some("Pazu".to_owned()));
        assert_eq!(clean_name(""), None);
        assert_eq!(clean_name(" \t\r\n"), None);
        assert_eq!(clean_name("\u{1b}\u{7}"), None);
        let long = "é".repeat(40);
        assert_eq!(clean_name(&long), Some("é".repeat(MAX_NAME_CHARS)));
        // A cut that ends on a blank leaves no trailing blank.
        let spaced = format!("{} tail", "a".repeat(MAX_NAME_CHARS - 1));
        assert_eq!(clean_name(&spaced), Some("a".repeat(MAX_NAME_CHARS - 1)));
    }

    #[test]
    fn names_are_made_unique_and_anonymous_ones_numbered() {
        let mut anonymous = 0;
        let room = ["Sheeta", "Sheeta (2)", "anon-2", "Muska"];
        let taken = |name: &str| room.contains(&name);
        assert_eq!(assign_name(Some("Pazu"), &mut anonymous, taken), "Pazu");
        assert_eq!(assign_name(Some(" Muska "), &mut anonymous, taken), "Muska (2)");
        assert_eq!(assign_name(Some("Sheeta"), &mut anonymous, taken), "Sheeta (3)");
        assert_eq!(assign_name(None, &mut anonymous, taken), "anon-1");
        // anon-2 is someone's chosen name: the next anonymous one skips it.
        assert_eq!(assign_name(Some("  "), &mut anonymous, taken), "anon-3");
        assert_eq!(assign_name(Some(""), &mut anonymous, taken), "anon-4");
        assert_eq!(anonymous, 4);
    }

    #[test]
    fn long_lines_are_cut_at_a_character_boundary() {
        assert_eq!(cut_text("hello"), "hello");
        let exact = "a".repeat(MAX_TEXT_BYTES);
        assert_eq!(cut_text(&exact), exact);
        assert_eq!(cut_text(&format!("{exact}b")), exact);
        // 'é' is two bytes: one byte short of the limit, the next 'é' does not fit.
        let accented = format!("{}{}", "a".repeat(MAX_TEXT_BYTES - 1), "é".repeat(3));
        assert_eq!(cut_text(&accented), "a".repeat(MAX_TEXT_BYTES - 1));
    }

    #[test]
    fn server_messages_are_the_documented_json() {
        assert_eq!(
            parse(&welcome("Pazu", &["Sheeta", "Pazu"])),
            json!({"type": "welcome", "you": "Pazu", "users": ["Sheeta", "Pazu"]})
        );
        assert_eq!(parse(&join("Dola")), json!({"type": "join", "name": "Dola"}));
        assert_eq!(parse(&leave("Dola")), json!({"type": "leave", "name": "Dola"}));
        // Quotes, backslashes, line breaks and non-ASCII text survive the encoding.
        let text = "say \"balus\"\\\n\u{1}ラピュタ";
        assert_eq!(parse(&line("Muska", text)), json!({"type": "message", "name": "Muska", "text": text}));
    }
}
