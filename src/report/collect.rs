//! Building a [`GradeReport`] back out of events, and playing a report back as events. Several
//! reporters share events through [`ReporterSet`](super::set::ReporterSet); files are written
//! by [`FileReporter`](super::set::FileReporter).

use super::event::{Event, GradeReport, Reporter, RunInfo, StepReport};
use super::set::ReporterError;
use crate::eval::result::{CheckResult, Status, step_status};
use std::time::Duration;

/// A reporter that remembers everything it is told, for tests and for reporters that render
/// the whole run at the end.
///
/// The [`StepReport`]s and the [`GradeReport`] carried by `StepFinished` and `RunFinished` are
/// authoritative; the checks seen in `CheckFinished` only matter for a run that was cut short
/// (see [`Collector::report`]).
#[derive(Debug, Default)]
pub struct Collector {
    info: Option<RunInfo>,
    steps: Vec<StepReport>,
    /// The step started and not finished yet, with the checks reported so far.
    current: Option<StepReport>,
    finished: Option<GradeReport>,
}

impl Collector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `RunFinished` has arrived.
    pub fn is_finished(&self) -> bool {
        self.finished.is_some()
    }

    /// The report of the run: the one `RunFinished` carried, or — for a run cut short — one put
    /// together from the steps that finished plus the step in progress (its status from the
    /// checks seen so far, its duration unknown and so zero). `None` before `RunStarted`.
    pub fn report(&self) -> Option<GradeReport> {
        if let Some(done) = &self.finished {
            return Some(done.clone());
        }
        let info = self.info.clone()?;
        let mut steps = self.steps.clone();
        if let Some(step) = &self.current {
            let mut step = step.clone();
            step.status = step_status(&step.checks);
            steps.push(step);
        }
        let all: Vec<CheckResult> = steps.iter().flat_map(|s| s.checks.clone()).collect();
        Some(GradeReport {
            info,
            status: step_status(&all),
            duration: steps.iter().map(|s| s.duration).sum(),
            steps,
        })
    }

    /// Like [`Collector::report`], consuming the collector.
    pub fn into_report(self) -> Option<GradeReport> {
        match self.finished {
            Some(done) => Some(done),
            None => self.report(),
        }
    }
}

impl Reporter for Collector {
    fn event(&mut self, event: &Event<'_>) -> Result<(), ReporterError> {
        match *event {
            Event::RunStarted(info) => {
                *self = Collector::new();
                self.info = Some(info.clone());
            }
            Event::StepStarted { id, title, .. } => {
                self.current = Some(StepReport {
                    id: id.to_owned(),
                    title: title.to_owned(),
                    status: Status::Passed,
                    duration: Duration::ZERO,
                    checks: Vec::new(),
                });
            }
            Event::CheckFinished { step, result } => match &mut self.current {
                Some(current) if current.id == step => current.checks.push(result.clone()),
                // A check outside a started step: keep it rather than lose it.
                _ => {
                    self.current = Some(StepReport {
                        id: step.to_owned(),
                        title: step.to_owned(),
                        status: Status::Passed,
                        duration: Duration::ZERO,
                        checks: vec![result.clone()],
                    })
                }
            },
            Event::StepFinished(step) => {
                self.current = None;
                self.steps.push(step.clone());
            }
            Event::RunFinished(report) => {
                self.current = None;
                self.finished = Some(report.clone());
            }
        }
        Ok(())
    }
}

/// Play a finished report to `reporter` as the events a live run would have sent: for showing
/// a saved report again, and for tests.
pub fn replay(report: &GradeReport, reporter: &mut dyn Reporter) -> Result<(), ReporterError> {
    reporter.event(&Event::RunStarted(&report.info))?;
    let total = report.steps.len();
    for (index, step) in report.steps.iter().enumerate() {
        reporter.event(&Event::StepStarted {
            index,
            total,
            id: &step.id,
            title: &step.title,
        })?;
        for result in &step.checks {
            reporter.event(&Event::CheckFinished {
                step: &step.id,
                result,
            })?;
        }
        reporter.event(&Event::StepFinished(step))?;
    }
    reporter.event(&Event::RunFinished(report))
}

/// A hand-built report with every kind of outcome, shared by the reporters' golden tests.
#[cfg(test)]
pub(crate) mod fixture {
    use super::*;
    use crate::eval::result::Found;

    fn check(id: &str, title: &str, status: Status, expected: &str, actual: &str) -> CheckResult {
        let mut c = CheckResult::new(id, title, status);
        c.expected = expected.to_owned();
        c.actual = actual.to_owned();
        c.duration = Duration::from_millis(12);
        c
    }

