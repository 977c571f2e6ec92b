/**
 * Test support: validate synthesized Kubernetes manifests.
 *
 * Every object produced by `Testing.synth(chart)` goes through three checks:
 *
 * 1. Schema check with `kubernetes-models` (JSON schema compiled with ajv).
 *    NOTE: no kubernetes-models release carries the 1.28 schema exactly: 4.4.x
 *    has Kubernetes 1.27 (Container.resizePolicy, no sidecar restartPolicy),
 *    4.5.x jumps to 1.33. We pin 4.4.2: whatever validates against 1.27 is
 *    valid on 1.28 (GA fields are not removed). It does not reject unknown
 *    fields (a misspelt `hostNetwrok` passes), hence check 2.
 * 2. Strict unknown-field / type check: every object is type-checked as a
 *    fresh object literal against the matching `kubernetes-types@1.29.0`
 *    interface with the TypeScript compiler API (in process, one in-memory
 *    program per call). Excess-property errors catch misspelt fields; since
 *    TypeScript only reports the first excess property of each object
 *    literal, a walk over the contextual types reports the remaining ones.
 *    kubernetes-types 1.29 is one minor version newer than our 1.28 target,
 *    so the few fields that 1.29 added (all alpha, feature-gated) are
 *    reported explicitly, see FIELDS_ADDED_AFTER_1_28.
 * 3. Name / label limits (`checkNameLimits`), which neither schema encodes.
 *
 * Custom resources (e.g. velero.io) are not validated here: `isBuiltinKind`
 * tells the caller which objects were covered; a separate CRD check handles
 * the rest. Objects of a built-in API group whose kind is not registered
 * below are reported as problems, so nothing built-in is skipped silently.
 */
import * as path from 'path';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import * as ts from 'typescript';

/** A manifest as emitted by `Testing.synth()`. */
type Manifest = any;

interface KindInfo {
  /** kubernetes-models class for the schema check. */
  readonly model: new (data?: any) => { validate(): void };
  /** kubernetes-types module exporting `typeName`. */
  readonly typesModule: string;
  readonly typeName: string;
}

/** Registry of built-in kinds, keyed by `${apiVersion}/${kind}`. */
const BUILTIN_KINDS: Record<string, KindInfo> = {
  'v1/ConfigMap': { model: ConfigMap, typesModule: 'kubernetes-types/core/v1', typeName: 'ConfigMap' },
  'v1/Secret': { model: Secret, typesModule: 'kubernetes-types/core/v1', typeName: 'Secret' },
  'v1/ServiceAccount': { model: ServiceAccount, typesModule: 'kubernetes-types/core/v1', typeName: 'ServiceAccount' },
  'v1/Namespace': { model: Namespace, typesModule: 'kubernetes-types/core/v1', typeName: 'Namespace' },
  'v1/Service': { model: Service, typesModule: 'kubernetes-types/core/v1', typeName: 'Service' },
  'v1/Pod': { model: Pod, typesModule: 'kubernetes-types/core/v1', typeName: 'Pod' },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim, typesModule: 'kubernetes-types/core/v1', typeName: 'PersistentVolumeClaim' },
  'batch/v1/CronJob': { model: CronJob, typesModule: 'kubernetes-types/batch/v1', typeName: 'CronJob' },
  'batch/v1/Job': { model: Job, typesModule: 'kubernetes-types/batch/v1', typeName: 'Job' },
  'rbac.authorization.k8s.io/v1/Role': { model: Role, typesModule: 'kubernetes-types/rbac/v1', typeName: 'Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding, typesModule: 'kubernetes-types/rbac/v1', typeName: 'RoleBinding' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { model: ClusterRole, typesModule: 'kubernetes-types/rbac/v1', typeName: 'ClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { model: ClusterRoleBinding, typesModule: 'kubernetes-types/rbac/v1', typeName: 'ClusterRoleBinding' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, typesModule: 'kubernetes-types/policy/v1', typeName: 'PodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, typesModule: 'kubernetes-types/networking/v1', typeName: 'NetworkPolicy' },
  'apps/v1/Deployment': { model: Deployment, typesModule: 'kubernetes-types/apps/v1', typeName: 'Deployment' },
  'apps/v1/DaemonSet': { model: DaemonSet, typesModule: 'kubernetes-types/apps/v1', typeName: 'DaemonSet' },
  'apps/v1/StatefulSet': { model: StatefulSet, typesModule: 'kubernetes-types/apps/v1', typeName: 'StatefulSet' },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    model: CustomResourceDefinition,
    typesModule: 'kubernetes-types/apiextensions/v1',
    typeName: 'CustomResourceDefinition',
  },
};

