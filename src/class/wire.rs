//! The wire contract between a learner's labctl and `labctl class serve`: the JSON bodies, the
//! paths and the limits, shared by both sides so they cannot drift apart. Serde types and pure
//! checks only; no I/O.
//!
//! - `POST /api/v1/results` with `Authorization: Bearer <token>` and a [`Submission`]; answers
//!   200 [`Accepted`] (`duplicate: true` when this learner already sent that id: nothing is counted
//!   twice), 400 malformed JSON, 401 missing or unknown token, 403 revoked token, 413 body over
//!   [`MAX_BODY_BYTES`], 422 unknown lab, step or check id, 429 rate limited. Errors are
//!   [`ErrorBody`].
//! - `GET /api/v1/whoami` with the bearer token: 200 [`Whoami`] (the learner and lab the token is
//!   bound to); `class join` uses it to prove the token and the pin before saving them.
//! - `GET /api/v1/health`: 200 [`Health`], no authentication.
//! - The join link printed by `labctl class invite`:
//!   `https://HOST:PORT/join?learner=NAME&token=TOKEN&pin=sha256:HEX`, query values
//!   percent-encoded; `pin` is the SHA-256 of the server certificate's DER in lowercase hex, and
//!   is left out when the server has a real certificate (`--tls-cert`).

use serde::{Deserialize, Serialize};

/// Where a learner sends a step's result.
pub const RESULTS_PATH: &str = "/api/v1/results";
/// Who a token belongs to.
pub const WHOAMI_PATH: &str = "/api/v1/whoami";
/// Is the server up (no authentication).
pub const HEALTH_PATH: &str = "/api/v1/health";
/// The path of a join link.
pub const JOIN_PATH: &str = "/join";
/// The join link's query keys.
pub const JOIN_LEARNER: &str = "learner";
pub const JOIN_TOKEN: &str = "token";
pub const JOIN_PIN: &str = "pin";
/// How a pin starts; lowercase hex of the certificate's SHA-256 follows.
pub const PIN_PREFIX: &str = "sha256:";

/// The largest request body the server reads; more is refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest check message a submission may carry (bytes, UTF-8); a learner truncates to it.
pub const MAX_MESSAGE_BYTES: usize = 2 * 1024;
/// A submission id's length, in characters of `[A-Za-z0-9-_]`.
pub const ID_MIN_LEN: usize = 16;
pub const ID_MAX_LEN: usize = 64;

/// One step's result, sent by a learner after `check`, `check --wait` or `solve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submission {
    /// Made by the learner once per result (e.g. 32 random hex chars) and kept across retries:
    /// the server counts an id once per learner.
    pub id: String,
    /// The lab's name (as in lab.yaml).
    pub lab: String,
    /// The step's id.
    pub step: String,
    pub command: SubmitCommand,
    /// When the step was graded, RFC 3339 in UTC, e.g. `2026-12-06T02:10:00Z`.
    pub at: String,
    pub duration_ms: u64,
    pub status: StepStatus,
    pub checks: Vec<CheckOutcome>,
}

/// The learner command that produced a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubmitCommand {
    Check,
    CheckWait,
    Solve,
}

/// A step's status as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Passed,
    Failed,
    Error,
}

/// One check of the step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check's id in the lab's plan.
    pub id: String,
    pub status: CheckStatus,
    /// The id of the known cause that matched, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<String>,
    /// What the report text says about the check, at most [`MAX_MESSAGE_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// A check's status as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Passed,
    Failed,
    Skipped,
    Error,
}

/// The answer to an accepted submission (200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub accepted: bool,
    /// This learner had already sent this id; it was not counted again.
    pub duplicate: bool,
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// The answer to `GET /api/v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    pub learner: String,
    pub lab: String,
}

/// The answer to `GET /api/v1/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub ok: bool,
}

/// Whether `id` is a valid submission id: 16 to 64 characters of `[A-Za-z0-9-_]`.
pub fn valid_id(id: &str) -> bool {
    (ID_MIN_LEN..=ID_MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `pin` is `sha256:` and 64 lowercase hex digits.
pub fn valid_pin(pin: &str) -> bool {
    pin.strip_prefix(PIN_PREFIX).is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_reads_as_the_contract_writes_it() {
        let body = r#"{"id":"0123456789abcdef","lab":"istio-aks","step":"onboard-mesh",
            "command":"check-wait","at":"2026-12-06T02:10:00Z","duration_ms":1200,
            "status":"failed","checks":[{"id":"sidecar","status":"failed","diagnosis":"no-label",
            "message":"no sidecar"},{"id":"ns","status":"passed","duration_ms":3}]}"#;
        let s: Submission = serde_json::from_str(body).unwrap();
        assert_eq!(s.command, SubmitCommand::CheckWait);
        assert_eq!(s.status, StepStatus::Failed);
        assert_eq!(s.checks[0].diagnosis.as_deref(), Some("no-label"));
        assert_eq!(s.checks[1].message, None);
        let again: Submission = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn ids_and_pins_are_checked() {
        assert!(valid_id("abcdefgh-_123456"));
        assert!(!valid_id("short"));
        assert!(!valid_id(&"a".repeat(65)));
        assert!(!valid_id("abcdefgh 12345678"));
        assert!(valid_pin(&format!("sha256:{}", "ab".repeat(32))));
        assert!(!valid_pin(&format!("sha256:{}", "AB".repeat(32))));
        assert!(!valid_pin("sha256:abc"));
    }
}
