//! Debug output for a step that failed in CI: what a lab author would type next — the recent
//! events in the namespaces the step looks at, and the objects its failing checks selected
//! (as YAML, without managedFields). It is read with get/list only, like every grade.

use crate::eval::resource::select;
use crate::eval::result::Status;
use crate::labfile::lab::Body;
use crate::plan::resolve::PlannedStep;
use crate::report::event::StepReport;
use crate::view::live::sanitize_object;
use crate::view::objects::ObjectSet;
use crate::view::query::queries_of;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// How many of the latest events per namespace to show.
const EVENTS_PER_NAMESPACE: usize = 25;

/// Events and failing objects for a failed step. `objects` is the step's last fetch.
pub async fn collect(
    client: &kube::Client,
    step: &PlannedStep,
    graded: Option<&StepReport>,
    objects: Option<&ObjectSet>,
) -> String {
    let mut out = String::new();
    let namespaces: BTreeSet<String> = step
        .checks
        .iter()
        .flat_map(|c| queries_of(&c.check.body))
        .filter_map(|q| q.namespace)
        .collect();
    for ns in &namespaces {
        let _ = writeln!(out, "── events in namespace {ns} (latest last)");
        out.push_str(&events(client, ns).await);
    }
    if let (Some(graded), Some(objects)) = (graded, objects) {
        out.push_str(&failing_objects(step, graded, objects));
    }
    out
}

async fn events(client: &kube::Client, ns: &str) -> String {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    let mut list = match api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(e) => return format!("   (cannot list events: {e})\n"),
    };
    if list.is_empty() {
        return "   (none)\n".into();
    }
    list.sort_by_key(|e| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
    });
    let skip = list.len().saturating_sub(EVENTS_PER_NAMESPACE);
    let mut out = String::new();
    for e in &list[skip..] {
        let object = format!(
            "{}/{}",
            e.involved_object.kind.as_deref().unwrap_or("?"),
            e.involved_object.name.as_deref().unwrap_or("?")
        );
        let _ = writeln!(
            out,
            "   {:<8} {:<22} {:<40} {}",
            e.type_.as_deref().unwrap_or(""),
            e.reason.as_deref().unwrap_or(""),
            object,
            e.message.as_deref().unwrap_or("").trim()
        );
    }
    out
}

/// The objects each failed (or unevaluable) check selected, as YAML.
pub fn failing_objects(step: &PlannedStep, graded: &StepReport, objects: &ObjectSet) -> String {
    let mut out = String::new();
    for result in graded
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Error))
    {
        let Some(pc) = step.checks.iter().find(|pc| pc.check.id == result.id) else {
            continue;
        };
        let (Body::Resource(b), Some(query)) = (&pc.check.body, queries_of(&pc.check.body).pop())
        else {
            continue;
        };
        let sel = &b.selector;
        let _ = writeln!(out, "── objects selected by failing check {}", result.id);
        let listed = match objects.get(&query) {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(out, "   ({e})");
                continue;
            }
        };
        match select(sel, listed) {
            Ok(found) if found.is_empty() => {
                let _ = writeln!(out, "   (none: {query})");
            }
            Ok(found) => {
                for obj in found {
                    let mut obj = obj.clone();
                    sanitize_object(&mut obj);
                    let yaml = serde_saphyr::to_string(&obj).unwrap_or_else(|e| e.to_string());
                    let _ = writeln!(out, "---\n{}", yaml.trim_end());
                }
            }
            Err(e) => {
                let _ = writeln!(out, "   ({e})");
            }
        }
    }
    out
}
