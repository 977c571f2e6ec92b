import { Chart, Cron, Duration, Testing } from 'cdk8s';
import {
  BackupRepository, CaCertificate, ClusterBackup, ClusterBackupProps, Credentials, Database, Encryption, EtcdSource, EtcdVersion, Immutability,
  KeyDropGuard,
  Retention, VeleroBackupStorageLocationProps, VeleroVersion,
} from '../../src';
import { testRepository } from '../support/charts';
import { ok, synth } from '../support/cluster';
import { expectValidCustomResources } from '../support/crd-validate';
import { expectValidManifests, isCustomResource } from '../support/validate';
import { nightly } from '../support/velero';

describe('ClusterBackup: composition', () => {
  test('GIVEN kubeadm 1.36 with its own etcd image (3.6.11, distroless) WHEN synthesized THEN no container runs it; backup and drill mount it, and the runbook restores with the snapshot\'s etcdutl', () => {
    const image = 'registry.k8s.io/etcd:3.6.11-0';
    const { backup, manifests } = synth({ etcd: { source: EtcdSource.kubeadm(), etcdVersion: EtcdVersion.V3_6_11, images: { etcd: image } } });
    const cronJobs = manifests.filter((m) => m.kind === 'CronJob');
    const pods = cronJobs.map((c) => c.spec.jobTemplate.spec.template.spec);
    for (const pod of pods) {
      expect([...(pod.initContainers ?? []), ...pod.containers].map((c: any) => c.image)).not.toContain(image);
    }
    const mountsIt = (c: any) => c.spec.jobTemplate.spec.template.spec.volumes.some((v: any) => v.image?.reference === image);
    const mounting = cronJobs.filter(mountsIt).map((c) => c.metadata.name);
    expect(mounting).toEqual(['prod-etcd-backup', 'prod-etcd-drill']);
    const runbook = backup.restoreRunbook();
    expect(runbook).toContain('ver=$(cat /tmp/etcd-snapshot.etcd-version)');
    expect(runbook).toContain('a newer minor than the cluster\'s etcd 3.6.11 (etcdVersion)');
    expect(runbook).not.toContain('v3.6.11/etcd-v3.6.11-linux-amd64.tar.gz" | sudo tar');
    expectValidManifests(manifests.filter((m) => !isCustomResource(m)));
  });

  test('kubeadm: etcd + per-node config in the privileged namespace, drill in the restricted one', () => {
    const { manifests } = synth();
    const byKind = (k: string) => manifests.filter((m) => m.kind === k);
    expect(byKind('Namespace').map((n) => [n.metadata.name, n.metadata.labels['pod-security.kubernetes.io/enforce']])).toEqual([
      ['backup-system-host', 'privileged'], ['backup-system', 'restricted'],
    ]);
    expect(byKind('CronJob').map((c) => [c.metadata.name, c.metadata.namespace])).toEqual([
      ['prod-config-cp-1', 'backup-system-host'], ['prod-config-cp-2', 'backup-system-host'], ['prod-config-cp-3', 'backup-system-host'],
      ['prod-etcd-backup', 'backup-system-host'],
      ['prod-etcd-drill', 'backup-system'],
    ]);
    // Only the host-access jobs touch the host.
    for (const c of byKind('CronJob')) {
      const usesHost = c.spec.jobTemplate.spec.template.spec.volumes.some((v: any) => v.hostPath);
      expect(usesHost).toBe(c.metadata.namespace === 'backup-system-host');
    }
    expectValidManifests(manifests.filter((m) => !isCustomResource(m)));
  });

  test('managed control plane: Velero only, in Velero\'s namespace', () => {
    const { manifests } = synth({
      etcd: undefined,
      controlPlaneConfig: undefined,
      repository: undefined,
      managedControlPlane: true,
      velero: {
        storageLocation: { bucket: 'velero-prod', region: 'eu-west-1', credentials: Credentials.fromSecret('velero-s3') },
        schedules: [{ name: 'prod-apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.gfs({ daily: 7, weekly: 4 }) }],
      },
    });
    expect(manifests.map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`)).toEqual([
      'BackupStorageLocation/velero/default', 'Schedule/velero/prod-apps-daily', 'Schedule/velero/prod-apps-weekly',
      'PrometheusRule/velero/prod-backups', 'PodMonitor/velero/prod-velero',
    ]);
    // Scraped where the Helm chart runs Velero's server: its pod labels and metrics port.
    expect(manifests.find((m) => m.kind === 'PodMonitor').spec).toEqual({
      selector: { matchLabels: { 'app.kubernetes.io/name': 'velero', 'name': 'velero' } },
      namespaceSelector: { matchNames: ['velero'] },
      podMetricsEndpoints: [{ port: 'http-monitoring', path: '/metrics' }],
    });
    expectValidCustomResources(manifests);
  });

  test('the runbook has the exact commands for this configuration', () => {
    const { backup } = synth({ velero: { schedules: [{ name: 'apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.maxAge(Duration.days(14)) }] } });
    const md = backup.restoreRunbook();
    expect(md).toContain('restic -r s3:https://minio.example.com:9000/backups/k8s/prod/etcd snapshots --no-lock --host prod --tag etcd-snapshot');
    expect(md).toContain('restic -r s3:https://minio.example.com:9000/backups/k8s/prod/config/cp-2 restore latest --no-lock --host cp-2 --tag control-plane-config --target /tmp/cp-2-config');
    expect(md).toContain('sudo cp -a /tmp/cp-1-config/etc/kubernetes/. /etc/kubernetes/');
    // The members are the config's nodes, named as kubeadm names them; addresses not given are placeholders.
    expect(md).toContain("--name cp-2 --initial-cluster 'cp-1=https://<cp-1-address>:2380,cp-2=https://<cp-2-address>:2380,cp-3=https://<cp-3-address>:2380'");
    expect(md).toContain("velero backup get --selector 'velero.io/schedule-name in (apps)'");
    expect(md).toContain('velero restore create --from-schedule apps --wait');
    expect(md).toContain('Secret `backup-repository`, key `password`');
    // Config before etcd: the static pods need their certificates when etcd comes back.
    expect(md.indexOf('Control-plane config')).toBeLessThan(md.indexOf('etcd, from the newest'));
    expect(synth().backup.restoreRunbook()).toBe(synth().backup.restoreRunbook());
  });

  test('alerts watch every job it renders, and link into the runbook\'s sections', () => {
    const { backup, manifests } = synth({
      alerts: { runbookUrl: 'https://git.example.com/fleet/prod.runbook.md', ruleLabels: { release: 'kps' } },
      velero: { schedules: [{ name: 'apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.maxAge(Duration.days(14)) }] },
    });
    const rule = manifests.find((m) => m.kind === 'PrometheusRule');
    expect(rule.metadata).toMatchObject({ name: 'prod-backups', namespace: 'backup-system', labels: { release: 'kps' } });
    const text = JSON.stringify(rule);
    for (const job of ['prod-etcd-backup', 'prod-config-cp-1', 'prod-config-cp-3', 'prod-etcd-drill']) expect(text).toContain(`cronjob=\\"${job}\\"`);
    expect(text).toContain('schedule=\\"apps\\"');
    const md = backup.restoreRunbook();
    const anchors = new Set(rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.annotations.runbook_url.split('#')[1])));
    for (const a of anchors) expect(md).toContain(`### ${a}\n`);
    expectValidCustomResources([rule]);
  });

  test('no alerts only with the acknowledgement', () => {
    const { manifests } = synth({ acknowledge: { ...ok, noAlerts: true } });
    expect(manifests.filter((m) => m.kind === 'PrometheusRule')).toEqual([]);
  });
});

describe('ClusterBackup: keys off the cluster', () => {
  const externalKeys = {
    storeName: 'vault-backend',
    repositoryPassword: { key: 'cluster-backups/prod', property: 'password' },
    accessKeyId: { key: 'cluster-backups/prod', property: 'access_key_id' },
    secretAccessKey: { key: 'cluster-backups/prod', property: 'secret_access_key' },
  };

  test('externalKeys renders the repository\'s Secrets from the store in every namespace that needs them, and the runbook says where they live', () => {
    const { backup, manifests } = synth({ externalKeys, acknowledge: { singleCredential: true } });
    const es = manifests.filter((m) => m.kind === 'ExternalSecret');
    expect(es.map((e) => `${e.metadata.namespace}/${e.metadata.name}`)).toEqual([
      'backup-system-host/backup-repository', 'backup-system-host/backup-s3', 'backup-system/backup-repository', 'backup-system/backup-s3',
    ]);
    const s3 = es.find((e) => e.metadata.name === 'backup-s3');
    expect(s3.spec).toEqual({
      secretStoreRef: { name: 'vault-backend', kind: 'ClusterSecretStore' },
      refreshInterval: '3600s',
      target: { name: 'backup-s3', creationPolicy: 'Owner', deletionPolicy: 'Retain' },
      data: [
        { secretKey: 'AWS_ACCESS_KEY_ID', remoteRef: { key: 'cluster-backups/prod', property: 'access_key_id' } },
        { secretKey: 'AWS_SECRET_ACCESS_KEY', remoteRef: { key: 'cluster-backups/prod', property: 'secret_access_key' } },
      ],
    });
    expectValidCustomResources(es);
    expect(backup.restoreRunbook()).toContain('Secret `backup-repository`, key `password` ← store `vault-backend`, key `cluster-backups/prod`, property `password`');
  });

  test('a missing remote key is an error naming it', () => {
    expect(() => synth({ externalKeys: { ...externalKeys, secretAccessKey: undefined } })).toThrow(/ExternalSecretKeys: secretAccessKey is required for a s3 repository/);
  });
});

describe('ClusterBackup: pitfall guards (each trips, each has its named opt-out)', () => {
  const velero = { schedules: [{ name: 'apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.daily35Days() }] };
  const veleroOnly = { etcd: undefined, controlPlaneConfig: undefined, repository: undefined, velero };
  const inCluster = BackupRepository.s3({
    bucket: 'backups',
    endpoint: 'https://minio.minio.svc:9000',
    credentials: Credentials.fromSecret('s3'),
    encryption: Encryption.repositoryPassword({ name: 'r', key: 'password' }),
  });
  test.each([
    ['keys only in the cluster', { acknowledge: {} }, /acknowledge.keysStoredOutsideCluster/, { acknowledge: ok }],
    ['one credential for every role', { acknowledge: { keysStoredOutsideCluster: true } }, /can delete every backup.*acknowledge.singleCredential/, { acknowledge: ok }],
    ['no etcd on a self-managed control plane', veleroOnly, /no etcd backup.*acknowledge.noEtcdBackup/,
      { ...veleroOnly, acknowledge: { ...ok, noEtcdBackup: true, noRestoreDrill: true } }],
    ['repository inside the cluster', { repository: inCluster }, /looks like it is inside the cluster.*acknowledge.inClusterRepository/,
      { repository: inCluster, acknowledge: { ...ok, inClusterRepository: true } }],
    ['config without PKI', { controlPlaneConfig: { nodes: ['cp-1'], paths: ['/etc/kubernetes/manifests'] } }, /do not include the cluster PKI.*acknowledge.configWithoutPki/,
      { controlPlaneConfig: { nodes: ['cp-1'], paths: ['/etc/kubernetes/manifests'] }, acknowledge: { ...ok, configWithoutPki: true } }],
    ['no restore drill', { ...veleroOnly, acknowledge: { ...ok, noEtcdBackup: true } }, /no restore drill.*acknowledge.noRestoreDrill/,
      { ...veleroOnly, acknowledge: { ...ok, noEtcdBackup: true, noRestoreDrill: true } }],
    ['retention that keeps less than a day', { etcd: { source: EtcdSource.kubeadm(), retention: Retention.keepLast(6) } }, /\[test\/backup\/Etcd\] EtcdSnapshotBackup: retention \(.*\) keeps only about 6 hours.*acknowledge.shortRetention/,
      { etcd: { source: EtcdSource.kubeadm(), retention: Retention.keepLast(6) }, acknowledge: { ...ok, shortRetention: true } }],
    ['retention finer than the schedule', { etcd: { source: EtcdSource.kubeadm(), schedule: Cron.daily() } }, /allowRetentionFinerThanSchedule/, undefined],
  ])('%s', (_name, bad, message, fixed) => {
    expect(() => synth(bad as any)).toThrow(message);
    if (fixed) expect(() => synth(fixed as any)).not.toThrow();
  });

  test('Velero\'s storage inside the cluster trips the same guard', () => {
    const inClusterVelero = { ...velero, storageLocation: { bucket: 'velero', s3Url: 'http://minio.minio.svc:9000', region: 'us-east-1' } };
    expect(() => synth({ etcd: undefined, controlPlaneConfig: undefined, repository: undefined, managedControlPlane: true, velero: inClusterVelero }))
      .toThrow(/storage endpoint http:\/\/minio.minio.svc:9000 looks like it is inside the cluster/);
  });

  test('a host-based etcd needs the control-plane node list', () => {
    expect(() => synth({ controlPlaneConfig: undefined })).toThrow(/controlPlaneConfig.nodes must list every control-plane node/);
  });

  test('GIVEN drill keys without a leading "/" WHEN synthesized THEN the error names requiredKeys', () => {
    expect(() => synth({ restoreDrill: { requiredKeys: ['registry/namespaces/kube-system'] } }))
      .toThrow(/RestoreDrill: requiredKeys: expected an etcd key with a leading '\/'.*got "registry\/namespaces\/kube-system"/);
    expect(() => synth({ restoreDrill: { requiredKeys: ['-x'] } })).toThrow(/requiredKeys/);
    expect(() => synth({ restoreDrill: { requiredKeys: ['/registry/namespaces/prod'] } })).not.toThrow();
  });

  test('the pitfall rules report through the construct tree: a fleet says which chart', () => {
    const app = Testing.app();
    const a = new Chart(app, 'cluster-a');
    const b = new Chart(app, 'cluster-b');
    for (const chart of [a, b]) {
      new ClusterBackup(chart, 'backup', {
        clusterName: chart.node.id,
        repository: testRepository(),
        etcd: { source: EtcdSource.kubeadm(), retention: chart === b ? Retention.keepLast(3) : undefined },
        controlPlaneConfig: { nodes: ['cp-1'] },
        acknowledge: ok,
      });
    }
    expect(() => app.synth()).toThrow(/\[cluster-b\/backup\/Etcd\] EtcdSnapshotBackup: retention \(.*\) keeps only about 3 hours/s);
    expect(() => app.synth()).not.toThrow(/cluster-a\/backup/);
  });

  test('databases join through the job contract: CronJobs in the restricted namespace, alerts and runbook with no per-kind code', () => {
    const credentials = { password: { name: 'app-db', key: 'password' }, user: 'backup' };
    const { backup, manifests } = synth({
      databases: [
        { database: Database.postgres({ host: 'db.prod.example.com', database: 'app', credentials }), drill: { requiredTable: 'orders' } },
        { database: Database.mysql({ host: 'mysql.prod.example.com', database: 'shop', credentials }) },
      ],
    });
    const cronJobs = manifests.filter((m) => m.kind === 'CronJob').map((c) => [c.metadata.name, c.metadata.namespace]);
    for (const db of backup.databaseBackups) expect(cronJobs).toContainEqual([db.cronJob.name, 'backup-system']);
    expect(backup.databaseBackups[0].drill).toBeDefined();
    expect(cronJobs).toContainEqual([backup.databaseBackups[0].drill!.cronJob.name, 'backup-system']);
    const alerts = backup.alerts!.alertNames();
    expect(alerts).toEqual(expect.arrayContaining(['DatabaseDumpBackupFailed', 'DatabaseDumpBackupTooOld', 'DatabaseRestoreDrillFailed']));
    const runbook = backup.restoreRunbook();
    expect(runbook).toMatch(/## \d+\. .*app/);
    expect(runbook).toContain('psql');
    expect(runbook).toContain('mariadb');
    expect(expectValidManifests(manifests)).toBeUndefined();
  });

  test('every container that runs a script is told what its summary line names: the job\'s kind, cluster and CronJob; the scripts have summary-lib.sh and every library they source', () => {
    const credentials = { password: { name: 'app-db', key: 'password' }, user: 'backup' };
    const { manifests } = synth({
      databases: [{ database: Database.postgres({ host: 'db.prod.example.com', database: 'app', credentials }), drill: { requiredTable: 'orders' } }],
    });
    const cronJobs = manifests.filter((m) => m.kind === 'CronJob');
    expect(cronJobs.map((c) => c.metadata.labels['app.kubernetes.io/component']).sort()).toEqual([
      'control-plane-config', 'control-plane-config', 'control-plane-config', 'database-drill', 'database-dump', 'etcd-snapshot', 'restore-drill',
    ]);
    for (const c of cronJobs) {
      const pod = c.spec.jobTemplate.spec.template.spec;
      const scripted = [...(pod.initContainers ?? []), ...pod.containers].filter((x: any) => (x.command ?? []).some((w: string) => w.startsWith('/scripts/')));
      expect(scripted.length).toBeGreaterThan(0);
      for (const x of scripted) {
        const env = Object.fromEntries(x.env.filter((e: any) => e.name.startsWith('SUMMARY_') && e.name !== 'SUMMARY_START_FILE').map((e: any) => [e.name, e.value]));
        expect({ cronJob: c.metadata.name, container: x.name, env }).toEqual({
          cronJob: c.metadata.name,
          container: x.name,
          env: { SUMMARY_KIND: c.metadata.labels['app.kubernetes.io/component'], SUMMARY_CLUSTER: 'prod', SUMMARY_JOB: c.metadata.name },
        });
      }
      // The restic binary's copy runs no script: nothing to tell it.
      for (const x of [...(pod.initContainers ?? []), ...pod.containers].filter((y: any) => !scripted.includes(y))) {
        expect((x.env ?? []).map((e: any) => e.name)).not.toContain('SUMMARY_KIND');
      }
      const scripts = pod.volumes.find((v: any) => v.name === 'scripts').configMap.name;
      const data = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === scripts).data;
      expect(Object.keys(data)).toContain('summary-lib.sh');
      // Each library a script sources from /scripts is mounted there too.
      for (const [file, text] of Object.entries(data).filter(([f]) => f.endsWith('.sh'))) {
        for (const lib of [...(text as string).matchAll(/^\s*\.\s+"\$\{0%\/\*\}\/([^"]+)"/gm)].map((m) => m[1])) {
          expect({ configMap: scripts, file, lib: Object.keys(data).includes(lib) ? lib : undefined }).toEqual({ configMap: scripts, file, lib });
        }
      }
    }
  });

  test('the etcd job options reach the etcd backup: key-drop guard and snapshot timeout', () => {
    const env = (m: any[]) => {
      const cj = m.find((x) => x.kind === 'CronJob' && x.metadata.name === 'prod-etcd-backup');
      const spec = cj.spec.jobTemplate.spec.template.spec;
      const vars = [...spec.initContainers, ...spec.containers].flatMap((c: any) => c.env).filter((e: any) => e.value !== undefined);
      return Object.fromEntries(vars.map((e: any) => [e.name, e.value]));
    };
    expect(env(synth().manifests)).toMatchObject({ DROP_GUARD_MAX_PERCENT: '50', ETCD_SNAPSHOT_TIMEOUT: '600s' });
    const etcd = { source: EtcdSource.kubeadm(), keyDropGuard: KeyDropGuard.maxDropPercent(30), snapshotTimeout: Duration.minutes(20) };
    const custom = env(synth({ etcd }).manifests);
    expect(custom).toMatchObject({ DROP_GUARD_MAX_PERCENT: '30', ETCD_SNAPSHOT_TIMEOUT: '1200s' });
    const unguarded = { source: EtcdSource.kubeadm(), keyDropGuard: KeyDropGuard.unguardedAcceptingDataLoss() };
    expect(env(synth({ etcd: unguarded }).manifests).DROP_GUARD_MAX_PERCENT).toBeUndefined();
  });

  test('the runbook tells what a failed etcd backup with DATA LOSS SUSPECTED means and what to do', () => {
    const text = synth().backup.restoreRunbook();
    expect(text).toMatch(/`EtcdBackupFailed`: .*DATA LOSS SUSPECTED.*restic tag --remove count-drop` command the log prints/);
  });
});

function cluster(velero: ClusterBackupProps['velero']): any[] {
  const chart = Testing.chart();
  new ClusterBackup(chart, 'backup', { clusterName: 'eks', managedControlPlane: true, velero });
  return Testing.synth(chart);
}

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

describe('ClusterBackup: backups that survive a compromised cluster (split roles)', () => {
  const lockedRepo = (days = 30) => BackupRepository.s3({
    bucket: 'backups',
    prefix: 'k8s',
    endpoint: 'https://s3.example.com',
    credentials: Credentials.fromSecret('backup-s3'),
    maintainerCredentials: Credentials.fromSecret('backup-s3-maintainer'),
    encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
    immutability: Immutability.s3ObjectLock({ lockPeriod: Duration.days(days) }),
  });
  const within = Retention.gfs({ daily: 7, weekly: 4, within: Duration.days(7) });
  const split = (props: Partial<ClusterBackupProps> = {}) => synth({
    repository: lockedRepo(),
    etcd: { source: EtcdSource.kubeadm(), retention: within },
    controlPlaneConfig: { nodes: ['cp-1', 'cp-2', 'cp-3'], retention: within },
    acknowledge: { keysStoredOutsideCluster: true },
    ...props,
  });

  test('GIVEN split roles and Object Lock THEN no job outside the maintenance namespace holds a key that can delete, and one maintenance job keeps every repository', () => {
    const { backup, manifests } = split();
    const cronJobs = manifests.filter((m) => m.kind === 'CronJob');
    const holders = cronJobs.filter((c) => JSON.stringify(c).includes('backup-s3-maintainer')).map((c) => `${c.metadata.namespace}/${c.metadata.name}`);
    expect(holders).toEqual(['backup-maintenance/prod-maintenance']);
    for (const c of cronJobs.filter((x) => x.metadata.name !== 'prod-maintenance')) {
      for (const container of c.spec.jobTemplate.spec.template.spec.containers.filter((x: any) => x.name === 'upload')) {
        expect(container.args ?? []).toEqual([]);
      }
    }
    expect(manifests.find((m) => m.kind === 'Namespace' && m.metadata.name === 'backup-maintenance')?.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect(backup.maintenance?.minimumLockDays).toBe(9);
    const targets = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'prod-maintenance-scripts').data['maintenance-targets.txt'];
    expect(targets.trim().split('\n').map((l: string) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      's3:https://s3.example.com/backups/k8s/prod/config/cp-1 control-plane-config',
      's3:https://s3.example.com/backups/k8s/prod/config/cp-2 control-plane-config',
      's3:https://s3.example.com/backups/k8s/prod/config/cp-3 control-plane-config',
      's3:https://s3.example.com/backups/k8s/prod/etcd etcd-snapshot',
    ]);
    // Its absence would be silence: it is watched like every job.
    expect(backup.alerts!.alertNames()).toEqual(expect.arrayContaining(['RepositoryMaintenanceFailed', 'RepositoryMaintenanceTooOld', 'RepositoryMaintenanceNeverSucceeded']));
    expectValidManifests(manifests);
  });

  test('the plan says who can delete, the lock period and the three IAM policies', () => {
    const md = split().backup.describe();
    expect(md).toContain('## Who can delete backups');
    expect(md).toContain('Only the maintenance job (CronJob `prod-maintenance` in namespace `backup-maintenance`)');
    expect(md).toContain('- **Lock period**: at least 9 days');
    for (const role of ['writer', 'reader', 'maintainer']) expect(md).toContain(`### IAM policy: ${role}`);
    expect(md).toContain('"arn:aws:s3:::backups/k8s/*/locks/*"');
    const single = synth().backup.describe();
    expect(single).toContain('every backup job holds them and prunes with them, so whoever compromises the cluster can erase its backups too (accepted: `singleCredential`)');
  });

  test('the runbook: which keys to use, the recovery from object versions, and what a missing delete protection means', () => {
    const md = split().backup.restoreRunbook();
    expect(md).toContain('export the reader\'s (Secret `backup-s3`). Only the maintainer\'s (Secret `backup-s3-maintainer`');
    expect(md).toContain('## Backups deleted or overwritten');
    expect(md).toContain('rclone copy "backups,version_at=\'${before}\':backups/k8s/prod" backups:backups/k8s/prod-before-attack');
    expect(md).toMatch(/EtcdBackupFailed`: .*run it with the maintainer's keys.*DELETE PROTECTION MISSING/);
    // The advice of a failed run says what split roles change: the incomplete backup is marked, not removed.
    expect(md).toMatch(/ControlPlaneConfigBackupFailed`: .*restic exit 3.* With split roles an incomplete backup is marked discarded, not removed/);
    expect(synth().backup.restoreRunbook()).not.toContain('DELETE PROTECTION MISSING');
  });

  test('renderedElsewhere: nothing rendered here, the lock period still checked against its schedule', () => {
    const { backup, manifests } = split({ maintenance: { renderedElsewhere: true } });
    expect(backup.maintenance).toBeUndefined();
    expect(manifests.some((m) => m.kind === 'Namespace' && m.metadata.name === 'backup-maintenance')).toBe(false);
    expect(backup.retainedRepositories.map((r) => r.subPath)).toEqual(['prod/config/cp-1', 'prod/config/cp-2', 'prod/config/cp-3', 'prod/etcd']);
    expect(() => split({ repository: lockedRepo(8), maintenance: { renderedElsewhere: true } })).toThrow(/Object Lock period \(8 days\) is shorter than the 9 days/);
    expect(backup.describe()).toContain('rendered elsewhere, `maintenance.renderedElsewhere`');
  });

  test('mistakes are synth errors: a shared namespace, maintenance without split roles, Velero on a locked bucket', () => {
    expect(() => split({ maintenance: { namespace: 'backup-system' } })).toThrow(/maintenance.namespace is "backup-system", a namespace of the backup jobs/);
    expect(() => synth({ maintenance: {} })).toThrow(/maintenance is set, but the repository has one credential/);
    expect(() => split({ velero: { storageLocation: { repository: lockedRepo() }, schedules: [] } })).toThrow(/Velero cannot work with.*velero#8686/);
  });

  test('externalKeys: the maintainer\'s keys and the password only in the maintenance namespace', () => {
    const externalKeys = {
      storeName: 'vault',
      repositoryPassword: { key: 'backups/password' },
      accessKeyId: { key: 'backups/s3', property: 'id' },
      secretAccessKey: { key: 'backups/s3', property: 'secret' },
      maintainerKeys: { accessKeyId: { key: 'backups/s3-maintainer', property: 'id' }, secretAccessKey: { key: 'backups/s3-maintainer', property: 'secret' } },
    };
    const { manifests } = split({ externalKeys, acknowledge: {} });
    const es = manifests.filter((m) => m.kind === 'ExternalSecret').map((m) => `${m.metadata.namespace}/${m.metadata.name}`).sort();
    expect(es).toEqual([
      'backup-maintenance/backup-repository', 'backup-maintenance/backup-s3-maintainer',
      'backup-system-host/backup-repository', 'backup-system-host/backup-s3',
      'backup-system/backup-repository', 'backup-system/backup-s3',
    ]);
    expect(() => split({ externalKeys: { ...externalKeys, maintainerKeys: undefined }, acknowledge: {} })).toThrow(/maintainerKeys.accessKeyId is required/);
  });
});
