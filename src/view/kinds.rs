//! Where a kind is listed, known without asking the server first.
//!
//! A LIST goes to `/api/v1[/namespaces/<ns>]/<plural>` or
//! `/apis/<group>/<version>[/namespaces/<ns>]/<plural>`. For built-in kinds the plural and the
//! scope are known (k8s-openapi's types, [`builtin`]); a custom resource's plural is almost
//! always the conventional one (the kind in lower case, in the English plural:
//! `ServiceEntry` → `serviceentries`, what kube's `ApiResource::from_gvk` guesses). So a fetch
//! lists at once where the kind should be, and only a 404 there — the kind is not served (its
//! CRD is not installed yet), has another plural, or is cluster-scoped and was asked for in a
//! namespace — makes it ask discovery (`GET /apis/<group>/<version>`). What discovery answers,
//! and where a LIST succeeded, is kept here for the rest of the run (one [`Kinds`] per
//! connection, so per server); a 404 forgets it, since a kind can go away (a CRD deleted) and
//! come back. Nothing here is kept across runs, and "not served" is never kept: a kind that
//! appears during a lab (Istio's CRDs after its first step) is found on the next look.

use kube::core::GroupVersionKind;
use kube::discovery::{ApiResource, Scope};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Where to list a kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub resource: ApiResource,
    /// `None`: not known (a conventional guess); listed in the namespace asked for, if any.
    pub scope: Option<Scope>,
    /// Known (built in, or what this server said or answered), not a guess. A 403 at a guessed
    /// place may hide a kind that is not served, so it is checked with discovery; at a known
    /// place it is the answer.
    pub known: bool,
}

impl Place {
    /// The namespace to list in when `asked` is: none for a cluster-scoped kind.
    pub fn namespace<'a>(&self, asked: Option<&'a str>) -> Option<&'a str> {
        match self.scope {
            Some(Scope::Cluster) => None,
            _ => asked,
        }
    }

    /// The LIST path for `asked`.
    pub fn url_path(&self, asked: Option<&str>) -> String {
        <kube::api::DynamicObject as kube::Resource>::url_path(
            &self.resource,
            self.namespace(asked),
        )
    }
}

/// What one server is known to serve (see the module docs).
#[derive(Debug, Default)]
pub struct Kinds {
    /// (apiVersion, kind) → where it was found, and whether a LIST there succeeded.
    learned: Mutex<HashMap<(String, String), (Place, bool)>>,
}

impl Kinds {
    /// Where to list `kind` of `api_version`: what this server said, else the built-in place,
    /// else the conventional guess.
    pub fn place(&self, api_version: &str, kind: &str) -> Place {
        if let Some((place, _)) = self.lock().get(&key(api_version, kind)) {
            return place.clone();
        }
        if let Some((resource, scope)) = builtin(api_version, kind) {
            return Place {
                resource: resource.clone(),
                scope: Some(scope.clone()),
                known: true,
            };
        }
        Place {
            resource: ApiResource::from_gvk(&gvk(api_version, kind)),
            scope: None,
            known: false,
        }
    }

    /// Discovery said where the kind is.
    pub fn learn(&self, api_version: &str, kind: &str, resource: ApiResource, scope: Scope) {
        let place = Place {
            resource,
            scope: Some(scope),
            known: true,
        };
        self.lock().insert(key(api_version, kind), (place, false));
    }

    /// A LIST at `place` succeeded, `in_namespace` or not.
    pub fn listed(&self, api_version: &str, kind: &str, place: &Place, in_namespace: bool) {
        let mut place = place.clone();
        place.known = true;
        if in_namespace && place.scope.is_none() {
            place.scope = Some(Scope::Namespaced);
        }
        self.lock().insert(key(api_version, kind), (place, true));
    }

    /// The kind was not where it was thought to be.
    pub fn forget(&self, api_version: &str, kind: &str) {
        self.lock().remove(&key(api_version, kind));
    }

