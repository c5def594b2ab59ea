//! Scale-out over Redis (issue 21), against a real `redis-server` on loopback (Debian's, which
//! the test command installs) and, for the load balancer, a real `haproxy`:
//!
//! - three `chat --redis` processes are one room: a line said on one node reaches the others;
//!   a node killed with SIGKILL loses only its own sessions, is named as silent by a query, and
//!   leaves the registry within its expiry; `redis-server` killed and restarted: the nodes
//!   reconnect by themselves, lines flow again, and the lost ones are reported as gaps;
//! - two in-process servers on one Redis: `send_to`, `close_session`, `broadcast_except` and
//!   topics reach a session held by the other node, and a node's own broadcast is delivered once;
//! - haproxy in front of three `chat` nodes (round robin, upgrades passed through): clients
//!   that land on different nodes are one chat.

use laputa::cluster::{Cluster, ClusterSessions};
use laputa::server::{Sent, Server, Service, Session};
use laputa::tokio::Tokio;
use laputa::{CloseCode, Error, Message};
use laputa_tests::{example_bin, free_port, out_dir, ChildGuard};
use serde_json::{json, Value};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// No step takes this long unless it is broken.
const WAIT: Duration = Duration::from_secs(20);
/// The whole of one test, at most.
const WATCHDOG: Duration = Duration::from_secs(120);

fn run(name: &str, scenario: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio");
    runtime.block_on(async {
        tokio::time::timeout(WATCHDOG, scenario).await.unwrap_or_else(|_| panic!("{name} hung"));
    });
}

/// A throwaway `redis-server` on a loopback port, no persistence; killed when dropped.
struct Redis {
    addr: SocketAddr,
    dir: PathBuf,
    process: Option<ChildGuard>,
    starts: usize,
    /// `--port PORT` or TLS's flags, and any others (a password).
    args: Vec<String>,
}

impl Redis {
    fn start(dir: PathBuf) -> Self {
        let addr = free_port();
        Self::start_with(dir, addr, vec!["--port".into(), addr.port().to_string()])
    }

    fn start_with(dir: PathBuf, addr: SocketAddr, args: Vec<String>) -> Self {
        let mut redis = Redis { addr, dir, process: None, starts: 0, args };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Starts it (again) on the same port.
    fn restart(&mut self) {
        self.starts += 1;
        let log = self.dir.join(format!("redis-{}.log", self.starts));
        let args = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        let mut process = ChildGuard::spawn(Command::new("redis-server").args(args).args(&self.args), &log);
        process.wait_for_output("Ready to accept connections", WAIT);
        self.process = Some(process);
    }

    /// SIGKILL: no goodbye to anyone.
    fn kill(&mut self) {
        drop(self.process.take());
    }
}

/// A `chat --redis` process, its logs at `info` so that the test sees it subscribe.
fn chat_node(node: &str, redis: &Redis, dir: &std::path::Path) -> (ChildGuard, SocketAddr) {
    let addr = free_port();
    let mut chat = ChildGuard::spawn(
        Command::new(example_bin("chat"))
            .args(["--addr", &addr.to_string(), "--redis", &redis.url(), "--node", node])
            .env("RUST_LOG", "laputa::cluster=info"),
        &dir.join(format!("chat-{node}.log")),
    );
    chat.wait_for_output(&format!("chat: open http://{addr}/ (node {node} "), WAIT);
    chat.wait_for_output("subscribed to the cluster", WAIT);
    (chat, addr)
}

/// Waits until `ready` holds, checking every 10 ms; panics with `what` after [`WAIT`].
async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !ready() {
        assert!(Instant::now() < deadline, "after {WAIT:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many times `text` is in `process`'s output.
fn said(process: &ChildGuard, text: &str) -> usize {
    process.output().matches(text).count()
}

/// Waits until `process` has written `text` `times` times.
async fn until_said(process: &ChildGuard, text: &str, times: usize) {
    let what = format!("no {text:?} x{times} in {}", process.output());
    until(&what, || said(process, text) >= times).await;
}

/// A WebSocket client whose messages a task of its own reads into a channel, so that waiting
/// for one with a deadline never cuts a read in half.
struct Client {
    writer: laputa::tokio::WriteHalf<laputa::tokio::ClientStream>,
    inbox: mpsc::UnboundedReceiver<Result<Message, Error>>,
}

impl Client {
    async fn connect(url: &str) -> Client {
        let (ws, _) = laputa::tokio::connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let (mut reader, writer) = ws.split();
        let (tx, inbox) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let next = reader.recv().await;
                let end = next.is_err();
                if tx.send(next).is_err() || end {
                    return;
                }
            }
        });
        Client { writer, inbox }
    }

