//! What a variable read from the cluster (`discover:` in lab.yaml) was found to be, and where it
//! came from: part of a plan (shown by every report, kept in snapshots). The discovering itself
//! reads listed objects and evaluates the lab's CEL over them: [`crate::eval::discover`].

use serde::{Deserialize, Serialize};

/// A discovered variable's value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovered {
    pub variable: String,
    /// The value used (`None`: nothing found and the lab has no value either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "camelCase")]
pub enum Origin {
    /// Read from this object ("Deployment istiod-asm-1-25 in aks-istio-system"); `chosen_by`
    /// names what broke a tie between several values.
    Cluster {
        object: String,
        #[serde(default, rename = "chosenBy", skip_serializing_if = "Option::is_none")]
        chosen_by: Option<String>,
    },
    /// Nothing found where the lab looks ("Deployment objects in … matching `app=istiod`"): the
    /// lab's own value is used.
    NotFound {
        #[serde(rename = "lookedIn")]
        looked_in: String,
    },
}

impl std::fmt::Display for Discovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = self.value.as_deref().unwrap_or("(no value)");
        match &self.origin {
            Origin::Cluster { object, chosen_by } => {
                write!(f, "{} {value} (discovered: {object}", self.variable)?;
                if let Some(by) = chosen_by {
                    write!(f, "; {by}")?;
                }
                write!(f, ")")
            }
            Origin::NotFound { looked_in } => write!(
                f,
                "{} {value} (the lab's default: none found, looked for {looked_in})",
                self.variable
            ),
        }
    }
}
