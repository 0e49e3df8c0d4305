//! A small client for Prometheus' HTTP API over plain http (hyper 1 and hyper-util's pooled
//! client). TLS is left out: put Prometheus behind a local proxy or an SSH tunnel for https.

use std::time::Duration;

use base64::Engine as _;
use http_body_util::Full;
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::{ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::prom::{self, Answer, ParseError};

/// The same cap helper as every engine answer (`bounded`).
const MAX_BODY: usize = crate::bounded::PROM_MAX_BODY;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PromError {
    #[error("{0}")]
    BadUrl(String),
    #[error("cannot reach Prometheus at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("no answer from Prometheus at {url} within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("Prometheus answered HTTP {status}{hint}")]
    Http { status: u16, hint: String },
    #[error("Prometheus refused the query ({kind}): {message}")]
    Refused { kind: String, message: String },
    #[error("not an answer from Prometheus' API: {0}")]
    Malformed(String),
    #[error("Prometheus' answer passed {} MiB once unpacked: refused", .limit >> 20)]
    TooBig { limit: usize },
}

#[derive(Clone)]
pub struct PromClient {
    /// `http://host:port` and any path prefix, without the trailing slash.
    base: String,
    auth: Option<HeaderValue>,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for PromClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromClient").field("base", &self.base).field("auth", &self.auth.is_some()).finish()
    }
}

impl PromClient {
    /// `url`: `http://[user:password@]host:port[/prefix]`. Credentials in the URL win over `basic`.
    pub fn new(url: &str, basic: Option<(String, String)>) -> Result<PromClient, PromError> {
        let url = url.trim();
        // Error messages name the URL without its password: they reach the screen and stderr.
        let shown = crate::docker::host::redact(url);
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => {
                return Err(PromError::BadUrl(format!(
                    "{shown}: https is not supported; reach Prometheus over http (a local proxy or an SSH tunnel)"
                )));
            }
            Some((scheme, _)) => {
                return Err(PromError::BadUrl(format!("{shown}: unknown scheme {scheme:?}")));
            }
            None => url,
        };
        let rest = rest.trim_end_matches('/');
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        if hostport.is_empty() {
            return Err(PromError::BadUrl(format!("{shown}: no host")));
        }
        let base = format!("http://{hostport}{path}");
        base.parse::<hyper::Uri>().map_err(|e| PromError::BadUrl(format!("{shown}: {e}")))?;
        let creds = match userinfo {
            Some(u) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                let dec = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
                Some((dec(user), dec(pass)))
            }
            None => basic,
        };
        let auth = creds.map(|(u, p)| {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            let mut v = HeaderValue::from_str(&format!("Basic {token}"))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            v.set_sensitive(true);
            v
        });
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        connector.set_nodelay(true);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(4)
            .build(connector);
        Ok(PromClient { base, auth, http })
    }

    /// The server, credentials left out (for messages).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// POSTs the form `params` to `path`; returns the answer and its size in bytes.
    async fn call(&self, path: &str, params: &[(&str, String)]) -> Result<(Answer, usize), PromError> {
        let body = params
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = Request::post(format!("{}{path}", self.base))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            // The API's JSON repeats every label name per series: gzip sends a tenth of it.
            .header(ACCEPT_ENCODING, "gzip")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| PromError::BadUrl(e.to_string()))?;
        if let Some(a) = &self.auth {
            req.headers_mut().insert(AUTHORIZATION, a.clone());
        }
        let url = self.base.clone();
        let fetch = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| PromError::Unreachable { url: url.clone(), reason: reason(&e) })?;
            let status = resp.status().as_u16();
            let gzipped = resp
                .headers()
                .get(CONTENT_ENCODING)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
            let bytes =
                crate::bounded::read_whole(resp.into_body(), &format!("POST {path}"), MAX_BODY, TIMEOUT)
                    .await
                    .map_err(|e| PromError::Unreachable { url: url.clone(), reason: e.to_string() })?;
            Ok::<_, PromError>((status, gzipped, bytes))
        };
        let (status, gzipped, bytes) = tokio::time::timeout(TIMEOUT, fetch)
            .await
            .map_err(|_| PromError::Timeout { url: url.clone(), secs: TIMEOUT.as_secs() })??;
        // What crossed the wire, the figure the fleet's cost is measured in.
        let size = bytes.len();
        let bytes = if gzipped { gunzip(&bytes, MAX_BODY)? } else { bytes.to_vec() };
        // The API answers 400/422/503 with its JSON error; anything else is not the API.
        match (status, prom::parse(&bytes)) {
            (200, Ok(a)) => Ok((a, size)),
            (_, Err(ParseError::Refused { kind, message })) => Err(PromError::Refused { kind, message }),
            (200, Err(ParseError::Malformed(m))) => Err(PromError::Malformed(m)),
            (status, _) => Err(PromError::Http { status, hint: hint(status) }),
        }
    }

    /// `/api/v1/query` at `time` (unix seconds; None: now).
    pub async fn query(&self, q: &str, time: Option<f64>) -> Result<(Answer, usize), PromError> {
        let mut params = vec![("query", q.to_string())];
        if let Some(t) = time {
            params.push(("time", format!("{t:.3}")));
        }
        self.call("/api/v1/query", &params).await
    }

    /// `/api/v1/query_range` from `start` to `end` every `step` seconds.
    pub async fn query_range(
        &self,
        q: &str,
        start: f64,
        end: f64,
        step: u32,
    ) -> Result<(Answer, usize), PromError> {
        let params = [
            ("query", q.to_string()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", step.to_string()),
        ];
        self.call("/api/v1/query_range", &params).await
    }
}

