# Objects the installer stand-ins create (tests/ci-sim/bin/az, tests/ci-sim/bin/istioctl), built
# only from what the installer command was given: revision, namespaces, gateway names and labels.
# Used as `jq -n -L tests/ci-sim/lib 'include "objects"; …'`. Everything carries the `owner` labels
# (labctl.dev/simulated-by=<installer>, labctl.dev/simulated-cluster=<$SIM_CLUSTER>: tests that
# share one API server are separate clusters to the stand-ins) and istio.io/rev=<revision>, which
# is how `az aks mesh disable` and `istioctl uninstall --revision` find what to remove. No Pods and no status: the controller
# manager and the harness's pod-status driver produce those from the Deployments.

def meta($name; $ns; $labels):
  {name: $name, namespace: $ns, labels: $labels};

def namespace($name):
  {apiVersion: "v1", kind: "Namespace", metadata: {name: $name}};

# The workload: a ServiceAccount, a Service for `ports` and a Deployment whose pods carry `labels`
# and run one container `container` (no sidecar: control plane and gateways are not injected).
def workload($deploy; $svc; $ns; $labels; $selector; $replicas; $container; $svc_spec):
  [ {apiVersion: "v1", kind: "ServiceAccount", metadata: meta($deploy; $ns; $labels)},
    {apiVersion: "v1", kind: "Service", metadata: meta($svc; $ns; $labels),
     spec: ($svc_spec + {selector: $selector})},
    {apiVersion: "apps/v1", kind: "Deployment", metadata: meta($deploy; $ns; $labels),
     spec: {replicas: $replicas,
            selector: {matchLabels: $selector},
            template: {metadata: {labels: ($labels + {"sidecar.istio.io/inject": "false"}),
                                  annotations: {"sidecar.istio.io/inject": "false"}},
                       spec: {serviceAccountName: $deploy, containers: [$container]}}}} ];

# istiod of revision `rev` ("default": no revision) in `ns`, with its mesh ConfigMap holding `mesh`
# (MeshConfig as YAML text) under data.mesh.
def istiod($owner; $ns; $rev; $replicas; $image; $mesh):
  ($rev | if . == "default" then "" else "-" + . end) as $suffix
  | ({app: "istiod", istio: "pilot", "istio.io/rev": $rev} + $owner) as $labels
  | workload("istiod" + $suffix; "istiod" + $suffix; $ns; $labels;
             {app: "istiod", "istio.io/rev": $rev}; $replicas;
             {name: "discovery", image: $image, args: ["discovery"],
              env: [{name: "REVISION", value: $rev}],
              ports: [{name: "grpc-xds", containerPort: 15010}, {name: "https-webhooks", containerPort: 15017}]};
             {type: "ClusterIP", ports: [{name: "grpc-xds", port: 15010, targetPort: 15010},
                                         {name: "https-dns", port: 15012, targetPort: 15012},
                                         {name: "https-webhook", port: 443, targetPort: 15017}]})
    + [ {apiVersion: "v1", kind: "ConfigMap",
         metadata: meta("istio" + $suffix; $ns; {"istio.io/rev": $rev} + $owner),
         data: {mesh: $mesh, meshNetworks: "networks: {}"}} ];

# An ingress gateway: Deployment `deploy` and Service `svc` (type `svc_type`) in `ns`, pods and
# Service labelled `labels` (plus istio.io/rev).
def gateway($owner; $deploy; $svc; $ns; $rev; $labels; $svc_type; $replicas; $image):
  ($labels + {"istio.io/rev": $rev} + $owner) as $all
  | workload($deploy; $svc; $ns; $all; $labels + {"istio.io/rev": $rev}; $replicas;
             {name: "istio-proxy", image: $image, args: ["proxy", "router"],
              ports: [{name: "status-port", containerPort: 15021}, {name: "http2", containerPort: 8080},
                      {name: "https", containerPort: 8443}]};
             {type: $svc_type, ports: [{name: "status-port", port: 15021, targetPort: 15021},
                                       {name: "http2", port: 80, targetPort: 8080},
                                       {name: "https", port: 443, targetPort: 8443}]})
  # the Service outlives a revision: it selects the gateway pods of whichever revision runs
  | map(if .kind == "Service" then .spec.selector |= del(."istio.io/rev") else . end);

def list(items): {apiVersion: "v1", kind: "List", items: items};

# The labels that mark what `installer` created on the simulated cluster `cluster`, as an object
# and as a label selector.
def owner($installer; $cluster): {"labctl.dev/simulated-by": $installer, "labctl.dev/simulated-cluster": $cluster};
