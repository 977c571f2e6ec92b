import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CRDS_DIR,
  REQUIRE_CRDS_ENV,
  crdTestGate,
  crdsAvailable,
  describeIfCrds,
  expectValidCustomResources,
  schemaProblems,
  testIfCrds,
  toStrictSchema,
  validateCustomResources,
} from './crd-validate';

function schedule(overrides: { name?: string; template?: Record<string, unknown> } = {}): any {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Schedule',
    metadata: { name: overrides.name ?? 'daily', namespace: 'velero' },
    spec: { schedule: '0 1 * * *', template: overrides.template ?? { ttl: '720h0m0s', includedNamespaces: ['*'] } },
  };
}

function backupStorageLocation(config: Record<string, unknown> = {}): any {
  return {
    apiVersion: 'velero.io/v1',
    kind: 'BackupStorageLocation',
    metadata: { name: 'default', namespace: 'velero' },
    spec: {
      provider: 'aws',
      objectStorage: { bucket: 'backups', prefix: 'cluster-a' },
      config: { region: 'eu-west-1', s3ForcePathStyle: 'true', s3Url: 'https://minio:9000', ...config },
      credential: { name: 'cloud-credentials', key: 'cloud' },
    },
  };
}

function prometheusRule(rule: Record<string, unknown>): any {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'backup-alerts', namespace: 'monitoring', labels: { release: 'kube-prometheus-stack' } },
    spec: { groups: [{ name: 'backup', rules: [rule] }] },
  };
}

const ALERT = {
  alert: 'VeleroBackupMissing',
  expr: 'time() - velero_backup_last_successful_timestamp{schedule="daily"} > 90000',
  for: '15m',
  labels: { severity: 'critical' },
  annotations: { summary: 'No successful Velero backup for 25h' },
};

describe('crdsAvailable', () => {
  test('looks in crds/ at the repository root, where the project keeps its copies', () => {
    expect(CRDS_DIR).toBe(path.resolve(__dirname, '..', '..', 'crds'));
    const state = crdsAvailable();
    expect(state.dir).toBe(CRDS_DIR);
    if (state.available) expect(state.reason).toBeUndefined();
    else expect(state.reason).toMatch(/^CRD folder /);
  });

  testIfCrds('reports the folder as available', () => {
    expect(crdsAvailable()).toEqual({ available: true, dir: CRDS_DIR });
  });

  test('a missing or empty folder is unavailable, with the reason', () => {
    const missing = path.join(os.tmpdir(), 'cdk8s-backup-no-such-crds');
    expect(crdsAvailable(missing)).toEqual({
      available: false,
      reason: expect.stringContaining(`${missing} (crds/ at the repository root) does not exist`),
      dir: missing,
    });
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-backup-crds-'));
    try {
      expect(crdsAvailable(empty).reason).toMatch(/has no \*\.yaml files/);
    } finally {
      fs.rmSync(empty, { recursive: true });
    }
  });
});

describe('without the CRD folder nothing passes silently', () => {
  const missing = path.join(os.tmpdir(), 'cdk8s-backup-no-such-crds');
  const saved = process.env[REQUIRE_CRDS_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[REQUIRE_CRDS_ENV];
    else process.env[REQUIRE_CRDS_ENV] = saved;
  });

  test('expectValidCustomResources warns and tests are registered as skipped', () => {
    delete process.env[REQUIRE_CRDS_ENV];
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expectValidCustomResources([schedule()], missing);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`CRD folder ${missing}`));
    } finally {
      warn.mockRestore();
    }
    expect(crdTestGate(missing)).toEqual({ run: false, suffix: expect.stringMatching(/^ \[skipped: CRD folder .* does not exist\]$/) });
  });

  test(`with ${REQUIRE_CRDS_ENV}=1 it throws and the tests run`, () => {
    process.env[REQUIRE_CRDS_ENV] = '1';
    expect(() => expectValidCustomResources([schedule()], missing)).toThrow(/does not exist.*CDK8S_BACKUP_REQUIRE_CRDS=1/);
    expect(crdTestGate(missing)).toEqual({ run: true, suffix: '' });
  });

  test('validateCustomResources throws', () => {
    expect(() => validateCustomResources([schedule()], missing)).toThrow(/cannot validate custom resources: CRD folder/);
  });
});