/** API groups served by kube-apiserver itself (anything else is a custom resource). */
const BUILTIN_GROUPS = new Set([
  '', 'apps', 'batch', 'policy', 'autoscaling', 'extensions',
  'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io',
  'authentication.k8s.io', 'authorization.k8s.io', 'certificates.k8s.io',
  'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io',
  'flowcontrol.apiserver.k8s.io', 'internal.apiserver.k8s.io', 'networking.k8s.io',
  'node.k8s.io', 'rbac.authorization.k8s.io', 'resource.k8s.io',
  'scheduling.k8s.io', 'storage.k8s.io', 'storagemigration.k8s.io',
]);

/** API versions no longer served by Kubernetes 1.28 (hint for the error message). */
const REMOVED_API_VERSIONS: Record<string, string> = {
  'extensions/v1beta1': '1.22',
  'apps/v1beta1': '1.16',
  'apps/v1beta2': '1.16',
  'batch/v1beta1': '1.25',
  'policy/v1beta1': '1.25',
  'autoscaling/v2beta1': '1.25',
  'autoscaling/v2beta2': '1.26',
  'networking.k8s.io/v1beta1': '1.22',
  'rbac.authorization.k8s.io/v1beta1': '1.22',
  'rbac.authorization.k8s.io/v1alpha1': '1.22',
  'apiextensions.k8s.io/v1beta1': '1.22',
  'scheduling.k8s.io/v1beta1': '1.22',
  'flowcontrol.apiserver.k8s.io/v1beta1': '1.26',
};

/**
 * Fields present in kubernetes-types 1.29 but not in the Kubernetes 1.28 API
 * (all alpha in 1.29). Keyed by kubernetes-types interface name. Best effort:
 * fields of 1.30+ are not in kubernetes-types 1.29 at all, so the strict check
 * already reports them as unknown.
 */
const FIELDS_ADDED_AFTER_1_28: Record<string, Record<string, string>> = {
  LifecycleHandler: { sleep: '1.29 (PodLifecycleSleepAction, alpha)' },
  PersistentVolumeClaimSpec: { volumeAttributesClassName: '1.29 (VolumeAttributesClass, alpha)' },
  PersistentVolumeSpec: { volumeAttributesClassName: '1.29 (VolumeAttributesClass, alpha)' },
  PodAffinityTerm: {
    matchLabelKeys: '1.29 (MatchLabelKeysInPodAffinity, alpha)',
    mismatchLabelKeys: '1.29 (MatchLabelKeysInPodAffinity, alpha)',
  },
  LoadBalancerIngress: { ipMode: '1.29 (LoadBalancerIPMode, alpha)' },
  VolumeProjection: { clusterTrustBundle: '1.29 (ClusterTrustBundleProjection, alpha)' },
};

/**
 * Fields newer than the 1.28 API that the library renders on purpose, each checked here against
 * the upstream schema of its own version and then taken out before the 1.28 checks:
 * - `volumes[].image` (ImageVolumeSource, KEP-4639: alpha 1.31, beta 1.33, on by default from
 *   1.35; k8s.io/api core/v1 types.go): `reference` (required, an image) and `pullPolicy`
 *   (Always, Never, IfNotPresent), nothing else. `EtcdTools.imageVolume()` mounts the cluster's
 *   shell-less etcd image this way; `EtcdTools.shellImage()` renders pure 1.28 instead.
 */
