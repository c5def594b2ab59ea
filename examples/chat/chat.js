/*
 * The page of laputa's chat example: no framework, no CDN.
 *
 * Protocol (the server side is laputa_examples::chat, examples/src/chat.rs). The page opens
 * ws(s)://<this host>/chat?name=NAME (wss: when the page came over https:) and sends each chat
 * line as one plain text message. The server sends JSON text messages:
 *
 *   {"type":"welcome","you":NAME,"users":[NAMES]}   to the one who joined: the name it got
 *                                                    (made unique: "Sheeta (2)") and who is
 *                                                    there, in the order they joined
 *   {"type":"join","name":NAME}                      to everyone else
 *   {"type":"leave","name":NAME}                     to everyone else
 *   {"type":"message","name":NAME,"text":TEXT}       to everyone, the sender included
 *
 * Names are trimmed and cut to 32 characters (empty: anon-N); lines are cut to 4 KiB.
 *
 * Connection state (#state, its data-state attribute): connecting, connected (once welcomed),
 * reconnecting (after a connection is lost: again after 0.5 s, then doubling up to 30 s, with
 * jitter; at once when the browser comes back online), disconnected (before joining and after
 * Leave).
 *
 * Development aid: ?ws=URL on the page's own URL connects to that WebSocket URL instead (for
 * example ?ws=ws://127.0.0.1:4650/chat when another server serves the page); ?name= is added.
 */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    state: $("state"),
    joinForm: $("join-form"),
    name: $("name"),
    chat: $("chat"),
    users: $("users"),
    count: $("count"),
    leave: $("leave"),
    messages: $("messages"),
    sendForm: $("send-form"),
    input: $("input"),
    send: $("send"),
  };

  const RETRY_FIRST_MS = 500;
  const RETRY_MAX_MS = 30000;

  let wanted = ""; // the name asked for
  let me = null; // the name the server gave, once welcomed
  let users = [];
  let socket = null;
  let retries = 0;
  let retryTimer = null;

  /** The chat service's URL for `name`: the page's host, or the ?ws= development override. */
  function chatUrl(name) {
    const override = new URLSearchParams(location.search).get("ws");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = new URL(override || `${scheme}//${location.host}/chat`);
    url.searchParams.set("name", name);
    return url.href;
  }

  const LABELS = {
    connecting: "connecting…",
    connected: "connected",
    reconnecting: "reconnecting…",
    disconnected: "disconnected",
  };

  function setState(state, text) {
    ui.state.dataset.state = state;
    ui.state.textContent = text || LABELS[state];
    const usable = state === "connected";
    ui.input.disabled = !usable;
    ui.send.disabled = !usable;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    setState(retries === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(chatUrl(wanted));
    } catch (error) {
      note(`Cannot connect: ${error.message}`);
      setState("disconnected");
      return;
    }
    socket = ws;
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not ours
      }
      receive(message);
    };
    ws.onclose = () => {
      if (socket !== ws) return; // a connection we already let go of
      socket = null;
      if (me !== null) note("Connection lost.");
      me = null;
      retryLater();
    };
  }

  function retryLater() {
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** retries) * (0.5 + Math.random() / 2);
    retries += 1;
    setState("reconnecting", `reconnecting in ${Math.max(1, Math.round(delay / 1000))} s…`);
    retryTimer = setTimeout(connect, delay);
  }

  function receive(message) {
    switch (message.type) {
      case "welcome": {
        const again = retries > 0;
        retries = 0;
        me = String(message.you);
        users = Array.isArray(message.users) ? message.users.map(String) : [me];
        setState("connected");
        note(again ? `Back, as ${me}.` : `You joined as ${me}.`);
        showUsers();
        ui.input.focus();
        break;
      }
      case "join":
        users.push(String(message.name));
        note(`${message.name} joined.`);
        showUsers();
        break;
      case "leave": {
        const at = users.indexOf(String(message.name));
        if (at >= 0) users.splice(at, 1);
        note(`${message.name} left.`);
        showUsers();
        break;
      }
      case "message":
        say(String(message.name), String(message.text));
        break;
      default:
        break; // a newer server's message: ignored
    }
  }

  function showUsers() {
    ui.users.replaceChildren(
      ...users.map((name) => {
        const item = document.createElement("li");
        item.textContent = name;
        item.dataset.name = name;
        if (name === me) {
          item.classList.add("me");
          item.append(" ");
          const you = document.createElement("span");
          you.className = "you";
          you.textContent = "(you)";
          item.append(you);
        }
        return item;
      }),
    );
    ui.count.textContent = String(users.length);
  }

  /** Appends an item to the messages, keeping the view at the bottom if it was there. */
  function append(item) {
    const list = ui.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.append(item);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function timeElement() {
    const now = new Date();
    const time = document.createElement("time");
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return time;
  }

  function say(name, text) {
    const item = document.createElement("li");
    item.className = name === me ? "line mine" : "line";
    const head = document.createElement("div");
    head.className = "head";
    const who = document.createElement("strong");
    who.className = "name";
    who.textContent = name;
    head.append(who, " ", timeElement());
    const body = document.createElement("p");
    body.className = "text";
    body.textContent = text;
    item.append(head, body);
    append(item);
  }

  function note(text) {
    const item = document.createElement("li");
    item.className = "note";
    item.append(timeElement(), " ", text);
    append(item);
  }

  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    wanted = ui.name.value.trim();
    ui.joinForm.hidden = true;
    ui.chat.hidden = false;
    retries = 0;
    connect();
  });

  ui.sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.input.value;
    if (!text.trim() || socket === null || socket.readyState !== WebSocket.OPEN) return;
    socket.send(text);
    ui.input.value = "";
    ui.input.focus();
  });

  ui.leave.addEventListener("click", () => {
    clearTimeout(retryTimer);
    retryTimer = null;
    const ws = socket;
    socket = null;
    me = null;
    if (ws) ws.close(1000, "left");
    users = [];
    showUsers();
    note("You left.");
    setState("disconnected");
    ui.chat.hidden = true;
    ui.joinForm.hidden = false;
    ui.name.focus();
  });

  // Back online: no need to wait for the next try.
  window.addEventListener("online", () => {
    if (retryTimer !== null) connect();
  });
})();