describeIfCrds('validateCustomResources against the upstream CRDs', () => {
  test('a minimal Schedule passes', () => {
    expect(validateCustomResources([schedule()])).toEqual([]);
    expect(() => expectValidCustomResources([schedule()])).not.toThrow();
  });

  test('a misspelt field is rejected, naming the field', () => {
    const obj = schedule({ template: { ttl: '720h0m0s', includedNamespace: ['*'] } });
    expect(validateCustomResources([obj])).toEqual([
      '[0] Schedule velero/daily: spec.template.includedNamespace: unknown field (did you mean includedNamespaces?)',
    ]);
    expect(() => expectValidCustomResources([obj])).toThrow(/1 problem\(s\) in custom resources:\n - \[0\] Schedule velero\/daily: spec\.template\.includedNamespace: unknown field/);
  });

  test('a wrong type is rejected', () => {
    expect(validateCustomResources([schedule({ template: { ttl: 720 } })])).toEqual([
      '[0] Schedule velero/daily: spec.template.ttl: must be string',
    ]);
  });

  test('a Schedule name over 63 characters is rejected, 63 passes', () => {
    const problems = validateCustomResources([schedule({ name: 'a'.repeat(64) }), schedule({ name: 'b'.repeat(63) })]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^\[0\] Schedule velero\/a{64}: metadata\.name: 64 characters; a Velero Schedule name must be at most 63/);
  });

  test('metadata: name required, DNS subdomain, labels and annotations are strings, no unknown fields', () => {
    const obj = schedule();
    obj.metadata = { namespace: 'velero', labels: { 'app.kubernetes.io/name': 1 }, annotations: 'x', lables: {} };
    expect(validateCustomResources([obj])).toEqual([
      '[0] Schedule velero/<no name>: metadata.lables: unknown field',
      '[0] Schedule velero/<no name>: metadata.name: required field missing',
      '[0] Schedule velero/<no name>: metadata.labels["app.kubernetes.io/name"]: must be string',
      '[0] Schedule velero/<no name>: metadata.annotations: must be a map of strings',
    ]);
    const bad = schedule({ name: 'Daily_Backup' });
    expect(validateCustomResources([bad])).toEqual([
      '[0] Schedule velero/Daily_Backup: metadata.name: "Daily_Backup" must be a lowercase RFC 1123 subdomain of at most 253 characters',
    ]);
  });

  test('BackupStorageLocation: valid passes, config is a map of strings', () => {
    expect(validateCustomResources([backupStorageLocation()])).toEqual([]);
    expect(validateCustomResources([backupStorageLocation({ region: 1 })])).toEqual([
      '[0] BackupStorageLocation velero/default: spec.config.region: must be string',
    ]);
  });

  test('BackupStorageLocation: required fields and enums', () => {
    const obj = backupStorageLocation();
    delete obj.spec.provider;
    obj.spec.accessMode = 'ReadOnce';
    expect(validateCustomResources([obj])).toEqual([
      '[0] BackupStorageLocation velero/default: spec.accessMode: must be one of "ReadOnly", "ReadWrite"',
      '[0] BackupStorageLocation velero/default: spec.provider: required field missing',
    ]);
  });

  test('VolumeSnapshotLocation and Restore pass', () => {
    expect(validateCustomResources([
      {
        apiVersion: 'velero.io/v1',
        kind: 'VolumeSnapshotLocation',
        metadata: { name: 'default', namespace: 'velero' },
        spec: { provider: 'aws', config: { region: 'eu-west-1' }, credential: { name: 'cloud-credentials', key: 'cloud' } },
      },
      {
        apiVersion: 'velero.io/v1',
        kind: 'Restore',
        metadata: { name: 'restore-daily', namespace: 'velero' },
        spec: { backupName: 'daily-20250101010000' },
      },
      {
        apiVersion: 'velero.io/v1',
        kind: 'Backup',
        metadata: { name: 'before-upgrade', namespace: 'velero' },
        spec: { includedNamespaces: ['*'], ttl: '720h0m0s', snapshotVolumes: false, defaultVolumesToFsBackup: true },
      },
    ])).toEqual([]);
  });

  test('PrometheusRule: valid passes, a misspelt rule field fails, expr is int-or-string', () => {
    expect(validateCustomResources([prometheusRule(ALERT)])).toEqual([]);
    expect(validateCustomResources([prometheusRule({ ...ALERT, expr: 1 })])).toEqual([]);
    const { alert, ...rest } = ALERT;
    expect(validateCustomResources([prometheusRule({ ...rest, alrt: alert })])).toEqual([
      '[0] PrometheusRule monitoring/backup-alerts: spec.groups[0].rules[0].alrt: unknown field (did you mean alert?)',
    ]);
    expect(validateCustomResources([prometheusRule({ ...ALERT, expr: true, for: '15 minutes' })])).toEqual([
      '[0] PrometheusRule monitoring/backup-alerts: spec.groups[0].rules[0].expr: must be integer or string',
      '[0] PrometheusRule monitoring/backup-alerts: spec.groups[0].rules[0].for: must match pattern ^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
    ]);
  });

  test('PrometheusRule: RE2 patterns with inline flags are honoured', () => {
    const group = (strategy: string) => {
      const obj = prometheusRule(ALERT);
      obj.spec.groups[0].partial_response_strategy = strategy;
      return obj;
    };
    expect(validateCustomResources([group('Warn'), group('abort'), group('')])).toEqual([]);
    expect(validateCustomResources([group('ignore')])).toEqual([
      '[0] PrometheusRule monitoring/backup-alerts: spec.groups[0].partial_response_strategy: must match pattern ^(?i)(abort|warn)?$',
    ]);
  });

  test('ExternalSecret: v1 is served, v1beta1 is not', () => {
    const es = {
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'restic-password', namespace: 'backup' },
      spec: {
        refreshInterval: '1h',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
        target: { name: 'restic-password' },
        data: [{ secretKey: 'password', remoteRef: { key: 'backup/restic', property: 'password' } }],
      },
    };
    expect(validateCustomResources([es])).toEqual([]);
    expect(validateCustomResources([{ ...es, apiVersion: 'external-secrets.io/v1beta1' }])).toEqual([
      '[0] ExternalSecret backup/restic-password: version v1beta1 of CRD externalsecrets.external-secrets.io is not served (served: v1)',
    ]);
  });

  test('unknown kinds, groups and versions are reported', () => {
    expect(validateCustomResources([
      { apiVersion: 'velero.io/v1', kind: 'Bakup', metadata: { name: 'x' } },
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'y' } },
      { ...schedule(), apiVersion: 'velero.io/v2' },
      // snapshot.storage.k8s.io is served by a CRD, not by kube-apiserver
      { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshotClass', metadata: { name: 'csi' } },
    ])).toEqual([
      `[0] Bakup x: no CRD for kind Bakup in group velero.io in ${CRDS_DIR}; kinds with a CRD in velero.io: Backup, BackupStorageLocation, Restore, Schedule, VolumeSnapshotLocation`,
      `[1] Widget y: no CRD for kind Widget in group example.com in ${CRDS_DIR}`,
      '[2] Schedule velero/daily: CRD schedules.velero.io has no version v2 (served: v1)',
      `[3] VolumeSnapshotClass csi: no CRD for kind VolumeSnapshotClass in group snapshot.storage.k8s.io in ${CRDS_DIR}`,
    ]);
  });

  test('built-in kinds are left to ./validate; indices refer to the input array', () => {
    expect(validateCustomResources([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 1 } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'j' } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r' } },
      schedule({ template: { ttl: 720 } }),
      { kind: 'Schedule' },
    ])).toEqual([
      '[3] Schedule velero/daily: spec.template.ttl: must be string',
      '[4] Schedule <no name>: apiVersion and kind must be strings',
    ]);
  });
});

