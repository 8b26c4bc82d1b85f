//! The join link an instructor hands out (`labctl class invite`), and what joining saves: the
//! server, the learner's name, the lab, the token and the certificate pin, in
//! `<state>/push/join.json`, readable only by the learner (mode 0600 on Unix).
//!
//! The link is untrusted text pasted by a person: its size is capped, every part is checked, and
//! errors name what is wrong without ever repeating the token.

use super::error::PushError;
use crate::class::wire::{self, JOIN_LEARNER, JOIN_PATH, JOIN_PIN, JOIN_TOKEN};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The longest join link accepted (a real one is a few hundred bytes).
pub const MAX_LINK_BYTES: usize = 4096;
/// The longest learner name and token accepted in a link.
const MAX_NAME_BYTES: usize = 128;
const MAX_TOKEN_BYTES: usize = 256;
/// The largest join file read back.
const MAX_JOIN_FILE_BYTES: u64 = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    #[error("the join link is empty")]
    Empty,
    #[error("the join link is longer than {MAX_LINK_BYTES} bytes")]
    TooLong,
    #[error(
        "the join link is not a URL ({0}); it looks like https://HOST:PORT/join?learner=…&token=…"
    )]
    NotUrl(String),
    #[error(
        "the join link must start with https:// (plain http:// only to this machine), not `{0}://`"
    )]
    Scheme(String),
    #[error(
        "plain http:// is allowed only to this machine (localhost, 127.0.0.1, ::1), not `{0}`: ask for the https:// link"
    )]
    PlainHttp(String),
    #[error("the join link has no host")]
    NoHost,
    #[error("the join link must not carry a user name or password")]
    UserInfo,
    #[error("the join link's path must be {JOIN_PATH}, not `{0}`")]
    Path(String),
    #[error("the join link has no `{0}=`")]
    Missing(&'static str),
    #[error("the join link has `{0}=` twice")]
    Twice(&'static str),
    #[error("the join link's `{0}` is empty, too long or holds characters it cannot")]
    Invalid(&'static str),
    #[error("the join link's pin must be sha256: and 64 lowercase hex digits")]
    Pin,
}

/// A checked join link.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinLink {
    /// `https://host:port` (the port left out when it is the scheme's default).
    pub server: String,
    pub learner: String,
    pub token: String,
    /// `sha256:` and the lowercase hex SHA-256 of the server certificate's DER.
    pub pin: Option<String>,
}

/// What joining saved: the link's parts and the lab the server binds this token to.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    pub server: String,
    pub learner: String,
    pub lab: String,
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

// Neither is ever printed with its token, even in a debug message.
impl std::fmt::Debug for JoinLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinLink")
            .field("server", &self.server)
            .field("learner", &self.learner)
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Joined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Joined")
            .field("server", &self.server)
            .field("learner", &self.learner)
            .field("lab", &self.lab)
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

/// Parse a join link, or a whole pasted `labctl class join '…'` command (its last word).
pub fn parse(text: &str) -> Result<JoinLink, JoinError> {
    if text.len() > MAX_LINK_BYTES {
        return Err(JoinError::TooLong);
    }
    let word = text
        .split_whitespace()
        .next_back()
        .ok_or(JoinError::Empty)?
        .trim_matches(|c| c == '\'' || c == '"');
    let url = url::Url::parse(word).map_err(|e| JoinError::NotUrl(e.to_string()))?;
    let host = url.host().ok_or(JoinError::NoHost)?;
    match url.scheme() {
        "https" => {}
        "http" if loopback(&host) => {}
        "http" => return Err(JoinError::PlainHttp(host.to_string())),
        other => return Err(JoinError::Scheme(safe(other))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JoinError::UserInfo);
    }
    if url.path() != JOIN_PATH {
        return Err(JoinError::Path(safe(url.path())));
    }
    let (mut learner, mut token, mut pin) = (None, None, None);
    for (key, value) in url.query_pairs() {
        let (slot, name) = match key.as_ref() {
            JOIN_LEARNER => (&mut learner, JOIN_LEARNER),
            JOIN_TOKEN => (&mut token, JOIN_TOKEN),
            JOIN_PIN => (&mut pin, JOIN_PIN),
            // Keys a newer server adds are not this labctl's business.
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(JoinError::Twice(name));
        }
    }
    let learner = learner.ok_or(JoinError::Missing(JOIN_LEARNER))?;
    if learner.is_empty() || learner.len() > MAX_NAME_BYTES || learner.chars().any(char::is_control)
    {
        return Err(JoinError::Invalid(JOIN_LEARNER));
    }
    let token = token.ok_or(JoinError::Missing(JOIN_TOKEN))?;
    // It goes into an Authorization header: visible ASCII only.
    if token.is_empty()
        || token.len() > MAX_TOKEN_BYTES
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(JoinError::Invalid(JOIN_TOKEN));
    }
    if pin.as_deref().is_some_and(|p| !wire::valid_pin(p)) {
        return Err(JoinError::Pin);
    }
    Ok(JoinLink {
        server: url.origin().ascii_serialization(),
        learner,
        token,
        pin,
    })
}

