//! The Debian package: built with `scripts/package --dev` (cargo deb),
//! installed with `dpkg -i`, the daemon started as the unit starts it (as
//! the `leadline` user, umask 0077), a command run through it, then purged.
//! Needs root and cargo-deb, as the README's test command provides.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn ok(cmd: &mut Command, what: &str) -> String {
    crate::helpers::stdout_of(cmd.output().unwrap_or_else(|e| panic!("{what}: {e}")), what)
}

/// Purges the package and its data when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("pkill").args(["-u", "leadline"]).status();
        let _ = Command::new("dpkg").args(["--purge", "leadline"]).output();
        let _ = std::fs::remove_dir_all("/var/lib/leadline");
    }
}

#[test]
fn the_debian_package_installs_the_unit_user_manual_and_a_daemon_that_answers() {
    let installed_before = Command::new("dpkg")
        .args(["-s", "leadline"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        !installed_before,
        "a leadline package is installed on this machine; this test would replace it"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let said = ok(
        Command::new(root.join("scripts/package"))
            .arg("--dev")
            .current_dir(root),
        "scripts/package --dev (needs cargo-deb: cargo install cargo-deb --locked)",
    );
    let deb = said
        .lines()
        .find(|l| l.trim_end().ends_with(".deb"))
        .map(|l| root.join(l.trim()))
        .expect("the package's path");
    let _purge = Installed;
    ok(Command::new("dpkg").arg("-i").arg(&deb), "dpkg -i");

    // What the package put in place.
    ok(
        Command::new("getent").args(["passwd", "leadline"]),
        "the leadline user",
    );
    let data = std::fs::metadata("/var/lib/leadline").expect("/var/lib/leadline");
    assert_eq!(data.permissions().mode() & 0o777, 0o700);
    let config = std::fs::metadata("/etc/leadline/leadline.toml").expect("conffile");
    assert_eq!(config.permissions().mode() & 0o777, 0o640);
    let conffiles = ok(
        Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "leadline"]),
        "conffiles",
    );
    assert!(
        conffiles.contains("/etc/leadline/leadline.toml"),
        "{conffiles}"
    );
    for file in [
        "/usr/share/man/man1/leadline.1.gz",
        "/usr/share/bash-completion/completions/leadline",
        "/usr/share/zsh/vendor-completions/_leadline",
        "/usr/share/fish/vendor_completions.d/leadline.fish",
    ] {
        assert!(Path::new(file).exists(), "{file} is missing");
    }
    let unit = std::fs::read_to_string("/usr/lib/systemd/system/leadline.service").expect("unit");
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ProtectSystem=strict",
        "PrivateTmp=true",
        "NoNewPrivileges=true",
        "UMask=0077",
        "ReadWritePaths=/var/lib/leadline",
    ] {
        assert!(unit.contains(line), "the unit lacks {line}");
    }
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let out = Command::new("systemd-analyze")
            .args([
                "verify",
                "--man=no",
                "/usr/lib/systemd/system/leadline.service",
            ])
            .output()
            .expect("systemd-analyze");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && !said.contains("leadline.service:"),
            "{said}"
        );
    }

    // The daemon as the unit runs it: its user, umask 0077, the packaged
    // config and data folder.
    let args = "--config /etc/leadline/leadline.toml --data /var/lib/leadline/data";
    let mut daemon = Command::new("runuser")
        .args(["-u", "leadline", "--", "sh", "-c"])
        .arg(format!("umask 0077; exec /usr/bin/leadline {args} run"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the daemon");
    let mut lines = BufReader::new(daemon.stdout.take().expect("stdout")).lines();
    let started = Instant::now();
    loop {
        let line = lines.next().expect("the daemon ended").expect("a line");
        if line.contains("leadline is running") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no start");
    }
    let made = ok(
        Command::new("runuser")
            .args(["-u", "leadline", "--", "sh", "-c"])
            .arg(format!(
                "/usr/bin/leadline {args} cmd '/lead new topic:Packaged last:Weber'"
            )),
        "a command through the daemon",
    );
    assert!(made.contains("Created L-1001"), "{made}");
    let store = std::fs::metadata("/var/lib/leadline/data").expect("data folder");
    assert_eq!(store.permissions().mode() & 0o777, 0o700);
    let owner = ok(Command::new("id").args(["-u", "leadline"]), "id")
        .trim()
        .parse::<u32>()
        .expect("uid");
    assert_eq!(store.uid(), owner);
    // SIGTERM to the daemon itself (runuser is its parent, as systemd
    // would be): it stops gracefully and runuser passes on its status.
    ok(
        Command::new("pkill").args(["-TERM", "-u", "leadline", "-x", "leadline"]),
        "pkill",
    );
    assert!(daemon.wait().expect("wait").success());
}
