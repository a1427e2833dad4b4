//! Three daemons on one PostgreSQL database share the work that must
//! happen once (an IMAP account, the outbox, the scheduler) through
//! leases: the holders are killed with SIGKILL twenty times while eight
//! writers use all three control sockets and mail keeps arriving, and in
//! the end every acknowledged command is there once, every mail is on one
//! timeline once, no mail went out twice, and every overdue notice and
//! digest was made once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::daemon::Daemon;
use crate::helpers::Bin;
use crate::mailserver::{Dovecot, MailUser, Smtp};
use crate::pg::Cluster;
use leadline::daemon::client::Client;
use leadline::daemon::Request;

/// Mails delivered in all, in waves while the daemons are killed.
const MAILS: usize = 2000;
const WAVE: usize = 200;
/// Leads the mails come from (so each lands on a timeline).
const SENDERS: usize = 20;
const KILLS: usize = 20;

/// One of the three daemons: its folder, config, and the running process.
struct Replica {
    bin: Bin,
    cfg: PathBuf,
    daemon: Option<Daemon>,
}

struct Setup {
    cluster: Cluster,
    url: String,
    _dovecot: Dovecot,
    sales: MailUser,
    customer: MailUser,
    _smtp: Smtp,
}

impl Setup {
    fn command(&self, r: &Replica) -> Command {
        let mut c = r.bin.configured(&r.cfg);
        c.env("LEADLINE_DATABASE_URL", &self.url)
            .env("LEADLINE_TEST_IMAP", &self.sales.password);
        c
    }

    fn start(&self, r: &mut Replica) {
        r.daemon = Some(Daemon::start_with(self.command(r)));
    }

    fn held_by_other(&self, name: &str, not: Option<&str>) -> String {
        held_by_other(&self.cluster, name, not)
    }

    /// The values under `prefix` in the database, as JSON.
    fn values(&self, prefix: &str) -> Vec<serde_json::Value> {
        self.cluster
            .psql(
                "leadline",
                &format!(
                    "SELECT convert_from(v, 'UTF8') FROM leadline_kv \
                     WHERE k >= '{prefix}'::bytea AND k < '{prefix}~'::bytea ORDER BY k"
                ),
            )
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).expect("json value"))
            .collect()
    }
}

