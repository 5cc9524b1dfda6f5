// Checks the Kubernetes manifests of packaging/kubernetes/ (run by
// tests/packaging/kubernetes_test.sh, which says how):
//
//   node check.mjs SRC_DIR CONTROLLER_BIN AGENT_BIN WORK_DIR
//
// 1. Renders base/ and every overlays/*/ with kustomize.mjs (and, when kubectl
//    is installed, compares that with `kubectl kustomize`).
// 2. Validates every document against its apiVersion/kind in two ways, both
//    from kubernetes-models (JSON schemas and TypeScript interfaces generated
//    from the Kubernetes 1.27 OpenAPI spec): the JSON schema (required fields,
//    enums, formats such as quantities), and TypeScript's excess-property check
//    against the interface, which rejects every unknown or misspelt field (the
//    JSON schemas allow them). A deliberately misspelt field and a bad enum
//    value must fail both ways (the check of the check).
// 3. Extracts controller.yml and agent.yml from the rendered ConfigMaps, at the
//    paths the images' entrypoints read (/etc/gantry/controller.yml,
//    /etc/gantry/agent.yml), and runs `--check-config` on them. The files they
//    name that the pod gets from a Secret or a ConfigMap the admin creates (the
//    agent's token, the TLS files) get stand-ins in WORK_DIR, and the paths in
//    the config are rewritten to those stand-ins; a path under /etc/gantry/
//    that no volume provides is an error.
// 4. Checks what --check-config cannot: a non-loopback `listen` has `tls` or
//    `insecure: true` (the controller refuses to start otherwise), the agents'
//    `controller:` URL is the Service with the right scheme, readiness on
//    /healthz and liveness on /livez with that scheme, the ports agree (listen,
//    container, Services, NetworkPolicy), data_dir is the StatefulSet's volume,
//    the HPA's maximum fits the agent pool's max_agents, non-root pods,
//    requests and limits set. A controller.yml with a PostgreSQL `database:`
//    (overlays/ha) must come with what two controllers need: 2 replicas, one
//    ReadWriteMany claim for data_dir, --advertise naming each pod through a
//    headless Service, the database password from a Secret (not in the URL),
//    a PodDisruptionBudget, anti-affinity, OnDelete updates and an egress
//    rule to the database's port; one without it, exactly one replica on a
//    claim template.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import YAML from "yaml";
import { render, parseYamlDocuments } from "./kustomize.mjs";

const [src, controllerBin, agentBin, work] = process.argv.slice(2).map((a) => path.resolve(a));
if (process.argv.length !== 6) {
  console.error("usage: node check.mjs SRC_DIR CONTROLLER_BIN AGENT_BIN WORK_DIR");
  process.exit(2);
}
const require = createRequire(import.meta.url);  // run from a copy beside node_modules
const ts = require("typescript");
const root = path.join(src, "packaging", "kubernetes");

let failures = 0;
let baseValid = null;
let passes = 0;
function fail(what) {
  console.log(`FAIL: ${what}`);
  failures++;
}
function ok(what) {
  console.log(`ok: ${what}`);
  passes++;
}
function expect(cond, what) {
  if (cond) ok(what);
  else fail(what);
}

const describe = (r) => `${r.kind} ${r.metadata?.namespace ? r.metadata.namespace + "/" : ""}${r.metadata?.name}`;

// --- schemas --------------------------------------------------------------

function modulePath(r) {
  if (typeof r.apiVersion !== "string" || typeof r.kind !== "string" || !/^[A-Z][A-Za-z]*$/.test(r.kind)) {
    return null;
  }
  return `kubernetes-models/${r.apiVersion}/${r.kind}`;
}

async function schemaErrors(r) {
  const mod = modulePath(r);
  if (!mod) return "no apiVersion/kind";
  let models;
  try {
    models = await import(mod);
  } catch {
    return `no schema for ${r.apiVersion} ${r.kind} in kubernetes-models`;
  }
  const Model = models[r.kind];
  try {
    new Model(structuredClone(r)).validate();
    return null;
  } catch (e) {
    return e.message;
  }
}

