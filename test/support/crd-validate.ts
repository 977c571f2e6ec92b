/**
 * Test support: validate synthesized custom resources against their CRDs.
 *
 * Every object whose API group is not served by kube-apiserver itself
 * (`isCustomResource` from ./validate, so the two checks partition the
 * objects: built-in kinds there, everything else here) is looked up by
 * group + kind + version in the upstream CRD YAML files and validated with
 * ajv against that version's `schema.openAPIV3Schema`.
 *
 * The CRDs are upstream data kept verbatim in `crds/` at the repository root
 * (sources and tags in crds/SOURCES.md), so a fresh clone runs every check.
 * When the folder is missing the
 * check cannot run: `expectValidCustomResources` then warns (or throws when
 * CDK8S_BACKUP_REQUIRE_CRDS=1, as in CI) and `testIfCrds`/`describeIfCrds`
 * register their tests as skipped, with the reason in the test name.
 *
 * CRD schemas are "structural" OpenAPI v3 schemas with Kubernetes extensions;
 * `toStrictSchema` turns one into a plain JSON schema (draft-07) first:
 *
 * - Unknown fields: the apiserver silently prunes fields a schema does not
 *   declare, so a misspelt field "works" and is lost. Every object node of the
 *   structural part (properties, items, additionalProperties, recursively)
 *   without `additionalProperties` or `x-kubernetes-preserve-unknown-fields`
 *   gets `additionalProperties: false`, so such fields are reported. Nodes
 *   inside `allOf`/`anyOf`/`oneOf`/`not` are NOT closed: Kubernetes requires
 *   every field named there to be declared in the structural part too, and
 *   those branches often list only a subset of the fields, which closing
 *   would reject.
 * - `x-kubernetes-preserve-unknown-fields: true`: the node stays open (any
 *   field accepted there); its `type` and declared properties are still
 *   checked, as the apiserver does.
 * - `x-kubernetes-int-or-string: true`: `type: [integer, string]` (the
 *   `anyOf: [{type: integer}, {type: string}]` that accompanies it is dropped).
 * - `x-kubernetes-embedded-resource: true`: `apiVersion`, `kind` (both
 *   required, as the apiserver requires them) and an ObjectMeta-shaped
 *   `metadata` are added to the node's properties.
 * - `nullable: true`: `null` is added to `type` (and to `enum`).
 * - `exclusiveMinimum/Maximum: true` (OpenAPI 3.0 / draft-04 booleans) become
 *   draft-07 numbers.
 * - `format`: registered explicitly instead of `strict: false`/ignore, so the
 *   formats in the CRDs are really checked: int32 and int64 (integer range:
 *   the apiserver does not check it, but the controller decodes the field
 *   into a Go int32/int64 and fails on anything out of range), float, double,
 *   byte (padded standard base64), date-time (RFC 3339) and date. Any other
 *   format is dropped from the schema: the apiserver ignores formats it does
 *   not know, and ajv would otherwise refuse to compile.
 * - `x-kubernetes-validations` (CEL rules) are IGNORED: evaluating CEL needs
 *   a CEL interpreter; the apiserver still enforces them at apply time.
 * - `x-kubernetes-list-type`, `-list-map-keys`, `-map-type` are ignored
 *   (merge strategy hints; uniqueness of set/map list items is not checked).
 * - `description`, `example`, `externalDocs`, `title`, `default` are dropped.
 *   Defaults are not applied, but a `required` field that has a default is
 *   not required (the apiserver defaults it before validating). Any keyword
 *   outside the apiextensions JSONSchemaProps set (e.g. `$ref`) throws.
 *
 * `metadata` of the object itself is `type: object` in CRD schemas; it is
 * checked here instead: `name` required, DNS-1123 subdomain of at most 253
 * characters (63 for Velero Schedules, see SCHEDULE_NAME_MAX), `namespace` a
 * DNS-1123 label (and absent for cluster-scoped kinds), `labels` and
 * `annotations` maps of strings, no field that ObjectMeta does not have.
 * (Label key/value syntax is `checkNameLimits`' job in ./validate.)
 *
 * ajv: written against ajv 8 (the current major), and also runs on ajv 6
 * (what a bare `require('ajv')` resolves to while ajv is only eslint's
 * transitive dependency): the only differences used are the constructor
 * options and the error path property (`instancePath` vs `dataPath`).
 */
