import { Testing } from 'cdk8s';
import { ControlPlaneConfigBackup, ControlPlaneConfigBackupProps, EtcdSource, Retention } from '../../../src';
import { testRepository } from '../../support/charts';
import { expectValidManifests } from '../../support/validate';

function synth(props: Partial<ControlPlaneConfigBackupProps> = {}) {
  const chart = Testing.chart();
  const backup = new ControlPlaneConfigBackup(chart, 'config', {
    clusterName: 'prod',
    source: EtcdSource.kubeadm(),
    repository: testRepository(),
    nodes: ['cp-1', 'cp-2', 'cp-3'],
    ...props,
  });
  const manifests = Testing.synth(chart);
  return { backup, manifests, cronJobs: manifests.filter((m) => m.kind === 'CronJob') };
}

const pod = (cj: any) => cj.spec.jobTemplate.spec.template.spec;

describe('ControlPlaneConfigBackup', () => {
  test('one CronJob per node, pinned by node name, each with its own repository and restic host', () => {
    const { backup, cronJobs } = synth();
    expect(cronJobs.map((c) => c.metadata.name)).toEqual(['prod-config-cp-1', 'prod-config-cp-2', 'prod-config-cp-3']);
    cronJobs.forEach((cj, i) => {
      const node = `cp-${i + 1}`;
      expect(pod(cj).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms)
        .toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }]);
      const env = pod(cj).containers[0].env;
      expect(env).toContainEqual({ name: 'RESTIC_REPOSITORY', value: `s3:https://minio.example.com:9000/backups/k8s/prod/config/${node}` });
      expect(env[0]).toEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
      expect(env).toContainEqual({ name: 'BACKUP_HOST', value: '$(NODE_NAME)' });
      expect(backup.resticRepositories[node]).toMatch(new RegExp(`/prod/config/${node}$`));
    });
  });

  test('kubeadm defaults: /etc/kubernetes and the kubelet config, client certificate and flags, read-only at their own paths, required CA/SA key/manifests/kubelet PKI', () => {
    const { manifests, cronJobs } = synth();
    const spec = pod(cronJobs[0]);
    expect(spec.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath)).toEqual([
      { path: '/etc/kubernetes', type: 'Directory' },
      { path: '/var/lib/kubelet/pki', type: 'Directory' },
      { path: '/var/lib/kubelet/config.yaml', type: 'File' },
      { path: '/var/lib/kubelet/kubeadm-flags.env', type: 'File' },
    ]);
    const mounts = spec.containers[0].volumeMounts.filter((m: any) => m.name.startsWith('host-'));
    expect(mounts).toEqual([
      { mountPath: '/etc/kubernetes', name: 'host-etc-kubernetes', readOnly: true },
      { mountPath: '/var/lib/kubelet/pki', name: 'host-var-lib-kubelet-pki', readOnly: true },
      { mountPath: '/var/lib/kubelet/config.yaml', name: 'host-var-lib-kubelet-config-yaml', readOnly: true },
      { mountPath: '/var/lib/kubelet/kubeadm-flags.env', name: 'host-var-lib-kubelet-kubeadm-flags-env', readOnly: true },
    ]);
    const cm = manifests.find((m) => m.kind === 'ConfigMap');
    expect(cm.data['backup-paths.txt']).toBe('/etc/kubernetes\n/var/lib/kubelet/pki\n/var/lib/kubelet/config.yaml\n/var/lib/kubelet/kubeadm-flags.env\n');
    expect(cm.data['required-paths.txt']).toBe('/etc/kubernetes/pki/ca.crt\n/etc/kubernetes/pki/sa.key\n/etc/kubernetes/manifests\n/var/lib/kubelet/pki\n');
  });

  test('root with DAC_READ_SEARCH only, everything else hardened', () => {
    const c = pod(synth().cronJobs[0]).containers[0];
    expect(c.securityContext).toMatchObject({
      runAsUser: 0,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'], add: ['DAC_READ_SEARCH'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod(synth().cronJobs[0]).automountServiceAccountToken).toBe(false);
  });

  test('k3s and RKE2 defaults', () => {
    const k3s = synth({ source: EtcdSource.k3s() });
    expect(k3s.backup.paths).toEqual(['/var/lib/rancher/k3s/server/tls', '/var/lib/rancher/k3s/server/cred', '/var/lib/rancher/k3s/server/manifests', '/etc/rancher/k3s']);
    expect(k3s.backup.files).toEqual(['/var/lib/rancher/k3s/server/token']);
    expect(synth({ source: EtcdSource.rke2() }).backup.files).toEqual(['/var/lib/rancher/rke2/server/token']);
  });

  test('the encryption provider config is added (and required) unless already inside a path', () => {
    const inside = synth({ encryptionProviderConfig: '/etc/kubernetes/enc/enc.yaml' });
    expect(inside.backup.files).toEqual(['/var/lib/kubelet/config.yaml', '/var/lib/kubelet/kubeadm-flags.env']);
    expect(inside.manifests.find((m) => m.kind === 'ConfigMap').data['required-paths.txt']).toContain('/etc/kubernetes/enc/enc.yaml\n');
    const outside = synth({ encryptionProviderConfig: '/srv/kube/encryption.yaml' });
    expect(outside.backup.files).toEqual(['/var/lib/kubelet/config.yaml', '/var/lib/kubelet/kubeadm-flags.env', '/srv/kube/encryption.yaml']);
  });

  test('long node names get a short, stable, unique job name', () => {
    const long = 'ip-10-0-0-1.eu-west-1.compute.internal.with-a-very-long-suffix.example.com';
    const { cronJobs } = synth({ nodes: [long, 'ip-10-0-0-2.eu-west-1.compute.internal.with-a-very-long-suffix.example.com'] });
    const names = cronJobs.map((c) => c.metadata.name);
    expect(names[0].length).toBeLessThanOrEqual(52);
    expect(new Set(names).size).toBe(2);
    expect(synth({ nodes: [long] }).cronJobs[0].metadata.name).toBe(names[0]);
  });

  test('exclude patterns are rendered and passed to restic', () => {
    const { manifests, cronJobs } = synth({ exclude: ['/etc/kubernetes/tmp'] });
    expect(manifests.find((m) => m.kind === 'ConfigMap').data['exclude.txt']).toBe('/etc/kubernetes/tmp\n');
    expect(pod(cronJobs[0]).containers[0].env).toContainEqual({ name: 'BACKUP_ARGS', value: '--exclude-file /scripts/exclude.txt --files-from-verbatim /scripts/backup-paths.txt' });
  });

  test('every object validates, and synthesis is deterministic', () => {
    const a = synth({ source: EtcdSource.k3s(), nodes: ['server-0.k3s.internal', 'server-1'] });
    expectValidManifests(a.manifests);
    expect(JSON.stringify(synth({ source: EtcdSource.k3s(), nodes: ['server-0.k3s.internal', 'server-1'] }).manifests)).toBe(JSON.stringify(a.manifests));
  });
});

