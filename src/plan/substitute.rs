//! Applies a string transformation (variable substitution) to every string a check carries,
//! including strings nested in `match` documents and diagnosis conditions.

use crate::labfile::kinds::distribution::model::Marker;
use crate::labfile::lab::{
    Body, Check, CommandExpect, HttpTarget, Probe, ProbeExpect, ProbeFrom, ResourceExpect,
    TextMatch,
};
use serde_json::Value;

/// Something whose strings can be rewritten in place.
pub trait MapStrings {
    fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> String);
}

fn map(s: &mut String, f: &mut dyn FnMut(&str) -> String) {
    *s = f(s);
}

fn map_opt(s: &mut Option<String>, f: &mut dyn FnMut(&str) -> String) {
    if let Some(s) = s {
        map(s, f);
    }
}

impl MapStrings for Value {
    fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> String) {
        match self {
            Value::String(s) => map(s, f),
            Value::Array(items) => items.iter_mut().for_each(|v| v.map_strings(f)),
            Value::Object(m) => {
                // Keys may hold placeholders too (e.g. a label key); rebuild the map.
                let old = std::mem::take(m);
                for (k, mut v) in old {
                    v.map_strings(f);
                    m.insert(f(&k), v);
                }
            }
            _ => {}
        }
    }
}

impl MapStrings for ResourceExpect {
    fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> String) {
        if let Some(m) = &mut self.match_ {
            m.map_strings(f);
        }
        map_opt(&mut self.cel, f);
    }
}

impl MapStrings for CommandExpect {
    fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> String) {
        for tm in [&mut self.stdout, &mut self.stderr].into_iter().flatten() {
            match tm {
                TextMatch::Equals(s) | TextMatch::Contains(s) | TextMatch::Matches(s) => map(s, f),
            }
        }
    }
}

impl MapStrings for Probe {
    fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> String) {
        match &mut self.from {
            ProbeFrom::Labctl => {}
            ProbeFrom::Pod(pod) => {
                map(&mut pod.namespace, f);
                map(&mut pod.image, f);
            }
            ProbeFrom::Exec(exec) => {
                map(&mut exec.namespace, f);
                map(&mut exec.labels, f);
                map_opt(&mut exec.container, f);
            }
        }
        match &mut self.http.target {
            HttpTarget::Url(url) => map(url, f),
            HttpTarget::Service { namespace, name } => {
                map(namespace, f);
                map(name, f);
            }
        }
        map_opt(&mut self.http.port, f);
        map(&mut self.http.path, f);
    }
}

impl MapStrings for Body {
    fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> String) {
        match self {
            Body::Resource(b) => {
                let sel = &mut b.selector;
                map(&mut sel.api_version, f);
                map(&mut sel.kind, f);
                map_opt(&mut sel.namespace, f);
                map_opt(&mut sel.name, f);
                map_opt(&mut sel.labels, f);
                b.expect.map_strings(f);
            }
            Body::Command(b) => {
                map(&mut b.command.run, f);
                b.expect.map_strings(f);
            }
            Body::Probe(b) => {
                b.probe.map_strings(f);
                if let ProbeExpect::Reply { body_contains, .. } = &mut b.expect {
                    map_opt(body_contains, f);
                }
            }
            Body::Distribution(b) => {
                b.probe.map_strings(f);
                match &mut b.by {
                    Marker::Header(s) | Marker::Body(s) => map(s, f),
                }
            }
        }
    }
}

/// Apply `f` to the shell code of a check only: the `run` of its command, of its skip
/// conditions and of its diagnoses' conditions (before [`MapStrings`] handles the rest).
pub fn map_commands(check: &mut Check, f: &mut dyn FnMut(&str) -> String) {
    for body in check.bodies_mut() {
        if let Body::Command(b) = body {
            map(&mut b.command.run, f);
        }
    }
}

impl MapStrings for Check {
    fn map_strings(&mut self, f: &mut dyn FnMut(&str) -> String) {
        map(&mut self.title, f);
        map_opt(&mut self.actual, f);
        map_opt(&mut self.fix, f);
        if let Some(skip) = &mut self.skip {
            map(&mut skip.reason, f);
        }
        for d in &mut self.diagnoses {
            map(&mut d.cause, f);
            map(&mut d.fix, f);
        }
        self.bodies_mut().for_each(|b| b.map_strings(f));
    }
}
