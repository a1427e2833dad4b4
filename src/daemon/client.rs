//! The control-socket client: how `leadline cmd`, `shell` and `status`
//! reach a running daemon.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::{socket_path, Request};

/// A connection to a running daemon.
pub struct Client {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
    data: std::path::PathBuf,
}

impl Client {
    /// Connects to the daemon of `data`, if one runs there.
    pub fn connect(data: &Path) -> Option<Client> {
        let stream = UnixStream::connect(socket_path(data)).ok()?;
        // A daemon that stopped answering must not hang the shell.
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(120)))
            .ok()?;
        let reader = BufReader::new(stream.try_clone().ok()?);
        Some(Client {
            stream,
            reader,
            data: data.to_path_buf(),
        })
    }

    /// Sends one request and reads the answer. When the daemon closed
    /// the connection without running it (it closes idle connections
    /// between requests, saying so, and when it stops), the request is
    /// sent again on a new connection.
    ///
    /// Fails with [`std::io::ErrorKind::NotConnected`] when the request
    /// did not run and no daemon answers any more (the caller may run it
    /// in-process), and with another error when the daemon went away
    /// after reading it (it may have run).
    pub fn request(&mut self, req: &Request) -> std::io::Result<serde_json::Value> {
        let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
        line.push('\n');
        for _ in 0..3 {
            match self.send(&line)? {
                Some(answer) => return Ok(answer),
                None => match Client::connect(&self.data) {
                    Some(fresh) => *self = fresh,
                    None => break,
                },
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            "the daemon stopped before running the request",
        ))
    }

    /// One try: the answer, or `None` when the request certainly did not
    /// run (the connection was closed before it was read).
    fn send(&mut self, line: &str) -> std::io::Result<Option<serde_json::Value>> {
        if let Err(e) = self.stream.write_all(line.as_bytes()) {
            // Closed before this request was written: nothing ran.
            return match e.kind() {
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset => Ok(None),
                _ => Err(e),
            };
        }
        let mut answer = String::new();
        match self.reader.read_line(&mut answer) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the daemon stopped before answering; the command may or may not have run (check with /show)",
                ))
            }
            Ok(_) => {}
            // The daemon closed the connection with this request still
            // unread in its queue (it was stopping, or had not yet
            // accepted the connection): the kernel says so with a reset,
            // and nothing ran. A request it read whole ends in end of
            // file instead, above.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
            Err(e) => return Err(e),
        }
        let v: serde_json::Value = serde_json::from_str(&answer).map_err(std::io::Error::other)?;
        // The daemon's last line on a connection it closes between
        // requests: this one was not read, so it did not run.
        if v["ok"] == false && v["error"] == "closed" {
            return Ok(None);
        }
        Ok(Some(v))
    }
}
