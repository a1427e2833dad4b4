//! A disk that fills and frees: writes are refused in words and change
//! nothing, reads go on, a restart on the full disk opens the store, and
//! writes resume by themselves once there is room. The store lives on a
//! small tmpfs mounted for the test (which needs root, as the README's
//! test command runs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::daemon::Daemon;
use crate::helpers::Bin;
use leadline::daemon::client::Client;
use leadline::daemon::Request;

/// A tmpfs mounted on a folder, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(at).expect("mount point");
        let ok = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .expect("run mount")
            .success();
        assert!(ok, "cannot mount a tmpfs (the disk-full test runs as root)");
        Mount(at.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system of `dir` with `dir/filler` until it is full.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![7u8; 256 * 1024];
    while f.write_all(&chunk).is_ok() {}
    // The last bytes that fit.
    while f.write_all(&[7u8; 512]).is_ok() {}
    let _ = f.sync_all();
    path
}

fn ask(c: &mut Client, line: &str) -> serde_json::Value {
    c.request(&Request {
        cmd: Some(line.to_string()),
        ..Default::default()
    })
    .expect("an answer")
}

fn leads(b: &Bin) -> String {
    b.ok("/list leads")
}

#[test]
fn a_full_disk_refuses_writes_that_then_never_count_and_writes_resume_when_there_is_room() {
    let b = Bin::new();
    let _mount = Mount::tmpfs(&b.data(), "80m");
    let mut d = Daemon::start(&b);
    let mut c = Client::connect(&b.data()).expect("daemon");
    for i in 0..5 {
        let v = ask(&mut c, &format!("/lead new topic:Saved{i} last:Schmidt"));
        assert_eq!(v["ok"], true, "{v}");
    }
    let filler = fill(&b.data());

    // Full: every write is refused in words; reads go on.
    for i in 0..20 {
        let v = ask(&mut c, &format!("/lead new topic:Refused{i} last:Weber"));
        assert_eq!(v["ok"], false, "{v}");
        let msg = v["message"].as_str().unwrap_or("");
        assert!(
            msg.contains("disk holding the store is full") && msg.contains("nothing was saved"),
            "{v}"
        );
    }
    assert_eq!(ask(&mut c, "/show L-1005")["ok"], true);
    let status = b.run(&["--json", "status"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status");
    assert!(
        v["store_problem"].as_str().unwrap_or("").contains("full"),
        "{v}"
    );

    // A restart on the full disk opens the store: reads work, writes wait.
    d.signal("-KILL");
    d.wait(10);
    drop(c);
    let mut d = Daemon::start(&b);
    let mut c = Client::connect(&b.data()).expect("daemon");
    assert_eq!(ask(&mut c, "/show L-1003")["ok"], true);
    let v = ask(&mut c, "/lead new topic:RefusedAfterRestart last:Weber");
    assert_eq!(v["ok"], false, "{v}");

    // Room again: writes go on, no restart.
    std::fs::remove_file(&filler).expect("free the disk");
    let v = ask(&mut c, "/lead new topic:AfterRoom last:Schulz");
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["reply"].as_str().unwrap_or("").contains("L-1006"), "{v}");

    // After a restart: what was answered is there, nothing refused is.
    d.signal("-TERM");
    assert!(d.wait(15).success());
    std::thread::sleep(Duration::from_millis(50));
    let listed = leads(&b);
    for i in 0..5 {
        assert!(listed.contains(&format!("Saved{i}")), "{listed}");
    }
    assert!(listed.contains("AfterRoom"), "{listed}");
    assert!(
        !listed.contains("Refused"),
        "a refused write took effect: {listed}"
    );
}

/// Waits until the fake Discord got a message containing `text`.
fn posted(fake: &crate::fakediscord::FakeDiscord, text: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if fake
            .calls
            .lock()
            .expect("lock")
            .iter()
            .any(|c| c.path.ends_with("/messages") && c.body.to_string().contains(text))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn the_admins_hear_in_chat_when_the_disk_is_full_and_when_it_has_room_again() {
    let b = Bin::new();
    let _mount = Mount::tmpfs(&b.data(), "80m");
    let fake = crate::fakediscord::FakeDiscord::start();
    let cfg = b.file(
        "ops.toml",
        &format!(
            "[team]\ndefault_user = \"maria\"\n\
             [[team.members]]\nname = \"maria\"\nrole = \"rep\"\ndiscord_id = \"111\"\n\
             [[team.members]]\nname = \"olaf\"\nrole = \"admin\"\ndiscord_id = \"333\"\n\
             [chat]\ntoken_env = \"LEADLINE_DISCORD_TOKEN\"\nguild = \"1\"\napi_base = \"{}\"\n",
            fake.base()
        ),
    );
    let mut cmd = b.configured(&cfg);
    cmd.env("LEADLINE_DISCORD_TOKEN", "fake-token");
    let _d = Daemon::start_with(cmd);
    fake.wait_call("/guilds/1/commands");
    let filler = fill(&b.data());
    assert!(
        posted(
            &fake,
            "leadline cannot save changes: the disk holding the store is full"
        ),
        "no message to the admins about the full disk"
    );
    let dm = fake
        .calls
        .lock()
        .expect("lock")
        .iter()
        .any(|c| c.path.contains("/users/@me/channels") && c.body.to_string().contains("333"));
    assert!(dm, "the message went to someone else than the admin");
    std::fs::remove_file(&filler).expect("free the disk");
    assert!(
        posted(&fake, "leadline saves changes again"),
        "no all-clear"
    );
}