    async fn send(&mut self, text: &str) {
        self.writer.send(text.to_owned()).await.expect("sent");
    }

    /// The next message, within `limit`: `None` if none came.
    async fn next_within(&mut self, limit: Duration) -> Option<Result<Message, Error>> {
        tokio::time::timeout(limit, self.inbox.recv()).await.ok().flatten()
    }

    async fn text(&mut self) -> String {
        match self.next_within(WAIT).await {
            Some(Ok(Message::Text(text))) => text.to_string(),
            other => panic!("not a text message: {other:?}"),
        }
    }

    async fn json(&mut self) -> Value {
        let text = self.text().await;
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    /// How the other side ended the connection.
    async fn closed(&mut self) -> Error {
        loop {
            match self.next_within(WAIT).await {
                Some(Ok(_)) => continue,
                Some(Err(error)) => return error,
                None => panic!("still open after {WAIT:?}"),
            }
        }
    }
}

/// A chat member: welcomed, with the name it asked for.
async fn join(addr: SocketAddr, name: &str) -> Client {
    let mut client = Client::connect(&format!("ws://{addr}/chat?name={name}")).await;
    let welcome = client.json().await;
    assert_eq!((welcome["type"].as_str(), welcome["you"].as_str()), (Some("welcome"), Some(name)), "{welcome}");
    client
}

fn line(name: &str, text: &str) -> Value {
    json!({"type": "message", "name": name, "text": text})
}

/// A node of the test itself on the chat's cluster, with no server: it asks the others.
async fn observer(redis: &Redis) -> Cluster {
    Cluster::builder(&redis.url())
        .prefix("chat")
        .node("observer")
        .heartbeat(Duration::from_millis(200))
        .start()
        .expect("cluster")
}

/// Waits until `cluster`'s registry lists exactly `nodes` besides itself.
async fn until_nodes(cluster: &Cluster, nodes: &[&str]) {
    let live = || {
        let mut live = cluster.nodes();
        live.sort();
        live
    };
    until(&format!("live nodes are not {nodes:?}"), || live() == nodes).await;
}

/// Per node, how many sessions it answered with (the observer's none left out).
fn per_node(seen: &ClusterSessions) -> Vec<(String, usize)> {
    let mut nodes: Vec<_> =
        seen.nodes.iter().filter(|(node, _)| node != "observer").map(|(node, ids)| (node.clone(), ids.len())).collect();
    nodes.sort();
    nodes
}

fn counts(pairs: &[(&str, usize)]) -> Vec<(String, usize)> {
    pairs.iter().map(|(node, n)| (node.to_string(), *n)).collect()
}

#[test]
fn three_chat_nodes_are_one_room_through_a_killed_node_and_a_redis_restart() {
    run("three chat nodes", async {
        let dir = out_dir("cluster-chat");
        let mut redis = Redis::start(dir.clone());
        let (node_a, addr_a) = chat_node("a", &redis, &dir);
        let (node_b, addr_b) = chat_node("b", &redis, &dir);
        let (node_c, addr_c) = chat_node("c", &redis, &dir);

        let mut sheeta = join(addr_a, "Sheeta").await;
        let mut pazu = join(addr_c, "Pazu").await;
        assert_eq!(sheeta.json().await, json!({"type": "join", "name": "Pazu"}), "a join on C reaches A");
        let mut dola = join(addr_b, "Dola").await;
        for client in [&mut sheeta, &mut pazu] {
            assert_eq!(client.json().await, json!({"type": "join", "name": "Dola"}));
        }

        // A line said on C reaches A and B, and C itself, once each.
        pazu.send("Balus").await;
        for client in [&mut sheeta, &mut dola, &mut pazu] {
            assert_eq!(client.json().await, line("Pazu", "Balus"));
        }

        // The cluster-wide view: every node answers with its one session.
        let observer = observer(&redis).await;
        until_nodes(&observer, &["a", "b", "c"]).await;
        let seen = observer.sessions("/chat").await;
        assert!(seen.is_complete(), "{seen:?}");
        assert_eq!(per_node(&seen), counts(&[("a", 1), ("b", 1), ("c", 1)]));
        assert_eq!(seen.count(), 3);

        // Node B is killed without a word: its own session ends, the others chat on.
        drop(node_b);
        assert!(matches!(dola.closed().await, Error::Io(_) | Error::Closed(_)));
        // Until B's registration expires, a query names B as silent and returns the rest.
        let seen = observer.sessions("/chat").await;
        assert_eq!(seen.missing, ["b"], "{seen:?}");
        assert_eq!(per_node(&seen), counts(&[("a", 1), ("c", 1)]));
        sheeta.send("Still here").await;
        for client in [&mut sheeta, &mut pazu] {
            assert_eq!(client.json().await, line("Sheeta", "Still here"));
        }
        // Then B leaves the registry, and its sessions with it.
        until_nodes(&observer, &["a", "c"]).await;
        let seen = observer.sessions("/chat").await;
        assert!(seen.is_complete(), "{seen:?}");
        assert_eq!(seen.count(), 2);

        // Redis is killed: each node goes on serving its own sessions.
        redis.kill();
        until_said(&node_a, "subscription to Redis lost", 1).await;
        until_said(&node_c, "subscription to Redis lost", 1).await;
        pazu.send("Is anyone there?").await;
        assert_eq!(pazu.json().await, line("Pazu", "Is anyone there?"), "C serves its own sessions");

        // Redis is back on its port: the nodes reconnect by themselves and report the outage.
        redis.restart();
        until_said(&node_a, "chat: the subscription to Redis was down for", 1).await;
        until_said(&node_c, "chat: the subscription to Redis was down for", 1).await;
        // Lines flow again once C's publisher is back: Pazu says a numbered line until Sheeta
        // hears one; the line said while Redis was down never arrives.
        let mut heard = None;
        for attempt in 1..=40 {
            let text = format!("Back #{attempt}");
            pazu.send(&text).await;
            assert_eq!(pazu.json().await, line("Pazu", &text));
            if let Some(Ok(Message::Text(got))) = sheeta.next_within(Duration::from_millis(250)).await {
                heard = Some(serde_json::from_str::<Value>(&got).expect("JSON"));
                break;
            }
        }
        let heard = heard.expect("a line from C reaches A again after the restart");
        assert!(heard["text"].as_str().is_some_and(|text| text.starts_with("Back #")), "{heard}");
        // A knows what it missed from C: at least the line said while Redis was down.
        until_said(&node_a, "messages of /chat from node c were lost", 1).await;
        assert_eq!(said(&node_c, "from node a were lost"), 0, "A said nothing meanwhile");
    });
}

/// An echo service: each message goes back to its sender.
fn echo() -> Service {
    Service::new(|| {
        |session: &Session, message: Message| {
            session.send(message);
        }
    })
}

#[test]
fn sends_and_closes_by_id_and_topics_reach_a_session_on_another_node() {
    run("two in-process nodes", async {
        let dir = out_dir("cluster-in-process");
        let redis = Redis::start(dir);
        let node = |id: &str| {
            Cluster::builder(&redis.url())
                .prefix("t")
                .node(id)
                .heartbeat(Duration::from_millis(200))
                .start()
                .expect("cluster")
        };
        let (one, two) = (node("one"), node("two"));
        let start = |cluster: &Cluster| {
            let builder = Server::builder().bind("127.0.0.1:0").service("/svc", echo()).expect("mounted");
            builder.cluster(cluster).start::<Tokio>()
        };
        let server_one = start(&one).await.expect("listening");
        let server_two = start(&two).await.expect("listening");
        until_nodes(&one, &["two"]).await;
        until_nodes(&two, &["one"]).await;
        for cluster in [&one, &two] {
            until(&format!("{} never subscribed", cluster.node()), || cluster.stats().connected).await;
        }

        // Pazu is on node one; node two knows of him only through the cluster.
        let mut pazu = Client::connect(&format!("ws://{}/svc", server_one.local_addr())).await;
        let (local, remote) =
            (server_one.sessions("/svc").expect("mounted"), server_two.sessions("/svc").expect("mounted"));
        until("the session never opened", || local.count() > 0).await;
        let id = local.ids().remove(0);
        assert!(remote.get(&id).is_none());

        let seen = two.sessions("/svc").await;
        assert!(seen.is_complete(), "{seen:?}");
        assert_eq!(seen.nodes, vec![("two".to_owned(), vec![]), ("one".to_owned(), vec![id.clone()])]);

        // send_to from the other node.
        assert_eq!(remote.send_to(&id, "psst"), Some(Sent::Forwarded));
        assert_eq!(pazu.text().await, "psst");
        // broadcast_except skips him on his own node; broadcast reaches him once.
        remote.broadcast_except(&id, "not for Pazu");
        remote.broadcast("for everyone");
        assert_eq!(pazu.text().await, "for everyone");
        // A node's own broadcast is delivered once, not again when it comes back from Redis.
        local.broadcast("once");
        remote.broadcast("marker");
        assert_eq!(pazu.text().await, "once");
        assert_eq!(pazu.text().await, "marker");
        // Topics: only subscribers hear, on whichever node they are.
        remote.publish("news", "before subscribing");
        // Node two's messages cross Redis in order: once this one is in, so is the publish.
        remote.send_to(&id, "sync");
        assert_eq!(pazu.text().await, "sync");
        local.get(&id).expect("open").subscribe("news");
        remote.publish("news", "Laputa sighted");
        assert_eq!(pazu.text().await, "Laputa sighted");
        // close_session from the other node, with its code and reason.
        let closed = remote.close_session(&id, CloseCode(4000), "kicked");
        assert!(matches!(closed, Some(Ok(Sent::Forwarded))), "{closed:?}");
        match pazu.closed().await {
            Error::Closed(closed) => assert_eq!((closed.code, closed.reason.as_str()), (CloseCode(4000), "kicked")),
            other => panic!("{other:?}"),
        }

        let (stats_one, stats_two) = (one.stats(), two.stats());
        assert_eq!((stats_one.gaps, stats_two.gaps), (0, 0), "{stats_one:?} {stats_two:?}");
        assert!(stats_one.received >= 6, "{stats_one:?}");
        server_one.stop(CloseCode::GOING_AWAY, "").await;
        server_two.stop(CloseCode::GOING_AWAY, "").await;
        one.shutdown().await;
        two.shutdown().await;
    });
}

/// haproxy in front of `servers`: round robin, HTTP mode (the upgrade passes through).
fn haproxy(dir: &std::path::Path, servers: &[SocketAddr]) -> (ChildGuard, SocketAddr) {
    let front = free_port();
    let mut config = format!(
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  timeout tunnel 1h\n\
         frontend chat\n  bind {front}\n  default_backend nodes\n\
         backend nodes\n  balance roundrobin\n"
    );
    for (n, server) in servers.iter().enumerate() {
        config.push_str(&format!("  server node{n} {server}\n"));
    }
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).expect("haproxy.cfg");
    let process = ChildGuard::spawn(Command::new("haproxy").arg("-f").arg(&path).arg("-db"), &dir.join("haproxy.log"));
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(front).is_err() {
        assert!(Instant::now() < deadline, "haproxy does not listen:\n{}", process.output());
        std::thread::sleep(Duration::from_millis(20));
    }
    (process, front)
}

