import { Chart, Cron, Duration, Testing } from 'cdk8s';
import {
  CaCertificate, Credentials, Retention, VeleroBackupHook, VeleroBackupStorageLocation,
  VeleroBackupStorageLocationProps, VeleroRestore, VeleroSchedule, VeleroScheduleProps, VeleroServerSideEncryption,
  VeleroVersion, VeleroVolumeSnapshotLocation,
} from '../../../src';
import { describeIfCrds, expectValidCustomResources } from '../../support/crd-validate';

const nightly = Cron.schedule({ minute: '30', hour: '1' });

function schedules(props: Partial<VeleroScheduleProps> = {}, id = 'apps'): any[] {
  const chart = Testing.chart();
  new VeleroSchedule(chart, id, { schedule: nightly, retention: Retention.maxAge(Duration.days(30)), ...props });
  return Testing.synth(chart);
}

function bsl(props: Partial<VeleroBackupStorageLocationProps> = {}): any {
  const chart = Testing.chart();
  new VeleroBackupStorageLocation(chart, 'bsl', { bucket: 'velero-backups', ...props });
  return Testing.synth(chart)[0];
}

describe('VeleroSchedule: retention → ttl', () => {
  test('maxAge becomes one Schedule with a Go-duration ttl', () => {
    const [s] = schedules({ retention: Retention.maxAge(Duration.days(30)) });
    expect(s.spec.template.ttl).toBe('720h0m0s');
    expect(s.spec.schedule).toBe('30 1 * * *');
    expect(s.metadata).toEqual({ name: 'apps', namespace: 'velero' });
  });

  test('gfs becomes one Schedule per tier, at the schedule\'s minute and hour, ttl = count × period', () => {
    const retention = Retention.gfs({ hourly: 6, daily: 7, weekly: 5, monthly: 12, yearly: 2 });
    const objs = schedules({ retention, allowRetentionFinerThanSchedule: true });
    expect(objs.map((o) => [o.metadata.name, o.spec.schedule, o.spec.template.ttl])).toEqual([
      ['apps-hourly', '30 * * * *', '6h0m0s'],
      ['apps-daily', '30 1 * * *', '168h0m0s'],
      ['apps-weekly', '30 1 * * 0', '840h0m0s'],
      ['apps-monthly', '30 1 1 * *', '8928h0m0s'],
      ['apps-yearly', '30 1 1 1 *', '17568h0m0s'],
    ]);
  });

  test('keep-last-N has no Velero equivalent: a clear error, never silently dropped', () => {
    expect(() => schedules({ retention: Retention.keepLast(10) })).toThrow(/VeleroSchedule: retention: Velero cannot keep "the last N" backups/);
    expect(() => schedules({ retention: Retention.gfs({ last: 3, daily: 7 }) })).toThrow(/gfs 'last' tier has no Velero equivalent/);
  });

  test('gfs needs a fixed minute (and hour for daily and coarser tiers)', () => {
    expect(() => schedules({ schedule: Cron.hourly(), retention: Retention.gfs({ daily: 7 }) })).toThrow(/hour must be one number/);
    expect(() => schedules({ schedule: Cron.schedule({ minute: '*/5' }), retention: Retention.gfs({ hourly: 24 }) })).toThrow(/minute must be one number/);
    expect(schedules({ schedule: Cron.hourly(), retention: Retention.gfs({ hourly: 24 }) })[0].spec.schedule).toBe('0 * * * *');
  });
});

describe('VeleroSchedule: cron and time zone', () => {
  test('a time zone is rendered as CRON_TZ=', () => {
    expect(schedules({ timeZone: 'Europe/Berlin', veleroVersion: VeleroVersion.V1_15 })[0].spec.schedule).toBe('CRON_TZ=Europe/Berlin 30 1 * * *');
  });

  test('invalid cron fields and time zones are rejected', () => {
    expect(() => schedules({ schedule: Cron.schedule({ minute: '75' }) })).toThrow(/VeleroSchedule: schedule: invalid cron expression/);
    expect(() => schedules({ timeZone: 'Mars/Olympus' })).toThrow(/timeZone/);
  });
});