    /// Where the kind was listed in this run, if it was: what can be watched without asking.
    pub fn served(&self, api_version: &str, kind: &str) -> Option<Place> {
        match self.lock().get(&key(api_version, kind)) {
            Some((place, true)) => Some(place.clone()),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (Place, bool)>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.learned.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(api_version: &str, kind: &str) -> (String, String) {
    (api_version.to_owned(), kind.to_owned())
}

fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

/// The built-in kinds: where every Kubernetes API server serves them.
pub fn builtin(api_version: &str, kind: &str) -> Option<&'static (ApiResource, Scope)> {
    builtins()
        .iter()
        .find(|(r, _)| r.api_version == api_version && r.kind == kind)
}

fn builtins() -> &'static [(ApiResource, Scope)] {
    static TABLE: OnceLock<Vec<(ApiResource, Scope)>> = OnceLock::new();
    macro_rules! table {
        ($($t:ty),* $(,)?) => { vec![$(entry::<$t>()),*] };
    }
    TABLE.get_or_init(|| {
        use k8s_openapi::api::{
            admissionregistration::v1 as admission, apps::v1 as apps, autoscaling,
            batch::v1 as batch, certificates::v1 as certificates, coordination::v1 as coordination,
            core::v1 as core, discovery::v1 as discovery, events::v1 as events,
            networking::v1 as networking, node::v1 as node, policy::v1 as policy, rbac::v1 as rbac,
            scheduling::v1 as scheduling, storage::v1 as storage,
        };
        use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
        use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
        table![
            core::ConfigMap,
            core::Endpoints,
            core::Event,
            core::LimitRange,
            core::Namespace,
            core::Node,
            core::PersistentVolume,
            core::PersistentVolumeClaim,
            core::Pod,
            core::PodTemplate,
            core::ReplicationController,
            core::ResourceQuota,
            core::Secret,
            core::Service,
            core::ServiceAccount,
            apps::ControllerRevision,
            apps::DaemonSet,
            apps::Deployment,
            apps::ReplicaSet,
            apps::StatefulSet,
            batch::CronJob,
            batch::Job,
            autoscaling::v1::HorizontalPodAutoscaler,
            autoscaling::v2::HorizontalPodAutoscaler,
            networking::Ingress,
            networking::IngressClass,
            networking::NetworkPolicy,
            policy::PodDisruptionBudget,
            rbac::ClusterRole,
            rbac::ClusterRoleBinding,
            rbac::Role,
            rbac::RoleBinding,
            admission::MutatingWebhookConfiguration,
            admission::ValidatingWebhookConfiguration,
            apiextensions::CustomResourceDefinition,
            apiregistration::APIService,
            certificates::CertificateSigningRequest,
            coordination::Lease,
            discovery::EndpointSlice,
            events::Event,
            node::RuntimeClass,
            scheduling::PriorityClass,
            storage::CSIDriver,
            storage::CSINode,
            storage::StorageClass,
            storage::VolumeAttachment,
        ]
    })
}

fn entry<K>() -> (ApiResource, Scope)
where
    K: k8s_openapi::Resource,
    K::Scope: 'static,
{
    use std::any::TypeId;
    let scope = match TypeId::of::<K::Scope>() == TypeId::of::<k8s_openapi::ClusterResourceScope>()
    {
        true => Scope::Cluster,
        false => Scope::Namespaced,
    };
    let resource = ApiResource {
        group: K::GROUP.into(),
        version: K::VERSION.into(),
        api_version: K::API_VERSION.into(),
        kind: K::KIND.into(),
        plural: K::URL_PATH_SEGMENT.into(),
    };
    (resource, scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_kinds_are_known_with_their_scope() {
        let kinds = Kinds::default();
        let ns = kinds.place("v1", "Namespace");
        assert_eq!(ns.resource.plural, "namespaces");
        assert_eq!(ns.scope, Some(Scope::Cluster));
        assert!(ns.known);
        assert_eq!(ns.url_path(Some("pets")), "/api/v1/namespaces");
        let d = kinds.place("apps/v1", "Deployment");
        assert_eq!(
            d.url_path(Some("pets")),
            "/apis/apps/v1/namespaces/pets/deployments"
        );
        assert_eq!(d.url_path(None), "/apis/apps/v1/deployments");
        assert_eq!(kinds.place("v1", "Endpoints").resource.plural, "endpoints");
        assert_eq!(
            kinds
                .place("apiextensions.k8s.io/v1", "CustomResourceDefinition")
                .scope,
            Some(Scope::Cluster)
        );
    }

    #[test]
    fn custom_kinds_get_the_conventional_path_until_the_server_says_otherwise() {
        let kinds = Kinds::default();
        let se = kinds.place("networking.istio.io/v1", "ServiceEntry");
        assert!(!se.known);
        assert_eq!(se.scope, None);
        assert_eq!(
            se.url_path(Some("pets")),
            "/apis/networking.istio.io/v1/namespaces/pets/serviceentries"
        );
        assert_eq!(kinds.served("networking.istio.io/v1", "ServiceEntry"), None);

        kinds.listed("networking.istio.io/v1", "ServiceEntry", &se, true);
        let listed = kinds
            .served("networking.istio.io/v1", "ServiceEntry")
            .unwrap();
        assert_eq!(listed.scope, Some(Scope::Namespaced));
        assert!(listed.known);

        let odd = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("example.com", "v1", "Octopus"),
            "octopodes",
        );
        kinds.learn("example.com/v1", "Octopus", odd, Scope::Cluster);
        let place = kinds.place("example.com/v1", "Octopus");
        assert_eq!(place.url_path(Some("x")), "/apis/example.com/v1/octopodes");
        assert_eq!(
            kinds.served("example.com/v1", "Octopus"),
            None,
            "not listed yet"
        );
        kinds.forget("example.com/v1", "Octopus");
        assert_eq!(
            kinds.place("example.com/v1", "Octopus").resource.plural,
            "octopuses",
            "back to the guess"
        );
    }
}