import * as fs from 'fs';
import * as path from 'path';
import AjvModule from 'ajv';
import { parseAllDocuments } from 'yaml';
import { isCustomResource } from './validate';

/** A manifest as emitted by `Testing.synth()`. */
type Manifest = any;
/** A JSON / OpenAPI schema node. */
type Schema = Record<string, any>;

/** `crds/` at the repository root (this file is in <root>/test/support). */
export const CRDS_DIR = path.resolve(__dirname, '..', '..', 'crds');

/** Set to `1` (CI does) to make a missing CRD folder an error instead of a skip. */
export const REQUIRE_CRDS_ENV = 'CDK8S_BACKUP_REQUIRE_CRDS';

/**
 * Velero names each Backup of a Schedule `<schedule>-<timestamp>` and labels
 * it `velero.io/schedule-name: <schedule>`; a label value is at most 63
 * characters, so for a longer Schedule name the Backup is rejected and no
 * backup is ever created (the controller only logs it; velero-io/velero#9531).
 */
const SCHEDULE_NAME_MAX = 63;

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** ObjectMeta fields (anything else in `metadata` is pruned by the apiserver). */
const OBJECT_META_FIELDS = new Set([
  'name', 'generateName', 'namespace', 'labels', 'annotations', 'finalizers', 'ownerReferences',
  'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'managedFields', 'selfLink',
]);

// ---------------------------------------------------------------------------
// availability

export interface CrdsAvailability {
  readonly available: boolean;
  /** Why the CRDs cannot be used (only when `available` is false). */
  readonly reason?: string;
  /** The folder that was looked at. */
  readonly dir: string;
}

/**
 * Folders of an older release's CRDs (`crds/velero-v1.14/`): the same kinds again, so they are
 * only read when passed as `dir` themselves, never as part of `crds/`.
 */
const OLDER_RELEASE_DIR = /^[a-z-]+-v\d+\.\d+$/;

function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && OLDER_RELEASE_DIR.test(entry.name)) continue;
    if (entry.isDirectory()) out.push(...yamlFilesUnder(full));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out;
}

/** Whether the CRD folder exists and holds YAML files (they are parsed on first use). */
export function crdsAvailable(dir: string = CRDS_DIR): CrdsAvailability {
  const where = `${dir} (crds/ at the repository root)`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return { available: false, reason: `CRD folder ${where} does not exist`, dir };
  }
  if (!stat.isDirectory()) return { available: false, reason: `CRD folder ${where} is not a directory`, dir };
  if (yamlFilesUnder(dir).length === 0) {
    return { available: false, reason: `CRD folder ${where} has no *.yaml files`, dir };
  }
  return { available: true, dir };
}

function crdsRequired(): boolean {
  const v = process.env[REQUIRE_CRDS_ENV];
  return v === '1' || v === 'true';
}

// ---------------------------------------------------------------------------
// CRD index

interface CrdVersion {
  readonly served: boolean;
  readonly schema?: Schema;
}

interface Crd {
  /** metadata.name, e.g. schedules.velero.io */
  readonly name: string;
  readonly file: string;
  readonly group: string;
  readonly kind: string;
  readonly scope: string;
  readonly versions: ReadonlyMap<string, CrdVersion>;
}

/** CRD index per folder, keyed by `${group}/${kind}`. */
const indexCache = new Map<string, Map<string, Crd>>();