/// Waits (up to 30 s) until lease `name` is held by someone other than
/// `not`; returns the holder.
fn held_by_other(cluster: &Cluster, name: &str, not: Option<&str>) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let h = cluster.psql(
            "leadline",
            &format!(
                "SELECT holder FROM leadline_leases WHERE name = '{name}' \
                 AND expires_at > clock_timestamp()"
            ),
        );
        if !h.is_empty() && Some(h.as_str()) != not {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "nobody took the {name} lease over from {not:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The process id in a holder's name (`host:pid:random`).
fn pid_of(holder: &str) -> u32 {
    holder
        .split(':')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("host:pid:random")
}

fn raw_mail(k: usize) -> Vec<u8> {
    format!(
        "From: s{}@customer.example\r\nTo: sales@example.com\r\nSubject: Question {k}\r\n\
         Message-ID: <q{k}@customer.example>\r\nDate: Mon, 30 Nov 2026 09:30:00 +0100\r\n\r\n\
         Question number {k}.\r\n",
        k % SENDERS
    )
    .into_bytes()
}

/// What the writers had acknowledged.
#[derive(Default)]
struct Acked {
    leads: Vec<String>,
    mails: Vec<String>,
    tasks: Vec<String>,
}

/// One writer: `/lead new`, and for some of them `/email` and an overdue
/// `/task`, through the daemons' sockets in turn; a command whose daemon
/// died is not acknowledged and not sent again.
fn writer(
    w: usize,
    datas: Vec<PathBuf>,
    due: chrono::DateTime<chrono::Utc>,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Acked>>,
) {
    let mut at = w % datas.len();
    let mut client: Option<Client> = None;
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        // A team's pace, not a benchmark's: the outbox keeps up.
        std::thread::sleep(Duration::from_millis(100));
        let Some(c) = client.as_mut() else {
            client = Client::connect(&datas[at]);
            if client.is_none() {
                at = (at + 1) % datas.len();
                std::thread::sleep(Duration::from_millis(50));
            }
            continue;
        };
        let mut send = |line: String| {
            let v = c.request(&Request {
                cmd: Some(line),
                ..Default::default()
            });
            match v {
                Ok(v) if v["ok"] == true => Some(v["reply"].as_str().unwrap_or("").to_string()),
                _ => None,
            }
        };
        let topic = format!("W{w}x{i}");
        i += 1;
        let made = send(format!(
            "/lead new topic:{topic} email:{}@customer.example company:\"{topic} GmbH\"",
            topic.to_lowercase()
        ));
        let lead = made.as_deref().and_then(|r| {
            let at = r.find("L-")?;
            let digits: String = r[at + 2..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            (!digits.is_empty()).then(|| format!("L-{digits}"))
        });
        let Some(lead) = lead else {
            // The daemon went away (or stops): on to the next.
            client = None;
            at = (at + 1) % datas.len();
            continue;
        };
        acked.lock().expect("acked").leads.push(topic.clone());
        if i % 10 == 0 {
            let subject = format!("Offer {topic}");
            if send(format!(
                "/email {lead} subject:\"{subject}\" body:\"Hello.\""
            ))
            .is_some()
            {
                acked.lock().expect("acked").mails.push(subject);
            } else {
                client = None;
                at = (at + 1) % datas.len();
                continue;
            }
        }
        // Tasks fall due while the daemons are killed.
        if i % 5 == 0 && chrono::Utc::now() + chrono::Duration::seconds(5) < due {
            let task = format!("Call {topic}");
            let when = due.format("%Y-%m-%d %H:%M");
            if send(format!("/task {lead} \"{task}\" due:\"{when}\"")).is_some() {
                acked.lock().expect("acked").tasks.push(task);
            } else {
                client = None;
                at = (at + 1) % datas.len();
            }
        }
    }
}

#[test]
fn three_daemons_share_leased_work_and_twenty_kills_lose_nothing_and_do_nothing_twice() {
    let cluster = Cluster::start(&[]);
    let url = cluster.url("leadline", None);
    let dovecot = Dovecot::start();
    let sales = dovecot.user("sales");
    let customer = dovecot.user("customer");
    let smtp = Smtp::start(&customer, &[]);
    let config = format!(
        "[store]\nbackend = \"postgres\"\nlease_seconds = 2\n\
         [team]\ntimezone = \"UTC\"\ndomains = [\"example.com\"]\ndefault_user = \"maria\"\n\
         [[team.members]]\nname = \"maria\"\nemail = \"maria@example.com\"\n\
         [[team.members]]\nname = \"jonas\"\nemail = \"jonas@example.com\"\n\
         [[team.members]]\nname = \"lena\"\nemail = \"lena@example.com\"\n\
         [scheduler]\nsweep = \"* * * * *\"\ndigest = \"0 0 * * *\"\n\
         [mail]\nbatch = 50\n\
         [[mail.accounts]]\nname = \"sales\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nuser = \"sales\"\npassword_env = \"LEADLINE_TEST_IMAP\"\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"Maria <maria@example.com>\"\n",
        dovecot.port, smtp.port
    );
    let setup = Setup {
        cluster,
        url,
        _dovecot: dovecot,
        sales,
        customer,
        _smtp: smtp,
    };
    let mut replicas: Vec<Replica> = (0..3)
        .map(|_| {
            let bin = Bin::new();
            let cfg = bin.file("replica.toml", &config);
            Replica {
                bin,
                cfg,
                daemon: None,
            }
        })
        .collect();
    // The customers who write in.
    for j in 0..SENDERS {
        let out = setup
            .command(&replicas[0])
            .args([
                "cmd",
                &format!("/lead new topic:Sender{j} email:s{j}@customer.example company:\"Sender {j} AG\""),
            ])
            .output()
            .expect("run");
        crate::helpers::stdout_of(out, "a sender's lead");
    }
    let mut delivered = 0;
    let mut deliver_wave = |n: usize| {
        for _ in 0..n.min(MAILS - delivered) {
            setup.sales.deliver(&raw_mail(delivered), "F");
            delivered += 1;
        }
    };
    deliver_wave(WAVE);
    for r in &mut replicas {
        setup.start(r);
    }
    // Each lease has one holder among the three.
    for name in ["imap:sales", "outbox", "scheduler"] {
        setup.held_by_other(name, None);
    }
    let status = setup
        .command(&replicas[0])
        .args(["--json", "status"])
        .output()
        .expect("status");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    let all = status["leases"]["all"]
        .as_array()
        .expect("the leases in status");
    assert!(
        all.iter().filter(|l| l["holder"].is_string()).count() >= 3,
        "{all:?}"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Acked::default()));
    let datas: Vec<PathBuf> = replicas.iter().map(|r| r.bin.data()).collect();
    // The tasks' due time: the first full minute at least 30 s ahead.
    let due = {
        use chrono::{DurationRound, TimeDelta};
        let ahead = chrono::Utc::now() + TimeDelta::seconds(30);
        ahead
            .duration_trunc(TimeDelta::minutes(1))
            .expect("a minute")
            + TimeDelta::minutes(1)
    };
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (datas, stop, acked) = (datas.clone(), stop.clone(), acked.clone());
            std::thread::spawn(move || writer(w, datas, due, stop, acked))
        })
        .collect();
    let mut takeovers = Vec::new();
    for k in 0..KILLS {
        if k % 2 == 0 {
            deliver_wave(WAVE);
        }
        let name = ["imap:sales", "outbox", "scheduler"][k % 3];
        let holder = setup.held_by_other(name, None);
        let pid = pid_of(&holder);
        let r = replicas
            .iter_mut()
            .find(|r| r.daemon.as_ref().is_some_and(|d| d.pid() == pid))
            .expect("the holder is one of the three");
        let mut d = r.daemon.take().expect("running");
        d.signal("-KILL");
        d.wait(10);
        let killed = Instant::now();
        setup.start(r);
        let next = setup.held_by_other(name, Some(&holder));
        takeovers.push(killed.elapsed());
        assert_ne!(next, holder);
        std::thread::sleep(Duration::from_millis(300));
    }
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer");
    }
    assert_eq!(delivered, MAILS);
    let acked = std::mem::take(&mut *acked.lock().expect("acked"));
    assert!(acked.leads.len() > 100, "{}", acked.leads.len());

    // Every mail arrives on one timeline once.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mails_on_timelines = || {
        let mut ids: BTreeMap<String, usize> = BTreeMap::new();
        for a in setup.values("r/activity/") {
            if let Some(id) = a["details"]["message_id"].as_str() {
                if id.starts_with('q') || id.starts_with("<q") {
                    *ids.entry(id.trim_matches(['<', '>']).to_string())
                        .or_default() += 1;
                }
            }
        }
        ids
    };
    let ids = loop {
        let ids = mails_on_timelines();
        if ids.len() >= MAILS || Instant::now() > deadline {
            break ids;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(ids.len(), MAILS, "mails missing from the timelines");
    let twice: Vec<_> = ids.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "mails on a timeline more than once: {twice:?}"
    );

    // Every acknowledged lead is there once, numbered without a gap.
    let leads = setup.values("r/lead/");
    let mut topics: BTreeMap<String, usize> = BTreeMap::new();
    for l in &leads {
        *topics
            .entry(l["topic"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let numbers: Vec<u64> = leads.iter().filter_map(|l| l["number"].as_u64()).collect();
    let expected: Vec<u64> = (1001..1001 + numbers.len() as u64).collect();
    assert_eq!(numbers, expected, "lead numbers with a gap");
    assert!(topics.values().all(|n| *n == 1), "a lead made twice");
    for t in &acked.leads {
        assert_eq!(topics.get(t), Some(&1), "acknowledged {t}");
    }

    // A last pass of the scheduler once the tasks are due, then the
    // outbox drains.
    while chrono::Utc::now() < due + chrono::TimeDelta::seconds(1) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let tick = setup
        .command(&replicas[0])
        .args(["tick"])
        .output()
        .expect("tick");
    assert!(
        tick.status.success(),
        "{}",
        String::from_utf8_lossy(&tick.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let outbox = loop {
        let outbox = setup.values("q/outbox/");
        let busy = outbox
            .iter()
            .filter(|m| matches!(m["state"].as_str(), Some("pending" | "sending")))
            .count();
        if busy == 0 || Instant::now() > deadline {
            break outbox;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // What the SMTP server got, by (recipient, subject).
    let mut received: BTreeMap<(String, String), usize> = BTreeMap::new();
    for m in setup.customer.messages() {
        let header = |name: &str| {
            m.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        *received
            .entry((header("To:"), header("Subject:")))
            .or_default() += 1;
    }
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "mail delivered twice: {twice:?}");
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let mut subjects: BTreeSet<String> = BTreeSet::new();
    for m in &outbox {
        let state = m["state"].as_str().unwrap_or("?").to_string();
        let subject = m["subject"].as_str().unwrap_or_default().to_string();
        let to = m["to"][0].as_str().unwrap_or_default().to_string();
        let got = received
            .iter()
            .filter(|((t, s), _)| t.contains(&to) && s.starts_with(&subject))
            .map(|(_, n)| *n)
            .sum::<usize>();
        match state.as_str() {
            "sent" => assert_eq!(got, 1, "{subject} to {to} marked sent"),
            "uncertain" => assert!(got <= 1, "{subject}"),
            other => panic!("outbox mail {subject} left {other}: {m}"),
        }
        assert!(
            subjects.insert(format!("{to} {subject}")),
            "queued twice: {subject}"
        );
        *states.entry(state).or_default() += 1;
    }
    for s in &acked.mails {
        assert!(
            subjects.iter().any(|q| q.contains(s.as_str())),
            "acknowledged mail {s} is not in the outbox"
        );
    }
    // One digest per member and day, one overdue notice per task.
    let notices = setup.values("q/notice/");
    let digests: Vec<&serde_json::Value> =
        notices.iter().filter(|n| n["kind"] == "digest").collect();
    let mut per_member: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &digests {
        *per_member
            .entry(d["to"].as_str().unwrap_or(""))
            .or_default() += 1;
    }
    assert_eq!(
        per_member.keys().copied().collect::<Vec<_>>(),
        ["jonas", "lena", "maria"],
        "{digests:?}"
    );
    let days = per_member.values().copied().max().unwrap_or(0);
    assert!(
        per_member.values().all(|n| *n == days) && days <= 2,
        "digests: {per_member:?}"
    );
    let mut overdue: BTreeMap<String, usize> = BTreeMap::new();
    for n in notices
        .iter()
        .filter(|n| n["kind"] == "overdue" && n["about"]["kind"] == "activity")
    {
        *overdue.entry(n["about"].to_string()).or_default() += 1;
    }
    assert!(overdue.values().all(|n| *n == 1), "an overdue notice twice");
    let tasks = setup
        .values("r/activity/")
        .into_iter()
        .filter(|a| {
            a["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with("Call W"))
        })
        .count();
    assert!(!acked.tasks.is_empty() && tasks >= acked.tasks.len());
    assert_eq!(overdue.len(), tasks, "every overdue task announced once");
    eprintln!(
        "replicas: {} leads, {} mails, outbox {states:?}, {} overdue notices, {} digests, takeovers {:?}",
        acked.leads.len(),
        ids.len(),
        overdue.len(),
        digests.len(),
        takeovers
    );
}

#[test]
fn one_daemon_at_a_time_connects_the_discord_gateway_and_another_takes_over_when_it_dies() {
    use crate::fakediscord::FakeDiscord;
    let cluster = Cluster::start(&[]);
    let url = cluster.url("leadline", None);
    let fake = FakeDiscord::start();
    let config = format!(
        "[store]\nbackend = \"postgres\"\nlease_seconds = 2\n\
         [team]\ndefault_user = \"maria\"\n\
         [[team.members]]\nname = \"maria\"\nrole = \"manager\"\ndiscord_id = \"111\"\n\
         [chat]\ntoken_env = \"LEADLINE_DISCORD_TOKEN\"\nguild = \"1\"\napi_base = \"{}\"\n",
        fake.base()
    );
    let start = |b: &Bin| {
        let cfg = b.file("chat.toml", &config);
        let mut c = b.configured(&cfg);
        c.env("LEADLINE_DATABASE_URL", &url)
            .env("LEADLINE_DISCORD_TOKEN", "fake-token");
        Daemon::start_with(c)
    };
    let (a, b) = (Bin::new(), Bin::new());
    let mut daemons = vec![start(&a), start(&b)];
    let gateways = || *fake.gateways.lock().expect("lock");
    let until = |what: &str, f: &dyn Fn((usize, usize, usize)) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f(gateways()) {
            assert!(Instant::now() < deadline, "{what}: {:?}", gateways());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    until("a gateway connection", &|g| g.0 == 1);
    // Longer than a lease: the other daemon stays off the gateway.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(gateways(), (1, 1, 1), "(open, most at once, in all)");
    let holder = held_by_other(&cluster, "discord", None);
    let pid = pid_of(&holder);
    let at = daemons
        .iter()
        .position(|d| d.pid() == pid)
        .expect("one of the two holds it");
    // `status` on each says which one connects and that the other waits.
    let bins = [&a, &b];
    let discord_state = |i: usize| {
        let out = bins[i]
            .configured(bins[i].dir.path().join("chat.toml"))
            .env("LEADLINE_DATABASE_URL", &url)
            .args(["--json", "status"])
            .output()
            .expect("status");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
        assert_eq!(
            v["leases"]["daemon"].as_str().map(pid_of),
            Some(daemons[i].pid())
        );
        v["discord"]["state"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(discord_state(at), "on");
    assert_eq!(
        discord_state(1 - at),
        "standby: another daemon holds the discord lease"
    );
    let mut killed = daemons.remove(at);
    killed.signal("-KILL");
    killed.wait(10);
    // The other one takes the lease over and connects.
    until("the other daemon's gateway", &|g| g.2 == 2 && g.0 == 1);
    assert_ne!(held_by_other(&cluster, "discord", Some(&holder)), holder);
    assert_eq!(gateways().1, 1, "never two gateways at once");
    // And answers the team.
    fake.slash(
        7,
        "111",
        "lead",
        serde_json::json!([{"name": "new", "type": 1, "options": [{"name": "fields", "type": 3, "value": "topic:Chairs last:Schmidt"}]}]),
    );
    let r = fake.wait_call("/interactions/7/token-7/callback").body;
    assert!(r.to_string().contains("Created L-1001 Chairs"), "{r}");
}