describe('VeleroSchedule: GitOps safety', () => {
  test('defaults: Backups get their own labels, no immediate backup on apply, no owner references', () => {
    const [s] = schedules();
    expect(s.spec.template.metadata).toEqual({ labels: { 'backup.cdk8s.io/schedule': 'apps' } });
    // Not rendered: Velero patches a true back to false, and GitOps re-applies push runs away.
    expect(s.spec).not.toHaveProperty('skipImmediately');
    expect(s.spec.useOwnerReferencesInBackup).toBe(false);
    expect(s.spec.paused).toBe(false);
    expect(s.status).toBeUndefined();
  });

  test('the chart\'s labels (e.g. Argo CD\'s) stay on the Schedule, not on its Backups', () => {
    const app = new Chart(Testing.app(), 'app', { labels: { 'app.kubernetes.io/instance': 'argo-app' } });
    new VeleroSchedule(app, 'apps', { schedule: nightly, retention: Retention.maxAge(Duration.days(7)) });
    const [s] = Testing.synth(app);
    expect(s.metadata.labels).toEqual({ 'app.kubernetes.io/instance': 'argo-app' });
    expect(s.spec.template.metadata.labels).toEqual({ 'backup.cdk8s.io/schedule': 'apps' });
  });

  test('GitOps tracking labels on Backups, or no labels at all, are rejected', () => {
    expect(() => schedules({ backupLabels: { 'app.kubernetes.io/instance': 'x' } })).toThrow(/GitOps tracking label/);
    expect(() => schedules({ backupLabels: {} })).toThrow(/backupLabels must not be empty/);
  });

  test('names over 63 characters are rejected (Velero silently creates no backups)', () => {
    expect(() => schedules({ name: 'a'.repeat(64) })).toThrow(/VeleroSchedule: name: expected a DNS subdomain .* at most 63/);
    expect(() => schedules({ name: 'a'.repeat(60), retention: Retention.gfs({ daily: 7 }) })).toThrow(/-daily tier suffix/);
  });
});

describe('VeleroSchedule: filters and options', () => {
  test('every filter and option is rendered', () => {
    const [s] = schedules({
      includedNamespaces: ['shop'],
      excludedNamespaces: ['kube-system'],
      includedNamespaceScopedResources: ['deployments.apps'],
      excludedClusterScopedResources: ['nodes'],
      orLabelSelectors: [{ app: 'a' }, { app: 'b' }],
      snapshotVolumes: true,
      defaultVolumesToFsBackup: false,
      snapshotMoveData: true,
      storageLocation: 'default',
      volumeSnapshotLocations: ['aws-default'],
      csiSnapshotTimeout: Duration.minutes(10),
      itemOperationTimeout: Duration.hours(4),
      paused: true,
    });
    expect(s.spec.template).toMatchObject({
      includedNamespaces: ['shop'],
      excludedNamespaces: ['kube-system'],
      includedNamespaceScopedResources: ['deployments.apps'],
      excludedClusterScopedResources: ['nodes'],
      orLabelSelectors: [{ matchLabels: { app: 'a' } }, { matchLabels: { app: 'b' } }],
      snapshotVolumes: true,
      defaultVolumesToFsBackup: false,
      snapshotMoveData: true,
      storageLocation: 'default',
      volumeSnapshotLocations: ['aws-default'],
      csiSnapshotTimeout: '0h10m0s',
      itemOperationTimeout: '4h0m0s',
    });
    expect(s.spec.paused).toBe(true);
  });

  test('labelSelector and orLabelSelectors are exclusive', () => {
    expect(() => schedules({ labelSelector: { a: 'b' }, orLabelSelectors: [{ c: 'd' }] })).toThrow(/labelSelector and orLabelSelectors are exclusive/);
  });

  test('old-style and scoped resource filters are exclusive', () => {
    expect(() => schedules({ includeClusterResources: true, includedClusterScopedResources: ['*'] })).toThrow(/use one style/);
  });

  test('hooks: typed exec, ready-made database helpers, unique names', () => {
    const [s] = schedules({
      hooks: [
        VeleroBackupHook.fsFreeze({ name: 'freeze', namespace: 'db', podLabels: { app: 'db' }, container: 'fsfreeze', mountPath: '/data' }),
        VeleroBackupHook.postgresDump({ name: 'dump', namespace: 'db', podLabels: { app: 'pg' }, dumpFile: '/var/lib/postgresql/data/backup.dump' }),
      ],
    });
    const [freeze, dump] = s.spec.template.hooks.resources;
    expect(freeze.pre[0].exec).toEqual({ container: 'fsfreeze', command: ['/sbin/fsfreeze', '--freeze', '/data'], onError: 'Fail' });
    expect(freeze.post[0].exec.onError).toBe('Continue');
    expect(dump.pre[0].exec.timeout).toBe('0h10m0s');
    expect(dump.pre[0].exec.command).toContain('-Fc');
    const h = VeleroBackupHook.postgresCheckpoint({ name: 'pg', namespace: 'db', podLabels: { app: 'pg' } });
    expect(() => schedules({ hooks: [h, h] })).toThrow(/the name "pg" is used twice/);
    expect(() => new VeleroBackupHook({ name: 'empty' })).toThrow(/at least one pre or post command/);
  });
});