function loadIndex(dir: string): Map<string, Crd> {
  const cached = indexCache.get(dir);
  if (cached) return cached;
  const index = new Map<string, Crd>();
  for (const file of yamlFilesUnder(dir)) {
    const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML stream`);
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}`);
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      if (crd.apiVersion !== 'apiextensions.k8s.io/v1') {
        throw new Error(`${file}: ${crd.metadata?.name}: only apiextensions.k8s.io/v1 CRDs are supported, got ${crd.apiVersion}`);
      }
      const { group, names, scope, versions } = crd.spec ?? {};
      const key = `${group}/${names?.kind}`;
      const previous = index.get(key);
      if (previous) throw new Error(`CRD for ${names?.kind}.${group} defined twice: ${previous.file} and ${file}`);
      index.set(key, {
        name: crd.metadata?.name,
        file,
        group,
        kind: names?.kind,
        scope,
        versions: new Map((versions ?? []).map((v: any) => [v.name, { served: v.served === true, schema: v.schema?.openAPIV3Schema }])),
      });
    }
  }
  indexCache.set(dir, index);
  return index;
}

// ---------------------------------------------------------------------------
// schema conversion (structural OpenAPI v3 + Kubernetes extensions -> strict JSON schema)

/** Formats we check; any other `format` is dropped (see the file comment). */
const FORMATS: Record<string, unknown> = {
  'int32': { type: 'number', validate: (x: number) => Number.isInteger(x) && x >= -(2 ** 31) && x <= 2 ** 31 - 1 },
  'int64': { type: 'number', validate: (x: number) => Number.isInteger(x) && x >= -(2 ** 63) && x < 2 ** 63 },
  'float': { type: 'number', validate: (x: number) => Number.isFinite(x) },
  'double': { type: 'number', validate: (x: number) => Number.isFinite(x) },
  'byte': /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  'date-time': (s: string) =>
    /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$/.test(s)
    && !Number.isNaN(Date.parse(s.replace(' ', 'T').replace(/:60(\.\d+)?/, ':59'))),
  'date': (s: string) => /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(s) && !Number.isNaN(Date.parse(s)),
};

/**
 * Custom keyword for `pattern`s that JavaScript cannot compile as they are:
 * Kubernetes evaluates patterns with Go's RE2, which has e.g. inline flags
 * (`^(?i)(abort|warn)?$` in the PrometheusRule CRD) and `(?P<name>...)`.
 */
const RE2_PATTERN = 'x-re2-pattern';

function isJsRegExp(pattern: unknown): boolean {
  try {
    new RegExp(pattern as string, 'u');
    return true;
  } catch {
    return false;
  }
}

/**
 * Translate an RE2 pattern to a RegExp: named groups `(?P<n>` -> `(?<n>`, and
 * flags `(?ims)` at the start (after an optional `^`) -> RegExp flags. Throws
 * for anything else that does not compile (e.g. a flag group mid-pattern, whose
 * scope a global RegExp flag would widen).
 */
