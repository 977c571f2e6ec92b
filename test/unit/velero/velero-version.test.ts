/**
 * The same Velero objects rendered for 1.14, 1.15 and 1.18, each validated against THAT
 * release's CRDs (crds/velero-v1.14, crds/velero-v1.15, crds/velero at v1.18.1): every field
 * rendered exists in the version it is rendered for. The CRD schemas cannot see the cron text,
 * so CRON_TZ is asserted on the output.
 */
import * as path from 'path';
import { Cron, Duration, Testing } from 'cdk8s';
import { CaCertificate, Credentials, Retention, VeleroBackupHook, VeleroBackupStorageLocation, VeleroSchedule, VeleroVersion } from '../../../src';
import { CRDS_DIR, describeIfCrds, expectValidCustomResources, validateCustomResources } from '../../support/crd-validate';
import { TEST_CA_PEM } from '../../support/test-ca';

const CRDS: Array<[VeleroVersion, string]> = [
  [VeleroVersion.V1_14, path.join(CRDS_DIR, 'velero-v1.14')],
  [VeleroVersion.V1_15, path.join(CRDS_DIR, 'velero-v1.15')],
  [VeleroVersion.V1_18, CRDS_DIR],
];

function render(version: VeleroVersion): any[] {
  const chart = Testing.chart();
  const modern = version !== VeleroVersion.V1_14;
  new VeleroBackupStorageLocation(chart, 'bsl', {
    bucket: 'velero-backups',
    s3Url: 'https://minio.example.com:9000',
    region: 'us-east-1',
    credentials: Credentials.fromSecret('velero-s3'),
    // The CA as each version reads it: caCertRef from 1.18, the inline caCert on every version.
    caCert: version === VeleroVersion.V1_18 ? CaCertificate.fromSecret({ name: 'minio-ca', key: 'ca.crt' }) : CaCertificate.fromPem(TEST_CA_PEM),
    veleroVersion: version,
  });
  new VeleroSchedule(chart, 'apps', {
    schedule: Cron.schedule({ minute: '30', hour: '1' }),
    timeZone: modern ? 'Europe/Berlin' : undefined,
    veleroVersion: version,
    retention: Retention.gfs({ daily: 7, weekly: 4 }),
    includedNamespaces: ['shop'],
    hooks: [VeleroBackupHook.postgresCheckpoint({ name: 'pg', namespace: 'shop', podLabels: { app: 'pg' } })],
    parallelFilesUpload: 4,
    csiSnapshotTimeout: Duration.minutes(10),
  });
  return Testing.synth(chart);
}

describeIfCrds('Velero objects validate against the CRDs of the version they are rendered for', () => {
  test.each(CRDS.map(([v, dir]) => [v.toString(), v, dir] as const))('Velero %s', (_name, version, dir) => {
    const out = render(version);
    expectValidCustomResources(out, dir);
    const schedules = out.filter((o) => o.kind === 'Schedule').map((o) => o.spec.schedule);
    expect(Object.keys(out.find((o) => o.kind === 'BackupStorageLocation').spec.objectStorage)).toContain(version === VeleroVersion.V1_18 ? 'caCertRef' : 'caCert');
    expect(schedules).toEqual(version === VeleroVersion.V1_14 ? ['30 1 * * *', '30 1 * * 0'] : ['CRON_TZ=Europe/Berlin 30 1 * * *', 'CRON_TZ=Europe/Berlin 30 1 * * 0']);
  });

  test('what the gate prevents: the 1.18 location (caCertRef) is invalid against 1.14\'s CRD', () => {
    const problems = validateCustomResources(render(VeleroVersion.V1_18), CRDS[0][1]);
    expect(problems.join('\n')).toMatch(/BackupStorageLocation.*caCertRef/);
  });
});

describe('version-gated fields', () => {
  test('VeleroVersion.of reads 1.16, 1.16.2 and v1.16.2, and refuses what is older than the minimum or not a version', () => {
    expect(VeleroVersion.of('v1.16.2').toString()).toBe('1.16');
    expect(VeleroVersion.of('1.18').toString()).toBe('1.18');
    expect(() => VeleroVersion.of('1.12')).toThrow(/older than the oldest supported Velero, 1\.14/);
    expect(() => VeleroVersion.of('latest')).toThrow(/expected a version like '1\.16'/);
  });
});

describe('VeleroVersion', () => {
  test('a gate names the option, the version it needs and the one rendered for', () => {
    expect(() => VeleroVersion.V1_14._require('VeleroSchedule: timeZone', VeleroVersion.V1_15, 'a time zone'))
      .toThrow(/VeleroSchedule: timeZone: a time zone needs Velero 1\.15 or newer, and the manifests are rendered for Velero 1\.14; .*VeleroVersion\.V1_15.*or drop timeZone/);
    expect(() => VeleroVersion.V1_15._require('VeleroSchedule: timeZone', VeleroVersion.V1_15, 'a time zone')).not.toThrow();
  });

  test('versions compare by minor; the minimum is the oldest constant', () => {
    expect(VeleroVersion.V1_18._atLeast(VeleroVersion.V1_15)).toBe(true);
    expect(VeleroVersion.V1_14._atLeast(VeleroVersion.V1_15)).toBe(false);
    expect(VeleroVersion.MINIMUM).toBe(VeleroVersion.V1_14);
    expect(VeleroVersion.of('1.16')).toEqual(VeleroVersion.V1_16);
  });
});