// One TypeScript program for a list of documents: each is a typed constant, so
// an unknown field anywhere in it is an excess-property error. Returns the
// errors per document index.
function typeErrors(docs, label) {
  const dir = path.join(work, "typecheck");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${label.replace(/[^A-Za-z0-9]+/g, "_")}.ts`);
  let text = "";
  const ranges = [];
  docs.forEach((r, i) => {
    const mod = modulePath(r);
    const start = text.split("\n").length;
    text += `import type { I${r.kind} as T${i} } from "${mod}";\n`;
    text += `export const doc${i}: T${i} = ${JSON.stringify(r, null, 2)};\n`;
    ranges.push([start, text.split("\n").length]);
  });
  fs.writeFileSync(file, text);
  const program = ts.createProgram([file], {
    noEmit: true, strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler, types: [], skipLibCheck: true,
  });
  const errors = docs.map(() => []);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || path.resolve(d.file.fileName) !== path.resolve(file)) {
      errors.forEach((e) => e.push(message));
      continue;
    }
    const line = d.file.getLineAndCharacterOfPosition(d.start).line + 1;
    const i = ranges.findIndex(([a, b]) => line >= a && line < b);
    const snippet = text.split("\n")[line - 1].trim();
    (errors[i] ?? errors[0]).push(`${message} (at ${snippet})`);
  }
  return errors;
}

async function validate(docs, label) {
  const types = typeErrors(docs, label);
  for (const [i, r] of docs.entries()) {
    const schema = await schemaErrors(r);
    if (schema) fail(`${label}: ${describe(r)}: schema: ${schema}`);
    if (types[i].length) fail(`${label}: ${describe(r)}: fields: ${types[i].join("; ")}`);
    if (!schema && !types[i].length) ok(`${label}: ${describe(r)} valid (${r.apiVersion})`);
  }
}

// The check of the check: a misspelt field and a bad value must be refused.
async function validatorRefuses(docs) {
  const sts = docs.find((r) => r.kind === "StatefulSet");
  const typo = structuredClone(sts);
  typo.spec.template.spec.containers[0].resurces = typo.spec.template.spec.containers[0].resources;
  delete typo.spec.template.spec.containers[0].resources;
  const badEnum = structuredClone(sts);
  badEnum.spec.template.spec.containers[0].imagePullPolicy = "Sometimes";
  const types = typeErrors([typo, badEnum], "negative");
  expect(types[0].some((e) => e.includes("resurces")), "a misspelt field (resurces) is refused");
  expect(types[1].length > 0 && (await schemaErrors(badEnum)) !== null,
    "a bad enum value (imagePullPolicy: Sometimes) is refused");
}

// --- kustomize cross-check -----------------------------------------------

function sortedById(docs) {
  const key = (r) => `${r.apiVersion} ${r.kind} ${r.metadata?.namespace ?? ""} ${r.metadata?.name}`;
  return [...docs].sort((a, b) => key(a).localeCompare(key(b)));
}

function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  }
  return v;
}

function compareWithKubectl(dir, docs, label) {
  const probe = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    console.log(`note: no kubectl: ${label} rendered by kustomize.mjs alone`);
    return;
  }
  const out = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", timeout: 60000 });
  if (out.status !== 0) {
    // kubectl 1.20 (Debian 12's kubernetes-client) has a kustomize without `patches:`.
    console.log(`note: kubectl kustomize could not render ${label}: ${(out.stderr || "").trim().split("\n")[0]}`);
    return;
  }
  const theirs = JSON.stringify(canonical(sortedById(parseYamlDocuments(out.stdout, "kubectl kustomize"))));
  const ours = JSON.stringify(canonical(sortedById(docs)));
  expect(theirs === ours, `${label}: kustomize.mjs renders what kubectl kustomize renders`);
}

// --- the pod's files ---------------------------------------------------------

// Which volume provides PATH in CONTAINER: {volume, key} or null.
function provider(podSpec, container, file) {
  let best = null;
  for (const m of container.volumeMounts ?? []) {
    const mp = m.mountPath.replace(/\/+$/, "");
    const inside = m.subPath ? file === mp : file.startsWith(mp + "/");
    if (inside && (!best || mp.length > best.mp.length)) best = { mp, m };
  }
  if (!best) return null;
  const volume = (podSpec.volumes ?? []).find((v) => v.name === best.m.name) ?? { name: best.m.name, claim: true };
  let rel = best.m.subPath ?? file.slice(best.mp.length + 1);
  const source = volume.configMap ?? volume.secret;
  if (source?.items) {
    const item = source.items.find((it) => it.path === rel);
    if (!item) return { volume, key: null, mount: best.m };
    rel = item.key;
  }
  return { volume, key: rel, mount: best.m };
}

function findDoc(docs, kind, name) {
  return docs.find((r) => r.kind === kind && r.metadata?.name === name);
}

// Writes FILE's config from the rendered ConfigMap, and stand-ins for the
// files it names, into DIR; returns the path of the config to check.
function extractConfig(docs, podSpec, container, file, dir, label) {
  const p = provider(podSpec, container, file);
  if (!p || !p.volume.configMap || !p.key) {
    fail(`${label}: ${file} is not mounted from a ConfigMap in container ${container.name}`);
    return null;
  }
  const cm = findDoc(docs, "ConfigMap", p.volume.configMap.name);
  const text = cm?.data?.[p.key];
  if (typeof text !== "string") {
    fail(`${label}: ConfigMap ${p.volume.configMap.name} has no ${p.key}`);
    return null;
  }
  ok(`${label}: ${file} is ConfigMap ${cm.metadata.name}'s ${p.key}`);
  let rewritten = text;
  const seen = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === "object") return Object.values(v).forEach(walk);
    if (typeof v !== "string" || !v.startsWith("/etc/gantry/") || seen.has(v)) return;
    seen.add(v);
    const named = provider(podSpec, container, v);
    const source = named?.volume.secret ?? named?.volume.configMap;
    if (!named || !source || !named.key) {
      fail(`${label}: ${path.basename(file)} names ${v}, which no Secret or ConfigMap volume provides`);
      return;
    }
    const standIn = path.join(dir, "root", v);
    fs.mkdirSync(path.dirname(standIn), { recursive: true });
    const local = named.volume.configMap && findDoc(docs, "ConfigMap", named.volume.configMap.name);
    if (local && typeof local.data?.[named.key] !== "string") {
      fail(`${label}: ${path.basename(file)} names ${v}, but ConfigMap ${local.metadata.name} has no ${named.key}`);
      return;
    }
    const content = local?.data?.[named.key] ?? `stand-in-${named.key.replace(/[^A-Za-z0-9]+/g, "-")}\n`;
    fs.writeFileSync(standIn, content, { mode: 0o600 });
    rewritten = rewritten.split(v).join(standIn);
    const from = named.volume.secret ? `Secret ${named.volume.secret.secretName}` : `ConfigMap ${named.volume.configMap.name}`;
    console.log(`  ${v}: from ${from} (${named.key}), a stand-in for the check`);
  };
  fs.mkdirSync(dir, { recursive: true });
  walk(YAML.parse(text));
  const out = path.join(dir, path.basename(file));
  fs.writeFileSync(out, rewritten);
  return { path: out, config: YAML.parse(text) };
}

