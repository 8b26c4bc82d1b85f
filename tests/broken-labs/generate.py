#!/usr/bin/env python3
"""Regenerates the broken-lab corpus: each case is the minimal lab of tests/labs-ok/minimal with
one mistake a lab author really makes. Run from this folder; the cases are committed, and
tests/integration/validate.rs snapshots `labctl validate` on each of them."""
import os
import shutil

BASE = os.path.join(os.path.dirname(__file__), "..", "labs-ok", "minimal")


def read(rel):
    with open(os.path.join(BASE, rel)) as f:
        return f.read()


LAB = read("lab.yaml").replace("name: minimal", "name: NAME")
MD1 = read("steps/01-onboard.md")
MD2 = read("steps/02-cleanup.md")
FENCE = "```"

PA = f"""
{FENCE}bash solve
kubectl apply -f - <<EOF
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: pets-mtls
  namespace: {{{{ appNamespace }}}}
spec:
  mtsl:
    mode: STRICT
EOF
{FENCE}
"""

DEPLOY = f"""
{FENCE}bash solve
kubectl apply -f - <<EOF
apiVersion: apps/v1
kind: Deplyment
metadata:
  name: curl
EOF
{FENCE}
"""

CHECKS_BLOCK = LAB[LAB.index("    checks:\n      - id: namespace-labelled"):LAB.index("  - id: cleanup")]

DISCOVER = """    discover:
      resource:
        apiVersion: apps/v1
        kind: Deployment
        namespace: aks-istio-system
        labels: app=istiod
      value: "object.metadata.labels['istio.io/rev']"
"""

PROBE = """      - id: plaintext-refused
        title: Plaintext from outside the mesh is refused
        probe:
          pod:
            namespace: default
          http:
            url: "http://store-front.{{ appNamespace }}/"
        expect:
          fails: true
"""


# A canary split (issue 14): 100 requests from a probe pod, counted by the `x-version` header;
# see https://istio.io/latest/docs/tasks/traffic-management/traffic-shifting/
DISTRIBUTION = """      - id: canary-split
        title: Nine in ten requests reach v1
        distribution:
          pod:
            namespace: default
          http:
            url: "http://store-front.{{ appNamespace }}/"
          requests: 100
          by:
            header: x-version
          expect:
            weights:
              v1: 90
              v2: 10
"""


# The onboard step's checks in its own file, `steps/01-onboard.yaml` (the step-file layout).
STEP_FILE = "\n".join(l[4:] for l in CHECKS_BLOCK.rstrip("\n").split("\n")) + "\n"


def step_file(old, new):
    """Move step onboard's checks to its step file, with one mistake in that file."""
    assert old in STEP_FILE, old
    return [("lab.yaml", CHECKS_BLOCK, ""), ("steps/01-onboard.yaml", "", STEP_FILE.replace(old, new, 1))]


def probe(old, new):
    """Add the probe check to step onboard, with one mistake in it."""
    assert old in PROBE, old
    return [("lab.yaml", "  - id: cleanup\n", PROBE.replace(old, new, 1) + "  - id: cleanup\n")]


def distribution(old, new):
    """Add the canary split check to step onboard, with one mistake in it."""
    assert old in DISTRIBUTION, old
    return [("lab.yaml", "  - id: cleanup\n", DISTRIBUTION.replace(old, new, 1) + "  - id: cleanup\n")]