function newerFields(obj: Manifest): { problems: string[]; stripped: Manifest } {
  const problems: string[] = [];
  const walk = (node: unknown, at: string): any => {
    if (Array.isArray(node)) return node.map((v, i) => walk(v, `${at}[${i}]`));
    if (!isPlainObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      if (k === 'volumes' && Array.isArray(v)) {
        out[k] = v.map((vol, i) => {
          if (!isPlainObject(vol) || !('image' in vol)) return walk(vol, `${at}.volumes[${i}]`);
          const img = vol.image as any;
          const where = `${at}.volumes[${i}].image`;
          if (!isPlainObject(img)) {problems.push(`${where}: must be an object`);} else {
            if (typeof img.reference !== 'string' || !/^[a-z0-9]+([._\-/:@][a-zA-Z0-9_.-]+)+$/.test(img.reference)) problems.push(`${where}.reference: must be an image reference`);
            if (img.pullPolicy !== undefined && !['Always', 'Never', 'IfNotPresent'].includes(String(img.pullPolicy))) problems.push(`${where}.pullPolicy: Unsupported value ${JSON.stringify(img.pullPolicy)}`);
            for (const extra of Object.keys(img).filter((x) => x !== 'reference' && x !== 'pullPolicy')) problems.push(`${where}: unknown field '${extra}'`);
          }
          const others = Object.keys(vol).filter((x) => x !== 'name' && x !== 'image');
          if (others.length > 0) problems.push(`${at}.volumes[${i}]: an image volume has no other source (${others.join(', ')})`);
          // What a 1.28 schema accepts in its place: the same name, an emptyDir.
          return { name: vol.name, emptyDir: {} };
        });
      } else {
        out[k] = walk(v, at === '' ? k : `${at}.${k}`);
      }
    }
    return out;
  };
  return { problems, stripped: walk(obj, '') };
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

function kindKey(obj: Manifest): string {
  return `${obj?.apiVersion}/${obj?.kind}`;
}

/** True when `validateManifests` schema/strict-checks this object (built-in kind in the registry). */
export function isBuiltinKind(obj: Manifest): boolean {
  return Object.prototype.hasOwnProperty.call(BUILTIN_KINDS, kindKey(obj));
}

/** True for objects of a non-core API group (custom resources) — left to the CRD check. */
export function isCustomResource(obj: Manifest): boolean {
  return typeof obj?.apiVersion === 'string' && !BUILTIN_GROUPS.has(groupOf(obj.apiVersion));
}

/** The `${apiVersion}/${kind}` keys that `validateManifests` fully validates. */
export const SUPPORTED_KINDS: readonly string[] = Object.keys(BUILTIN_KINDS);

// ---------------------------------------------------------------------------
// helpers

type PathSeg = string | number;

function formatPath(segs: readonly PathSeg[]): string {
  let out = '';
  for (const s of segs) {
    if (typeof s === 'number') {
      out += `[${s}]`;
    } else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s)) {
      out += out ? `.${s}` : s;
    } else {
      out += `[${JSON.stringify(s)}]`;
    }
  }
  return out || '(root)';
}

