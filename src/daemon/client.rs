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

    /// Sends one request and reads the answer.
    ///
    /// Fails when the daemon goes away mid-request.
    pub fn request(&mut self, req: &Request) -> std::io::Result<serde_json::Value> {
        let mut line = serde_json::to_string(req).map_err(std::io::Error::other)?;
        line.push('\n');
        if let Err(e) = self.stream.write_all(line.as_bytes()) {
            // The daemon closed this connection while it sat idle (it
            // closes long-idle ones, and makes room under load). It read
            // nothing of this request, so sending it again on a new
            // connection cannot run it twice.
            let closed = matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            );
            match Client::connect(&self.data).filter(|_| closed) {
                Some(fresh) => *self = fresh,
                None => return Err(e),
            }
            self.stream.write_all(line.as_bytes())?;
        }
        let mut answer = String::new();
        if self.reader.read_line(&mut answer)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection",
            ));
        }
        serde_json::from_str(&answer).map_err(std::io::Error::other)
    }
}