describe('a CRD folder of our own (synthetic CRDs in a temporary folder)', () => {
  const crd = (kind: string, scope: string) => [
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    `metadata: { name: ${kind.toLowerCase()}s.example.com }`,
    'spec:',
    '  group: example.com',
    `  names: { kind: ${kind}, plural: ${kind.toLowerCase()}s }`,
    `  scope: ${scope}`,
    '  versions:',
    '    - name: v1',
    '      served: true',
    '      storage: true',
    '      schema:',
    '        openAPIV3Schema:',
    '          type: object',
    '          properties:',
    '            spec: { type: object, properties: { size: { type: integer, format: int32 } } }',
  ].join('\n');
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-backup-crds-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true }));

  test('namespaced and cluster-scoped kinds, several CRDs per file', () => {
    fs.writeFileSync(path.join(dir, 'example.yaml'), `${crd('Widget', 'Namespaced')}\n---\n${crd('Gadget', 'Cluster')}\n`);
    expect(validateCustomResources([
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'n' }, spec: { size: 3 } },
      { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g', namespace: 'n' }, spec: { size: 2 ** 40 } },
    ], dir)).toEqual([
      '[1] Gadget n/g: metadata.namespace: not allowed, Gadget (gadgets.example.com) is cluster-scoped',
      '[1] Gadget n/g: spec.size: must be a valid int32',
    ]);
  });

  test('broken folders throw instead of validating nothing', () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), crd('Widget', 'Namespaced'));
    fs.writeFileSync(path.join(dir, 'b.yaml'), crd('Widget', 'Namespaced'));
    expect(() => validateCustomResources([], dir)).toThrow(/CRD for Widget\.example\.com defined twice/);
    fs.writeFileSync(path.join(dir, 'b.yaml'), 'spec: [unclosed');
    expect(() => validateCustomResources([], dir)).toThrow(/b\.yaml: /);
  });
});

