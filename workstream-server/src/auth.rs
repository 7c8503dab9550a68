//! Who may write: bearer tokens mapped to an actor and roles, kept hashed; dashboard
//! sessions behind an `HttpOnly` cookie with a CSRF token.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN};
use sha2::{Digest, Sha256};
use workstream::Actor;

use crate::error::ApiError;

/// The tokens a server accepts, each mapped to the actor whose name its writes carry and
/// that actor's roles.
///
/// A tokens file holds one token per line, as its SHA-256 digest, never the token itself:
///
/// ```text
/// # sha256 of the token         actor  roles (comma-separated, optional)
/// sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ann author,reviewer
/// ```
///
/// [`Tokens::generate`] makes a new token and [`Tokens::line`] its line; `workstream token`
/// does both. A presented token is hashed and compared with every entry in constant time.
#[derive(Clone, Default)]
pub struct Tokens {
    entries: Vec<Entry>,
}

#[derive(Clone)]
struct Entry {
    hash: [u8; 32],
    actor: String,
    roles: Vec<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the digests: they are the secrets' stand-ins.
        f.debug_struct("Tokens")
            .field(
                "actors",
                &self.entries.iter().map(|e| &e.actor).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A tokens file that cannot be read or has a line that is not a token.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file cannot be read.
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `sha256:HEX ACTOR [ROLE,…]`.
    #[error("{origin}:{line}: {message}")]
    Line {
        /// The file, or `tokens`.
        origin: String,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Random bytes from the operating system, as hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    hex(&buf)
}

/// Compares two byte strings in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

impl Tokens {
    /// No tokens: every write is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new token: 32 random bytes from the operating system, as `wst_` and hex.
    pub fn generate() -> String {
        format!("wst_{}", random_hex(32))
    }

    /// The tokens-file line for `token`: its digest, the actor and the roles.
    pub fn line(token: &str, actor: &str, roles: &[String]) -> String {
        let mut line = format!("sha256:{} {actor}", hex(&sha256(token)));
        if !roles.is_empty() {
            line.push(' ');
            line.push_str(&roles.join(","));
        }
        line
    }

    /// Accepts `token` as `actor` with `roles`.
    pub fn insert(&mut self, token: &str, actor: impl Into<String>, roles: &[&str]) {
        self.entries.push(Entry {
            hash: sha256(token),
            actor: actor.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        });
    }

    /// Reads a tokens file.
    pub fn load(path: &Path) -> Result<Self, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Reads the text of a tokens file; `origin` names it in errors.
    pub fn parse(origin: &str, text: &str) -> Result<Self, TokensError> {
        let mut tokens = Self::new();
        for (n, raw) in text.lines().enumerate() {
            let bad = |message: String| TokensError::Line {
                origin: origin.to_owned(),
                line: n + 1,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let digest = words.next().unwrap_or_default();
            let Some(hexed) = digest.strip_prefix("sha256:") else {
                return Err(bad(
                    "a line is `sha256:HEX ACTOR [ROLE,…]`, the digest of a token (not the \
                     token); `workstream token` writes one"
                        .into(),
                ));
            };
            let hash = parse_hex(hexed)
                .ok_or_else(|| bad("the digest is not 64 hexadecimal digits".into()))?;
            let actor = words
                .next()
                .ok_or_else(|| bad("the line names no actor".into()))?;
            let roles: Vec<String> = words
                .next()
                .map(|r| {
                    r.split(',')
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if words.next().is_some() {
                return Err(bad("more than a digest, an actor and roles".into()));
            }
            if tokens.entries.iter().any(|e| e.hash == hash) {
                return Err(bad("this digest is already on an earlier line".into()));
            }
            tokens.entries.push(Entry {
                hash,
                actor: actor.to_owned(),
                roles,
            });
        }
        Ok(tokens)
    }

    /// How many tokens are accepted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no token is accepted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The actor of `token`, comparing its digest with every entry in constant time.
    pub(crate) fn actor(&self, token: &str) -> Option<Actor> {
        let presented = sha256(token);
        let mut found = None;
        for entry in &self.entries {
            if same(&presented, &entry.hash) {
                found = Some(entry);
            }
        }
        found.map(|e| Actor::new(e.actor.clone(), e.roles.clone()))
    }
}

fn parse_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The cookie a dashboard session is kept under.
pub(crate) const SESSION_COOKIE: &str = "workstream_session";
/// The header a write from a session must carry, holding the session's CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub(crate) const SESSION_LIFE: Duration = Duration::from_secs(8 * 3600);
/// At most this many sessions are kept; the oldest goes first.
const MAX_SESSIONS: usize = 1024;

/// A signed-in dashboard.
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) actor: Actor,
    pub(crate) csrf: String,
    expires: Instant,
}

/// The sessions of this server, in memory (a restart signs everyone out).
#[derive(Default)]
pub(crate) struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Opens a session for `actor`: its id (the cookie) and the session.
    pub(crate) fn open(&self, actor: Actor) -> (String, Session) {
        let id = random_hex(32);
        let session = Session {
            actor,
            csrf: random_hex(32),
            expires: Instant::now() + SESSION_LIFE,
        };
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        by_id.retain(|_, s| s.expires > now);
        if by_id.len() >= MAX_SESSIONS
            && let Some(oldest) = by_id
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            by_id.remove(&oldest);
        }
        by_id.insert(id.clone(), session.clone());
        (id, session)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        by_id
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    pub(crate) fn close(&self, id: &str) {
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        by_id.remove(id);
    }
}

/// The session id in the request's cookies, if any.
pub(crate) fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The bearer token of the request, if it has an `Authorization` header; an error if that
/// header is not a bearer token.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            "the Authorization header must be `Bearer TOKEN`",
        )),
    }
}

