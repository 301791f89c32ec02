//! The REST client of discovery: a ureq agent trusting the feeds' TLS roots, with timeouts,
//! a User-Agent and bounded retries (exponential backoff with jitter).
//!
//! Retried: timeouts, connection and I/O errors, HTTP 429 and 5xx. Not retried: other
//! 4xx, TLS and certificate failures, bad URLs, oversize bodies. Every failed attempt is
//! logged at `warn` with venue, URL, status or error and attempt number.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arb_engine::Exchange;
use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

use super::DiscoverError;

/// Retry policy: `attempts` tries in all, the wait before try `n + 1` drawn uniformly from
/// `[d/2, d]` with `d = min(initial_backoff · 2^(n-1), max_backoff)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (0 counts as 1).
    pub attempts: u32,
    /// Backoff before the second try (before jitter).
    pub initial_backoff: Duration,
    /// Cap on any backoff, a `Retry-After` header included.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 tries, 250 ms then 500 ms (each halved at worst by jitter), capped at 4 s.
    fn default() -> Self {
        Self {
            attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

/// Settings of a [`Rest`] client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestConfig {
    /// PEM files whose certificates are trusted on top of Mozilla's roots (the same list
    /// the WebSocket client gets, see [`crate::tls`]).
    pub extra_root_certs: Vec<PathBuf>,
    /// Budget for DNS, TCP connect and the TLS handshake.
    pub connect_timeout: Duration,
    /// Longest wait for the response head, and for each read of the body.
    pub read_timeout: Duration,
    /// Budget for one whole attempt, body included (large symbol lists take a while).
    pub call_timeout: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Retries.
    pub retry: RetryPolicy,
    /// Largest body accepted (Binance's full `exchangeInfo` is several MB).
    pub max_body_bytes: u64,
    /// Use the proxy named by `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY` (ureq's behaviour).
    pub env_proxy: bool,
}

/// The default `User-Agent`.
pub const USER_AGENT: &str = concat!("arb/", env!("CARGO_PKG_VERSION"), " (symbol discovery)");

impl Default for RestConfig {
    /// No extra roots; 10 s connect and read timeouts, 60 s per attempt; [`USER_AGENT`];
    /// [`RetryPolicy::default`]; 64 MiB bodies; environment proxy honoured.
    fn default() -> Self {
        Self {
            extra_root_certs: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            user_agent: USER_AGENT.to_owned(),
            retry: RetryPolicy::default(),
            max_body_bytes: 64 << 20,
            env_proxy: true,
        }
    }
}

/// A blocking HTTP(S) client for the venues' public REST endpoints. Cheap to share by
/// reference; the connection pool is reused across calls.
#[derive(Debug, Clone)]
pub struct Rest {
    agent: ureq::Agent,
    retry: RetryPolicy,
    max_body_bytes: u64,
}

#[derive(Debug, Clone, Copy)]
enum Method {
    Get,
    Post,
}

/// One failed attempt.
enum Failure {
    Status {
        status: u16,
        body: String,
        retry_after: Option<Duration>,
    },
    Transport(ureq::Error),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Status { status, .. } => *status == 429 || (500..600).contains(status),
            // A failed TLS handshake (unknown issuer, wrong name) surfaces as an I/O error
            // wrapping the rustls error: retrying cannot help.
            Failure::Transport(ureq::Error::Io(e)) => !is_tls_failure(e),
            Failure::Transport(e) => matches!(
                e,
                ureq::Error::Timeout(_)
                    | ureq::Error::ConnectionFailed
                    | ureq::Error::HostNotFound
                    | ureq::Error::Protocol(_)
            ),
        }
    }
}