#[test]
fn clients_behind_haproxy_on_three_nodes_see_one_chat() {
    run("haproxy", async {
        let dir = out_dir("cluster-haproxy");
        let redis = Redis::start(dir.clone());
        let nodes: Vec<_> = ["x", "y", "z"].iter().map(|node| chat_node(node, &redis, &dir)).collect();
        let (_haproxy, front) = haproxy(&dir, &nodes.iter().map(|(_, addr)| *addr).collect::<Vec<_>>());

        // Round robin: each newcomer lands on another node, so each welcome lists itself alone
        // (a welcome names the members of its own node).
        let mut clients = Vec::new();
        for name in ["Sheeta", "Pazu", "Dola"] {
            let mut client = Client::connect(&format!("ws://{front}/chat?name={name}")).await;
            assert_eq!(client.json().await, json!({"type": "welcome", "you": name, "users": [name]}));
            clients.push(client);
        }
        // ... and still hears the ones who join after it, on the other nodes.
        for (n, client) in clients.iter_mut().enumerate() {
            for name in ["Sheeta", "Pazu", "Dola"].iter().skip(n + 1) {
                assert_eq!(client.json().await, json!({"type": "join", "name": name}));
            }
        }
        for (speaker, name) in ["Sheeta", "Pazu", "Dola"].iter().enumerate() {
            let text = format!("{name} here");
            clients[speaker].send(&text).await;
            for client in clients.iter_mut() {
                assert_eq!(client.json().await, line(name, &text));
            }
        }
    });
}