/// Whether the request's `Origin`, when it has one, is this server (its `Host`).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// The actor a request acts as, for a write: the bearer token's, or a session's whose CSRF
/// token the request carries.
pub(crate) fn writer(
    headers: &HeaderMap,
    tokens: &Tokens,
    sessions: &Sessions,
) -> Result<Actor, ApiError> {
    if let Some(token) = bearer(headers)? {
        return tokens
            .actor(token)
            .ok_or_else(|| ApiError::unauthorized("this token is not accepted here"));
    }
    let Some(session) = session_id(headers).and_then(|id| sessions.get(&id)) else {
        return Err(ApiError::unauthorized(
            "a write needs a token: send `Authorization: Bearer TOKEN`, or sign in on the \
             dashboard",
        ));
    };
    if !same_origin(headers) {
        return Err(ApiError::forbidden(
            "cross_origin",
            "this write comes from another site's page",
        ));
    }
    let presented = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !same(presented.as_bytes(), session.csrf.as_bytes()) {
        return Err(ApiError::forbidden(
            "csrf",
            "a write from a dashboard session must carry its CSRF token in X-CSRF-Token",
        ));
    }
    Ok(session.actor)
}

/// The actor a request reads as, if it names one (a valid token or session); reads never
/// fail for want of one.
pub(crate) fn reader(headers: &HeaderMap, tokens: &Tokens, sessions: &Sessions) -> Option<Actor> {
    match bearer(headers) {
        Ok(Some(token)) => tokens.actor(token),
        Ok(None) => session_id(headers)
            .and_then(|id| sessions.get(&id))
            .map(|s| s.actor),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tokens_file_reads_back_what_line_writes_and_refuses_the_rest() {
        let token = Tokens::generate();
        assert!(token.starts_with("wst_") && token.len() == 68);
        let roles = vec!["author".to_owned(), "reviewer".to_owned()];
        let text = format!("# comment\n\n{}\n", Tokens::line(&token, "ann", &roles));
        let tokens = Tokens::parse("tokens", &text).unwrap();
        assert_eq!(tokens.len(), 1);
        let ann = tokens.actor(&token).unwrap();
        assert_eq!(ann.id(), "ann");
        assert_eq!(ann.roles(), roles);
        assert!(tokens.actor("wst_other").is_none());
        assert!(
            !text.contains(&token),
            "the file keeps the digest, not the token"
        );

        for (bad, why) in [
            (format!("{token} ann"), "sha256:HEX"),
            ("sha256:abc ann".to_owned(), "64 hexadecimal"),
            (format!("sha256:{} ", "0".repeat(64)), "no actor"),
            (format!("sha256:{} ann a b", "0".repeat(64)), "more than"),
            (
                format!("sha256:{0} ann\nsha256:{0} bob", "0".repeat(64)),
                "already",
            ),
        ] {
            let e = Tokens::parse("t", &bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.starts_with("t:"), "{e}");
        }
    }

    #[test]
    fn constant_time_comparison_is_still_a_comparison() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