describe('ControlPlaneConfigBackup: bad input', () => {
  test.each([
    [{ paths: ['etc/kubernetes'] }, /paths: expected an absolute host path .*; got "etc\/kubernetes"/],
    [{ paths: ['/etc/kubernetes/'] }, /expected an absolute host path .*no trailing '\/'.*; got "\/etc\/kubernetes\/"/],
    [{ paths: ['/etc/../root'] }, /expected an absolute host path .*no '\.' or '\.\.' segment.*; got "\/etc\/\.\.\/root"/],
    [{ paths: [], files: [] }, /nothing to back up/],
    [{ paths: ['/etc'] }, /top-level directory/],
    [{ paths: ['/etc/ssl/private'] }, /overlaps \/etc\/ssl/],
    [{ paths: ['/etc/kubernetes', '/etc/kubernetes/pki'] }, /is inside \/etc\/kubernetes/],
    [{ nodes: [] }, /nodes must list every control-plane node/],
    [{ nodes: ['cp-1', 'cp-1'] }, /"cp-1" is listed twice/],
    [{ nodes: ['CP_1'] }, /"CP_1" is not a node name/],
    [{ exclude: ['*'] }, /excludes everything/],
    [{ exclude: ['/etc/kubernetes', '/var/lib/kubelet'] }, /exclude removes every backed-up path/],
    [{ exclude: ['/etc/kubernetes/pki'] }, /exclude removes required paths: \/etc\/kubernetes\/pki\/ca.crt/],
    [{ requiredPaths: ['/root/x'] }, /requiredPaths: \/root\/x is not inside any backed-up path/],
    [{ source: EtcdSource.external({ endpoint: 'https://e:2379', tlsSecret: 'e' }) }, /no default config paths; set paths/],
    [{ clusterName: 'a-cluster-name-that-is-way-too-long-for-prefix' }, /namePrefix \(from clusterName\)/],
  ])('%p is rejected', (props, message) => {
    expect(() => synth(props as any)).toThrow(message);
  });

  test('retention finer than the daily default schedule needs the opt-out', () => {
    expect(() => synth({ retention: Retention.gfs({ hourly: 24 }) })).toThrow(/allowRetentionFinerThanSchedule/);
  });
});
