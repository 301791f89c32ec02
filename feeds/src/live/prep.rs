//! The prep thread of a live feed: the work a connection needs before its socket opens
//! that may block — the endpoint call (KuCoin's bullet token) and DNS — done off the feed
//! thread, so a slow resolver or REST call never stalls the other connections.

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use tungstenite::http::Uri;

use super::conn::Prepared;

/// A venue's WebSocket endpoint as an endpoint call returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The full `ws://` / `wss://` URL to open, query included.
    pub url: String,
    /// The venue's ping interval and ping timeout, ms, when it says (KuCoin).
    pub ping: Option<(u64, u64)>,
}

/// A call that gives a fresh endpoint for each connection attempt (KuCoin's token).
pub type EndpointFn = Arc<dyn Fn() -> Result<Endpoint, String> + Send + Sync>;

/// Where one attempt's URL comes from.
pub(crate) enum UrlSource {
    /// A fixed URL.
    Fixed(String),
    /// A call per attempt.
    Call(EndpointFn),
}

struct Job {
    idx: usize,
    source: UrlSource,
}

/// The prep thread and its two bounded queues.
pub(crate) struct Prep {
    tx: SyncSender<Job>,
    rx: Receiver<(usize, Result<Prepared, String>)>,
}

impl std::fmt::Debug for Prep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prep").finish_non_exhaustive()
    }
}

impl Prep {
    /// Starts the thread; `slots` bounds both queues (one per connection is enough: a
    /// connection has at most one job in flight). `waker` wakes the feed loop on an answer.
    pub(crate) fn start(
        name: String,
        slots: usize,
        waker: Arc<mio::Waker>,
    ) -> std::io::Result<Self> {
        let (tx, jobs) = sync_channel::<Job>(slots.max(1));
        let (done, rx) = sync_channel(slots.max(1));
        // Detached: dropping the queues ends it after the job in hand (a DNS lookup or a
        // REST call can take seconds; shutdown does not wait for it).
        std::thread::Builder::new().name(name).spawn(move || {
            for job in jobs {
                let result = prepare(job.source);
                if done.send((job.idx, result)).is_err() {
                    break;
                }
                let _ = waker.wake();
            }
        })?;
        Ok(Prep { tx, rx })
    }

    /// Hands a job over; `false` when the queue is full (try again on the next pass).
    pub(crate) fn submit(&self, idx: usize, source: UrlSource) -> bool {
        match self.tx.try_send(Job { idx, source }) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// The next answer, if one is there.
    pub(crate) fn try_recv(&self) -> Option<(usize, Result<Prepared, String>)> {
        self.rx.try_recv().ok()
    }
}

/// Resolves one attempt's URL and address.
fn prepare(source: UrlSource) -> Result<Prepared, String> {
    let (url, ping) = match source {
        UrlSource::Fixed(u) => (u, None),
        UrlSource::Call(f) => {
            let e = f()?;
            (e.url, e.ping)
        }
    };
    let (host, port, tls) = parse_ws_url(&url)?;
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("resolve {host}: no address"))?;
    Ok(Prepared {
        url,
        host,
        tls,
        addr,
        ping,
    })
}

/// Splits a `ws://` / `wss://` URL into host, port and whether it is TLS.
pub(crate) fn parse_ws_url(url: &str) -> Result<(String, u16, bool), String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("bad WebSocket URL {url:?}: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        _ => {
            return Err(format!(
                "bad WebSocket URL {url:?}: the scheme must be ws or wss"
            ));
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| format!("bad WebSocket URL {url:?}: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok((host, port, tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls_split() {
        assert_eq!(
            parse_ws_url("wss://ws.okx.com:8443/ws/v5/public").unwrap(),
            ("ws.okx.com".into(), 8443, true)
        );
        assert_eq!(
            parse_ws_url("ws://127.0.0.1:9/kucoin/ws?token=a&connectId=1").unwrap(),
            ("127.0.0.1".into(), 9, false)
        );
        assert_eq!(
            parse_ws_url("wss://stream.bybit.com/v5/public/spot")
                .unwrap()
                .1,
            443
        );
        assert!(parse_ws_url("https://x").unwrap_err().contains("scheme"));
        assert!(parse_ws_url("not a url").is_err());
    }
}