/// `packed` unpacked, refused past `limit`: a few KB of gzip can unpack to gigabytes.
fn gunzip(packed: &[u8], limit: usize) -> Result<Vec<u8>, PromError> {
    use std::io::Read as _;
    let mut out = Vec::with_capacity(packed.len().saturating_mul(8).min(limit));
    flate2::read::GzDecoder::new(packed)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| PromError::Malformed(format!("a gzip answer that does not unpack: {e}")))?;
    if out.len() > limit {
        return Err(PromError::TooBig { limit });
    }
    Ok(out)
}

fn hint(status: u16) -> String {
    match status {
        401 | 403 => {
            ": check prometheus_user and prometheus_password_file (or the URL's user:password@)".into()
        }
        404 => ": is the URL Prometheus itself (its /api/v1 lives under a prefix?)".into(),
        _ => String::new(),
    }
}

/// The innermost cause: "Connection refused (os error 111)" rather than "client error (Connect)".
fn reason(e: &hyper_util::client::legacy::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(s) = source.source() {
        source = s;
    }
    source.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c =
            PromClient::new("http://alice:s%40cret@prom:9090/prom/", None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.url(), "http://prom:9090/prom");
        let expected = base64::engine::general_purpose::STANDARD.encode("alice:s@cret");
        assert_eq!(
            c.auth.as_ref().map(|a| a.as_bytes().to_vec()),
            Some(format!("Basic {expected}").into_bytes())
        );
        let c =
            PromClient::new("prom:9090", Some(("bob".into(), "pw".into()))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.url(), "http://prom:9090");
        assert!(c.auth.is_some());
        assert!(PromClient::new("http://prom:9090", None).is_ok_and(|c| c.auth.is_none()));
        assert!(
            matches!(PromClient::new("https://prom", None), Err(PromError::BadUrl(m)) if m.contains("https"))
        );
        assert!(PromClient::new("http://", None).is_err());
        // A bad URL's message never shows its password.
        for bad in ["https://alice:hunter2@prom", "ftp://alice:hunter2@prom", "http://alice:hunter2@"] {
            let msg = PromClient::new(bad, None).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains("***@") && !msg.contains("hunter2"), "{msg}");
        }
    }
}
