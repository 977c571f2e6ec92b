import { Chart, Cron, Duration, Testing } from 'cdk8s';
import {
  CaCertificate, Credentials, Retention, VeleroBackupHook, VeleroBackupStorageLocation, VeleroRestore, VeleroSchedule, VeleroServerSideEncryption,
  VeleroVersion, VeleroVolumeSnapshotLocation,
} from '../../../src';
import { describeIfCrds, expectValidCustomResources } from '../../support/crd-validate';
import { nightly, schedule, schedules } from '../../support/velero';

// The traps (GitOps, version gates, retention, filters and hooks): inputs that used to synthesize
// into Velero objects that skip or lose backups with no error and no alert. Each is a synth error
// naming the option and the fix, and each opt-out lets the input through on purpose.
const weekly = Cron.schedule({ minute: '0', hour: '3', weekDay: '0' });
const monthly = Cron.schedule({ minute: '0', hour: '3', day: '1' });
const weekdays = Cron.schedule({ minute: '0', hour: '2', weekDay: '1-5' });

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

describe('GitOps: skipImmediately is not rendered unless asked', () => {
  test('GIVEN the defaults THEN the Schedule has no skipImmediately (Velero would patch a true back to false on every reconcile)', () => {
    expect(schedule({})[0].spec).not.toHaveProperty('skipImmediately');
  });
  test('GIVEN skipImmediately: true (with Argo CD ignoreDifferences) THEN it is rendered', () => {
    expect(schedule({ skipImmediately: true })[0].spec.skipImmediately).toBe(true);
  });
});

describe('version-gated fields', () => {
  test('a time zone needs Velero 1.15 (CRON_TZ=, robfig/cron v3): an error at the default 1.14, CRON_TZ from 1.15 on', () => {
    expect(() => schedule({ timeZone: 'Europe/Berlin' })).toThrow(/VeleroSchedule: timeZone: a Schedule time zone \(CRON_TZ=\) needs Velero 1\.15 or newer.*VeleroVersion\.V1_15/);
    expect(schedule({ timeZone: 'Europe/Berlin', veleroVersion: VeleroVersion.V1_15 })[0].spec.schedule).toBe('CRON_TZ=Europe/Berlin 30 1 * * *');
    expect(schedule({ veleroVersion: VeleroVersion.V1_14 })[0].spec.schedule).toBe('30 1 * * *');
  });
});

describe('retention that always leaves a backup', () => {
  test('a ttl no longer than the gap between runs is an error (weekly + 3 d, monthly + 2 d, daily × 1), with allowDaysWithoutBackup as the opt-out', () => {
    expect(() => schedule({ schedule: weekly, retention: Retention.maxAge(Duration.days(3)) })).toThrow(/ttl is 72 h, but "0 3 \* \* 0" leaves up to 168 h between backups.*allowDaysWithoutBackup: true/);
    expect(() => schedule({ schedule: monthly, retention: Retention.maxAge(Duration.days(2)) })).toThrow(/ttl is 48 h.*up to 744 h/);
    expect(() => schedule({ retention: Retention.gfs({ daily: 1 }) })).toThrow(/\(daily tier\): each Backup's ttl is 24 h, but "30 1 \* \* \*" leaves up to 24 h between backups.*daily: 2/);
    expect(schedule({ schedule: weekly, retention: Retention.maxAge(Duration.days(3)), allowDaysWithoutBackup: true })[0].spec.template.ttl).toBe('72h0m0s');
    expect(schedule({ schedule: weekly, retention: Retention.maxAge(Duration.days(8)) })[0].spec.template.ttl).toBe('192h0m0s');
  });
  test('gfs on a weekdays-only schedule would back up daily: an error, or daily on purpose with allowRetentionFinerThanSchedule', () => {
    expect(() => schedule({ schedule: weekdays, retention: Retention.gfs({ daily: 7 }) })).toThrow(/places its tiers by minute and hour only, so "0 2 \* \* 1-5" would back up every day/);
    expect(schedule({ schedule: weekdays, retention: Retention.gfs({ daily: 7 }), allowRetentionFinerThanSchedule: true })[0].spec.schedule).toBe('0 2 * * *');
  });
  test('a gfs hourly tier on a daily schedule would add an hourly Schedule: an error, or hourly on purpose with the opt-out', () => {
    expect(() => schedule({ retention: Retention.gfs({ hourly: 24, daily: 7 }) })).toThrow(/a gfs hourly tier adds an hourly Schedule, but the schedule "30 1 \* \* \*" is not hourly/);
    expect(schedule({ retention: Retention.gfs({ hourly: 24, daily: 7 }), allowRetentionFinerThanSchedule: true }).map((s) => s.metadata.name)).toEqual(['apps-hourly', 'apps-daily']);
  });
});

describe('filters that back up nothing, and hooks that never run', () => {
  test('includedNamespaces: [] means every namespace to Velero: an error', () => {
    expect(() => schedule({ includedNamespaces: [] })).toThrow(/includedNamespaces is empty, which Velero reads as every namespace/);
  });
  test('a name that matches no namespace (Shop, a_b) is an error; names and * ? patterns pass', () => {
    expect(() => schedule({ includedNamespaces: ['Shop'] })).toThrow(/includedNamespaces: "Shop" is not a namespace name/);
    expect(() => schedule({ excludedNamespaces: ['a_b'] })).toThrow(/excludedNamespaces: "a_b"/);
    expect(schedule({ includedNamespaces: ['shop', 'team-*', 'app?'] })[0].spec.template.includedNamespaces).toEqual(['shop', 'team-*', 'app?']);
  });
  test('a namespace both included and excluded is an error (excluded wins: an empty backup)', () => {
    expect(() => schedule({ includedNamespaces: ['shop', 'db'], excludedNamespaces: ['db'] })).toThrow(/db is both in includedNamespaces and excludedNamespaces/);
  });
  test('a hook in a namespace the Schedule does not include is an error; in an included one it renders', () => {
    const hook = VeleroBackupHook.postgresCheckpoint({ name: 'checkpoint', namespace: 'db', podLabels: { app: 'pg' } });
    expect(() => schedule({ includedNamespaces: ['shop'], hooks: [hook] })).toThrow(/hooks: checkpoint runs in db, which the Schedule does not back up/);
    expect(schedule({ includedNamespaces: ['shop', 'db'], hooks: [hook] })[0].spec.template.hooks.resources[0].includedNamespaces).toEqual(['db']);
    expect(schedule({ hooks: [hook] })[0].spec.template.hooks.resources).toHaveLength(1);
  });
  test('time zone names are case-sensitive: europe/berlin is an error naming Europe/Berlin', () => {
    expect(() => schedule({ timeZone: 'europe/berlin', veleroVersion: VeleroVersion.V1_15 })).toThrow(/case-sensitive.*use "Europe\/Berlin"/);
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