function describe(obj: Manifest, index: number): string {
  const kind = obj?.kind ?? '<no kind>';
  const name = obj?.metadata?.name ?? obj?.metadata?.generateName ?? '<no name>';
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `[${index}] ${kind} ${ns}${name}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------
// (3) names and labels

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

type NameFormat = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label' | 'path-segment';

interface NameRule {
  readonly format: NameFormat;
  readonly max: number;
  readonly why?: string;
}

const DEFAULT_NAME_RULE: NameRule = { format: 'dns1123-subdomain', max: 253 };

/** Name rules keyed by `${group}/${kind}` (group '' = core). */
const NAME_RULES: Record<string, NameRule> = {
  '/Namespace': { format: 'dns1123-label', max: 63 },
  '/Service': { format: 'dns1035-label', max: 63 },
  // the Job name becomes the `job-name` / `batch.kubernetes.io/job-name` label value of its pods
  'batch/Job': { format: 'dns1123-subdomain', max: 63, why: 'it becomes the job-name label value of its pods' },
  // the CronJob controller appends an 11-character `-<timestamp>` suffix to the Job name
  'batch/CronJob': { format: 'dns1123-subdomain', max: 52, why: 'the controller appends an 11-char suffix to create Jobs' },
  // `<name>-<hash>` becomes the controller-revision-hash label value of its pods
  'apps/StatefulSet': { format: 'dns1123-subdomain', max: 52, why: 'it becomes part of the controller-revision-hash label value' },
  'rbac.authorization.k8s.io/Role': { format: 'path-segment', max: 253 },
  'rbac.authorization.k8s.io/ClusterRole': { format: 'path-segment', max: 253 },
  'rbac.authorization.k8s.io/RoleBinding': { format: 'path-segment', max: 253 },
  'rbac.authorization.k8s.io/ClusterRoleBinding': { format: 'path-segment', max: 253 },
};

function nameFormatProblem(name: string, format: NameFormat): string | undefined {
  switch (format) {
    case 'dns1123-label':
      return DNS1123_LABEL.test(name) ? undefined
        : 'must be a DNS-1123 label (lower case alphanumerics and \'-\', start and end alphanumeric)';
    case 'dns1035-label':
      return DNS1035_LABEL.test(name) ? undefined
        : 'must be a DNS-1035 label (lower case alphanumerics and \'-\', start with a letter, end alphanumeric)';
    case 'path-segment':
      if (name === '.' || name === '..') return 'may not be \'.\' or \'..\'';
      return /[/%]/.test(name) ? 'may not contain \'/\' or \'%\'' : undefined;
    default:
      return DNS1123_SUBDOMAIN.test(name) ? undefined
        : 'must be a DNS-1123 subdomain (lower case alphanumerics, \'-\' and \'.\', start and end alphanumeric)';
  }
}

function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0) return 'prefix part must be non-empty';
    if (prefix.length > 253) return `prefix part must be no more than 253 characters (has ${prefix.length})`;
    if (!DNS1123_SUBDOMAIN.test(prefix)) return 'prefix part must be a DNS-1123 subdomain';
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return `name part must be no more than 63 characters (has ${name.length})`;
  if (!QUALIFIED_NAME.test(name)) {
    return 'name part must consist of alphanumerics, \'-\', \'_\' or \'.\', and start and end with an alphanumeric';
  }
  return undefined;
}

function labelValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `must be a string (got ${value === null ? 'null' : typeof value})`;
  if (value.length > 63) return `must be no more than 63 characters (has ${value.length})`;
  if (!LABEL_VALUE.test(value)) {
    return 'must be empty or consist of alphanumerics, \'-\', \'_\' or \'.\', and start and end with an alphanumeric';
  }
  return undefined;
}

function checkLabelMap(map: unknown, at: PathSeg[], report: (msg: string) => void): void {
  if (!isPlainObject(map)) return;
  for (const [k, v] of Object.entries(map)) {
    const keyProblem = labelKeyProblem(k);
    if (keyProblem) report(`${formatPath([...at, k])}: invalid label key ${JSON.stringify(k)}: ${keyProblem}`);
    const valueProblem = labelValueProblem(v);
    if (valueProblem) report(`${formatPath([...at, k])}: invalid label value ${JSON.stringify(v)}: ${valueProblem}`);
  }
}

function checkAnnotations(map: unknown, at: PathSeg[], report: (msg: string) => void): void {
  if (!isPlainObject(map)) return;
  let total = 0;
  for (const [k, v] of Object.entries(map)) {
    const keyProblem = labelKeyProblem(k);
    if (keyProblem) report(`${formatPath([...at, k])}: invalid annotation key ${JSON.stringify(k)}: ${keyProblem}`);
    if (typeof v !== 'string') report(`${formatPath([...at, k])}: annotation value must be a string`);
    total += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  }
  if (total > MAX_ANNOTATIONS_BYTES) {
    report(`${formatPath(at)}: annotations total ${total} bytes, must be no more than ${MAX_ANNOTATIONS_BYTES}`);
  }
}

/** Recursively finds label-like maps: `*.metadata.labels/annotations`, `matchLabels`, `nodeSelector`, `matchExpressions[].key`. */
function walkLabels(node: unknown, at: PathSeg[], report: (msg: string) => void): void {
  if (Array.isArray(node)) {
    node.forEach((el, i) => walkLabels(el, [...at, i], report));
    return;
  }
  if (!isPlainObject(node)) return;
  for (const [k, v] of Object.entries(node)) {
    const here = [...at, k];
    if (k === 'metadata' && isPlainObject(v)) {
      checkLabelMap(v.labels, [...here, 'labels'], report);
      checkAnnotations(v.annotations, [...here, 'annotations'], report);
      continue;
    } else if ((k === 'matchLabels' || k === 'nodeSelector') && isPlainObject(v)) {
      checkLabelMap(v, here, report);
      continue;
    } else if (k === 'matchExpressions' && Array.isArray(v)) {
      v.forEach((req, i) => {
        if (isPlainObject(req) && typeof req.key === 'string') {
          const p = labelKeyProblem(req.key);
          if (p) report(`${formatPath([...here, i, 'key'])}: invalid label key ${JSON.stringify(req.key)}: ${p}`);
        }
      });
    }
    walkLabels(v, here, report);
  }
}

function nameProblemsOf(obj: Manifest): string[] {
  const problems: string[] = [];
  const report = (msg: string) => problems.push(msg);
  if (!isPlainObject(obj)) return problems;
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const ruleKey = `${groupOf(apiVersion)}/${obj.kind}`;
  const rule = NAME_RULES[ruleKey] ?? DEFAULT_NAME_RULE;
  const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
  const name = meta.name;
  if (typeof name === 'string') {
    if (name.length === 0) {
      report('metadata.name: must be non-empty');
    } else {
      if (name.length > rule.max) {
        report(`metadata.name: ${JSON.stringify(name)} must be no more than ${rule.max} characters for ${obj.kind} (has ${name.length})`
          + (rule.why ? `; ${rule.why}` : ''));
      }
      const p = nameFormatProblem(name, rule.format);
      if (p) report(`metadata.name: ${JSON.stringify(name)} ${p}`);
    }
  } else if (typeof meta.generateName !== 'string') {
    report('metadata.name: required (neither name nor generateName is set)');
  }
  if (meta.namespace !== undefined) {
    if (typeof meta.namespace !== 'string' || meta.namespace.length > 63 || !DNS1123_LABEL.test(meta.namespace)) {
      report(`metadata.namespace: ${JSON.stringify(meta.namespace)} must be a DNS-1123 label of at most 63 characters`);
    }
  }
  walkLabels(obj, [], report);
  // a core Service selector is a plain label map
  if (ruleKey === '/Service' && isPlainObject(obj.spec)) {
    checkLabelMap(obj.spec.selector, ['spec', 'selector'], report);
  }
  return problems;
}

/**
 * Problems with object names (length and format per kind), namespaces,
 * label keys/values (metadata.labels, pod templates, matchLabels,
 * nodeSelector, Service selector) and annotation keys/size. Applies to every
 * object, custom resources included (they use the DNS-1123 subdomain rule).
 */
export function checkNameLimits(objs: Manifest[]): string[] {
  return objs.flatMap((obj, index) => nameProblemsOf(obj).map((p) => `${describe(obj, index)}: ${p}`));
}

// ---------------------------------------------------------------------------
// (1) kubernetes-models schema check

function schemaProblems(obj: Manifest, info: KindInfo): string[] {
  try {
    new info.model(obj).validate();
    return [];
  } catch (e: any) {
    const errors: any[] | undefined = Array.isArray(e?.errors) ? e.errors : undefined;
    if (!errors || errors.length === 0) return [`${e?.message ?? e} (kubernetes-models schema)`];
    return errors.map((err) => {
      const segs: PathSeg[] = String(err.instancePath ?? '')
        .split('/').slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      const params = err.params && Object.keys(err.params).length ? ` ${JSON.stringify(err.params)}` : '';
      return `${formatPath(segs)}: ${err.message ?? err.keyword}${params} (kubernetes-models schema)`;
    });
  }
}

// ---------------------------------------------------------------------------
// (2) strict unknown-field check with the TypeScript compiler

/** In-memory file; placed next to this module so `kubernetes-types` resolves from node_modules. */
const VIRTUAL_FILE = path.join(__dirname, '__validate_manifests__.ts').replace(/\\/g, '/');

const COMPILER_OPTIONS: ts.CompilerOptions = {
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  // kubernetes-types needs nothing beyond ES5 globals; a small lib keeps the program cheap
  lib: ['lib.es5.d.ts'],
  types: [],
  skipLibCheck: true,
  skipDefaultLibCheck: true,
};

/** Augments kubernetes-types' JSONSchemaProps with the `x-kubernetes-*` extensions it lacks. */
const CRD_AUGMENTATION = `
import type { ValidationRule as __ValidationRule } from 'kubernetes-types/apiextensions/v1';
declare module 'kubernetes-types/apiextensions/v1' {
  interface JSONSchemaProps {
    'x-kubernetes-embedded-resource'?: boolean;
    'x-kubernetes-int-or-string'?: boolean;
    'x-kubernetes-list-map-keys'?: Array<string>;
    'x-kubernetes-list-type'?: string;
    'x-kubernetes-map-type'?: string;
    'x-kubernetes-preserve-unknown-fields'?: boolean;
    'x-kubernetes-validations'?: Array<__ValidationRule>;
  }
}
`;

let baseHost: ts.CompilerHost | undefined;
const sourceFileCache = new Map<string, ts.SourceFile>();
let previousProgram: ts.Program | undefined;

function createProgram(text: string): ts.Program {
  baseHost ??= ts.createCompilerHost(COMPILER_OPTIONS, true);
  const base = baseHost;
  const host: ts.CompilerHost = {
    ...base,
    getSourceFile(fileName, languageVersion, onError) {
      if (fileName === VIRTUAL_FILE) {
        return ts.createSourceFile(fileName, text, languageVersion, true, ts.ScriptKind.TS);
      }
      // library files never change during a test run: parse each once
      let sf = sourceFileCache.get(fileName);
      if (!sf) {
        sf = base.getSourceFile(fileName, languageVersion, onError);
        if (sf) sourceFileCache.set(fileName, sf);
      }
      return sf;
    },
    fileExists: (fileName) => fileName === VIRTUAL_FILE || base.fileExists(fileName),
    readFile: (fileName) => (fileName === VIRTUAL_FILE ? text : base.readFile(fileName)),
    writeFile: () => undefined,
  };
  const program = ts.createProgram([VIRTUAL_FILE], COMPILER_OPTIONS, host, previousProgram);
  previousProgram = program;
  return program;
}

/**
 * Like JSON.stringify, but with identifier-like keys unquoted so TypeScript
 * names them plainly and suggests fixes ("Did you mean to write 'hostNetwork'?").
 */
function toLiteral(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toLiteral(v))).join(',')}]`;
  if (isPlainObject(value)) {
    const props = Object.entries(value)
      .filter(([, v]) => v !== undefined && typeof v !== 'function')
      .map(([k, v]) => `${/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) && k !== '__proto__' ? k : JSON.stringify(k)}:${toLiteral(v)}`);
    return `{${props.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

interface Checked {
  readonly index: number;
  readonly varName: string;
}

/** Finds the innermost node of `root` that contains `pos`, returning the chain root → leaf. */
function nodeChainAt(root: ts.Node, pos: number): ts.Node[] {
  const chain: ts.Node[] = [root];
  let current: ts.Node = root;
  for (;;) {
    let next: ts.Node | undefined;
    current.forEachChild((child) => {
      if (!next && child.getStart() <= pos && pos < child.getEnd()) next = child;
    });
    if (!next) return chain;
    chain.push(next);
    current = next;
  }
}

function propertyNameText(name: ts.PropertyName): string {
  if (ts.isStringLiteral(name) || ts.isIdentifier(name) || ts.isNumericLiteral(name)) return name.text;
  return name.getText();
}

/** JSON path of the node chain (relative to the object literal initializer). */
function jsonPathOf(chain: ts.Node[]): PathSeg[] {
  const segs: PathSeg[] = [];
  for (let i = 1; i < chain.length; i++) {
    const node = chain[i];
    const parent = chain[i - 1];
    if (ts.isPropertyAssignment(node)) {
      segs.push(propertyNameText(node.name));
    } else if (ts.isArrayLiteralExpression(parent)) {
      segs.push(parent.elements.indexOf(node as ts.Expression));
    }
  }
  return segs;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

interface PropertyOracle {
  /** Display name of the contextual type. */
  readonly typeName: string;
  has(name: string): boolean;
  /** Closest declared property name (edit distance <= 2). */
  suggest(name: string): string | undefined;
  /** kubernetes-types interface declaring the property. */
  declaringType(name: string): string | undefined;
}

function hasTypeFlag(t: ts.Type, flags: ts.TypeFlags): boolean {
  // eslint-disable-next-line no-bitwise
  return (t.flags & flags) !== 0;
}

/**
 * Answers "does the contextual type declare property X?"; undefined when any
 * property is acceptable (index signatures, `any`, empty interfaces such as
 * apiextensions `JSON`) or the type is not an object type (then the
 * diagnostics already report a type mismatch).
 */
function knownPropertyOracle(checker: ts.TypeChecker, type: ts.Type): PropertyOracle | undefined {
  const parts = type.isUnion() ? type.types : [type];
  const objectTypes: ts.Type[] = [];
  for (const t of parts) {
    if (hasTypeFlag(t, ts.TypeFlags.Any) || hasTypeFlag(t, ts.TypeFlags.Unknown)) return undefined;
    // array constituents (e.g. JSONSchemaPropsOrArray) never describe an object literal
    if ((hasTypeFlag(t, ts.TypeFlags.Object) || t.isIntersection()) && !checker.isArrayLikeType(t)) objectTypes.push(t);
  }
  if (objectTypes.length === 0) return undefined;
  for (const t of objectTypes) {
    if (checker.getIndexInfosOfType(t).length > 0) return undefined;
    if (checker.getPropertiesOfType(t).length === 0) return undefined;
  }
  return {
    typeName: objectTypes.map((t) => checker.typeToString(t)).join(' | '),
    has: (name) => objectTypes.some((t) => checker.getPropertyOfType(t, name) !== undefined),
    suggest: (name) => {
      let best: { name: string; distance: number } | undefined;
      for (const t of objectTypes) {
        for (const p of checker.getPropertiesOfType(t)) {
          const distance = editDistance(name.toLowerCase(), p.name.toLowerCase());
          if (distance <= 2 && (!best || distance < best.distance)) best = { name: p.name, distance };
        }
      }
      return best?.name;
    },
    declaringType: (name) => {
      for (const t of objectTypes) {
        const sym = checker.getPropertyOfType(t, name);
        const decl = sym?.declarations?.[0];
        if (decl && ts.isInterfaceDeclaration(decl.parent)) return decl.parent.name.text;
      }
      return undefined;
    },
  };
}

function strictProblems(objs: Manifest[]): Map<number, string[]> {
  const result = new Map<number, string[]>();
  const add = (index: number, msg: string) => {
    const list = result.get(index) ?? [];
    list.push(msg);
    result.set(index, list);
  };

  const imports = new Map<string, string>(); // `${module}#${type}` -> alias
  const checked: Checked[] = [];
  const decls: string[] = [];
  let needsCrdAugmentation = false;
  objs.forEach((obj, index) => {
    const info = BUILTIN_KINDS[kindKey(obj)];
    if (!info) return;
    const key = `${info.typesModule}#${info.typeName}`;
    let alias = imports.get(key);
    if (!alias) {
      alias = `K${imports.size}_${info.typeName}`;
      imports.set(key, alias);
    }
    if (info.typeName === 'CustomResourceDefinition') needsCrdAugmentation = true;
    const varName = `o${index}`;
    checked.push({ index, varName });
    decls.push(`export const ${varName}: ${alias} = ${toLiteral(obj)};`);
  });
  if (checked.length === 0) return result;

  const importLines = [...imports.entries()].map(([key, alias]) => {
    const [mod, typeName] = key.split('#');
    return `import type { ${typeName} as ${alias} } from '${mod}';`;
  });
  const text = [...importLines, needsCrdAugmentation ? CRD_AUGMENTATION : '', ...decls, ''].join('\n');

  const program = createProgram(text);
  const sf = program.getSourceFile(VIRTUAL_FILE)!;
  const checker = program.getTypeChecker();

  // setup problems (e.g. kubernetes-types not resolvable) are bugs here, not in the manifests
  const setup = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
  if (setup.length > 0) {
    throw new Error(`validate.ts: TypeScript setup failed:\n${setup.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n')}`);
  }

  // variable name -> initializer
  const initializers = new Map<string, { index: number; init: ts.Expression }>();
  const byVar = new Map(checked.map((c) => [c.varName, c.index]));
  for (const stmt of sf.statements) {
    if (!ts.isVariableStatement(stmt)) continue;
    for (const d of stmt.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.initializer && byVar.has(d.name.text)) {
        initializers.set(d.name.text, { index: byVar.get(d.name.text)!, init: d.initializer });
      }
    }
  }
  const ranges = [...initializers.values()];
  const findObject = (pos: number) => ranges.find((r) => r.init.getStart() <= pos && pos < r.init.getEnd());

  const reportedPaths = new Set<string>();
  const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
  for (const d of diagnostics) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    const owner = d.start !== undefined ? findObject(d.start) : undefined;
    if (!owner) {
      // not inside an object literal: an import/setup problem
      throw new Error(`validate.ts: unexpected TypeScript diagnostic: ${message}`);
    }
    const segs = jsonPathOf(nodeChainAt(owner.init, d.start!));
    reportedPaths.add(`${owner.index}|${formatPath(segs)}`);
    add(owner.index, `${formatPath(segs)}: ${message} (kubernetes-types strict check, TS${d.code})`);
  }

  // TypeScript reports only the first excess property per object literal:
  // walk the contextual types to report all of them (and 1.29-only fields).
  const walk = (node: ts.Expression, index: number, segs: PathSeg[]) => {
    if (ts.isObjectLiteralExpression(node)) {
      const ctx = checker.getContextualType(node);
      const oracle = ctx ? knownPropertyOracle(checker, ctx) : undefined;
      for (const prop of node.properties) {
        if (!ts.isPropertyAssignment(prop)) continue;
        const name = propertyNameText(prop.name);
        const here = [...segs, name];
        if (oracle && !oracle.has(name)) {
          if (!reportedPaths.has(`${index}|${formatPath(here)}`)) {
            const suggestion = oracle.suggest(name);
            add(index, `${formatPath(here)}: unknown field '${name}' (not in type '${oracle.typeName}')`
              + `${suggestion ? `; did you mean '${suggestion}'?` : ''} (kubernetes-types strict check)`);
          }
          continue;
        }
        const declaring = oracle?.declaringType(name);
        const since = declaring ? FIELDS_ADDED_AFTER_1_28[declaring]?.[name] : undefined;
        if (since) {
          add(index, `${formatPath(here)}: field '${declaring}.${name}' was added in Kubernetes ${since}; not available in the targeted 1.28 API`);
        }
        walk(prop.initializer, index, here);
      }
    } else if (ts.isArrayLiteralExpression(node)) {
      node.elements.forEach((el, i) => walk(el, index, [...segs, i]));
    }
  };
  for (const { index, init } of ranges) walk(init, index, []);

  return result;
}