function checkConfig(bin, file, label) {
  const r = spawnSync(bin, ["--check-config", file], { encoding: "utf8", timeout: 30000 });
  expect(r.status === 0 && r.stdout.includes(": ok"),
    `${label}: ${path.basename(bin)} --check-config ${path.basename(file)}` +
    (r.status === 0 ? "" : ` (exit ${r.status}: ${r.error ? r.error.message : (r.stderr || "").trim()})`));
}

function isLoopback(host) {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function resourcesSet(c) {
  const r = c.resources ?? {};
  return ["requests", "limits"].every((k) => r[k]?.cpu !== undefined && r[k]?.memory !== undefined);
}

function nonRoot(podSpec, c) {
  const sc = { ...podSpec.securityContext, ...c.securityContext };
  return sc.runAsNonRoot === true && Number.isInteger(sc.runAsUser) && sc.runAsUser > 0 &&
    c.securityContext?.allowPrivilegeEscalation === false;
}

function allowsPort(policy, direction, port, peer) {
  const rules = policy.spec[direction] ?? [];
  const peers = direction === "ingress" ? "from" : "to";
  return rules.some((rule) =>
    (rule.ports ?? []).some((p) => p.port === port) &&
    (rule[peers] ?? []).some((x) => x.podSelector?.matchLabels?.["app.kubernetes.io/name"] === peer));
}

async function checkTree(dir, label) {
  let docs;
  try {
    docs = render(dir);
  } catch (e) {
    fail(`${label}: render: ${e.message}`);
    return;
  }
  ok(`${label}: rendered ${docs.length} documents`);
  compareWithKubectl(dir, docs, label);
  const before = failures;
  await validate(docs, label);
  if (label === "base" && failures === before) baseValid = docs;
  const out = path.join(work, "configs", label.replace(/\//g, "_"));
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });

  const sts = findDoc(docs, "StatefulSet", "gantry-controller");
  const deploy = findDoc(docs, "Deployment", "gantry-agent");
  if (!sts || !deploy) {
    fail(`${label}: needs StatefulSet gantry-controller and Deployment gantry-agent`);
    return;
  }
  const cPod = sts.spec.template.spec;
  const cCon = cPod.containers.find((c) => c.name === "controller");
  const aPod = deploy.spec.template.spec;
  const aCon = aPod.containers.find((c) => c.name === "agent");

  // The controller.
  const controller = extractConfig(docs, cPod, cCon, "/etc/gantry/controller.yml",
    path.join(out, "controller"), label);
  const agent = extractConfig(docs, aPod, aCon, "/etc/gantry/agent.yml", path.join(out, "agent"), label);
  if (!controller || !agent) return;
  checkConfig(controllerBin, controller.path, label);
  checkConfig(agentBin, agent.path, label);

  const cc = controller.config;
  const listen = cc.listen ?? "127.0.0.1:8080";
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(colon + 1));
  const tls = Boolean(cc.tls && cc.tls.cert);
  expect(tls || isLoopback(host) || cc.insecure === true,
    `${label}: listen ${listen} has tls or insecure: true (else the controller refuses to start)`);
  // Several controllers share a PostgreSQL database (docs/ha.md); SQLite is one controller's.
  const db = cc.database;
  const shared = db !== undefined && db !== null && (typeof db === "string" || db.driver !== "sqlite");
  const replicas = shared ? 2 : 1;
  expect(sts.spec.replicas === replicas,
    `${label}: ${replicas} controller replica${replicas > 1 ? "s" : ""} (${shared ? "PostgreSQL" : "SQLite"})`);
  // args replace the image's CMD: they must still name the config checked here.
  const args = cCon.args ?? [];
  const configArg = args.indexOf("--config");
  expect(!cCon.command && (args.length === 0 || args[configArg + 1] === "/etc/gantry/controller.yml"),
    `${label}: the controller runs the image's entrypoint with --config /etc/gantry/controller.yml`);
  const cPort = (cCon.ports ?? []).find((p) => p.containerPort === port);
  expect(Boolean(cPort), `${label}: the container port is listen's port ${port}`);
  const scheme = tls ? "HTTPS" : "HTTP";
  // Readiness is /healthz (with PostgreSQL only the leader is ready), liveness /livez
  // (any role: a follower must not be restarted).
  for (const [probe, want] of [["readinessProbe", "/healthz"], ["livenessProbe", "/livez"]]) {
    const g = cCon[probe]?.httpGet;
    const probePort = typeof g?.port === "string" ? cPort?.name === g.port : g?.port === port;
    expect(g?.path === want && (g.scheme ?? "HTTP") === scheme && probePort,
      `${label}: ${probe} is ${scheme} GET ${want} on port ${port}`);
  }
  const dataDir = cc.data_dir ?? "./gantry-data";
  const data = provider(cPod, cCon, path.posix.join(dataDir, "x"));
  if (shared) {
    const claim = data?.volume.persistentVolumeClaim &&
      findDoc(docs, "PersistentVolumeClaim", data.volume.persistentVolumeClaim.claimName);
    expect(Boolean(claim) && (claim.spec.accessModes ?? []).includes("ReadWriteMany") &&
      !(sts.spec.volumeClaimTemplates ?? []).length,
    `${label}: data_dir ${dataDir} is one ReadWriteMany PersistentVolumeClaim that every replica mounts`);
  } else {
    expect(Boolean(data?.volume.claim) &&
      (sts.spec.volumeClaimTemplates ?? []).some((t) => t.metadata.name === data.mount.name),
    `${label}: data_dir ${dataDir} is on the StatefulSet's PersistentVolumeClaim`);
  }

  // The Services: the StatefulSet's own (serviceName), and the one users and agents use, the
  // Service with a cluster address that selects the controller (the same one in base).
  const podLabels = sts.spec.template.metadata.labels ?? {};
  const selects = (selector) => selector && Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([k, v]) => podLabels[k] === v);
  const reaches = (s) => s?.spec.ports.find((p) => p.targetPort === port || p.targetPort === cPort?.name);
  const governing = findDoc(docs, "Service", sts.spec.serviceName);
  expect(Boolean(reaches(governing)) && selects(governing.spec.selector),
    `${label}: the StatefulSet's Service ${sts.spec.serviceName} selects it and reaches port ${port}`);
  const clients = docs.filter((r) => r.kind === "Service" && r.spec.clusterIP !== "None" && selects(r.spec.selector));
  const svc = clients.length === 1 ? clients[0] : undefined;
  const svcPort = reaches(svc);
  expect(Boolean(svcPort),
    `${label}: one Service with a cluster address (${clients.map((r) => r.metadata.name)}) reaches port ${port}`);

  if (shared) {
    // Each pod advertises its own name under the headless Service, for the follower's 307.
    const env = cCon.env ?? [];
    const at = args.indexOf("--advertise");
    const advertise = at >= 0 ? args[at + 1] : undefined;
    const vars = [...(advertise ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]);
    const fromPod = (name) => Boolean(env.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath);
    expect(env.find((e) => e.name === "POD_NAME")?.valueFrom?.fieldRef?.fieldPath === "metadata.name" &&
      vars.every(fromPod), `${label}: --advertise's $(VARS) (${vars}) come from the downward API`);
    let adv = null;
    try {
      adv = new URL((advertise ?? "").replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, v) => v.toLowerCase().replace(/_/g, "-")));
    } catch {
      /* reported below */
    }
    expect(adv !== null && adv.protocol === (tls ? "https:" : "http:") && Number(adv.port) === port &&
      advertise.includes(`//$(POD_NAME).${sts.spec.serviceName}`) &&
      governing?.spec.clusterIP === "None" && governing?.spec.publishNotReadyAddresses === true,
    `${label}: --advertise ${advertise} is the pod's name under the headless Service ` +
      `${sts.spec.serviceName} (not-ready addresses published), ${tls ? "https" : "http"} on port ${port}`);
    // The password comes from a Secret, not from the ConfigMap.
    const dbUrl = typeof db === "string" ? db : db.url;
    let parsed = null;
    try {
      parsed = new URL(dbUrl);
    } catch {
      /* reported below */
    }
    expect(parsed !== null && parsed.password === "" &&
      Boolean(env.find((e) => e.name === "PGPASSWORD")?.valueFrom?.secretKeyRef),
    `${label}: the database URL has no password; PGPASSWORD comes from a Secret`);
    const dbPort = Number(parsed?.port || 5432);
    const pdb = docs.find((r) => r.kind === "PodDisruptionBudget" && selects(r.spec.selector?.matchLabels));
    expect(pdb?.spec.minAvailable === 1, `${label}: a PodDisruptionBudget keeps 1 controller available`);
    const anti = cPod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(anti.some((t) => t.podAffinityTerm.topologyKey === "kubernetes.io/hostname" &&
      selects(t.podAffinityTerm.labelSelector?.matchLabels)),
    `${label}: preferred pod anti-affinity spreads the controllers across nodes`);
    // A RollingUpdate waits for each new pod to be ready, which a follower never is.
    expect(sts.spec.updateStrategy?.type === "OnDelete" && sts.spec.podManagementPolicy === "Parallel",
      `${label}: OnDelete updates and Parallel pod management (a follower is never ready)`);
    const pol = docs.find((r) => r.kind === "NetworkPolicy" && selects(r.spec.podSelector.matchLabels));
    expect((pol?.spec.egress ?? []).some((rule) => (rule.ports ?? []).some((p) => p.port === dbPort)),
      `${label}: the controller's NetworkPolicy lets it reach the database's port ${dbPort}`);
  }

  // The agents.
  const ac = agent.config;
  let url = null;
  try {
    url = new URL(ac.controller);
  } catch {
    /* reported below */
  }
  expect(url && url.protocol === (tls ? "https:" : "http:") && url.hostname === svc?.metadata.name &&
    Number(url.port || (tls ? 443 : 80)) === svcPort?.port,
  `${label}: the agents' controller (${ac.controller}) is the Service, over ${tls ? "https" : "http"}`);
  expect(Boolean(ac.token_file) && !ac.token, `${label}: the agents' token comes from a file`);
  const token = ac.token_file && provider(aPod, aCon, ac.token_file);
  const tokenMode = token?.volume.secret?.defaultMode;
  expect(Boolean(token?.volume.secret) && (tokenMode === 0o400 || tokenMode === 0o440),
    `${label}: the token file is a Secret volume, mode 0400 or 0440`);
  const workDir = ac.work && provider(aPod, aCon, path.posix.join(ac.work, "x"));
  expect(Boolean(workDir?.volume.emptyDir), `${label}: the agents' work directory is an emptyDir`);

  // Scaling: the HPA moves the Deployment, within the pool's max_agents.
  const hpa = docs.find((r) => r.kind === "HorizontalPodAutoscaler");
  expect(hpa?.spec.scaleTargetRef.kind === "Deployment" && hpa.spec.scaleTargetRef.name === "gantry-agent",
    `${label}: the HorizontalPodAutoscaler scales the agents' Deployment`);
  const metric = hpa?.spec.metrics?.[0]?.external?.metric?.name;
  expect(metric === "gantry_jobs_demand", `${label}: on the external metric gantry_jobs_demand (README.md)`);
  const pools = (cc.agent_tokens ?? []).map((t) => Number(t.max_agents ?? 0));
  expect(pools.length > 0 && pools.every((m) => m === 0 || m >= hpa.spec.maxReplicas),
    `${label}: maxReplicas ${hpa?.spec.maxReplicas} fits the agent pools' max_agents (${pools})`);
  expect(!("replicas" in deploy.spec), `${label}: the Deployment leaves replicas to the autoscaler`);

  // Network policy.
  const cPol = docs.find((r) => r.kind === "NetworkPolicy" &&
    r.spec.podSelector.matchLabels?.["app.kubernetes.io/name"] === "gantry-controller");
  const aPol = docs.find((r) => r.kind === "NetworkPolicy" &&
    r.spec.podSelector.matchLabels?.["app.kubernetes.io/name"] === "gantry-agent");
  expect(cPol && allowsPort(cPol, "ingress", port, "gantry-agent"),
    `${label}: the controller's NetworkPolicy lets the agents in on port ${port}`);
  expect(aPol && allowsPort(aPol, "egress", port, "gantry-controller") &&
    Array.isArray(aPol.spec.ingress) && aPol.spec.ingress.length === 0,
  `${label}: the agents' NetworkPolicy: out to the controller's port ${port}, nothing in`);

  // Pods.
  for (const [pod, c, what] of [[cPod, cCon, "controller"], [aPod, aCon, "agent"]]) {
    expect(nonRoot(pod, c), `${label}: the ${what} runs as a non-root user without privilege escalation`);
    expect(resourcesSet(c), `${label}: the ${what} has CPU and memory requests and limits`);
  }
}

const trees = [["base", path.join(root, "base")]];
const overlays = path.join(root, "overlays");
for (const name of fs.readdirSync(overlays).sort()) {
  if (fs.statSync(path.join(overlays, name)).isDirectory()) {
    trees.push([`overlays/${name}`, path.join(overlays, name)]);
  }
}
for (const [label, dir] of trees) await checkTree(dir, label);
// On the base as it validated; a base with errors already failed.
if (baseValid) await validatorRefuses(baseValid);

console.log(`kubernetes manifests: ${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