function re2ToRegExp(pattern: string, where: string = ''): RegExp {
  let src = pattern.replace(/(?<!\\)\(\?P</g, '(?<');
  let flags = '';
  const lead = /^(\^?)\(\?([ims]+)\)/.exec(src);
  if (lead) {
    flags = [...new Set(lead[2])].join('');
    src = lead[1] + src.slice(lead[0].length);
  }
  for (const f of ['u', '']) {
    try {
      return new RegExp(src, flags + f);
    } catch {
      // try without the unicode flag
    }
  }
  throw new Error(`${where || '(root)'}: cannot translate the RE2 pattern ${JSON.stringify(pattern)} to a JavaScript RegExp`);
}

function addRe2PatternKeyword(instance: AjvInstance, isAjv8: boolean): void {
  const definition = {
    type: 'string',
    errors: false,
    compile: (pattern: string) => {
      const re = re2ToRegExp(pattern);
      return (data: string) => re.test(data);
    },
  };
  if (isAjv8) instance.addKeyword({ keyword: RE2_PATTERN, schemaType: 'string', ...definition });
  else instance.addKeyword(RE2_PATTERN, definition);
}

/** Dropped: documentation, defaults (see `required` handling), and hints we do not evaluate. */
const IGNORED_KEYWORDS = new Set([
  'description', 'title', 'example', 'externalDocs', 'default', '$schema', 'id',
  // CEL rules: not evaluated here (needs a CEL interpreter); the apiserver enforces them.
  'x-kubernetes-validations',
  // merge / list semantics for server-side apply: not validation.
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
]);

/** Copied verbatim (same meaning in OpenAPI 3.0 and JSON schema draft-07). */
const COPIED_KEYWORDS = new Set([
  'type', 'enum', 'required', 'minLength', 'maxLength', 'minimum', 'maximum', 'multipleOf',
  'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties',
]);

/** Handled after the keyword loop. */
const EXTENSION_KEYWORDS = new Set([
  'nullable', 'exclusiveMinimum', 'exclusiveMaximum',
  'x-kubernetes-int-or-string', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource',
]);

/** `metadata` of an embedded resource: ObjectMeta, unknown fields rejected. */
const EMBEDDED_METADATA_SCHEMA: Schema = {
  type: 'object',
  properties: {
    ...Object.fromEntries([...OBJECT_META_FIELDS].map((f) => [f, {}])),
    name: { type: 'string' },
    generateName: { type: 'string' },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' } },
  },
  additionalProperties: false,
};

function isPlainObject(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typesOf(schema: Schema): string[] {
  return schema.type === undefined ? [] : ([] as string[]).concat(schema.type);
}

function isIntOrStringAnyOf(anyOf: unknown): boolean {
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return false;
  const types = anyOf.map((s) => (isPlainObject(s) && Object.keys(s).length === 1 ? s.type : undefined));
  return types.includes('integer') && types.includes('string');
}

/**
 * @param close add `additionalProperties: false` to object nodes (false inside
 *   allOf/anyOf/oneOf/not and inside the top-level `metadata`).
 */
function convert(node: unknown, where: string, close: boolean): Schema {
  if (!isPlainObject(node)) throw new Error(`${where || '(root)'}: schema must be an object`);
  const out: Schema = {};
  const sub = (value: unknown, at: string, closeSub: boolean = close) => convert(value, at, closeSub);
  for (const [key, value] of Object.entries(node)) {
    if (IGNORED_KEYWORDS.has(key) || EXTENSION_KEYWORDS.has(key)) continue;
    if (COPIED_KEYWORDS.has(key)) {
      out[key] = structuredClone(value);
      continue;
    }
    switch (key) {
      case 'properties':
      case 'patternProperties':
      case 'definitions':
        out[key] = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, sub(v, `${where}.${k}`)]));
        break;
      case 'items':
        out.items = Array.isArray(value) ? value.map((v, i) => sub(v, `${where}[${i}]`)) : sub(value, `${where}[]`);
        break;
      case 'additionalProperties':
      case 'additionalItems':
        out[key] = typeof value === 'boolean' ? value : sub(value, `${where}.*`);
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = (value as unknown[]).map((v, i) => sub(v, `${where}(${key}[${i}])`, false));
        break;
      case 'not':
        out.not = sub(value, `${where}(not)`, false);
        break;
      case 'dependencies':
        out.dependencies = Object.fromEntries(Object.entries(value as object).map(([k, v]) =>
          [k, Array.isArray(v) ? [...v] : sub(v, `${where}(dependencies.${k})`, false)]));
        break;
      case 'format':
        if (Object.prototype.hasOwnProperty.call(FORMATS, value)) out.format = value;
        break;
      case 'pattern':
        if (isJsRegExp(value)) {
          out.pattern = value;
        } else {
          re2ToRegExp(value, where); // throws now (not at validation time) if it cannot be translated
          out[RE2_PATTERN] = value;
        }
        break;
      default:
        throw new Error(`${where || '(root)'}: unsupported schema keyword '${key}'`);
    }
  }

  // OpenAPI 3.0 boolean exclusiveMinimum/Maximum -> draft-07 numbers.
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (node[flag] === true && typeof out[bound] === 'number') {
      out[flag] = out[bound];
      delete out[bound];
    } else if (typeof node[flag] === 'number') {
      out[flag] = node[flag];
    }
  }

  if (node['x-kubernetes-int-or-string'] === true) {
    out.type = ['integer', 'string'];
    if (isIntOrStringAnyOf(out.anyOf)) delete out.anyOf;
  }

  if (node['x-kubernetes-embedded-resource'] === true) {
    out.type ??= 'object';
    out.properties = {
      apiVersion: { type: 'string', minLength: 1 },
      kind: { type: 'string', minLength: 1 },
      metadata: structuredClone(EMBEDDED_METADATA_SCHEMA),
      ...out.properties,
    };
    out.required = [...new Set([...(out.required ?? []), 'apiVersion', 'kind'])];
  }

  // A required field with a default is never missing: the apiserver defaults it before validating.
  if (Array.isArray(out.required) && isPlainObject(node.properties)) {
    out.required = out.required.filter((f: string) => node.properties[f]?.default === undefined);
    if (out.required.length === 0) delete out.required;
  }

  if (node.nullable === true) {
    if (out.type !== undefined) out.type = [...new Set([...typesOf(out), 'null'])];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum.push(null);
  }

  const objectNode = out.properties !== undefined || typesOf(out).includes('object');
  if (close && objectNode
    && node['x-kubernetes-preserve-unknown-fields'] !== true
    && out.additionalProperties === undefined && out.patternProperties === undefined) {
    // Declared fields only. Also for `type: object` without properties: the apiserver prunes every field there.
    out.additionalProperties = false;
  }
  return out;
}

