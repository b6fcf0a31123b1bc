// Reads rendered manifests (kubectl kustomize output) on stdin, validates every object against the Kubernetes
// (and Prometheus Operator) JSON schemas from kubernetes-models, then checks the rules our DaemonSet must keep:
// unprivileged, read-only, probes, graceful termination longer than the daemon's shutdown timeout.
// Prints one line per problem and exits 1 if there is any.
import { parseAllDocuments } from "yaml";

const text = await new Promise((resolve) => {
  let data = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (c) => (data += c));
  process.stdin.on("end", () => resolve(data));
});

const problems = [];
const objects = parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o);

function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

for (const obj of objects) {
  const id = `${obj.kind}/${obj.metadata?.name}`;
  try {
    const mod = await import(modulePath(obj.apiVersion, obj.kind));
    const Model = mod[obj.kind] ?? mod.default;
    new Model(obj).validate();
  } catch (e) {
    problems.push(`${id}: schema: ${String(e.message).split("\n")[0].slice(0, 400)}`);
  }
}

const daemonSets = objects.filter((o) => o.kind === "DaemonSet");
if (daemonSets.length !== 1) problems.push(`expected exactly one DaemonSet, found ${daemonSets.length}`);
const configMap = objects.find((o) => o.kind === "ConfigMap" && o.data?.["config.json"]);
let shutdownSeconds = 25;
if (configMap) {
  const cfg = JSON.parse(configMap.data["config.json"]);
  const t = cfg.Http?.ShutdownTimeout ?? "00:00:25";
  const [h, m, s] = t.split(":").map(Number);
  shutdownSeconds = h * 3600 + m * 60 + s;
  if (!String(cfg.Http?.Listen ?? "").startsWith("0.0.0.0:")) problems.push("ConfigMap: Http.Listen must bind 0.0.0.0 in a pod");
  const admin = String(cfg.Http?.AdminListen ?? "127.0.0.1:9465");
  if (admin && !admin.startsWith("127.0.0.1:")) problems.push("ConfigMap: Http.AdminListen must stay on loopback (reach /workloads with kubectl port-forward)");
  if (cfg.Kafka?.FeedbackAllowUnsigned) problems.push("ConfigMap: Kafka.FeedbackAllowUnsigned lets anyone who can write the feedback topic silence detection");
  if (cfg.Kafka?.AllowEmbeddedInCluster) problems.push("ConfigMap: Kafka.AllowEmbeddedInCluster: the embedded test cluster watches nothing in a real cluster");
  for (const key of ["SaslPassword", "SslKeyPassword"]) {
    if (cfg.Kafka?.[key]) problems.push(`ConfigMap: Kafka.${key} must not be inline; use a Secret file`);
  }
}

for (const ds of daemonSets) {
  const spec = ds.spec.template.spec;
  const must = (cond, msg) => { if (!cond) problems.push(`DaemonSet/${ds.metadata.name}: ${msg}`); };
  must(!spec.hostPID && !spec.hostNetwork && !spec.hostIPC, "no hostPID, hostNetwork or hostIPC");
  must(spec.securityContext?.runAsNonRoot === true, "pod securityContext.runAsNonRoot: true");
  must(spec.securityContext?.seccompProfile?.type === "RuntimeDefault", "seccompProfile RuntimeDefault");
  must((spec.terminationGracePeriodSeconds ?? 30) > shutdownSeconds, `terminationGracePeriodSeconds (${spec.terminationGracePeriodSeconds}) must exceed the daemon's ShutdownTimeout (${shutdownSeconds} s)`);
  must((spec.tolerations ?? []).length > 0, "tolerations so it runs on every node");
  must(!(spec.volumes ?? []).some((v) => v.hostPath), "no hostPath volumes");
  for (const c of spec.containers) {
    const sc = c.securityContext ?? {};
    must(sc.readOnlyRootFilesystem === true, `${c.name}: readOnlyRootFilesystem`);
    must(sc.allowPrivilegeEscalation === false, `${c.name}: allowPrivilegeEscalation false`);
    must(sc.privileged !== true, `${c.name}: not privileged`);
    must((sc.capabilities?.drop ?? []).includes("ALL") && !(sc.capabilities?.add ?? []).length, `${c.name}: drop ALL capabilities, add none`);
    must(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${c.name}: cpu/memory requests and a memory limit`);
    must(c.livenessProbe?.httpGet?.path === "/healthz", `${c.name}: liveness probe on /healthz`);
    must(c.readinessProbe?.httpGet?.path === "/readyz", `${c.name}: readiness probe on /readyz`);
  }
}

if (!objects.some((o) => o.kind === "ServiceMonitor")) problems.push("missing ServiceMonitor");
const policies = objects.filter((o) => o.kind === "NetworkPolicy");
if (policies.length === 0) problems.push("missing NetworkPolicy (only scraping may reach the pod)");
for (const np of policies) {
  const ingress = np.spec?.ingress ?? [];
  const ports = ingress.flatMap((r) => r.ports ?? [{ port: "any" }]);
  if (!(np.spec?.policyTypes ?? []).includes("Ingress")) problems.push(`NetworkPolicy/${np.metadata.name}: must restrict Ingress`);
  if (ports.some((p) => p.port !== "metrics" && p.port !== 9464)) problems.push(`NetworkPolicy/${np.metadata.name}: admits only the metrics port`);
  if (ingress.some((r) => !(r.from ?? []).length)) problems.push(`NetworkPolicy/${np.metadata.name}: every rule names who may scrape`);
}
if (!objects.some((o) => o.kind === "Service")) problems.push("missing metrics Service");

for (const p of problems) console.log(p);
console.log(`${objects.length} objects, ${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