/// A chat service: each message goes to every session of the service, on every node.
fn room() -> Service {
    Service::new(|| {
        |session: &Session, message: Message| {
            session.sessions().broadcast(message);
        }
    })
}

#[test]
fn a_threaded_server_joins_a_cluster_whose_tasks_run_on_tokio() {
    run("threads and tasks", async {
        let redis = Redis::start(out_dir("cluster-threads"));
        let node = |id: &str| Cluster::builder(&redis.url()).prefix("mixed").node(id).start().expect("cluster");
        let (threads, tasks) = (node("threads"), node("tasks"));
        let builder = |cluster: &Cluster| {
            Server::builder().bind("127.0.0.1:0").service("/room", room()).expect("mounted").cluster(cluster)
        };
        // The blocking server runs on its own threads; only the cluster's tasks are tokio's.
        let threaded = builder(&threads).start_blocking().expect("listening");
        let tasked = builder(&tasks).start::<Tokio>().await.expect("listening");
        for cluster in [&threads, &tasks] {
            until(&format!("{} never subscribed", cluster.node()), || cluster.stats().connected).await;
        }
        let mut sheeta = Client::connect(&format!("ws://{}/room", threaded.local_addr())).await;
        let mut pazu = Client::connect(&format!("ws://{}/room", tasked.local_addr())).await;
        let both = [threaded.sessions("/room").expect("mounted"), tasked.sessions("/room").expect("mounted")];
        until("a session never opened", || both.iter().all(|sessions| sessions.count() > 0)).await;
        sheeta.send("from a thread").await;
        assert_eq!(pazu.text().await, "from a thread");
        assert_eq!(sheeta.text().await, "from a thread");
        pazu.send("from a task").await;
        assert_eq!(sheeta.text().await, "from a task");
        assert_eq!(pazu.text().await, "from a task");
        threaded.stop(CloseCode::GOING_AWAY, "");
        tasked.stop(CloseCode::GOING_AWAY, "").await;
    });
}