/**
 * Turn a CRD version's `openAPIV3Schema` into a strict draft-07 JSON schema
 * (see the file comment). The top-level `apiVersion`, `kind` and `metadata`
 * are always allowed; `metadata` is left open (checked by `metadataProblems`).
 */
export function toStrictSchema(openAPIV3Schema: Schema): Schema {
  const { metadata, ...rest } = isPlainObject(openAPIV3Schema?.properties) ? openAPIV3Schema.properties : ({} as Schema);
  const out = convert({ ...openAPIV3Schema, properties: rest }, '', true);
  out.properties = {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    ...out.properties,
    // CRDs may only restrict metadata.name / generateName here; keep that, but do not close it.
    metadata: metadata === undefined ? { type: 'object' } : convert(metadata, 'metadata', false),
  };
  return out;
}

// ---------------------------------------------------------------------------
// ajv (8, or 6 while only eslint's copy is installed)

interface AjvError {
  readonly instancePath?: string; // ajv 8
  readonly dataPath?: string; // ajv 6 (JSON pointer with `jsonPointers: true`)
  readonly keyword: string;
  readonly params: Record<string, any>;
  readonly message?: string;
  readonly schema?: unknown; // with `verbose: true`
  readonly parentSchema?: Schema;
}

interface ValidateFunction {
  (data: unknown): boolean;
  errors?: AjvError[] | null;
}

interface AjvInstance {
  compile(schema: object): ValidateFunction;
  addFormat(name: string, format: unknown): unknown;
  addKeyword(nameOrDefinition: string | object, definition?: object): unknown;
}

let ajvInstance: AjvInstance | undefined;

function ajv(): AjvInstance {
  if (ajvInstance) return ajvInstance;
  const Ajv = AjvModule as unknown as new (opts: object) => AjvInstance;
  const isAjv8 = typeof (Ajv.prototype as any).addVocabulary === 'function';
  const opts = isAjv8
    ? {
      allErrors: true,
      verbose: true, // parentSchema in errors (for "did you mean")
      // Unknown keywords / formats are errors; toStrictSchema leaves only standard keywords
      // and registered formats. Type-consistency lints are off (union types are intended).
      strictSchema: true,
      strictNumbers: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      allowUnionTypes: true,
    }
    : { allErrors: true, verbose: true, jsonPointers: true };
  const instance = new Ajv(opts);
  for (const [name, format] of Object.entries(FORMATS)) instance.addFormat(name, format);
  addRe2PatternKeyword(instance, isAjv8);
  ajvInstance = instance;
  return instance;
}

