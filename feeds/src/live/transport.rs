//! The byte stream under a live WebSocket: a non-blocking mio TCP socket, plain or wrapped
//! in rustls, with `Read`/`Write` that surface `WouldBlock` instead of looping, so
//! tungstenite can run on a shared event loop.

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::ClientConnection;
use rustls_pki_types::ServerName;

/// A connection's socket, plain (`ws://`) or TLS (`wss://`).
#[derive(Debug)]
pub(crate) enum Transport {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS client session over TCP (the session drives its own handshake from reads and
    /// writes).
    Tls(Box<TlsStream>),
}

/// rustls over a non-blocking socket.
#[derive(Debug)]
pub(crate) struct TlsStream {
    conn: ClientConnection,
    sock: TcpStream,
}

impl Transport {
    /// Wraps `sock` in a TLS session for `host`, verified against `config`'s roots.
    pub(crate) fn tls(
        sock: TcpStream,
        config: Arc<rustls::ClientConfig>,
        host: &str,
    ) -> io::Result<Self> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(Transport::Tls(Box::new(TlsStream { conn, sock })))
    }

    /// The socket, for registration and connect checks.
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.sock,
        }
    }

    /// The socket, mutably (mio registration).
    pub(crate) fn socket_mut(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &mut t.sock,
        }
    }
}

impl TlsStream {
    /// Sends whatever TLS records are pending.
    fn flush_tls(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            self.conn.write_tls(&mut self.sock)?;
        }
        Ok(())
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(t) => loop {
                match t.conn.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                // No plaintext buffered: pull TLS records off the socket.
                match t.conn.read_tls(&mut t.sock) {
                    Ok(0) => return Ok(0),
                    Ok(_) => {
                        t.conn
                            .process_new_packets()
                            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                        // Handshake replies, key updates, alerts.
                        match t.flush_tls() {
                            Ok(()) => {}
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Err(e) => return Err(e),
                }
            },
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(t) => {
                let n = t.conn.writer().write(buf)?;
                match t.flush_tls() {
                    Ok(()) => {}
                    // Buffered in the session; sent by a later flush on writable.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(t) => t.flush_tls(),
        }
    }
}
