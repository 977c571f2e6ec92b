import { Cron, Duration, Size, Testing } from 'cdk8s';
import { BackupDefaults, BackupRepository, Credentials, Encryption, EtcdSnapshotBackup, EtcdSource, EtcdTools, EtcdVersion, KeyDropGuard, Retention } from '../../../src';
import { ETCD_SNAPSHOT_PATH, ETCD_SNAPSHOT_PIECES_PATH } from '../../../src/etcd/etcd-snapshot-backup';
import { podSpec, synthEtcdBackup, testRepository } from '../../support/charts';
import { expectValidManifests } from '../../support/validate';

describe('EtcdSnapshotBackup: the CronJob', () => {
  test('hourly by default, never overlapping, bounded in time and retries, UTC', () => {
    const { manifests } = synthEtcdBackup();
    const cj = manifests.find((m) => m.kind === 'CronJob');
    expect(cj.metadata.name).toBe('prod-etcd-backup');
    expect(cj.spec).toMatchObject({
      schedule: '0 * * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 900,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(cj.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 2700 });
  });

  test('snapshot runs before upload; upload gets the retention as arguments', () => {
    const spec = podSpec(synthEtcdBackup({ retention: Retention.gfs({ hourly: 48, daily: 14 }) }).manifests);
    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['snapshot']);
    expect(spec.containers.map((c: any) => c.name)).toEqual(['upload']);
    expect(spec.initContainers[0].command).toEqual(['/bin/sh', '/scripts/etcd-snapshot.sh']);
    expect(spec.containers[0].args).toEqual(['--keep-last', '1', '--keep-hourly', '48', '--keep-daily', '14']);
  });

  test('the snapshot is bounded in time (10 minutes by default), the reachability check by 30 s', () => {
    const env = (m: any[]) => Object.fromEntries(podSpec(m).initContainers[0].env.map((e: any) => [e.name, e.value]));
    expect(env(synthEtcdBackup().manifests)).toMatchObject({ ETCD_SNAPSHOT_TIMEOUT: '600s', ETCD_REACH_TIMEOUT: '30s', SNAPSHOT_FILE: '/backup/etcd-snapshot.db' });
    expect(env(synthEtcdBackup({ snapshotTimeout: Duration.seconds(20) }).manifests)).toMatchObject({ ETCD_SNAPSHOT_TIMEOUT: '20s', ETCD_REACH_TIMEOUT: '20s' });
  });

  test('GIVEN a snapshotTimeout that is too short or not shorter than the deadline WHEN synthesized THEN it names the option', () => {
    expect(() => synthEtcdBackup({ snapshotTimeout: Duration.seconds(2) })).toThrow(/snapshotTimeout must be at least 5 seconds/);
    expect(() => synthEtcdBackup({ snapshotTimeout: Duration.minutes(45) })).toThrow(/snapshotTimeout .* shorter than activeDeadline \(2700 s\)/);
    expect(() => synthEtcdBackup({ snapshotTimeout: Duration.minutes(20), activeDeadline: Duration.minutes(15) })).toThrow(/shorter than activeDeadline \(900 s\)/);
  });

  test('no scratch space: the snapshot is the only copy of the database on the node; upload reads its metadata', () => {
    const spec = podSpec(synthEtcdBackup().manifests);
    expect(spec.volumes.map((v: any) => v.name)).not.toContain(expect.stringMatching(/scratch/));
    expect(spec.initContainers[0].env).toContainEqual({ name: 'SNAPSHOT_META', value: '/backup/etcd-snapshot.env' });
    expect(spec.containers[0].env).toContainEqual({ name: 'BACKUP_META', value: '/backup/etcd-snapshot.env' });
    expect(spec.containers[0].volumeMounts.map((m: any) => m.mountPath)).not.toContain('/scratch');
  });

  test('upload cuts the snapshot into 512 KiB pieces in place (its volume writable there), and backs up only the pieces', () => {
    const spec = podSpec(synthEtcdBackup().manifests);
    const upload = spec.containers[0];
    const env = Object.fromEntries(upload.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    expect(env).toMatchObject({
      SPLIT_FILE: '/backup/etcd-snapshot.db',
      SPLIT_DIR: ETCD_SNAPSHOT_PIECES_PATH,
      SPLIT_BYTES: String(512 * 1024),
      BACKUP_ARGS: ETCD_SNAPSHOT_PIECES_PATH,
      CHECKSUM_TRAILER_FILE: ETCD_SNAPSHOT_PATH,
    });
    expect(upload.volumeMounts.find((m: any) => m.mountPath === '/backup').readOnly).toBeFalsy();
    // Everything else it mounts stays read-only.
    expect(upload.volumeMounts.filter((m: any) => !['/backup', '/tmp'].includes(m.mountPath)).every((m: any) => m.readOnly)).toBe(true);
    // An 8 GiB database (etcd's recommended maximum) fits with the 32 MiB the cut holds twice.
    const backupVolume = (s: any) => s.volumes.find((v: any) => v.name === 'backup').emptyDir.sizeLimit;
    expect(backupVolume(spec)).toBe('9216Mi');
    expect(backupVolume(podSpec(synthEtcdBackup({ workspaceSize: Size.gibibytes(2) }).manifests))).toBe('2048Mi');
  });

  test('the key-drop guard: 50% by default, typed, and off only by its named opt-out', () => {
    const upload = (m: any[]) => Object.fromEntries(podSpec(m).containers[0].env
      .filter((e: any) => e.value !== undefined)
      .map((e: any) => [e.name, e.value]));
    expect(upload(synthEtcdBackup().manifests)).toMatchObject({ DROP_GUARD_TAG: 'etcd-keys', DROP_GUARD_MAX_PERCENT: '50' });
    expect(upload(synthEtcdBackup({ keyDropGuard: KeyDropGuard.maxDropPercent(20) }).manifests)).toMatchObject({ DROP_GUARD_MAX_PERCENT: '20' });
    const off = upload(synthEtcdBackup({ keyDropGuard: KeyDropGuard.unguardedAcceptingDataLoss() }).manifests);
    expect(off.DROP_GUARD_TAG).toBeUndefined();
    expect(off.DROP_GUARD_MAX_PERCENT).toBeUndefined();
    for (const bad of [0, 100, 12.5, NaN]) {
      expect(() => KeyDropGuard.maxDropPercent(bad)).toThrow(/KeyDropGuard.maxDropPercent\(percent\): expected a whole number from 1 to 99/);
    }
  });

  test('each cluster owns its repository path and restic host', () => {
    const { backup, manifests } = synthEtcdBackup({ clusterName: 'edge-7' });
    expect(backup.resticRepository).toBe('s3:https://minio.example.com:9000/backups/k8s/edge-7/etcd');
    const env = podSpec(manifests).containers[0].env;
    expect(env).toContainEqual({ name: 'RESTIC_REPOSITORY', value: backup.resticRepository });
    expect(env).toContainEqual({ name: 'BACKUP_HOST', value: 'edge-7' });
  });

  test('hardened: no token, read-only root, no capabilities, RuntimeDefault seccomp, no privilege escalation', () => {
    const { manifests } = synthEtcdBackup();
    const spec = podSpec(manifests);
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    for (const c of [...spec.initContainers, ...spec.containers]) {
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
        runAsUser: 0,
      });
      expect(c.imagePullPolicy).toBe('IfNotPresent');
      expect(c.resources.limits.memory).toBeDefined();
    }
    const sa = manifests.find((m) => m.kind === 'ServiceAccount');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBe(sa.metadata.name);
  });

  test('host paths: only the three certificate files, read-only, type File', () => {
    const spec = podSpec(synthEtcdBackup().manifests);
    const hostPaths = spec.volumes.filter((v: any) => v.hostPath).map((v: any) => v.hostPath);
    expect(hostPaths).toEqual([
      { path: '/etc/kubernetes/pki/etcd/ca.crt', type: 'File' },
      { path: '/etc/kubernetes/pki/etcd/healthcheck-client.crt', type: 'File' },
      { path: '/etc/kubernetes/pki/etcd/healthcheck-client.key', type: 'File' },
    ]);
    const hostVolumes = new Set(spec.volumes.filter((v: any) => v.hostPath).map((v: any) => v.name));
    for (const c of [...spec.initContainers, ...spec.containers]) {
      for (const m of c.volumeMounts.filter((vm: any) => hostVolumes.has(vm.name))) expect(m.readOnly).toBe(true);
    }
    expect(spec.containers[0].volumeMounts.some((vm: any) => hostVolumes.has(vm.name))).toBe(false);
  });

  test('kubeadm reaches etcd at the node IP without host networking; k3s uses host networking', () => {
    const kubeadm = podSpec(synthEtcdBackup().manifests);
    expect(kubeadm.hostNetwork).toBe(false);
    expect(kubeadm.initContainers[0].env[0]).toEqual({ name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } });
    expect(kubeadm.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(kubeadm.tolerations).toContainEqual({ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' });

    const k3s = podSpec(synthEtcdBackup({ source: EtcdSource.k3s() }).manifests);
    expect(k3s.hostNetwork).toBe(true);
    expect(k3s.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(k3s.initContainers[0].env.find((e: any) => e.name === 'HOST_IP')).toBeUndefined();
    expect(k3s.nodeSelector).toEqual({ 'node-role.kubernetes.io/etcd': 'true' });
  });

  test('external etcd: certificates from a Secret, no host paths, no node pinning', () => {
    const spec = podSpec(synthEtcdBackup({ source: EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd-client' }) }).manifests);
    expect(spec.volumes.some((v: any) => v.hostPath)).toBe(false);
    expect(spec.volumes).toContainEqual(expect.objectContaining({ name: 'etcd-certs', secret: expect.objectContaining({ secretName: 'etcd-client', defaultMode: 0o440 }) }));
    // Nothing from the host: the whole pod runs non-root, reading the keys through its fsGroup.
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 });
    for (const c of [...spec.initContainers, ...spec.containers]) expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(spec.nodeSelector).toBeUndefined();
  });

  test('no plaintext secret: the password and keys are secretKeyRefs', () => {
    const { manifests } = synthEtcdBackup();
    const env = podSpec(manifests).containers[0].env;
    expect(env.find((e: any) => e.name === 'RESTIC_PASSWORD')).toEqual({ name: 'RESTIC_PASSWORD', valueFrom: { secretKeyRef: { name: 'backup-repository', key: 'password' } } });
    expect(env.find((e: any) => e.name === 'AWS_SECRET_ACCESS_KEY').valueFrom.secretKeyRef.name).toBe('backup-s3');
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  test('synthesizing twice gives the same bytes', () => {
    const a = JSON.stringify(synthEtcdBackup().manifests);
    const b = JSON.stringify(synthEtcdBackup().manifests);
    expect(a).toBe(b);
  });

  test('images and priority class are overridable', () => {
    const spec = podSpec(synthEtcdBackup({ images: { etcd: 'mirror.local/etcd:3.6.11-0', restic: 'mirror.local/restic:0.18.0' }, priorityClassName: 'system-cluster-critical' }).manifests);
    expect(spec.volumes).toContainEqual({ name: 'etcd-image', image: { reference: 'mirror.local/etcd:3.6.11-0', pullPolicy: 'IfNotPresent' } });
    expect(spec.initContainers[0].image).toBe('mirror.local/restic:0.18.0');
    expect(spec.containers[0].image).toBe('mirror.local/restic:0.18.0');
    expect(spec.priorityClassName).toBe('system-cluster-critical');
  });
});

describe('EtcdSnapshotBackup: no script ever runs in the etcd image (distroless from etcd 3.6)', () => {
  test('by default the etcd image is mounted read-only into the snapshot step, which runs in the restic image (busybox shell)', () => {
    const spec = podSpec(synthEtcdBackup().manifests);
    expect(spec.volumes).toContainEqual({ name: 'etcd-image', image: { reference: 'registry.k8s.io/etcd:3.6.11-0', pullPolicy: 'IfNotPresent' } });
    const snapshot = spec.initContainers[0];
    expect(snapshot.image).toBe(BackupDefaults.RESTIC_IMAGE);
    expect(snapshot.command).toEqual(['/bin/sh', '/scripts/etcd-snapshot.sh']);
    expect(snapshot.volumeMounts).toContainEqual({ name: 'etcd-image', mountPath: '/etcd-image', readOnly: true });
    expect(snapshot.env).toContainEqual({ name: 'ETCD_TOOLS_DIR', value: '/etcd-image/usr/local/bin' });
    // Only the step that runs etcdctl mounts it.
    expect(spec.containers[0].volumeMounts.map((m: any) => m.name)).not.toContain('etcd-image');
    const all = [...spec.initContainers, ...spec.containers];
    expect(all.filter((c: any) => c.image.includes('etcd'))).toEqual([]);
  });

  test('the image of etcdVersion by default; a binDir for images that keep the tools elsewhere', () => {
    const spec = podSpec(synthEtcdBackup({ etcdVersion: EtcdVersion.V3_7_1, etcdTools: EtcdTools.imageVolume({ binDir: '/usr/bin' }) }).manifests);
    expect(spec.volumes).toContainEqual({ name: 'etcd-image', image: { reference: 'registry.k8s.io/etcd:3.7.1-0', pullPolicy: 'IfNotPresent' } });
    expect(spec.initContainers[0].env).toContainEqual({ name: 'ETCD_TOOLS_DIR', value: '/etcd-image/usr/bin' });
    expect(() => EtcdTools.imageVolume({ binDir: 'usr/bin' })).toThrow(/binDir must be an absolute, normalized path/);
    expect(() => EtcdTools.imageVolume({ binDir: '/usr/../bin' })).toThrow(/binDir must be an absolute, normalized path/);
  });

  test('clusters without image volumes: a shell image carries the tools, and the manifests are plain Kubernetes 1.28', () => {
    const { manifests } = synthEtcdBackup({ etcdTools: EtcdTools.shellImage('mirror.local/etcd-tools:3.6.11') });
    const spec = podSpec(manifests);
    expect(spec.volumes.filter((v: any) => v.image)).toEqual([]);
    expect(spec.initContainers[0].image).toBe('mirror.local/etcd-tools:3.6.11');
    expect(spec.initContainers[0].env.map((e: any) => e.name)).not.toContain('ETCD_TOOLS_DIR');
    expectValidManifests(manifests);
    expect(() => EtcdTools.shellImage('not an image')).toThrow(/EtcdTools.shellImage: image must be an image reference/);
  });

  test('the upload fails a backup whose server is not the etcdVersion (after keeping it), naming the option', () => {
    const env = (m: any[]) => Object.fromEntries(podSpec(m).containers[0].env.map((e: any) => [e.name, e.value]));
    const e = env(synthEtcdBackup({ etcdVersion: EtcdVersion.of('3.5.30') }).manifests);
    expect(e.META_MUST_MATCH).toBe('etcd-version=3.5.30');
    expect(e.META_MISMATCH_ADVICE).toMatch(/etcdVersion says 3.5.30/);
    expect(env(synthEtcdBackup().manifests).META_MUST_MATCH).toBe('etcd-version=3.6.11');
  });
});

describe('EtcdSnapshotBackup: bad input', () => {
  test('a name over 52 characters is rejected, naming the option', () => {
    expect(() => synthEtcdBackup({ clusterName: 'a-very-long-cluster-name-for-the-production-fleet-01' }))
      .toThrow(/name \(CronJob names are limited to 52 characters; set `name` to a shorter one\)/);
    expect(() => synthEtcdBackup({ name: 'x'.repeat(53) })).toThrow(/at most 52 characters/);
    expect(() => synthEtcdBackup({ clusterName: 'Prod_1' })).toThrow(/clusterName/);
  });

  test('hourly retention with a daily schedule is an error, with a named opt-out', () => {
    expect(() => synthEtcdBackup({ schedule: Cron.daily() })).toThrow(/keeps backups per hour, but the schedule "0 0 \* \* \*" runs only every 24 hours.*allowRetentionFinerThanSchedule/);
    expect(() => synthEtcdBackup({ schedule: Cron.daily(), allowRetentionFinerThanSchedule: true })).not.toThrow();
    expect(() => synthEtcdBackup({ schedule: Cron.daily(), retention: Retention.daily35Days() })).not.toThrow();
  });

  test('a weekdays-only schedule cannot honour a daily tier', () => {
    expect(() => synthEtcdBackup({ schedule: Cron.schedule({ minute: '0', hour: '2', weekDay: '1-5' }), retention: Retention.daily35Days() }))
      .toThrow(/runs only every 72 hours/);
  });

  test('invalid cron fields are rejected', () => {
    expect(() => synthEtcdBackup({ schedule: Cron.schedule({ minute: '61' }) })).toThrow(/EtcdSnapshotBackup: schedule: invalid cron expression/);
    expect(() => synthEtcdBackup({ schedule: Cron.schedule({ minute: '0', hour: '*', day: '*', month: '*', weekDay: '* *' }) })).toThrow(/5 fields/);
  });

  test('missing source, repository, bad backoffLimit and bad image are rejected', () => {
    const chart = Testing.chart();
    expect(() => new EtcdSnapshotBackup(chart, 'a', { clusterName: 'c', repository: testRepository() } as any)).toThrow(/source is required/);
    expect(() => new EtcdSnapshotBackup(chart, 'b', { clusterName: 'c', source: EtcdSource.kubeadm() } as any)).toThrow(/repository is required/);
    expect(() => synthEtcdBackup({ backoffLimit: -1 })).toThrow(/backoffLimit/);
    expect(() => synthEtcdBackup({ images: { etcd: 'not an image' } })).toThrow(/images.etcd/);
  });

  test('activeDeadline is honoured', () => {
    const { manifests } = synthEtcdBackup({ activeDeadline: Duration.minutes(20) });
    expect(manifests.find((m) => m.kind === 'CronJob').spec.jobTemplate.spec.activeDeadlineSeconds).toBe(1200);
  });
});

describe('EtcdSnapshotBackup: valid output', () => {
  test.each([
    ['kubeadm', EtcdSource.kubeadm()],
    ['k3s', EtcdSource.k3s()],
    ['rke2', EtcdSource.rke2()],
    ['external', EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd-client' })],
  ])('%s: every object validates against the Kubernetes schema, with no unknown fields', (_name, source) => {
    expectValidManifests(synthEtcdBackup({ source, priorityClassName: 'system-cluster-critical' }).manifests);
  });
});

describe('EtcdSnapshotBackup: time zone', () => {
  test('an IANA time zone is rendered; anything else is rejected', () => {
    const { manifests } = synthEtcdBackup({ timeZone: 'Europe/Berlin' });
    expect(manifests.find((m) => m.kind === 'CronJob').spec.timeZone).toBe('Europe/Berlin');
    expect(() => synthEtcdBackup({ timeZone: 'Mars/Olympus' })).toThrow(/EtcdSnapshotBackup: timeZone: "Mars\/Olympus" is not an IANA time zone name/);
  });
});

describe('EtcdSnapshotBackup: its runbook section (the job contract)', () => {
  function backup(props: Partial<ConstructorParameters<typeof EtcdSnapshotBackup>[2]> = {}): EtcdSnapshotBackup {
    return new EtcdSnapshotBackup(Testing.chart(), 'etcd', { clusterName: 'prod', repository: testRepository(), source: EtcdSource.kubeadm(), ...props });
  }

  test('standalone, it writes its own restore section with the repository and the tags it records', () => {
    const section = backup().restoreSection();
    expect(section).toMatch(/^## etcd, from the newest verified snapshot/);
    expect(section).toContain('--host prod --tag etcd-snapshot');
    expect(section).toContain('# tags: etcd-revision, etcd-keys, etcd-sha256');
    expect(section).toContain('### Quorum lost, or the whole cluster lost');
    // No nodes given: one placeholder the runbook names, inside quotes.
    expect(section).toContain("--name '<node>' --initial-cluster '<node>=https://<node-address>:2380'");
  });

  test('controlPlaneNodes name the members in the restore; bad or misplaced lists are synth errors', () => {
    expect(backup({ controlPlaneNodes: ['cp-1', 'cp-2'] }).restoreSection()).toContain("--initial-cluster 'cp-1=https://<cp-1-address>:2380,cp-2=https://<cp-2-address>:2380'");
    expect(() => backup({ controlPlaneNodes: ['cp-1', 'cp-1'] })).toThrow(/EtcdSnapshotBackup: controlPlaneNodes: "cp-1" is listed twice/);
    expect(() => backup({ controlPlaneNodes: ['CP_1'] })).toThrow(/controlPlaneNodes: "CP_1" is not a node name/);
    expect(() => backup({
      source: EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd' }),
      controlPlaneNodes: ['cp-1'],
    })).toThrow(/controlPlaneNodes names the nodes of an etcd on the control plane/);
  });
});

describe('EtcdSnapshotBackup on its own: the pitfalls a job sees for itself', () => {
  const inCluster = () => BackupRepository.s3({
    bucket: 'backups',
    endpoint: 'https://minio.minio.svc:9000',
    credentials: Credentials.fromSecret('s3'),
    encryption: Encryption.repositoryPassword({ name: 'repo', key: 'password' }),
  });
  function synthStandalone(props: Partial<ConstructorParameters<typeof EtcdSnapshotBackup>[2]>): () => unknown {
    const chart = Testing.chart();
    new EtcdSnapshotBackup(chart, 'etcd', { clusterName: 'prod', repository: testRepository(), source: EtcdSource.kubeadm(), ...props });
    return () => Testing.synth(chart);
  }

  test('GIVEN a repository inside the cluster WHEN synthesized alone THEN it is refused with the construct path and the opt-out', () => {
    expect(synthStandalone({ repository: inCluster() }))
      .toThrow(/\[test\/etcd\] EtcdSnapshotBackup: the storage endpoint https:\/\/minio.minio.svc:9000 looks like it is inside the cluster.*acknowledge.inClusterRepository: true/);
    expect(synthStandalone({ repository: inCluster(), acknowledge: { inClusterRepository: true } })).not.toThrow();
  });

  test('GIVEN a retention of less than a day WHEN synthesized alone THEN it is refused unless acknowledged', () => {
    expect(synthStandalone({ retention: Retention.keepLast(3) })).toThrow(/EtcdSnapshotBackup: retention \(last 3\) keeps only about 3 hours/);
    expect(synthStandalone({ retention: Retention.keepLast(3), acknowledge: { shortRetention: true } })).not.toThrow();
  });
});

describe('EtcdSnapshotBackup: the restore uses the tools of the cluster\'s etcd version', () => {
  const section = (props: Partial<ConstructorParameters<typeof EtcdSnapshotBackup>[2]>) => new EtcdSnapshotBackup(Testing.chart(), 'etcd', {
    clusterName: 'prod', repository: testRepository(), source: EtcdSource.kubeadm(), controlPlaneNodes: ['cp-1'], ...props,
  }).restoreSection();

  test('etcdutl with the revision bump; the tools of the version the snapshot records, a newer minor than the cluster\'s refused', () => {
    expect(section({})).toContain('sudo etcdutl snapshot restore /tmp/etcd-snapshot.db');
    expect(section({})).toContain('--bump-revision 1000000000 --mark-compacted');
    expect(section({ etcdVersion: EtcdVersion.of('3.5.9') })).not.toContain('--bump-revision');
    const s = section({ etcdVersion: EtcdVersion.of('3.6.11') });
    expect(s).toContain('grep -o \'"etcd-version=[0-9.]*"\'');
    expect(s).toContain('if test "${minor}" -gt 6; then');
    expect(s).toContain('a newer minor than the cluster\'s etcd 3.6.11 (etcdVersion)');
    expect(s).toContain('scp /tmp/etcd-restore/etcd-version \'<cp-1-address>:/tmp/etcd-snapshot.etcd-version\'');
    expect(s).toContain('ver=$(cat /tmp/etcd-snapshot.etcd-version)');
    expect(s).toContain('https://github.com/etcd-io/etcd/releases/download/v${ver}/etcd-v${ver}-linux-amd64.tar.gz');
  });

  test('the etcd version is typed and checked: 3.5 to 3.7, and an image tag that names another version is refused', () => {
    expect(() => EtcdVersion.of('3.4.23')).toThrow(/etcd 3.5 to 3.7 are supported \(3.4 is end of life/);
    expect(() => EtcdVersion.of('v3.6.11')).toThrow(/expected an etcd version like '3.6.11'/);
    expect(() => section({ etcdVersion: '3.6.11' as any })).toThrow(/etcdVersion: expected an EtcdVersion, e.g. EtcdVersion.of\('3.6.11'\)/);
    expect(() => section({ images: { etcd: 'quay.io/coreos/etcd:v3.5.16' } })).toThrow(/images.etcd "quay.io\/coreos\/etcd:v3.5.16" is etcd 3.5.16, but etcdVersion is 3.6.11: set etcdVersion: EtcdVersion.of\('3.5.16'\)/);
    const image = `registry.k8s.io/etcd@sha256:${'a'.repeat(64)}`;
    expect(section({ images: { etcd: image }, etcdVersion: EtcdVersion.of('3.6.11') })).toContain('etcdutl');
    expect(EtcdVersion.DEFAULT.image).toBe('registry.k8s.io/etcd:3.6.11-0');
    expect(EtcdVersion.V3_7_0.minorVersion).toBe('3.7');
  });
});