describe('VeleroBackupStorageLocation', () => {
  test('S3-compatible: region, s3Url with path style, CA ref, cloud credentials file, access mode', () => {
    const o = bsl({ prefix: '/prod/', region: 'minio', s3Url: 'https://minio.example.com:9000', caCert: CaCertificate.fromSecret({ name: 'minio-ca', key: 'ca.crt' }), veleroVersion: VeleroVersion.V1_18, credentials: Credentials.fromSecret('velero-s3'), default: true, validationFrequency: Duration.minutes(5) });
    expect(o.metadata).toEqual({ name: 'default', namespace: 'velero' });
    expect(o.spec).toEqual({
      provider: 'aws',
      objectStorage: { bucket: 'velero-backups', prefix: 'prod', caCertRef: { name: 'minio-ca', key: 'ca.crt' } },
      config: { region: 'minio', s3Url: 'https://minio.example.com:9000', s3ForcePathStyle: 'true' },
      credential: { name: 'velero-s3', key: 'cloud' },
      default: true,
      accessMode: 'ReadWrite',
      validationFrequency: '0h5m0s',
    });
  });

  test('server-side encryption: one method at a time', () => {
    expect(bsl({ serverSideEncryption: VeleroServerSideEncryption.kms('alias/velero') }).spec.config).toEqual({ kmsKeyId: 'alias/velero' });
    expect(bsl({ serverSideEncryption: VeleroServerSideEncryption.customerKey('/credentials/sse-c.key') }).spec.config).toEqual({ customerKeyEncryptionFile: '/credentials/sse-c.key' });
    // The AWS plugin ignores serverSideEncryption next to a key source, except the aws:kms kmsKeyId implies.
    expect(() => bsl({ serverSideEncryption: VeleroServerSideEncryption.s3Managed(), config: { kmsKeyId: 'k' } })).toThrow(/serverSideEncryption "AES256" with kmsKeyId is ignored/);
    expect(bsl({ serverSideEncryption: VeleroServerSideEncryption.kms('k'), config: { serverSideEncryption: 'aws:kms' } }).spec.config).toEqual({ kmsKeyId: 'k', serverSideEncryption: 'aws:kms' });
    expect(() => bsl({ config: { kmsKeyId: 'k', customerKeyEncryptionFile: '/k' } })).toThrow(/exclusive \(the AWS plugin takes one key source\)/);
    expect(() => bsl({ serverSideEncryption: VeleroServerSideEncryption.customerKey('/k'), config: { customerKeyEncryptionSecret: 's/k' } })).toThrow(/exclusive/);
    // SSE-C from a Secret: AWS plugin 1.13, Velero 1.17.
    const fromSecret = VeleroServerSideEncryption.customerKeySecret({ name: 'sse-c', key: 'key' });
    expect(() => bsl({ serverSideEncryption: fromSecret })).toThrow(/customerKeyEncryptionSecret, AWS plugin 1\.13\) needs Velero 1\.17/);
    expect(bsl({ serverSideEncryption: fromSecret, veleroVersion: VeleroVersion.V1_17 }).spec.config).toEqual({ customerKeyEncryptionSecret: 'sse-c/key' });
  });

  test('bad input', () => {
    expect(() => bsl({ bucket: 'velero/prod' })).toThrow(/bucket: a bucket name has no slashes/);
    expect(() => bsl({ s3Url: 'minio:9000' })).toThrow(/s3Url/);
    expect(() => bsl({ region: 'eu-west-1', config: { region: 'eu-west-2' } })).toThrow(/region and config.region both set/);
    expect(bsl({ readOnly: true }).spec.accessMode).toBe('ReadOnly');
  });
});