/** Compiled validators per (folder, group, kind, version). */
const validatorCache = new Map<string, ValidateFunction>();

function validatorFor(dir: string, crd: Crd, version: string, schema: Schema): ValidateFunction {
  const key = `${dir}\0${crd.group}\0${crd.kind}\0${version}`;
  let validate = validatorCache.get(key);
  if (!validate) {
    try {
      validate = ajv().compile(toStrictSchema(schema));
    } catch (e: any) {
      throw new Error(`cannot compile the ${version} schema of CRD ${crd.name} (${crd.file}): ${e?.message ?? e}`);
    }
    validatorCache.set(key, validate);
  }
  return validate;
}

/**
 * Validate `data` against a CRD `openAPIV3Schema` (after `toStrictSchema`),
 * without the metadata checks. Returns `path: message` strings; compiled anew
 * on every call (for tests of the conversion; CRDs go through the cache).
 */
export function schemaProblems(openAPIV3Schema: Schema, data: unknown): string[] {
  const validate = ajv().compile(toStrictSchema(openAPIV3Schema));
  return validate(data) ? [] : formatErrors(validate.errors ?? [], data);
}

// ---------------------------------------------------------------------------
// error formatting

function fieldSegment(key: string, first: boolean): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return first ? key : `.${key}`;
  return `[${JSON.stringify(key)}]`;
}

/** JSON pointer -> `spec.groups[0].rules[0]`, using the data to tell array indices from keys. */
function formatPointer(pointer: string, data: unknown): string {
  if (pointer === '') return '';
  let cur: any = data;
  let out = '';
  for (const seg of pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))) {
    if (Array.isArray(cur)) {
      out += `[${seg}]`;
      cur = cur[Number(seg)];
    } else {
      out += fieldSegment(seg, out === '');
      cur = isPlainObject(cur) ? cur[seg] : undefined;
    }
  }
  return out;
}