describe('toStrictSchema: Kubernetes extensions', () => {
  const root = (spec: Record<string, unknown>) => ({ type: 'object', properties: { spec } });

  test('object nodes are closed; preserve-unknown-fields keeps them open but typed', () => {
    const s = root({
      type: 'object',
      properties: {
        closed: { type: 'object', properties: { a: { type: 'string' } } },
        empty: { type: 'object' },
        map: { type: 'object', additionalProperties: { type: 'string' } },
        open: { 'type': 'object', 'x-kubernetes-preserve-unknown-fields': true, 'properties': { a: { type: 'string' } } },
        list: { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    });
    expect(schemaProblems(s, {
      spec: { closed: { a: 'x', b: 1 }, empty: { c: 1 }, map: { k: 'v' }, open: { z: [1], a: 'x' }, list: [{ a: 'x', d: 1 }] },
    })).toEqual([
      'spec.closed.b: unknown field',
      'spec.empty.c: unknown field',
      'spec.list[0].d: unknown field',
    ]);
    expect(schemaProblems(s, { spec: { open: { a: 1 } }, status: {} })).toEqual([
      'spec.open.a: must be string',
      'status: unknown field',
    ]);
    expect(schemaProblems(s, { apiVersion: 'x/v1', kind: 'X', metadata: { anything: true } })).toEqual([]);
  });

  test('allOf/anyOf/oneOf branches are not closed (they may name a subset of the fields)', () => {
    const s = root({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'string' } },
      anyOf: [{ required: ['a'], properties: { a: { minLength: 2 } } }, { required: ['b'] }],
    });
    expect(schemaProblems(s, { spec: { a: 'xy', b: 'z' } })).toEqual([]);
    expect(schemaProblems(s, { spec: { a: 'x', c: 1 } })).toEqual([
      'spec.a: must be at least 2 characters long',
      'spec.b: required field missing',
      'spec.c: unknown field',
      'spec: must match at least one of the alternatives (anyOf)',
    ]);
  });

  test('int-or-string, nullable, exclusiveMinimum, formats', () => {
    const s = root({
      type: 'object',
      properties: {
        port: { 'anyOf': [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true },
        note: { type: 'string', nullable: true, enum: ['a', 'b'] },
        ratio: { type: 'number', minimum: 0, exclusiveMinimum: true },
        replicas: { type: 'integer', format: 'int32' },
        when: { type: 'string', format: 'date-time' },
        ca: { type: 'string', format: 'byte' },
        fancy: { type: 'string', format: 'no-such-format' },
      },
    });
    expect(toStrictSchema(s).properties.spec.properties.port).toEqual({ type: ['integer', 'string'] });
    expect(schemaProblems(s, {
      spec: { port: 'http', note: null, ratio: 0.5, replicas: 3, when: '2025-01-01T01:00:00Z', ca: 'YWJj', fancy: 'x' },
    })).toEqual([]);
    expect(schemaProblems(s, {
      spec: { port: 1.5, note: 'c', ratio: 0, replicas: 2 ** 31, when: '2025-01-01 1am', ca: 'abc' },
    })).toEqual([
      'spec.ca: must be a valid byte',
      'spec.note: must be one of "a", "b", null',
      'spec.port: must be integer or string',
      'spec.ratio: must be > 0',
      'spec.replicas: must be a valid int32',
      'spec.when: must be a valid date-time',
    ]);
  });

  test('embedded resources allow apiVersion/kind/metadata; required fields with a default are not required', () => {
    const s = root({
      type: 'object',
      required: ['mode'],
      properties: {
        mode: { type: 'string', default: 'Auto' },
        template: { 'type': 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
      },
    });
    expect(schemaProblems(s, {
      spec: { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } }, spec: {} } },
    })).toEqual([]);
    expect(schemaProblems(s, { spec: { template: { metadata: { labels: { a: 1 }, nmae: 'p' } } } })).toEqual([
      'spec.template.apiVersion: required field missing',
      'spec.template.kind: required field missing',
      'spec.template.metadata.labels.a: must be string',
      'spec.template.metadata.nmae: unknown field (did you mean name?)',
    ]);
  });

  test('CEL rules and list types are ignored; keywords outside JSONSchemaProps throw', () => {
    const s = root({
      'type': 'array',
      'items': { type: 'string' },
      'x-kubernetes-list-type': 'set',
      'x-kubernetes-validations': [{ rule: 'self.size() > 5' }],
    });
    expect(schemaProblems(s, { spec: ['a', 'a'] })).toEqual([]);
    expect(() => toStrictSchema(root({ $ref: '#/definitions/x' }))).toThrow(".spec: unsupported schema keyword '$ref'");
  });

  test('RE2 patterns: leading flags and (?P<name>) are translated, the rest throws', () => {
    const s = root({
      type: 'object',
      properties: {
        mode: { type: 'string', pattern: '^(?i)(on|off)$' },
        kv: { type: 'string', pattern: '^(?P<key>[a-z]+)=(?P<value>.*)$' },
      },
    });
    expect(schemaProblems(s, { spec: { mode: 'ON', kv: 'a=b' } })).toEqual([]);
    expect(schemaProblems(s, { spec: { mode: 'maybe', kv: '=b' } })).toEqual([
      'spec.kv: must match pattern ^(?P<key>[a-z]+)=(?P<value>.*)$',
      'spec.mode: must match pattern ^(?i)(on|off)$',
    ]);
    expect(() => toStrictSchema(root({ type: 'string', pattern: '^a(?i)b$' })))
      .toThrow('.spec: cannot translate the RE2 pattern "^a(?i)b$" to a JavaScript RegExp');
  });
});
