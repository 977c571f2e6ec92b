/**
 * One storage definition for restic and Velero: a BackupRepository renders the restic jobs'
 * access and Velero's BackupStorageLocation (bucket, path, endpoint, region, CA, credentials),
 * and everything that would make the two disagree, or Velero's location Unavailable, is a synth
 * error.
 */
import { Cron, Testing } from 'cdk8s';
import {
  BackupRepository, CaCertificate, ClusterBackup, ClusterBackupProps, Credentials, Encryption, EtcdSnapshotBackup, EtcdSource, Retention,
  VeleroBackupStorageLocation, VeleroBackupStorageLocationProps, VeleroVersion,
} from '../../../src';
import { expectValidCustomResources, testIfCrds } from '../../support/crd-validate';
import { TEST_CA_PEM } from '../../support/test-ca';

const credentials = Credentials.fromSecret('cluster-backup-s3');
const encryption = Encryption.repositoryPassword({ name: 'cluster-backup-repository', key: 'password' });
function s3(caCert?: CaCertificate): BackupRepository {
  return BackupRepository.s3({ bucket: 'acme-backups', prefix: 'k8s', endpoint: 'https://s3.acme.example:9000', region: 'us-east-1', caCert, credentials, encryption });
}
const schedules = [{ name: 'apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.gfs({ daily: 7 }) }];

function location(props: VeleroBackupStorageLocationProps): any {
  const chart = Testing.chart();
  new VeleroBackupStorageLocation(chart, 'bsl', props);
  return Testing.synth(chart)[0];
}

function cluster(props: Partial<ClusterBackupProps>): { out: any[]; backup: ClusterBackup } {
  const chart = Testing.chart();
  const repository = props.repository ?? s3(CaCertificate.fromPem(TEST_CA_PEM));
  const backup = new ClusterBackup(chart, 'backup', {
    clusterName: 'prod',
    repository,
    etcd: { source: EtcdSource.kubeadm() },
    controlPlaneConfig: { nodes: ['cp-1'] },
    velero: { storageLocation: { repository, default: true }, schedules },
    acknowledge: props.externalKeys ? undefined : { keysStoredOutsideCluster: true },
    ...props,
  });
  return { out: Testing.synth(chart), backup };
}

describe('a Velero location from the restic jobs\' repository', () => {
  test('GIVEN a ClusterBackup with one S3 definition THEN Velero writes to <prefix>/<cluster>/velero of the same bucket, endpoint, region, CA and credentials', () => {
    const { out, backup } = cluster({});
    const bsl = out.find((o) => o.kind === 'BackupStorageLocation');
    expect(bsl.spec).toEqual({
      provider: 'aws',
      objectStorage: { bucket: 'acme-backups', prefix: 'k8s/prod/velero', caCert: Buffer.from(TEST_CA_PEM.trim() + '\n').toString('base64') },
      config: { region: 'us-east-1', s3Url: 'https://s3.acme.example:9000', s3ForcePathStyle: 'true' },
      credential: { name: 'cluster-backup-s3', key: 'cloud' },
      default: true,
      accessMode: 'ReadWrite',
    });
    // The restic jobs use the same bucket and endpoint, each at a path of its own beside Velero's.
    expect(backup.etcdBackup!.resticRepository).toBe('s3:https://s3.acme.example:9000/acme-backups/k8s/prod/etcd');
    expect(out.filter((o) => o.kind === 'Schedule').every((s) => s.spec.template.storageLocation === 'default')).toBe(true);
    expect(backup.restoreRunbook()).toContain('Velero\'s storage: bucket `acme-backups`, path `k8s/prod/velero`, credentials Secret `cluster-backup-s3` (key `cloud`');
  });

  testIfCrds('the derived location validates against the CRD, inline CA (1.14) and caCertRef (1.18) alike', () => {
    expectValidCustomResources([location({ repository: s3(CaCertificate.fromPem(TEST_CA_PEM)) })]);
    const ref = location({ repository: s3(CaCertificate.fromSecret({ name: 'acme-ca', key: 'ca.crt' })), veleroVersion: VeleroVersion.V1_18 });
    expect(ref.spec.objectStorage.caCertRef).toEqual({ name: 'acme-ca', key: 'ca.crt' });
    expectValidCustomResources([ref]);
  });

  test('standalone, the path defaults to velero below the repository\'s prefix', () => {
    expect(location({ repository: s3() }).spec.objectStorage.prefix).toBe('k8s/velero');
    expect(location({ repository: s3(), prefix: 'edge/velero' }).spec.objectStorage.prefix).toBe('k8s/edge/velero');
  });

  test('AWS itself (no endpoint): no s3Url, the plugin finds the region', () => {
    const aws = BackupRepository.s3({ bucket: 'acme-backups', credentials, encryption });
    expect(location({ repository: aws }).spec.config).toBeUndefined();
  });

  test('GCS: provider gcp, and Velero reads the same service-account JSON key as restic', () => {
    const gcs = BackupRepository.gcs({ bucket: 'acme-backups', projectId: 'acme-prod', prefix: 'k8s', credentials, encryption });
    const bsl = location({ repository: gcs });
    expect(bsl.spec.provider).toBe('gcp');
    expect(bsl.spec.objectStorage).toEqual({ bucket: 'acme-backups', prefix: 'k8s/velero' });
    expect(bsl.spec.credential).toEqual({ name: 'cluster-backup-s3', key: 'credentials.json' });
  });
});

describe('what would make the two definitions disagree, or Velero\'s location Unavailable, is a synth error', () => {
  test.each(['bucket', 's3Url', 'region', 'credentials', 'caCert', 'provider'] as const)('%s given beside repository', (option) => {
    const values: { [k: string]: unknown } = {
      bucket: 'other', s3Url: 'https://s3.other.example', region: 'eu-west-1', credentials, caCert: CaCertificate.fromPem(TEST_CA_PEM), provider: 'aws',
    };
    expect(() => location({ repository: s3(), [option]: values[option] })).toThrow(new RegExp(`${option} comes from repository; drop it \\(one storage definition\\)`));
  });
  test('an S3-compatible endpoint without a region (Velero\'s AWS plugin cannot sign without one)', () => {
    const noRegion = BackupRepository.s3({ bucket: 'acme-backups', endpoint: 'https://s3.acme.example:9000', credentials, encryption });
    expect(() => location({ repository: noRegion })).toThrow(/repository: Velero's AWS plugin needs the region of an S3-compatible endpoint.*set region on BackupRepository\.s3/);
    expect(() => location({ bucket: 'velero', s3Url: 'https://minio.example.com' })).toThrow(/region is required with s3Url/);
  });
  test('a CA from a ConfigMap (Velero reads only inline PEM or a Secret)', () => {
    expect(() => location({ repository: s3(CaCertificate.fromConfigMap('acme-ca')) })).toThrow(/caCert \(the repository's\): Velero cannot read a CA bundle from a ConfigMap; use CaCertificate\.fromPem/);
  });
  test('a CA from a Secret on a Velero older than 1.18', () => {
    expect(() => location({ repository: s3(CaCertificate.fromSecret({ name: 'acme-ca', key: 'ca.crt' })) })).toThrow(/caCert \(the repository's\): .* needs Velero 1\.18 or newer/);
  });
  test('an Azure repository (its plugin needs facts the definition lacks)', () => {
    const azure = BackupRepository.azureBlob({ accountName: 'acmebackups', container: 'backups', credentials, encryption });
    expect(() => location({ repository: azure })).toThrow(/cannot be derived from an Azure Blob repository yet .* provider: 'azure'/);
  });
  test.each([
    ['prod', 'contains the restic repository s3:https://s3.acme.example:9000/acme-backups/k8s/prod/etcd'],
    ['prod/etcd', 'is the restic repository'],
    ['prod/config/cp-1/velero', 'lies inside the restic repository'],
  ])('a Velero path %s that overlaps a restic repository', (prefix, what) => {
    const repository = s3();
    expect(() => cluster({ repository, velero: { storageLocation: { repository, prefix }, schedules } })).toThrow(new RegExp(`Velero's location at .* which ${what.replace(/[.]/g, '\\.')}`));
  });
  test('prefix below the repository must be lowercase path segments', () => {
    expect(() => location({ repository: s3(), prefix: 'Prod/../velero' })).toThrow(/prefix \(below the repository's prefix\): expected lowercase path segments/);
  });
});

describe('Velero\'s credentials from the same vault keys', () => {
  test('GIVEN externalKeys THEN an ExternalSecret in Velero\'s namespace renders the AWS plugin\'s INI file from the same store keys', () => {
    const { out, backup } = cluster({
      externalKeys: {
        storeName: 'vault-backend',
        repositoryPassword: { key: 'backups/prod', property: 'password' },
        accessKeyId: { key: 'backups/s3', property: 'access_key_id' },
        secretAccessKey: { key: 'backups/s3', property: 'secret_access_key' },
      },
    });
    const velero = out.filter((o) => o.kind === 'ExternalSecret' && o.metadata.namespace === 'velero');
    expect(velero).toHaveLength(1);
    expect(velero[0].spec.target.template).toEqual({
      engineVersion: 'v2',
      data: { cloud: '[default]\naws_access_key_id={{ .aws_access_key_id }}\naws_secret_access_key={{ .aws_secret_access_key }}\n' },
    });
    expect(velero[0].spec.data).toEqual([
      { secretKey: 'aws_access_key_id', remoteRef: { key: 'backups/s3', property: 'access_key_id' } },
      { secretKey: 'aws_secret_access_key', remoteRef: { key: 'backups/s3', property: 'secret_access_key' } },
    ]);
    expect(backup.restoreRunbook()).toContain('Secret `cluster-backup-s3` in namespace `velero`, key `cloud` ← store `vault-backend`, key `backups/s3`');
    expectValidCustomResources(out);
  });
});

describe('an inline CA (CaCertificate.fromPem) for the restic jobs', () => {
  test('every restic container reads it from its job\'s scripts ConfigMap; no CA volume, no Secret', () => {
    const chart = Testing.chart();
    new EtcdSnapshotBackup(chart, 'etcd', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: s3(CaCertificate.fromPem(TEST_CA_PEM)) });
    const out = Testing.synth(chart);
    expect(out.find((o) => o.kind === 'ConfigMap').data['repository-ca.crt']).toBe(TEST_CA_PEM.trim() + '\n');
    const pod = out.find((o) => o.kind === 'CronJob').spec.jobTemplate.spec.template.spec;
    const restic = [...pod.initContainers ?? [], ...pod.containers].filter((c: any) => (c.env ?? []).some((e: any) => e.name === 'RESTIC_FLAGS'));
    expect(restic.length).toBeGreaterThan(0);
    for (const c of restic) {
      expect(c.env.find((e: any) => e.name === 'RESTIC_FLAGS').value).toBe('--cacert /scripts/repository-ca.crt');
      expect(c.volumeMounts.map((m: any) => m.mountPath)).toContain('/scripts');
    }
    expect(JSON.stringify(pod.volumes)).not.toMatch(/repository-ca/);
  });
  test('the runbook prints the bundle to save as ca.crt', () => {
    const { backup } = cluster({});
    expect(backup.restoreRunbook()).toContain(`save it as \`ca.crt\` in the directory you run restic from.\n\n\`\`\`pem\n${TEST_CA_PEM.trim()}\n\`\`\``);
  });
});