#[test]
fn nodes_reach_a_redis_over_tls_with_a_password() {
    run("rediss", async {
        let dir = out_dir("cluster-tls");
        // A CA and a certificate for 127.0.0.1 made now; Redis listens on TLS only.
        let ca_key = rcgen::KeyPair::generate().expect("key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "laputa cluster CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA");
        let ca = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("params");
        let cert = cert.signed_by(&key, &ca).expect("certificate");
        let files = [("ca.pem", ca_cert.pem()), ("cert.pem", cert.pem()), ("key.pem", key.serialize_pem())];
        for (name, pem) in &files {
            std::fs::write(dir.join(name), pem).expect("PEM written");
        }
        let path = |name: &str| dir.join(name).display().to_string();
        let addr = free_port();
        let args = [
            "--port",
            "0",
            "--tls-port",
            &addr.port().to_string(),
            "--tls-cert-file",
            &path("cert.pem"),
            "--tls-key-file",
            &path("key.pem"),
            "--tls-ca-cert-file",
            &path("ca.pem"),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            "balus",
        ];
        let _redis = Redis::start_with(dir.clone(), addr, args.iter().map(|arg| arg.to_string()).collect());

        let url = format!("rediss://:balus@{addr}/");
        let node = |id: &str| {
            Cluster::builder(&url)
                .prefix("tls")
                .node(id)
                .tls_root_certificates(ca_cert.pem().into_bytes())
                .start()
                .expect("cluster")
        };
        let (one, two) = (node("one"), node("two"));
        let start = |cluster: &Cluster| {
            let builder = Server::builder().bind("127.0.0.1:0").service("/room", room()).expect("mounted");
            builder.cluster(cluster).start::<Tokio>()
        };
        let (server_one, server_two) = (start(&one).await.expect("listening"), start(&two).await.expect("listening"));
        until_nodes(&one, &["two"]).await;
        until_nodes(&two, &["one"]).await;
        let mut sheeta = Client::connect(&format!("ws://{}/room", server_one.local_addr())).await;
        let mut pazu = Client::connect(&format!("ws://{}/room", server_two.local_addr())).await;
        let both = [server_one.sessions("/room").expect("mounted"), server_two.sessions("/room").expect("mounted")];
        let ready =
            || both.iter().all(|sessions| sessions.count() > 0) && one.stats().connected && two.stats().connected;
        until("sessions or subscriptions never came", ready).await;
        sheeta.send("over TLS").await;
        assert_eq!(pazu.text().await, "over TLS");
        assert_eq!(sheeta.text().await, "over TLS");

        // A wrong password: the node starts (it never waits for Redis) and stays unsubscribed.
        let wrong = Cluster::builder(&format!("rediss://:wrong@{addr}/"))
            .prefix("tls")
            .tls_root_certificates(ca_cert.pem().into_bytes())
            .start()
            .expect("cluster");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!wrong.stats().connected, "{:?}", wrong.stats());
        assert!(!one.nodes().contains(&wrong.node().to_owned()), "a node refused by Redis is not registered");
        server_one.stop(CloseCode::GOING_AWAY, "").await;
        server_two.stop(CloseCode::GOING_AWAY, "").await;
    });
}