/// Whether plain HTTP to `host` stays on this machine.
fn loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// A part of the link quoted in an error: short, with control characters replaced.
fn safe(s: &str) -> String {
    s.chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Where pushing keeps its files in a state folder.
pub fn push_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("push")
}

fn join_file(state_dir: &Path) -> PathBuf {
    push_dir(state_dir).join("join.json")
}

impl Joined {
    /// The class this state folder joined, if any. A file that cannot be read is reported (the
    /// learner can join again), never taken for "not joined" silently.
    pub fn load(state_dir: &Path) -> Result<Option<Joined>, PushError> {
        let path = join_file(state_dir);
        if !path.exists() {
            return Ok(None);
        }
        let text = crate::readfile::read_text(&path, MAX_JOIN_FILE_BYTES).map_err(|source| {
            PushError::ReadJoin {
                place: source.place(&path),
                source,
            }
        })?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| PushError::ParseJoin { path, source })
    }

    /// Save, readable by this user only: it holds the token.
    pub fn save(&self, state_dir: &Path) -> std::io::Result<PathBuf> {
        let path = join_file(state_dir);
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic_private(&path, &json)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin() -> String {
        format!("sha256:{}", "0f".repeat(32))
    }

    #[test]
    fn a_link_gives_server_learner_token_and_pin() {
        let link = format!(
            "https://class.example:8443/join?learner=Ana%20Lima&token=t0k-EN_1&pin={}",
            pin()
        );
        let j = parse(&link).unwrap();
        assert_eq!(j.server, "https://class.example:8443");
        assert_eq!(j.learner, "Ana Lima");
        assert_eq!(j.token, "t0k-EN_1");
        assert_eq!(j.pin, Some(pin()));
        // A whole pasted command works too, and a default port is left out.
        let j =
            parse("labctl class join 'https://class.example:443/join?learner=a&token=b'").unwrap();
        assert_eq!(j.server, "https://class.example");
        assert_eq!(j.pin, None);
    }

    #[test]
    fn plain_http_only_to_this_machine() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            let link = format!("{ok}/join?learner=a&token=b");
            assert!(parse(&link).is_ok(), "{link}");
        }
        assert_eq!(
            parse("http://10.0.0.5:8080/join?learner=a&token=b"),
            Err(JoinError::PlainHttp("10.0.0.5".into()))
        );
        assert_eq!(
            parse("ftp://h/join?learner=a&token=b"),
            Err(JoinError::Scheme("ftp".into()))
        );
    }

    #[test]
    fn bad_links_say_what_is_wrong_without_the_token() {
        let cases = [
            ("", JoinError::Empty),
            (
                "not a url",
                JoinError::NotUrl("relative URL without a base".into()),
            ),
            (
                "https://h/other?learner=a&token=b",
                JoinError::Path("/other".into()),
            ),
            ("https://h/join?token=b", JoinError::Missing("learner")),
            ("https://h/join?learner=a", JoinError::Missing("token")),
            (
                "https://h/join?learner=a&learner=b&token=c",
                JoinError::Twice("learner"),
            ),
            (
                "https://h/join?learner=a&token=sec%20ret",
                JoinError::Invalid("token"),
            ),
            (
                "https://h/join?learner=%07&token=b",
                JoinError::Invalid("learner"),
            ),
            (
                "https://h/join?learner=a&token=b&pin=sha256:AB",
                JoinError::Pin,
            ),
            ("https://u:p@h/join?learner=a&token=b", JoinError::UserInfo),
        ];
        for (link, want) in cases {
            let got = parse(link).unwrap_err();
            assert_eq!(got, want, "{link}");
            assert!(!got.to_string().contains("sec ret"));
        }
        assert_eq!(
            parse(&"x".repeat(MAX_LINK_BYTES + 1)),
            Err(JoinError::TooLong)
        );
    }

    #[test]
    fn the_join_file_is_private_and_debug_hides_the_token() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Joined::load(dir.path()).unwrap(), None);
        let joined = Joined {
            server: "https://h:1".into(),
            learner: "ana".into(),
            lab: "istio-aks".into(),
            token: "s3cret-token".into(),
            pin: Some(pin()),
        };
        let path = joined.save(dir.path()).unwrap();
        assert_eq!(Joined::load(dir.path()).unwrap(), Some(joined.clone()));
        assert!(!format!("{joined:?}").contains("s3cret"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
