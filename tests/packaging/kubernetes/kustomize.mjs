// The subset of kustomize that packaging/kubernetes/ uses, so that `make test`
// renders it on a machine without kustomize (Debian 12 has only kubectl 1.20,
// whose kustomize predates `patches:`): `resources` (files and directories),
// `namespace`, and `patches` given as JSON 6902 operations (applied with
// fast-json-patch) with a `target` of group, version, kind and name. Any other
// key, a strategic-merge patch or a patch that matches nothing is an error, so
// an overlay can never mean something here that it does not mean to kustomize.
// kubernetes_check.mjs also compares this rendering with `kubectl kustomize`
// when a kubectl is installed.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import jsonpatch from "fast-json-patch";

const KUSTOMIZATION_KEYS = new Set(["apiVersion", "kind", "resources", "namespace", "patches"]);
const TARGET_KEYS = new Set(["group", "version", "kind", "name"]);
// Kinds the namespace transformer would leave alone or treat specially; none is used.
const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
  "CustomResourceDefinition", "PriorityClass", "IngressClass", "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration", "APIService",
]);

// Kubernetes reads YAML 1.1 (sigs.k8s.io/yaml): `defaultMode: 0440` is octal there.
export function parseYamlDocuments(text, where) {
  const docs = YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: true });
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${where}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function kustomizationFile(dir) {
  for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${dir}: no kustomization.yaml`);
}

function groupVersion(apiVersion) {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : {
    group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1),
  };
}

function matches(target, res) {
  const gv = groupVersion(res.apiVersion);
  return (target.group === undefined || target.group === gv.group) &&
    (target.version === undefined || target.version === gv.version) &&
    (target.kind === undefined || target.kind === res.kind) &&
    (target.name === undefined || target.name === res.metadata?.name);
}

// Renders DIR (a directory with a kustomization.yaml) into a list of objects.
export function render(dir) {
  const kfile = kustomizationFile(dir);
  const [k] = parseYamlDocuments(fs.readFileSync(kfile, "utf8"), kfile);
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_KEYS.has(key)) {
      throw new Error(`${kfile}: '${key}' is not rendered by tests/packaging/kubernetes/kustomize.mjs ` +
        `(it renders ${[...KUSTOMIZATION_KEYS].join(", ")}): add it there or do without it`);
    }
  }
  if (k.kind !== "Kustomization") throw new Error(`${kfile}: kind is not Kustomization`);
  let resources = [];
  for (const entry of k.resources ?? []) {
    if (/^[a-z]+:\/\//.test(entry) || entry.includes("?ref=")) {
      throw new Error(`${kfile}: remote resource '${entry}' (nothing remote is rendered)`);
    }
    const p = path.resolve(dir, entry);
    if (fs.statSync(p).isDirectory()) resources.push(...render(p));
    else resources.push(...parseYamlDocuments(fs.readFileSync(p, "utf8"), p));
  }
  const ids = new Set();
  for (const r of resources) {
    const id = `${r.apiVersion} ${r.kind} ${r.metadata?.namespace ?? ""}/${r.metadata?.name}`;
    if (ids.has(id)) throw new Error(`${kfile}: ${id} is defined twice`);
    ids.add(id);
  }
  for (const [i, patch] of (k.patches ?? []).entries()) {
    const where = `${kfile}: patches[${i}]`;
    if (!patch.target) throw new Error(`${where}: no target (only targeted JSON 6902 patches are rendered)`);
    for (const key of Object.keys(patch.target)) {
      if (!TARGET_KEYS.has(key)) throw new Error(`${where}: target key '${key}' is not rendered`);
    }
    for (const key of Object.keys(patch)) {
      if (!["path", "patch", "target"].includes(key)) throw new Error(`${where}: '${key}' is not rendered`);
    }
    let ops;
    if (patch.path) {
      const p = path.resolve(dir, patch.path);
      ops = parseYamlDocuments(fs.readFileSync(p, "utf8"), p);
      if (ops.length !== 1) throw new Error(`${p}: one YAML document expected`);
      ops = ops[0];
    } else {
      ops = parseYamlDocuments(patch.patch, where)[0];
    }
    if (!Array.isArray(ops)) {
      throw new Error(`${where}: a strategic-merge patch; only JSON 6902 (a list of operations) is rendered`);
    }
    const hit = resources.filter((r) => matches(patch.target, r));
    if (hit.length === 0) throw new Error(`${where}: the target matches no resource`);
    resources = resources.map((r) => {
      if (!matches(patch.target, r)) return r;
      const errors = jsonpatch.validate(ops, r);
      if (errors) throw new Error(`${where}: ${errors.message} (${errors.name})`);
      return jsonpatch.applyPatch(structuredClone(r), ops, true, false).newDocument;
    });
  }
  if (k.namespace !== undefined) {
    resources = resources.map((r) => {
      if (CLUSTER_SCOPED.has(r.kind)) throw new Error(`${kfile}: namespace on cluster-scoped ${r.kind}`);
      return { ...r, metadata: { ...r.metadata, namespace: k.namespace } };
    });
  }
  return resources;
}
