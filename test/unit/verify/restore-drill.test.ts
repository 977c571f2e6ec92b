import { Testing } from 'cdk8s';
import { EtcdSnapshotBackup, EtcdSource, RestoreDrill, RestoreDrillProps } from '../../../src';
import { testRepository } from '../../support/charts';
import { expectValidManifests } from '../../support/validate';

function synth(props: Partial<RestoreDrillProps> = {}) {
  const chart = Testing.chart();
  const backup = new EtcdSnapshotBackup(chart, 'etcd', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: testRepository() });
  const drill = new RestoreDrill(chart, 'drill', { backup, ...props });
  const manifests = Testing.synth(chart);
  const cronJob = manifests.find((m) => m.kind === 'CronJob' && m.metadata.name === drill.cronJob.name);
  return { manifests, cronJob, spec: cronJob.spec.jobTemplate.spec.template.spec };
}

describe('RestoreDrill', () => {
  test('fetches from the backup\'s own repository and host, then drills in the etcd image', () => {
    const { cronJob, spec } = synth();
    expect(cronJob.metadata.name).toBe('prod-etcd-drill');
    expect(cronJob.spec.schedule).toBe('30 4 * * *');
    expect(cronJob.spec.jobTemplate.spec.backoffLimit).toBe(0);
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['fetch']);
    expect(spec.containers.map((c: any) => c.name)).toEqual(['drill']);
    const env = spec.initContainers[0].env;
    expect(env).toContainEqual({ name: 'RESTIC_REPOSITORY', value: 's3:https://minio.example.com:9000/backups/k8s/prod/etcd' });
    expect(env).toContainEqual({ name: 'BACKUP_HOST', value: 'prod' });
    expect(env).toContainEqual({ name: 'BACKUP_TAG', value: 'etcd-snapshot' });
    // The backup stores the snapshot as pieces: the fetch joins them where the drill reads the file.
    expect(env).toContainEqual({ name: 'PIECES_PATH', value: '/backup/etcd-snapshot.parts' });
    expect(env).toContainEqual({ name: 'CHECKSUM_PATH', value: '/backup/etcd-snapshot.db' });
    expect(spec.containers[0].env).toContainEqual({ name: 'SNAPSHOT_FILE', value: '/work/fetched/backup/etcd-snapshot.db' });
  });

  test('no host access, no API access, non-root: fits Pod Security "restricted"', () => {
    const { spec } = synth();
    expect(spec.volumes.some((v: any) => v.hostPath)).toBe(false);
    expect(spec.hostNetwork).toBe(false);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of [...spec.initContainers, ...spec.containers]) {
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
      });
      expect(c.securityContext.capabilities.add).toBeUndefined();
    }
    expect(spec.nodeSelector).toBeUndefined();
  });

  test('required keys and the local port reach the script', () => {
    const { manifests, spec } = synth({ requiredKeys: ['/registry/namespaces/prod'], localPort: 22379 });
    expect(manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'prod-etcd-drill-scripts').data['required-keys.txt']).toBe('/registry/namespaces/prod\n');
    expect(spec.containers[0].env).toContainEqual({ name: 'DRILL_PORT', value: '22379' });
  });

  test('valid and deterministic output', () => {
    const a = synth();
    expectValidManifests(a.manifests);
    expect(JSON.stringify(synth().manifests)).toBe(JSON.stringify(a.manifests));
  });

  test('bad input', () => {
    expect(() => new RestoreDrill(Testing.chart(), 'd', {} as any)).toThrow(/backup is required/);
    expect(() => synth({ localPort: 80 })).toThrow(/localPort must be a whole number from 1024/);
    expect(() => synth({ requiredKeys: ['/a\nb'] })).toThrow(/requiredKeys: expected an etcd key with a leading '\/', on one line/);
    // Kubernetes keys start with /registry: without the '/' the drill would fail every day.
    expect(() => synth({ requiredKeys: ['registry/namespaces/kube-system'] })).toThrow(/requiredKeys: expected an etcd key with a leading '\/'.*got "registry\/namespaces\/kube-system"/);
    expect(() => synth({ requiredKeys: ['--help'] })).toThrow(/requiredKeys/);
    expect(() => synth({ name: 'x'.repeat(53) })).toThrow(/at most 52 characters/);
  });
});