#[test]
fn a_message_past_the_queue_limit_is_dropped_and_the_receiver_reports_the_gap() {
    run("queue limit", async {
        let redis = Redis::start(out_dir("cluster-queue-limit"));
        let gaps = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = gaps.clone();
        // Node "small" holds at most 200 bytes for Redis: a 1 KiB line cannot wait there.
        let small = Cluster::builder(&redis.url()).prefix("q").node("small").queue_limit(200).start().expect("cluster");
        let receiver = Cluster::builder(&redis.url())
            .prefix("q")
            .node("receiver")
            .on_gap(move |gap| seen.lock().expect("gaps").push(gap.clone()))
            .start()
            .expect("cluster");
        let start = |cluster: &Cluster| {
            let builder = Server::builder().bind("127.0.0.1:0").service("/room", room()).expect("mounted");
            builder.cluster(cluster).start::<Tokio>()
        };
        let (server_small, server_receiver) = (start(&small).await.expect("up"), start(&receiver).await.expect("up"));
        let mut pazu = Client::connect(&format!("ws://{}/room", server_receiver.local_addr())).await;
        let sessions = server_receiver.sessions("/room").expect("mounted");
        let ready = || sessions.count() > 0 && small.stats().connected && receiver.stats().connected;
        until("the session or a subscription never came", ready).await;
        let local = server_small.sessions("/room").expect("mounted");
        local.broadcast("first");
        assert_eq!(pazu.text().await, "first");
        local.broadcast("x".repeat(1024));
        assert_eq!(small.stats().dropped, 1, "{:?}", small.stats());
        local.broadcast("third");
        assert_eq!(pazu.text().await, "third", "the large line never crossed");
        let gaps = gaps.lock().expect("gaps").clone();
        assert_eq!(gaps, [laputa::cluster::Gap::Missed { node: "small".into(), path: "/room".into(), count: 1 }]);
        assert_eq!((receiver.stats().gaps, receiver.stats().missed), (1, 1));
    });
}