    fn step(id: &str, title: &str, ms: u64, checks: Vec<CheckResult>) -> StepReport {
        StepReport {
            id: id.to_owned(),
            title: title.to_owned(),
            status: step_status(&checks),
            duration: Duration::from_millis(ms),
            checks,
        }
    }

    pub fn info() -> RunInfo {
        RunInfo {
            lab: "istio-aks".into(),
            title: "Istio service mesh add-on on AKS".into(),
            profile: "aks".into(),
            revision: Some("asm-1-23".into()),
            context: Some("aks-lab".into()),
            snapshot: None,
            learner: Some("ada".into()),
            started_at: "2025-05-14T09:30:00Z".into(),
            warnings: Vec::new(),
            discovered: Vec::new(),
        }
    }

    /// Passed, failed (with one diagnosis, with two, with none and a generic fix, with none
    /// and no fix), multi-line actual, a heredoc fix, an error, skipped checks, a skipped step.
    pub fn report() -> GradeReport {
        let enable = step(
            "enable-addon",
            "Enable the Istio add-on with a pinned revision on your AKS cluster",
            1234,
            vec![
                check(
                    "istiod-ready",
                    "istiod asm-1-23 is running in aks-istio-system",
                    Status::Passed,
                    "Deployment istiod-asm-1-23 in aks-istio-system: isReady(object)",
                    "2/2 replicas ready",
                ),
                check(
                    "addon-revision",
                    "AKS reports the mesh add-on at revision asm-1-23",
                    Status::Passed,
                    "`az aks show … --query serviceMeshProfile.istio.revisions` prints asm-1-23",
                    "asm-1-23",
                ),
            ],
        );

        let mut labelled = check(
            "namespace-labelled",
            "Namespace pets is labelled for sidecar injection",
            Status::Failed,
            "Namespace pets: labels[\"istio.io/rev\"] == \"asm-1-23\"",
            "labels: istio-injection=enabled, kubernetes.io/metadata.name=pets",
        );
        labelled.fix = Some("kubectl label namespace pets istio.io/rev=asm-1-23".into());
        labelled.diagnoses = vec![Found {
            id: "injection-label-ignored".into(),
            cause: "The namespace has istio-injection=enabled, which the AKS add-on ignores: it \
                    only injects sidecars into namespaces labelled istio.io/rev=<revision>."
                .into(),
            fix: "kubectl label namespace pets istio-injection- istio.io/rev=asm-1-23".into(),
        }];
        let mut injected = check(
            "pods-injected",
            "Every pod in pets has an istio-proxy sidecar",
            Status::Failed,
            "Pods in pets (all): has an istio-proxy container",
            "pod store-front-7c9d8b6f5-x2x9q: containers store-front\n\
             pod order-service-5d4c7b9d6-kq8zt: containers order-service\n\
             pod rabbitmq-0: containers rabbitmq",
        );
        injected.fix = Some(
            "kubectl rollout restart deployment,statefulset -n pets\n\
             kubectl get pods -n pets    # each pod shows 2/2 when its sidecar is in"
                .into(),
        );
        let mut restarted = check(
            "pods-restarted",
            "No pod in pets predates the injection label",
            Status::Failed,
            "Pods in pets (none): created before the namespace was labelled",
            "pod rabbitmq-0: created 2025-05-14T09:01:12Z",
        );
        restarted.diagnoses = vec![
            Found {
                id: "labelled-not-restarted".into(),
                cause: "Sidecars are injected when a pod is created; the pods started before \
                        the label was set."
                    .into(),
                fix: "kubectl rollout restart statefulset/rabbitmq -n pets".into(),
            },
            Found {
                id: "statefulset-on-delete".into(),
                cause: "rabbitmq uses the OnDelete update strategy, so a rollout restart does \
                        not replace its pod."
                    .into(),
                fix: "kubectl delete pod rabbitmq-0 -n pets".into(),
            },
        ];
        let tagged = check(
            "workload-labels",
            "Workloads carry app and version labels",
            Status::Failed,
            "Deployments in pets (all): has labels app and version",
            "deployment order-service: no version label",
        );
        let onboard = step(
            "onboard-mesh",
            "Add the app to the mesh",
            873,
            vec![labelled, injected, restarted, tagged],
        );

        let mut refused = check(
            "plaintext-refused",
            "A client outside the mesh cannot reach store-front",
            Status::Error,
            "HTTP GET http://store-front.pets from a pod without a sidecar fails",
            "",
        );
        refused.message = Some(
            "pods is forbidden: User \"grader\" cannot create resource \"pods\" in API group \"\" \
             in the namespace \"pets\""
                .into(),
        );
        let mtls = step(
            "strict-mtls",
            "Require mutual TLS in the mesh",
            2045,
            vec![
                check(
                    "peerauthentication-strict",
                    "A mesh-wide PeerAuthentication sets STRICT mode",
                    Status::Passed,
                    "PeerAuthentication default in aks-istio-system: spec.mtls.mode == \"STRICT\"",
                    "STRICT",
                ),
                refused,
            ],
        );

        let mut bound = check(
            "virtualservice-bound",
            "VirtualService store-front is bound to the ingress Gateway",
            Status::Failed,
            "VirtualService store-front in pets: spec.gateways contains \"pets-gateway\"",
            "spec.gateways: (none)",
        );
        bound.diagnoses = vec![Found {
            id: "virtualservice-not-bound".into(),
            cause: "The VirtualService has no gateways, so it only applies to traffic inside \
                    the mesh; the ingress gateway has no route for it."
                .into(),
            fix: "kubectl apply -n pets -f - <<EOF\n\
                  apiVersion: networking.istio.io/v1\n\
                  kind: VirtualService\n\
                  metadata:\n  name: store-front\n\
                  spec:\n  hosts: [\"*\"]\n  gateways: [pets-gateway]\n  http:\n  \
                  - route:\n    - destination: {host: store-front}\n\
                  EOF"
            .into(),
        }];
        let mut answers = check(
            "ingress-answers",
            "The store answers on the external ingress IP",
            Status::Skipped,
            "HTTP GET http://<ingress IP>/ returns 200",
            "",
        );
        answers.message = Some("probes need a live cluster; this run grades a snapshot".into());
        let ingress = step(
            "ingress",
            "Expose the store through the external ingress gateway",
            410,
            vec![
                check(
                    "gateway-exists",
                    "Gateway pets-gateway selects the external ingress",
                    Status::Passed,
                    "Gateway pets-gateway in pets: spec.selector.istio == \"aks-istio-ingressgateway-external\"",
                    "aks-istio-ingressgateway-external",
                ),
                bound,
                answers,
            ],
        );

        let mut egress_probe = check(
            "egress-blocked",
            "Calls to hosts outside the registry are refused",
            Status::Skipped,
            "HTTP GET https://example.com from store-front fails",
            "",
        );
        egress_probe.message = Some("needs variable egressHost, which has no value".into());
        let egress = step("egress", "Control egress traffic", 0, vec![egress_probe]);

        let steps = vec![enable, onboard, mtls, ingress, egress];
        let all: Vec<CheckResult> = steps.iter().flat_map(|s| s.checks.clone()).collect();
        GradeReport {
            info: info(),
            status: step_status(&all),
            duration: Duration::from_millis(4562),
            steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_rebuilds_the_report_from_events() {
        let report = fixture::report();
        let mut collector = Collector::new();
        replay(&report, &mut collector).unwrap();
        assert!(collector.is_finished());
        assert_eq!(collector.into_report().unwrap(), report);
    }

    #[test]
    fn collector_reports_a_run_cut_short() {
        let report = fixture::report();
        let mut c = Collector::new();
        assert!(c.report().is_none());
        c.event(&Event::RunStarted(&report.info)).unwrap();
        let first = &report.steps[0];
        c.event(&Event::StepStarted {
            index: 0,
            total: 5,
            id: &first.id,
            title: &first.title,
        })
        .unwrap();
        c.event(&Event::StepFinished(first)).unwrap();
        let second = &report.steps[1];
        c.event(&Event::StepStarted {
            index: 1,
            total: 5,
            id: &second.id,
            title: &second.title,
        })
        .unwrap();
        c.event(&Event::CheckFinished {
            step: &second.id,
            result: &second.checks[0],
        })
        .unwrap();

        let partial = c.report().unwrap();
        assert!(!c.is_finished());
        assert_eq!(partial.steps.len(), 2);
        assert_eq!(partial.steps[0], *first);
        assert_eq!(partial.steps[1].checks, vec![second.checks[0].clone()]);
        assert_eq!(partial.steps[1].status, Status::Failed);
        assert_eq!(partial.status, Status::Failed);
        assert_eq!(partial.duration, first.duration);
    }
}
