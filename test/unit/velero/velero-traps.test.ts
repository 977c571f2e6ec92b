/**
 * Inputs that used to synthesize into Velero objects that skip or lose backups with no error
 * and no alert: each is a synth error naming the option and the fix, and each opt-out lets the
 * input through on purpose.
 */
import { Cron, Duration, Testing } from 'cdk8s';
import {
  CaCertificate, ClusterBackup, ClusterBackupProps, Credentials, Retention, VeleroBackupHook, VeleroBackupStorageLocation,
  VeleroBackupStorageLocationProps, VeleroSchedule, VeleroScheduleProps, VeleroVersion,
} from '../../../src';

const nightly = Cron.schedule({ minute: '30', hour: '1' });
const weekly = Cron.schedule({ minute: '0', hour: '3', weekDay: '0' });
const monthly = Cron.schedule({ minute: '0', hour: '3', day: '1' });
const weekdays = Cron.schedule({ minute: '0', hour: '2', weekDay: '1-5' });

function schedule(props: Partial<VeleroScheduleProps>): any[] {
  const chart = Testing.chart();
  new VeleroSchedule(chart, 'apps', { schedule: nightly, retention: Retention.maxAge(Duration.days(30)), ...props });
  return Testing.synth(chart);
}

function location(props: Partial<VeleroBackupStorageLocationProps>): any {
  const chart = Testing.chart();
  new VeleroBackupStorageLocation(chart, 'bsl', { bucket: 'velero-backups', ...props });
  return Testing.synth(chart)[0];
}

function cluster(velero: ClusterBackupProps['velero']): any[] {
  const chart = Testing.chart();
  new ClusterBackup(chart, 'backup', { clusterName: 'eks', managedControlPlane: true, velero });
  return Testing.synth(chart);
}

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
  test('a CA from a Secret (caCertRef) needs Velero 1.18; a ConfigMap CA is refused (Velero reads Secrets only)', () => {
    const ca = CaCertificate.fromSecret({ name: 'minio-ca', key: 'ca.crt' });
    expect(() => location({ caCert: ca, veleroVersion: VeleroVersion.V1_17 })).toThrow(/caCert: a CA bundle from a Secret \(objectStorage\.caCertRef; CaCertificate\.fromPem works on any version\) needs Velero 1\.18 or newer/);
    expect(location({ caCert: ca, veleroVersion: VeleroVersion.V1_18 }).spec.objectStorage.caCertRef).toEqual({ name: 'minio-ca', key: 'ca.crt' });
    expect(() => location({ caCert: CaCertificate.fromConfigMap('minio-ca'), veleroVersion: VeleroVersion.V1_18 })).toThrow(/cannot read a CA bundle from a ConfigMap; use CaCertificate\.fromPem\(pem\) .* or CaCertificate\.fromSecret/);
  });
  test('VeleroVersion.of reads 1.16, 1.16.2 and v1.16.2, and refuses what is older than the minimum or not a version', () => {
    expect(VeleroVersion.of('v1.16.2').toString()).toBe('1.16');
    expect(VeleroVersion.of('1.18').toString()).toBe('1.18');
    expect(() => VeleroVersion.of('1.12')).toThrow(/older than the oldest supported Velero, 1\.14/);
    expect(() => VeleroVersion.of('latest')).toThrow(/expected a version like '1\.16'/);
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
  test('fsFreeze must name its container (the first container usually has no fsfreeze)', () => {
    expect(() => VeleroBackupHook.fsFreeze({ name: 'freeze', namespace: 'db', podLabels: { app: 'db' }, mountPath: '/data' })).toThrow(/fsFreeze\(\{ container \}\): name the container that runs fsfreeze/);
  });
  test('time zone names are case-sensitive: europe/berlin is an error naming Europe/Berlin', () => {
    expect(() => schedule({ timeZone: 'europe/berlin', veleroVersion: VeleroVersion.V1_15 })).toThrow(/case-sensitive.*use "Europe\/Berlin"/);
  });
});

describe('ClusterBackup: Schedules wired to the location it creates, and no tier lost', () => {
  const storageLocation: VeleroBackupStorageLocationProps = { name: 'primary', bucket: 'velero', s3Url: 'https://s3.example.com', region: 'us-east-1', credentials: Credentials.fromSecret('velero-s3') };
  test('GIVEN a location not named default THEN every Schedule writes to it', () => {
    const out = cluster({ storageLocation, schedules: [{ name: 'apps', schedule: nightly, retention: Retention.gfs({ daily: 7, weekly: 4 }) }] });
    const schedules = out.filter((o) => o.kind === 'Schedule');
    expect(schedules.map((s) => s.spec.template.storageLocation)).toEqual(['primary', 'primary']);
  });
  test('a Schedule naming another location (a typo) is an error', () => {
    expect(() => cluster({ storageLocation, schedules: [{ name: 'apps', schedule: nightly, retention: Retention.daily35Days(), storageLocation: 'primray' }] }))
      .toThrow(/velero\.schedules\[apps\]\.storageLocation is "primray", but this ClusterBackup creates the location "primary"/);
  });
  test('Schedules writing to a readOnly location are an error', () => {
    expect(() => cluster({ storageLocation: { ...storageLocation, readOnly: true }, schedules: [{ name: 'apps', schedule: nightly, retention: Retention.daily35Days() }] }))
      .toThrow(/velero\.storageLocation is readOnly, so every backup of this Schedule fails/);
  });
  test('two Schedules with one name are an error, even with alerts off', () => {
    const twice = [
      { name: 'apps', schedule: nightly, retention: Retention.gfs({ daily: 7 }) },
      { name: 'apps-daily', schedule: nightly, retention: Retention.maxAge(Duration.days(35)) },
    ];
    expect(() => cluster({ schedules: twice })).toThrow(/velero\.schedules\[1\] and velero\.schedules\[0\] both create the Schedule "apps-daily"/);
  });
  test('the version reaches the location and every Schedule', () => {
    const ca = CaCertificate.fromSecret({ name: 'ca', key: 'ca.crt' });
    const schedules = [{ name: 'apps', schedule: nightly, timeZone: 'Europe/Berlin', retention: Retention.daily35Days() }];
    expect(() => cluster({ storageLocation: { ...storageLocation, caCert: ca }, schedules })).toThrow(/needs Velero 1\.18 or newer/);
    const out = cluster({ storageLocation: { ...storageLocation, caCert: ca }, schedules, version: VeleroVersion.V1_18 });
    expect(out.find((o) => o.kind === 'Schedule').spec.schedule).toBe('CRON_TZ=Europe/Berlin 30 1 * * *');
  });
});

describe('storage location: options of another plugin', () => {
  test('provider gcp with s3Url (an AWS-plugin key) is an error', () => {
    expect(() => location({ provider: 'gcp', s3Url: 'https://s3.example.com' })).toThrow(/s3Url is for the AWS plugin .* provider is "gcp"/);
    expect(() => location({ provider: 'azure', s3ForcePathStyle: true })).toThrow(/s3ForcePathStyle is for the AWS plugin/);
    expect(location({ provider: 'gcp' }).spec.provider).toBe('gcp');
  });
});
