//! The daemon's one write path: every write goes through the core's
//! group-commit writer, and the async runtime never waits for a commit. A
//! backend that takes 400 ms per commit (a slow disk, a database across a
//! network) must not slow down reads on the control socket or in chat.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use leadline::command::{Tx, TxError};
use leadline::config::Config;
use leadline::core::Leadline;
use leadline::store::{Backend, Durability, Durable, Ticket, Unit};

use crate::fakediscord::FakeDiscord;

/// The embedded store, with every commit 400 ms late: far above what a
/// read may take on a busy test machine (150 ms), so a read that waited
/// for the writer shows.
struct Slow {
    inner: Arc<dyn Backend>,
    commits: AtomicUsize,
}

impl Backend for Slow {
    fn location(&self) -> String {
        format!("slow {}", self.inner.location())
    }

    fn read(&self, read: &mut dyn FnMut(&mut dyn Tx)) -> Result<(), TxError> {
        self.inner.read(read)
    }

    fn commit(
        &self,
        count: usize,
        unit: Unit<'_>,
        durability: Durability,
    ) -> Result<Ticket, TxError> {
        std::thread::sleep(Duration::from_millis(400));
        self.commits.fetch_add(1, Ordering::SeqCst);
        self.inner.commit(count, unit, durability)
    }

    fn when_durable(&self, ticket: Ticket, done: Durable) {
        self.inner.when_durable(ticket, done)
    }

    fn make_durable(&self, ticket: Ticket) -> Result<(), TxError> {
        self.inner.make_durable(ticket)
    }

    fn flush(&self) -> Result<(), TxError> {
        self.inner.flush()
    }

    fn export(&self, sink: leadline::store::ExportSink<'_>) -> Result<(), TxError> {
        self.inner.export(sink)
    }

    fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<leadline::store::lease::Lease>, TxError> {
        self.inner.take_lease(name, holder, ttl)
    }

    fn end_lease(&self, name: &str, holder: &str) -> Result<(), TxError> {
        self.inner.end_lease(name, holder)
    }

    fn leases(&self) -> Result<Vec<leadline::store::lease::Lease>, TxError> {
        self.inner.leases()
    }
}

/// One control-socket connection.
struct Conn {
    stream: UnixStream,
    lines: BufReader<UnixStream>,
}

impl Conn {
    fn new(path: &std::path::Path) -> Conn {
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => panic!("no control socket: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let lines = BufReader::new(stream.try_clone().expect("clone"));
        Conn { stream, lines }
    }

    fn ask(&mut self, request: serde_json::Value) -> serde_json::Value {
        let mut line = request.to_string();
        line.push('\n');
        self.stream.write_all(line.as_bytes()).expect("send");
        let mut answer = String::new();
        self.lines.read_line(&mut answer).expect("answer");
        serde_json::from_str(&answer).expect("JSON answer")
    }
}

#[test]
fn with_a_backend_slow_to_commit_reads_on_the_socket_and_in_chat_still_answer_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let slow = Arc::new(Slow {
        inner: leadline::store::temporary().expect("store"),
        commits: AtomicUsize::new(0),
    });
    let backend: Arc<dyn Backend> = slow.clone();
    // The bot of a team of one, against the fake Discord.
    let discord = FakeDiscord::start();
    std::env::set_var("LEADLINE_WRITE_PATH_TOKEN", "fake-token");
    let config = Config::parse(
        &format!(
            "[team]\ndefault_user = \"maria\"\n\
             [[team.members]]\nname = \"maria\"\nrole = \"manager\"\ndiscord_id = \"111\"\n\
             [chat]\ntoken_env = \"LEADLINE_WRITE_PATH_TOKEN\"\nguild = \"1\"\napi_base = \"{}\"\n",
            discord.base()
        ),
        "write path test",
    )
    .expect("config");
    let core = Leadline::new(backend, Arc::new(config), dir.path().join("secrets"));
    let socket = dir.path().join("leadline.sock");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = {
        let socket = socket.clone();
        std::thread::spawn(move || {
            leadline::daemon::run_until(core, &socket, false, None, async move {
                let _ = stopped.await;
            })
        })
    };
    let mut reader = Conn::new(&socket);
    let made = reader.ask(serde_json::json!({"cmd": "/lead new topic:Chairs last:Schmidt"}));
    assert_eq!(made["ok"], true, "{made}");
    discord.wait_call("/guilds/1/commands");

    // Writers keep the slow backend busy: each write waits its turn.
    let writing = Arc::new(AtomicBool::new(true));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (socket, writing) = (socket.clone(), writing.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::new(&socket);
                let mut written = 0;
                while writing.load(Ordering::SeqCst) {
                    let a = conn.ask(serde_json::json!({
                        "cmd": format!("/lead new topic:\"Desks {w}-{written}\" last:Weber")
                    }));
                    assert_eq!(a["ok"], true, "{a}");
                    written += 1;
                }
                written
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    let mut slowest = Duration::ZERO;
    let mut deepest_queue = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let shown = reader.ask(serde_json::json!({"cmd": "/show L-1001"}));
        slowest = slowest.max(t.elapsed());
        assert!(
            shown["reply"].as_str().unwrap_or("").contains("Chairs"),
            "{shown}"
        );
        let t = Instant::now();
        let status = reader.ask(serde_json::json!({"status": true}));
        slowest = slowest.max(t.elapsed());
        let queue = status["status"]["writer"]["queue"]
            .as_u64()
            .expect("the writer's queue depth in status");
        deepest_queue = deepest_queue.max(queue);
        std::thread::sleep(Duration::from_millis(50));
    }
    // A read in chat: the callback comes while commits keep the writer busy
    // (measured by polling every 20 ms; a runtime waiting for the writer
    // would take a 400 ms commit at least).
    let mut slowest_chat = Duration::ZERO;
    for id in 1..=5u64 {
        let t = Instant::now();
        discord.slash(
            id,
            "111",
            "find",
            serde_json::json!([{"name": "args", "type": 3, "value": "Chairs"}]),
        );
        let answer = discord
            .wait_call(&format!("/interactions/{id}/token-{id}/callback"))
            .body;
        slowest_chat = slowest_chat.max(t.elapsed());
        assert!(answer.to_string().contains("L-1001"), "{answer}");
    }
    writing.store(false, Ordering::SeqCst);
    let written: usize = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    assert!(
        slowest < Duration::from_millis(150),
        "a read took {slowest:?} while commits take 400 ms"
    );
    assert!(
        slowest_chat < Duration::from_millis(200),
        "a read in chat took {slowest_chat:?} while commits take 400 ms"
    );
    assert!(
        deepest_queue > 0,
        "status never showed a write waiting for the writer"
    );
    // Group commit: writes that waited together were committed together.
    let commits = slow.commits.load(Ordering::SeqCst);
    assert!(written > 0);
    assert!(
        commits < written + 1,
        "{commits} commits for {written} writes"
    );
    // Every acknowledged write is there.
    let listed = reader.ask(serde_json::json!({"cmd": "/list leads limit:100"}));
    let shown = listed["reply"].as_str().unwrap_or("");
    assert_eq!(shown.lines().count(), written + 1, "{shown}");
    let _ = stop.send(());
    daemon.join().expect("daemon thread").expect("daemon ran");
}
