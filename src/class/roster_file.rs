//! The roster file as written by an instructor (YAML), deserialized with positions kept so that
//! every lint in [`roster`](super::roster) can point at `file:line:col`. Unknown fields are
//! errors with a "did you mean", as in lab files.
//!
//! ```yaml
//! lab: istio-aks                 # optional; must agree with --lab
//! profile: kind                  # optional; --profile wins
//! variables: { revision: asm-1-24 }
//! clusters:                      # shared clusters, with the instructor's credentials
//!   workshop:
//!     kubeconfig: ~/.kube/config
//!     context: kind-workshop
//!     variables: { appNamespace: "pets-{{ learner }}" }
//! learners:
//!   - { name: alice, cluster: workshop }
//!   - { name: bob, kubeconfig: ./kubeconfigs/bob.yaml, context: bob-aks }
//!   - { name: carol, snapshot: ./snapshots/carol.json }
//! ```

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;
use std::marker::PhantomData;

pub type S = Spanned<String>;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterFile {
    #[serde(default)]
    pub lab: Option<S>,
    #[serde(default)]
    pub profile: Option<S>,
    #[serde(default)]
    pub variables: SpannedMap<S>,
    #[serde(default)]
    pub clusters: SpannedMap<Spanned<ClusterDecl>>,
    pub learners: Vec<Spanned<LearnerDecl>>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterDecl {
    #[serde(default)]
    pub kubeconfig: Option<S>,
    #[serde(default)]
    pub context: Option<S>,
    #[serde(default)]
    pub variables: SpannedMap<S>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnerDecl {
    pub name: S,
    #[serde(default)]
    pub cluster: Option<S>,
    #[serde(default)]
    pub kubeconfig: Option<S>,
    #[serde(default)]
    pub context: Option<S>,
    #[serde(default)]
    pub snapshot: Option<S>,
    #[serde(default)]
    pub variables: SpannedMap<S>,
}

/// A YAML mapping whose keys keep their positions (a `BTreeMap` key cannot), in file order.
#[derive(Debug)]
pub struct SpannedMap<V>(pub Vec<(S, V)>);

impl<V> Default for SpannedMap<V> {
    fn default() -> Self {
        SpannedMap(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for SpannedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = SpannedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(SpannedMap::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<S>()? {
                    entries.push((key, map.next_value::<V>()?));
                }
                Ok(SpannedMap(entries))
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}