// ---------------------------------------------------------------------------
// public API

/**
 * Validates synthesized manifests. Returns human-readable problems; an empty
 * array means valid. Built-in kinds (see `isBuiltinKind`) get the
 * kubernetes-models schema check and the strict kubernetes-types check;
 * custom resources (see `isCustomResource`) only get `checkNameLimits`;
 * unregistered kinds of built-in API groups are reported as problems.
 */
export function validateManifests(objs0: Manifest[]): string[] {
  const perObject: string[][] = objs0.map(() => []);
  const objs = objs0.map((obj, index) => {
    if (!isPlainObject(obj)) return obj;
    const { problems, stripped } = newerFields(obj);
    for (const p of problems) perObject[index].push(`${describe(obj, index)}: ${p}`);
    return stripped;
  });
  objs.forEach((obj, index) => {
    if (!isPlainObject(obj)) {
      perObject[index].push(`${describe(obj, index)}: not an object`);
      return;
    }
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      perObject[index].push(`${describe(obj, index)}: apiVersion and kind must be strings`);
      return;
    }
    const info = BUILTIN_KINDS[kindKey(obj)];
    if (info) {
      for (const p of schemaProblems(obj, info)) perObject[index].push(`${describe(obj, index)}: ${p}`);
    } else if (!isCustomResource(obj)) {
      const removed = REMOVED_API_VERSIONS[obj.apiVersion];
      perObject[index].push(`${describe(obj, index)}: ${obj.apiVersion} ${obj.kind} is a built-in API `
        + (removed ? `version that is no longer served (removed in Kubernetes ${removed})`
          : 'kind that validateManifests does not know; add it to BUILTIN_KINDS in test/support/validate.ts'));
    }
  });
  for (const [index, problems] of strictProblems(objs)) {
    for (const p of problems) perObject[index].push(`${describe(objs[index], index)}: ${p}`);
  }
  objs.forEach((obj, index) => {
    for (const p of nameProblemsOf(obj)) perObject[index].push(`${describe(obj, index)}: ${p}`);
  });
  return perObject.flat();
}

/** Jest helper: throws listing every problem found by `validateManifests`. */
export function expectValidManifests(objs: Manifest[]): void {
  const problems = validateManifests(objs);
  if (problems.length > 0) {
    throw new Error(`${problems.length} problem(s) in synthesized manifests:\n - ${problems.join('\n - ')}`);
  }
}