function child(parent: string, key: string): string {
  return parent + fieldSegment(key, parent === '');
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) =>
    Array.from({ length: y.length + 1 }, (__, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[x.length][y.length];
}

/** ` (did you mean X?)` for a declared field close to the unknown one. */
function suggestion(field: string, parentSchema: Schema | undefined): string {
  const limit = Math.min(Math.max(1, Math.floor(field.length / 4)), field.length - 1);
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const known of Object.keys(parentSchema?.properties ?? {})) {
    const distance = editDistance(field, known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best ? ` (did you mean ${best}?)` : '';
}

/** Messages of our own, so that they do not depend on the ajv major version. */
function message(e: AjvError): string {
  const p = e.params ?? {};
  switch (e.keyword) {
    case 'pattern':
      return `must match pattern ${p.pattern}`;
    case RE2_PATTERN:
      return `must match pattern ${e.schema}`;
    case 'minLength':
    case 'maxLength':
      return `must be at ${e.keyword.startsWith('min') ? 'least' : 'most'} ${p.limit} characters long`;
    case 'minItems':
    case 'maxItems':
      return `must have at ${e.keyword.startsWith('min') ? 'least' : 'most'} ${p.limit} items`;
    case 'minProperties':
    case 'maxProperties':
      return `must have at ${e.keyword.startsWith('min') ? 'least' : 'most'} ${p.limit} fields`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${p.comparison} ${p.limit}`;
    case 'multipleOf':
      return `must be a multiple of ${p.multipleOf}`;
    case 'uniqueItems':
      return `must not contain duplicates (items ${p.j} and ${p.i} are identical)`;
    case 'anyOf':
      return 'must match at least one of the alternatives (anyOf)';
    case 'oneOf':
      return 'must match exactly one of the alternatives (oneOf)';
    case 'not':
      return 'must not match the excluded schema (not)';
    default:
      return (e.message ?? e.keyword).replace(/^should /, 'must ');
  }
}

function formatErrors(errors: readonly AjvError[], data: unknown): string[] {
  const out = errors.map((e) => {
    const at = formatPointer(e.instancePath ?? e.dataPath ?? '', data);
    const p = e.params ?? {};
    switch (e.keyword) {
      case 'additionalProperties':
        return `${child(at, p.additionalProperty)}: unknown field${suggestion(p.additionalProperty, e.parentSchema)}`;
      case 'required':
        return `${child(at, p.missingProperty)}: required field missing`;
      case 'type':
        return `${at || '(root)'}: must be ${String(p.type).split(',').join(' or ')}`;
      case 'enum':
        return `${at || '(root)'}: must be one of ${(p.allowedValues ?? []).map((v: unknown) => JSON.stringify(v)).join(', ')}`;
      case 'format':
        return `${at || '(root)'}: must be a valid ${p.format}`;
      default:
        return `${at || '(root)'}: ${message(e)}`;
    }
  });
  // sorted: ajv 6 and 8 report in different orders
  return [...new Set(out)].sort();
}

// ---------------------------------------------------------------------------
// metadata

function metadataProblems(obj: Manifest, crd: Crd): string[] {
  const md = obj.metadata;
  if (md === undefined) return ['metadata: required field missing'];
  if (!isPlainObject(md)) return ['metadata: must be object'];
  const out: string[] = [];
  for (const key of Object.keys(md)) {
    if (!OBJECT_META_FIELDS.has(key)) out.push(`${child('metadata', key)}: unknown field`);
  }

  const name = md.name;
  if (name === undefined) {
    out.push('metadata.name: required field missing');
  } else if (typeof name !== 'string') {
    out.push('metadata.name: must be string');
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    out.push(`metadata.name: "${name}" must be a lowercase RFC 1123 subdomain of at most 253 characters`);
  } else if (crd.group === 'velero.io' && crd.kind === 'Schedule' && name.length > SCHEDULE_NAME_MAX) {
    out.push(`metadata.name: ${name.length} characters; a Velero Schedule name must be at most ${SCHEDULE_NAME_MAX} `
      + '(it becomes the velero.io/schedule-name label of every Backup; with a longer name no backup is created)');
  }

  if (md.namespace !== undefined) {
    if (crd.scope === 'Cluster') {
      out.push(`metadata.namespace: not allowed, ${crd.kind} (${crd.name}) is cluster-scoped`);
    } else if (typeof md.namespace !== 'string') {
      out.push('metadata.namespace: must be string');
    } else if (md.namespace.length > 63 || !DNS1123_LABEL.test(md.namespace)) {
      out.push(`metadata.namespace: "${md.namespace}" must be a lowercase RFC 1123 label of at most 63 characters`);
    }
  }

  for (const field of ['labels', 'annotations']) {
    const map = md[field];
    if (map === undefined) continue;
    if (!isPlainObject(map)) {
      out.push(`metadata.${field}: must be a map of strings`);
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      if (typeof v !== 'string') out.push(`${child(`metadata.${field}`, k)}: must be string`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// public API

function label(obj: Manifest, index: number): string {
  const kind = obj?.kind ?? '<no kind>';
  const name = obj?.metadata?.name ?? obj?.metadata?.generateName ?? '<no name>';
  const ns = obj?.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `[${index}] ${kind} ${ns}${name}`;
}

function objectProblems(obj: Manifest, dir: string, index: Map<string, Crd>): string[] {
  const slash = obj.apiVersion.indexOf('/');
  const group = obj.apiVersion.slice(0, slash);
  const version = obj.apiVersion.slice(slash + 1);
  const crd = index.get(`${group}/${obj.kind}`);
  if (!crd) {
    const kinds = [...index.values()].filter((c) => c.group === group).map((c) => c.kind);
    const known = kinds.length > 0 ? `; kinds with a CRD in ${group}: ${kinds.join(', ')}` : '';
    return [`no CRD for kind ${obj.kind} in group ${group} in ${dir}${known}`];
  }
  const v = crd.versions.get(version);
  const served = [...crd.versions].filter(([, x]) => x.served).map(([n]) => n);
  if (!v) return [`CRD ${crd.name} has no version ${version} (served: ${served.join(', ') || 'none'})`];
  if (!v.served) return [`version ${version} of CRD ${crd.name} is not served (served: ${served.join(', ') || 'none'})`];
  if (!isPlainObject(v.schema)) return [`CRD ${crd.name} version ${version} has no schema.openAPIV3Schema`];

  const validate = validatorFor(dir, crd, version, v.schema);
  const schemaErrors = validate(obj) ? [] : formatErrors(validate.errors ?? [], obj);
  return [...metadataProblems(obj, crd), ...schemaErrors];
}

/**
 * Check every custom resource in `objs` (objects of API groups that
 * kube-apiserver does not serve itself) against its CRD schema in `dir`.
 * Built-in kinds are skipped (./validate covers them). Returns readable
 * problems like `[3] Schedule velero/daily: spec.template.ttl: must be string`;
 * an empty array means valid. Throws when the CRD folder is unavailable.
 */
export function validateCustomResources(objs: Manifest[], dir: string = CRDS_DIR): string[] {
  const state = crdsAvailable(dir);
  if (!state.available) throw new Error(`cannot validate custom resources: ${state.reason}`);
  const index = loadIndex(dir);
  return objs.flatMap((obj, i) => {
    if (!isPlainObject(obj)) return [`${label(obj, i)}: not an object`];
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      return [`${label(obj, i)}: apiVersion and kind must be strings`];
    }
    if (!isCustomResource(obj)) return [];
    return objectProblems(obj, dir, index).map((p) => `${label(obj, i)}: ${p}`);
  });
}

/**
 * Jest helper: throw listing every problem of `validateCustomResources`.
 * Without the CRD folder: throws when CDK8S_BACKUP_REQUIRE_CRDS=1, otherwise
 * warns and returns (use `testIfCrds`/`describeIfCrds` so the test is also
 * reported as skipped).
 */
export function expectValidCustomResources(objs: Manifest[], dir: string = CRDS_DIR): void {
  const state = crdsAvailable(dir);
  if (!state.available) {
    if (crdsRequired()) {
      throw new Error(`${state.reason}: custom resources cannot be validated against their CRDs, and ${REQUIRE_CRDS_ENV}=1 requires it`);
    }
    console.warn(`custom resources NOT validated against their CRDs: ${state.reason} (set ${REQUIRE_CRDS_ENV}=1 to make this an error)`);
    return;
  }
  const problems = validateCustomResources(objs, dir);
  if (problems.length > 0) {
    throw new Error(`${problems.length} problem(s) in custom resources:\n - ${problems.join('\n - ')}`);
  }
}

/**
 * Whether CRD-dependent tests run, and the suffix for their names when they
 * do not. They run when the CRDs are there, and also when
 * CDK8S_BACKUP_REQUIRE_CRDS=1 (so that they fail instead of being skipped).
 */
export function crdTestGate(dir: string = CRDS_DIR): { readonly run: boolean; readonly suffix: string } {
  const state = crdsAvailable(dir);
  if (state.available || crdsRequired()) return { run: true, suffix: '' };
  return { run: false, suffix: ` [skipped: ${state.reason}]` };
}

/** `test`, or `test.skip` with the reason in its name when the CRD folder is missing (see `crdTestGate`). */
export function testIfCrds(name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  const gate = crdTestGate();
  (gate.run ? test : test.skip)(name + gate.suffix, fn, timeout);
}

/** `describe`, or `describe.skip` with the reason in its name when the CRD folder is missing. */
export function describeIfCrds(name: string, fn: () => void): void {
  const gate = crdTestGate();
  (gate.run ? describe : describe.skip)(name + gate.suffix, fn);
}