CASES = {
    "unannotated-write": [("steps/01-onboard.md", None, f"\nRestart the workloads so they get a sidecar:\n\n{FENCE}bash\nkubectl get pods -n {{{{ appNamespace }}}}\nkubectl rollout restart deployment -n {{{{ appNamespace }}}}\n{FENCE}\n")],
    "unknown-field": [("lab.yaml", "    checks:\n      - id: namespace-labelled", "    chekcs:\n      - id: namespace-labelled")],
    "undefined-variable": [("lab.yaml", 'title: "{{ appNamespace }} carries', 'title: "{{ appNamspace }} carries')],
    "undefined-variable-in-markdown": [("steps/01-onboard.md", "istio.io/rev={{ revision }}", "istio.io/rev={{ revison }}")],
    "missing-instructions": [("lab.yaml", "instructions: steps/01-onboard.md", "instructions: steps/01-onbaord.md")],
    "step-without-checks": [("lab.yaml", CHECKS_BLOCK, "")],
    "profile-without-solve": [("steps/01-onboard.md", FENCE + "bash solve\n", FENCE + "bash solve profile=aks\n")],
    "duplicate-step-id": [("lab.yaml", "  - id: cleanup\n", "  - id: onboard\n")],
    "unquoted-placeholder": [("lab.yaml", 'name: "{{ appNamespace }}"\n        expect:\n          match', "name: {{ appNamespace }}\n        expect:\n          match")],
    "manifest-unknown-field": [("steps/01-onboard.md", None, PA)],
    "manifest-unknown-kind": [("steps/01-onboard.md", None, DEPLOY)],
    "unknown-library-check": [
        ("lab.yaml", "    checks:\n      - id: namespace-labelled", "    checks:\n      - use: namespace-labeled\n      - id: namespace-labelled"),
        ("lab.yaml", "profiles:", "library: checks\nprofiles:"),
        ("checks/namespace-labelled.yaml", "", 'id: namespace-labelled\nresource: {apiVersion: v1, kind: Namespace, name: "{{ appNamespace }}"}\n'),
    ],
    "cel-does-not-compile": [("lab.yaml", "          match:\n            metadata:", "          cel: \"object.metadata.labels['istio.io/rev'] == \"\n          match:\n            metadata:")],
    "unknown-quantifier": [("lab.yaml", "          match:\n            metadata:", "          quantifier: alll\n          match:\n            metadata:")],
    "undeclared-remote-manifest": [("steps/01-onboard.md", None, f"\n{FENCE}bash solve\nkubectl apply -n {{{{ appNamespace }}}} -f https://example.com/app.yaml\n{FENCE}\n")],
    "unknown-block-annotation": [("steps/02-cleanup.md", FENCE + "bash solve\n", FENCE + "bash slove\n")],
    "no-cleanup-step": [("lab.yaml", "    type: cleanup\n", "")],
    "yaml-syntax": [("lab.yaml", "  kind: {}", "  kind: [aks, kind")],
    "bad-label-selector": [("lab.yaml", '          name: "{{ appNamespace }}"\n        expect:\n          match', '          labels: "app in (a, b"\n        expect:\n          match')],
    "name-mismatch": [("lab.yaml", "name: name-mismatch", "name: istio-lab")],
    "unknown-profile-in-block": [("steps/01-onboard.md", FENCE + "bash solve\n", FENCE + "bash solve profile=kidn\n")],
    "expect-field-for-wrong-kind": [("lab.yaml", "          match:\n            metadata:", "          exitCode: 0\n          match:\n            metadata:")],
    "probe-unknown-field": probe("          http:\n", "          htpp:\n"),
    "probe-pod-and-exec": probe("          http:\n", "          exec:\n            namespace: default\n            labels: app=curl\n          http:\n"),
    "probe-fails-with-status": probe("          fails: true\n", "          fails: true\n          status: 200\n"),
    "probe-unknown-error-kind": probe("          fails: true\n", "          error: rest\n"),
    "probe-unknown-error-kind-in-list": probe("          fails: true\n", "          error: [reset, emty]\n"),
    "probe-reached-with-status": probe("          fails: true\n", "          reached: true\n          status: 200\n"),
    "probe-status-on-resource-check": [("lab.yaml", "          match:\n            metadata:", "          status: 200\n          match:\n            metadata:")],
    "probe-url-not-http": probe('url: "http://', 'url: "tcp://'),
    "discover-broken": [("lab.yaml", "    default: asm-1-23\n", "    default: asm-1-23\n" + DISCOVER.replace(
        'namespace: aks-istio-system', 'namespace: "{{ revision }}"').replace("['istio.io/rev']", "['istio.io/rev'"))],
    "discover-unknown-field": [("lab.yaml", "    default: asm-1-23\n", "    default: asm-1-23\n" + DISCOVER.replace("      value:", "      vaule:"))],
    "variable-pattern-invalid": [("lab.yaml", "  revision:\n    default: asm-1-23", "  revision:\n    pattern: 'asm-[0-9'\n    default: asm-1-23")],
    "default-breaks-pattern": [("lab.yaml", "  revision:\n    default: asm-1-23", "  revision:\n    pattern: '^asm-[0-9]+-[0-9]+$'\n    default: asm-1.23")],
    "unknown-profile-in-section": [("steps/01-onboard.md", None, "\n<!-- profile: kidn -->\n\nOnly on kind.\n\n<!-- /profile -->\n")],
    "unclosed-profile-section": [("steps/01-onboard.md", None, "\n<!-- profile: aks -->\n\nOnly on AKS.\n")],
    "checks-in-two-places": [("steps/01-onboard.yaml", "", STEP_FILE)],
    "stray-step-file": step_file("", "")[:1] + [("steps/01-onbaord.yaml", "", STEP_FILE)],
    "step-file-yaml-syntax": step_file("      kind: Namespace\n", "      kind: [Namespace\n"),
    "step-file-unknown-field": step_file("checks:", "chekcs:"),
    "step-file-undefined-variable": step_file('name: "{{ appNamespace }}"', 'name: "{{ appNamspace }}"'),
    "checks-and-hints-in-two-places": [("lab.yaml", "    checks:\n      - id: namespace-labelled", "    hints:\n      - Label it.\n    checks:\n      - id: namespace-labelled"), ("steps/01-onboard.yaml", "", STEP_FILE + "hints:\n  - Label the namespace.\n")],
    "step-file-cel-does-not-compile": step_file("      match:\n", "      cel: \"object.metadata.labels['istio.io/rev'] == \"\n      match:\n"),
    "distribution-weights-not-100": distribution("v2: 10\n", "v2: 5\n"),
    "distribution-too-few-expected": distribution("requests: 100\n", "requests: 40\n"),
    "distribution-unknown-field": distribution("          by:\n", "          bye:\n"),
    "block-outside-its-section-profiles": [("steps/01-onboard.md", None, f"\n<!-- profile: aks -->\n\n{FENCE}bash profile=kind\nkubectl get pods\n{FENCE}\n\n<!-- /profile -->\n")],
}

if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    for name, edits in CASES.items():
        root = os.path.join(here, name)
        shutil.rmtree(root, ignore_errors=True)
        files = {"lab.yaml": LAB.replace("NAME", name), "steps/01-onboard.md": MD1, "steps/02-cleanup.md": MD2}
        for rel, old, new in edits:
            files.setdefault(rel, "")
            if old is None:
                files[rel] += new
            elif old == "":
                files[rel] = new
            else:
                assert old in files[rel], (name, old)
                files[rel] = files[rel].replace(old, new, 1)
        for rel, text in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    print(f"{len(CASES)} cases")
