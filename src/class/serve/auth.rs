//! Who is asking: a learner's bearer token (bound to that learner: the token decides whose
//! results a submission is, never the body), the instructor's key (bearer or the HttpOnly
//! cookie `/login` sets), and each learner's request rate (a token bucket).

use super::secret::{find, same, sha256};
use super::store::{Store, StoreError, TokenRow};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use std::collections::HashMap;
use std::time::Instant;

/// The cookie that carries the instructor key in a browser.
pub const COOKIE_NAME: &str = "labctl_instructor";

/// Requests a learner may send per second, and at once.
const RATE_PER_SEC: f64 = 10.0;
const BURST: f64 = 20.0;

/// The tokens as last read from the database, reloaded when another process (`class invite`,
/// `class revoke`) changed them.
#[derive(Default)]
pub struct Tokens {
    rows: Vec<TokenRow>,
    version: Option<i64>,
}

/// The outcome of presenting a learner token.
#[derive(Debug, PartialEq, Eq)]
pub enum Learner {
    Known(String),
    Missing,
    Unknown,
    Revoked,
}

impl Tokens {
    pub fn check(&mut self, store: &Store, headers: &HeaderMap) -> Result<Learner, StoreError> {
        let Some(token) = bearer(headers) else {
            return Ok(Learner::Missing);
        };
        let version = store.data_version()?;
        if self.version != Some(version) {
            self.rows = store.tokens()?;
            self.version = Some(version);
        }
        Ok(match find(token, &self.rows, |r| &r.hash) {
            None => Learner::Unknown,
            Some(r) if r.revoked => Learner::Revoked,
            Some(r) => Learner::Known(r.learner.clone()),
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let t = v.strip_prefix("Bearer ")?.trim();
    (!t.is_empty()).then_some(t)
}

/// Is the instructor's key presented, as a bearer token or in the cookie?
pub fn instructor(headers: &HeaderMap, key_hash: &[u8; 32]) -> bool {
    let cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='));
    bearer(headers)
        .into_iter()
        .chain(cookie)
        .any(|k| same(&sha256(k.as_bytes()), key_hash))
}

/// Token buckets per learner.
#[derive(Default)]
pub struct Rates {
    buckets: HashMap<String, (f64, Instant)>,
}

impl Rates {
    /// Take one request from `learner`'s bucket; false when it is empty.
    pub fn allow(&mut self, learner: &str) -> bool {
        let now = Instant::now();
        let (tokens, at) = self
            .buckets
            .entry(learner.to_owned())
            .or_insert((BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * RATE_PER_SEC).min(BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused() {
        let mut r = Rates::default();
        assert!((0..20).all(|_| r.allow("alice")));
        assert!(!r.allow("alice"));
        assert!(r.allow("bob"));
    }

    #[test]
    fn the_instructor_key_is_read_from_bearer_or_cookie() {
        let hash = sha256(b"k3y");
        let mut h = HeaderMap::new();
        assert!(!instructor(&h, &hash));
        h.insert(COOKIE, format!("a=b; {COOKIE_NAME}=k3y").parse().unwrap());
        assert!(instructor(&h, &hash));
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert!(!instructor(&h, &hash));
    }
}
