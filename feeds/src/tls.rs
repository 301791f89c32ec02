//! TLS trust for the live feeds: one root set (Mozilla's roots plus the operator's extra
//! PEM roots) for both the WebSocket client (`wss://`) and REST discovery (`https://`).
//!
//! Certificate verification is always on. Extra roots come only from the explicit list of
//! PEM files the caller passes (e.g. the mock exchange's self-signed certificate); nothing
//! is read from the environment or the system store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// Why a TLS client configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A root certificate file could not be read.
    #[error("cannot read root certificate file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A root certificate file is not valid PEM.
    #[error("cannot parse PEM in root certificate file {}: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// The PEM error.
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    /// A root certificate file holds no `CERTIFICATE` block.
    #[error("root certificate file {} holds no PEM CERTIFICATE block", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A certificate in a root certificate file is not usable as a trust anchor.
    #[error("certificate {index} in root certificate file {} is not a usable root: {source}", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// Zero-based position of the certificate in the file.
        index: usize,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// rustls refused the configuration (protocol versions of the crypto provider).
    #[error("cannot build the TLS client configuration: {0}")]
    Config(#[source] rustls::Error),
}

/// Reads every `CERTIFICATE` block of each PEM file, in order.
///
/// # Errors
/// [`TlsError::Read`], [`TlsError::Pem`] or [`TlsError::NoCertificate`], naming the file.
pub fn extra_root_certs(paths: &[PathBuf]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let mut out = Vec::new();
    for path in paths {
        out.extend(read_pem_certs(path)?);
    }
    Ok(out)
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

/// Returns the full root set as certificates: Mozilla's roots (`webpki-root-certs`, the
/// certificate form of the `webpki-roots` anchors that [`client_config`] uses) followed by
/// each extra PEM file's certificates. REST discovery hands this to ureq, so `https://`
/// trusts exactly what `wss://` trusts.
///
/// # Errors
/// As [`extra_root_certs`].
pub fn root_certs(extra_root_certs: &[PathBuf]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let mut out = webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec();
    out.extend(self::extra_root_certs(extra_root_certs)?);
    Ok(out)
}

/// Builds the rustls client configuration for `wss://` and `https://`: ring provider,
/// TLS 1.2 and 1.3, Mozilla's roots (`webpki-roots`) plus every certificate of each PEM
/// file in `extra_root_certs`, no client authentication, no ALPN (callers that need ALPN
/// clone the configuration and set it).
///
/// # Errors
/// [`TlsError::Read`], [`TlsError::Pem`], [`TlsError::NoCertificate`] or
/// [`TlsError::BadCertificate`] naming the offending file; [`TlsError::Config`] if rustls
/// refuses the provider.
pub fn client_config(extra_root_certs: &[PathBuf]) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for path in extra_root_certs {
        for (index, cert) in read_pem_certs(path)?.into_iter().enumerate() {
            roots.add(cert).map_err(|source| TlsError::BadCertificate {
                path: path.clone(),
                index,
                source,
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `body` in a file called `name` (error messages name it), in a directory of its
    /// own that is removed when the returned handle is dropped.
    fn temp_file(name: &str, body: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::Builder::new()
            .prefix("arb-tls-test-")
            .tempdir()
            .unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        (dir, path)
    }

    fn self_signed_pem() -> String {
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .unwrap()
            .cert
            .pem()
    }

    #[test]
    fn webpki_roots_and_root_certs_are_the_same_set() {
        // `client_config` trusts `webpki-roots` anchors, ureq trusts `webpki-root-certs`
        // certificates: the two crates must describe the same roots.
        let mut store = RootCertStore::empty();
        let (added, ignored) =
            store.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec());
        assert_eq!(ignored, 0);
        assert_eq!(added, webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        let mut from_certs: Vec<(Vec<u8>, Vec<u8>)> = store
            .roots
            .iter()
            .map(|a| (a.subject.to_vec(), a.subject_public_key_info.to_vec()))
            .collect();
        let mut anchors: Vec<(Vec<u8>, Vec<u8>)> = webpki_roots::TLS_SERVER_ROOTS
            .iter()
            .map(|a| (a.subject.to_vec(), a.subject_public_key_info.to_vec()))
            .collect();
        from_certs.sort();
        anchors.sort();
        assert_eq!(from_certs.len(), anchors.len());
        assert!(
            from_certs == anchors,
            "webpki-roots and webpki-root-certs differ"
        );
    }

    #[test]
    fn extra_roots_are_added() {
        let (_path_dir, path) = temp_file("root.pem", self_signed_pem().as_bytes());
        let certs = root_certs(std::slice::from_ref(&path)).unwrap();
        assert_eq!(
            certs.len(),
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() + 1
        );
        client_config(&[path]).unwrap();
        assert!(client_config(&[]).is_ok());
    }

    #[test]
    fn unreadable_or_bad_files_are_named() {
        let missing = PathBuf::from("/nonexistent/arb/root.pem");
        let err = client_config(std::slice::from_ref(&missing)).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }));
        assert!(
            err.to_string().contains("/nonexistent/arb/root.pem"),
            "{err}"
        );

        let (_empty_dir, empty) = temp_file("empty.pem", b"no pem here\n");
        let err = client_config(std::slice::from_ref(&empty)).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");
        assert!(err.to_string().contains("empty.pem"), "{err}");

        let (_garbage_dir, garbage) = temp_file(
            "garbage.pem",
            b"-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n",
        );
        let err = client_config(std::slice::from_ref(&garbage)).unwrap_err();
        assert!(err.to_string().contains("garbage.pem"), "{err}");

        let (_not_a_cert_dir, not_a_cert) = temp_file(
            "notcert.pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let err = client_config(std::slice::from_ref(&not_a_cert)).unwrap_err();
        assert!(
            matches!(err, TlsError::BadCertificate { index: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("notcert.pem"), "{err}");
    }
}