impl Rest {
    /// Builds the client: TLS roots from [`crate::tls::root_certs`] (ring provider,
    /// verification on), the configured timeouts and User-Agent, non-2xx answers handled
    /// here rather than by ureq.
    ///
    /// # Errors
    /// [`DiscoverError::Tls`] when an extra root file cannot be read or parsed.
    pub fn new(config: &RestConfig) -> Result<Self, DiscoverError> {
        let certs: Vec<Certificate<'static>> = crate::tls::root_certs(&config.extra_root_certs)?
            .iter()
            .map(|c| Certificate::from_der(c.as_ref()).to_owned())
            .collect();
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .root_certs(RootCerts::Specific(Arc::new(certs)))
            .build();
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .user_agent(config.user_agent.as_str())
            .timeout_connect(Some(config.connect_timeout))
            .timeout_recv_response(Some(config.read_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .timeout_per_call(Some(config.call_timeout));
        if !config.env_proxy {
            builder = builder.proxy(None);
        }
        Ok(Self {
            agent: builder.build().new_agent(),
            retry: config.retry.clone(),
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// `GET url` with retries; returns the body of the 2xx answer.
    ///
    /// # Errors
    /// [`DiscoverError::Status`] for a non-2xx answer (after retries for 429/5xx),
    /// [`DiscoverError::Transport`] for timeouts, connection, TLS and body errors.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, DiscoverError> {
        self.call(None, Method::Get, url)
    }

    /// `POST url` with an empty body, with retries; returns the body of the 2xx answer.
    ///
    /// # Errors
    /// As [`Rest::get`].
    pub fn post(&self, url: &str) -> Result<Vec<u8>, DiscoverError> {
        self.call(None, Method::Post, url)
    }

    /// [`Rest::get`] on behalf of a venue: warnings and errors name it.
    ///
    /// # Errors
    /// As [`Rest::get`].
    pub fn get_for(&self, ex: Exchange, url: &str) -> Result<Vec<u8>, DiscoverError> {
        self.call(Some(ex), Method::Get, url)
    }

    /// [`Rest::post`] on behalf of a venue: warnings and errors name it.
    ///
    /// # Errors
    /// As [`Rest::get`].
    pub fn post_for(&self, ex: Exchange, url: &str) -> Result<Vec<u8>, DiscoverError> {
        self.call(Some(ex), Method::Post, url)
    }

    fn call(
        &self,
        venue: Option<Exchange>,
        method: Method,
        url: &str,
    ) -> Result<Vec<u8>, DiscoverError> {
        let attempts = self.retry.attempts.max(1);
        let label = venue.map_or("rest", Exchange::as_str);
        let mut attempt = 1;
        loop {
            let failure = match self.once(method, url) {
                Ok(body) => return Ok(body),
                Err(f) => f,
            };
            let retry = failure.retryable() && attempt < attempts;
            match &failure {
                Failure::Status { status, body, .. } => tracing::warn!(
                    venue = label,
                    url,
                    status,
                    body = body.as_str(),
                    attempt,
                    attempts,
                    retry,
                    "REST request failed"
                ),
                Failure::Transport(e) => tracing::warn!(
                    venue = label,
                    url,
                    error = %e,
                    attempt,
                    attempts,
                    retry,
                    "REST request failed"
                ),
            }
            if !retry {
                let url = url.to_owned();
                return Err(match failure {
                    Failure::Status { status, body, .. } => DiscoverError::Status {
                        venue,
                        url,
                        status,
                        body,
                        attempts: attempt,
                    },
                    Failure::Transport(source) => DiscoverError::Transport {
                        venue,
                        url,
                        attempts: attempt,
                        source,
                    },
                });
            }
            let retry_after = match &failure {
                Failure::Status { retry_after, .. } => *retry_after,
                Failure::Transport(_) => None,
            };
            std::thread::sleep(self.backoff(attempt, retry_after));
            attempt += 1;
        }
    }

    fn once(&self, method: Method, url: &str) -> Result<Vec<u8>, Failure> {
        let response = match method {
            Method::Get => self.agent.get(url).call(),
            Method::Post => self.agent.post(url).send_empty(),
        };
        let mut response = response.map_err(Failure::Transport)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            // The venues explain refusals in the body (`{"code":-1003,"msg":…}`): keep a
            // short excerpt for the log and the error.
            let body = response
                .body_mut()
                .with_config()
                .limit(4096)
                .read_to_vec()
                .map(|b| excerpt(&b))
                .unwrap_or_default();
            return Err(Failure::Status {
                status,
                body,
                retry_after,
            });
        }
        response
            .body_mut()
            .with_config()
            .limit(self.max_body_bytes)
            .read_to_vec()
            .map_err(Failure::Transport)
    }

    /// The wait after failed try `attempt` (1-based).
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let cap = self.retry.max_backoff;
        let base = self
            .retry
            .initial_backoff
            .saturating_mul(1u32 << (attempt - 1).min(20))
            .min(cap);
        let half = base / 2;
        let jitter = half.mul_f64(unit_random());
        let wait = half + jitter;
        match retry_after {
            Some(ra) => wait.max(ra.min(cap)),
            None => wait,
        }
    }
}

fn is_tls_failure(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

/// At most 200 characters of a body, lossily decoded, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

/// A number in `[0, 1)` for jitter: the monotonic clock's low bits through a SplitMix64
/// step. Not for anything but spreading retries.
fn unit_random() -> f64 {
    let mut z = (arb_engine::clock::mono_ns() as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let rest = Rest::new(&RestConfig::default()).unwrap();
        for _ in 0..100 {
            let first = rest.backoff(1, None);
            assert!(first >= Duration::from_millis(125) && first <= Duration::from_millis(250));
            let second = rest.backoff(2, None);
            assert!(second >= Duration::from_millis(250) && second <= Duration::from_millis(500));
            let late = rest.backoff(30, None);
            assert!(late >= Duration::from_secs(2) && late <= Duration::from_secs(4));
            let told = rest.backoff(1, Some(Duration::from_secs(3)));
            assert_eq!(told, Duration::from_secs(3));
            let told = rest.backoff(1, Some(Duration::from_secs(60)));
            assert_eq!(told, Duration::from_secs(4), "Retry-After is capped");
        }
    }

    #[test]
    fn excerpt_is_short_and_single_line() {
        assert_eq!(
            excerpt(b"{\"code\":-1003,\n\"msg\":\"x\"}"),
            "{\"code\":-1003, \"msg\":\"x\"}"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(excerpt(&long).chars().count(), 201);
    }
}
