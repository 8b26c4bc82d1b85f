//! What evaluation may know about the world: listed objects per query and the outcome of
//! commands. Live grading runs commands; snapshot grading says they are unavailable. Keeping
//! this behind a trait keeps `eval` pure and unit-testable with inline YAML.

use crate::spec::lab::Command;
use crate::view::objects::{FetchError, ObjectSet};
use crate::view::query::Query;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandFact {
    Ran {
        exit_code: i32,
        stdout: String,
        stderr: String,
    },
    /// Not run on purpose (offline grading); the reason is shown as a skip.
    Unavailable(String),
    /// Could not run: missing program, timeout. The check cannot be evaluated.
    Failed(String),
}

pub trait Facts {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError>;
    fn run(&self, command: &Command) -> CommandFact;
}

/// Facts from an object set, with command outcomes given up front (tests, snapshots).
pub struct StaticFacts {
    pub objects: ObjectSet,
    /// Outcomes by command line; a command not listed is `Unavailable(reason)`.
    pub commands: BTreeMap<String, CommandFact>,
    pub unavailable_reason: String,
}

impl StaticFacts {
    pub fn offline(objects: ObjectSet, reason: &str) -> Self {
        StaticFacts {
            objects,
            commands: BTreeMap::new(),
            unavailable_reason: reason.to_owned(),
        }
    }
}

impl Facts for StaticFacts {
    fn list(&self, query: &Query) -> Result<&[Value], FetchError> {
        self.objects.get(query)
    }
    fn run(&self, command: &Command) -> CommandFact {
        self.commands
            .get(&command.run)
            .cloned()
            .unwrap_or_else(|| CommandFact::Unavailable(self.unavailable_reason.clone()))
    }
}
