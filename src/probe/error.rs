//! Why a probe could not run, as a type: each way to fail with its own message. A probe that
//! cannot run is a fact like any other (`ProbeFact::Failed`, its message), so these end as text
//! at the edge of `probe`, in [`crate::probe::run`].

use crate::view::objects::FetchError;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The Services the URL is read from could not be listed.
    #[error("{0}")]
    Services(#[from] FetchError),
    #[error("there is no Service {name} in {namespace}")]
    NoService { name: String, namespace: String },
    #[error("Service {name} in {namespace} {problem}")]
    Address {
        name: String,
        namespace: String,
        problem: AddressError,
    },
    #[error("invalid URL {url}: {reason}")]
    Url { url: String, reason: String },
    #[error("invalid request for {url}: {reason}")]
    Request { url: String, reason: String },
    #[error("invalid label selector `{labels}`: {reason}")]
    Selector { labels: String, reason: String },
    #[error("no running pod matches {labels} in {namespace} to send the request from")]
    NoPod { labels: String, namespace: String },
    #[error("exec into pod {pod} in {namespace}: {reason}")]
    Exec {
        pod: String,
        namespace: String,
        reason: String,
    },
    #[error("exec into pod {pod} in {namespace} did not finish within {}s", .timeout.as_secs())]
    ExecTimeout {
        pod: String,
        namespace: String,
        timeout: Duration,
    },
    /// The task running kubectl ended without an answer (it panicked or was cancelled).
    #[error("kubectl exec did not finish: {0}")]
    KubectlUnfinished(String),
    /// kubectl ran and said why it failed (its stderr).
    #[error("kubectl exec failed: {0}")]
    KubectlFailed(String),
    /// kubectl could not be run (not installed, timed out).
    #[error("kubectl exec: {0}")]
    Kubectl(String),
    #[error("the probe printed nothing (does the image have sh and curl?)")]
    NothingPrinted,
    /// What was printed instead of a report (its first 300 characters).
    #[error("the probe did not print a report: {0:?}")]
    NoReport(String),
    /// A distribution report without the number of requests sent (or more than were asked).
    #[error("the distribution report does not say how many requests were sent: {0:?}")]
    NoCounts(String),
    /// A distribution report whose counts add up to more answers than requests sent.
    #[error("the distribution report counts {counted} answers for {sent} requests sent")]
    Counts { counted: u64, sent: u32 },
    /// A body marker that is not a regular expression once its variables are set.
    #[error("the body marker /{pattern}/ is not a regular expression: {reason}")]
    Marker { pattern: String, reason: String },
    /// The report's head, without a curl exit code in it.
    #[error("the probe report has no curl exit code: {0:?}")]
    NoExitCode(String),
}

/// Why a Service gives no address to probe.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("has no external address yet (status.loadBalancer.ingress is empty)")]
    NoAddress,
    #[error("port `{0}` is not a number")]
    BadPort(String),
    #[error("has no ports")]
    NoPorts,
}