describe('VeleroVolumeSnapshotLocation and VeleroRestore', () => {
  test('snapshot location', () => {
    const chart = Testing.chart();
    new VeleroVolumeSnapshotLocation(chart, 'vsl', { provider: 'aws', config: { region: 'eu-west-1' }, credentials: Credentials.fromSecret('velero-s3') });
    expect(Testing.synth(chart)[0].spec).toEqual({ provider: 'aws', config: { region: 'eu-west-1' }, credential: { name: 'velero-s3', key: 'cloud' } });
  });

  test('restore from a schedule\'s latest backup into a scratch namespace', () => {
    const chart = Testing.chart();
    new VeleroRestore(chart, 'drill', { scheduleName: 'apps-daily', includedNamespaces: ['shop'], namespaceMapping: { shop: 'shop-drill' } });
    expect(Testing.synth(chart)[0]).toEqual({
      apiVersion: 'velero.io/v1',
      kind: 'Restore',
      metadata: { name: 'drill', namespace: 'velero' },
      spec: { scheduleName: 'apps-daily', includedNamespaces: ['shop'], namespaceMapping: { shop: 'shop-drill' }, restorePVs: true, existingResourcePolicy: 'none' },
    });
  });

  test('exactly one of backupName and scheduleName', () => {
    expect(() => new VeleroRestore(Testing.chart(), 'r', {})).toThrow(/exactly one of backupName and scheduleName/);
    expect(() => new VeleroRestore(Testing.chart(), 'r', { backupName: 'b', scheduleName: 's' })).toThrow(/exactly one/);
  });
});

describe('the Helm chart\'s extra schedule fields and plaintext credentials', () => {
  test('labels, annotations, resource policy, uploader config, ordered resources, data mover', () => {
    const [s] = schedules({
      labels: { team: 'platform' },
      annotations: { note: 'nightly' },
      resourcePolicy: 'velero-policy',
      parallelFilesUpload: 4,
      orderedResources: { pods: 'shop/db-0,shop/db-1' },
      dataMover: 'velero',
      snapshotMoveData: true,
    });
    expect(s.metadata).toEqual({ name: 'apps', namespace: 'velero', labels: { team: 'platform' }, annotations: { note: 'nightly' } });
    expect(s.spec.template).toMatchObject({
      resourcePolicy: { kind: 'configmap', name: 'velero-policy' },
      uploaderConfig: { parallelFilesUpload: 4 },
      orderedResources: { pods: 'shop/db-0,shop/db-1' },
      datamover: 'velero',
    });
    expect(() => schedules({ parallelFilesUpload: 0 })).toThrow(/parallelFilesUpload/);
  });
});

describeIfCrds('Velero objects validate against the upstream CRDs (strict about unknown fields)', () => {
  test('a full set: storage and snapshot locations, gfs schedules with hooks and filters, restores', () => {
    const chart = Testing.chart();
    new VeleroBackupStorageLocation(chart, 'bsl', {
      bucket: 'velero-backups',
      prefix: 'prod',
      region: 'eu-west-1',
      s3Url: 'https://minio.example.com:9000',
      caCert: CaCertificate.fromSecret({ name: 'minio-ca', key: 'ca.crt' }),
      veleroVersion: VeleroVersion.V1_18,
      credentials: Credentials.fromSecret('velero-s3'),
      default: true,
      readOnly: false,
      backupSyncPeriod: Duration.minutes(2),
      validationFrequency: Duration.minutes(5),
      serverSideEncryption: VeleroServerSideEncryption.kms('alias/velero'),
    });
    new VeleroVolumeSnapshotLocation(chart, 'vsl', { provider: 'aws', config: { region: 'eu-west-1' }, credentials: Credentials.fromSecret('velero-s3') });
    new VeleroSchedule(chart, 'apps', {
      schedule: nightly,
      timeZone: 'Europe/Berlin',
      veleroVersion: VeleroVersion.V1_18,
      allowRetentionFinerThanSchedule: true,
      retention: Retention.gfs({ hourly: 24, daily: 7, weekly: 5, monthly: 12, yearly: 3 }),
      includedNamespaces: ['shop', 'db'],
      excludedNamespaces: ['kube-system'],
      includedNamespaceScopedResources: ['*'],
      includedClusterScopedResources: ['persistentvolumes'],
      labelSelector: { backup: 'yes' },
      snapshotVolumes: true,
      defaultVolumesToFsBackup: true,
      snapshotMoveData: false,
      storageLocation: 'default',
      volumeSnapshotLocations: ['default'],
      csiSnapshotTimeout: Duration.minutes(10),
      itemOperationTimeout: Duration.hours(4),
      paused: false,
      skipImmediately: true,
      useOwnerReferencesInBackup: false,
      hooks: [
        VeleroBackupHook.fsFreeze({ name: 'freeze', namespace: 'db', podLabels: { app: 'db' }, container: 'fsfreeze', mountPath: '/data' }),
        VeleroBackupHook.postgresCheckpoint({ name: 'checkpoint', namespace: 'db', podLabels: { app: 'pg' } }),
        VeleroBackupHook.postgresDump({ name: 'dump', namespace: 'db', podLabels: { app: 'pg' }, dumpFile: '/var/lib/postgresql/data/backup.dump' }),
      ],
    });
    new VeleroSchedule(chart, 'cluster', { schedule: nightly, retention: Retention.maxAge(Duration.days(30)), includeClusterResources: true, orLabelSelectors: [{ a: 'b' }, { c: 'd' }] });
    new VeleroRestore(chart, 'drill', { scheduleName: 'apps-daily', namespaceMapping: { shop: 'shop-drill' }, labelSelector: { app: 'shop' }, updateExistingResources: true, itemOperationTimeout: Duration.hours(1) });
    new VeleroRestore(chart, 'restore', { backupName: 'apps-daily-20260101013000', includedNamespaces: ['shop'], restorePVs: false, preserveNodePorts: true });
    const objs = Testing.synth(chart);
    expect(objs.map((o) => o.kind)).toEqual(expect.arrayContaining(['BackupStorageLocation', 'VolumeSnapshotLocation', 'Schedule', 'Restore']));
    expectValidCustomResources(objs);
  });

  test('the check is strict: a misspelt field in a synthesized Schedule is caught', () => {
    const [s] = schedules();
    s.spec.template.includedNamespace = ['typo'];
    expect(() => expectValidCustomResources([s])).toThrow(/includedNamespace/);
  });
});
