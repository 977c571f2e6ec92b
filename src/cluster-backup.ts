import { Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CONTROL_PLANE_CONFIG_TAG, ControlPlaneConfigBackup } from './config/control-plane-config-backup';
import { ETCD_SNAPSHOT_TAG, EtcdSnapshotBackup } from './etcd/etcd-snapshot-backup';
import { EtcdSource } from './etcd/etcd-source';
import { checkDnsLabel } from './internal/names';
import { checkHostPath } from './internal/paths';
import { longestGapHours } from './internal/schedule';
import { shellComment, shellWords } from './internal/shell';
import { checkHttpUrlHost } from './internal/urls';
import { BackupJob } from './job/backup-job';
import { BackupImages } from './job/backup-job-options';
import { BackupAlerts } from './monitoring/backup-alerts';
import { KeyDropGuard } from './policy/key-drop-guard';
import { Retention } from './policy/retention';
import { BackupRepository } from './repository/backup-repository';
import { ExternalKeysOptions, ExternalSecretKeys } from './repository/external-secret-keys';
import { VeleroBackupStorageLocation, VeleroBackupStorageLocationProps } from './velero/velero-backup-storage-location';
import { VeleroSchedule, VeleroScheduleProps } from './velero/velero-schedule';
import { RestoreDrill } from './verify/restore-drill';

/**
 * The Velero part of a {@link ClusterBackup}.
 */
export interface ClusterVeleroOptions {
  /**
   * The storage location to create.
   * @default - none (use a location that exists)
   */
  readonly storageLocation?: VeleroBackupStorageLocationProps;
  /** The Schedules to create (each as in `VeleroSchedule`). */
  readonly schedules: VeleroScheduleProps[];
}

/**
 * The alerting part of a {@link ClusterBackup}.
 */
export interface ClusterAlertsOptions {
  /**
   * Labels the Prometheus operator selects rules by, e.g. `{ release: 'kube-prometheus-stack' }`.
   * @default - none
   */
  readonly ruleLabels?: { [key: string]: string };
  /**
   * URL where the rendered `restoreRunbook()` is published; each alert links to its section.
   * @default - no runbook links
   */
  readonly runbookUrl?: string;
  /**
   * How many times the longest gap between scheduled runs may pass without a successful backup.
   * @default 2
   */
  readonly staleAfterGaps?: number;
}

/**
 * Explicit opt-outs of the pitfall checks. Each one names the risk you accept.
 */
export interface PitfallAcknowledgements {
  /**
   * Accept a self-managed control plane without etcd snapshots (API objects from Velero only:
   * no cluster state, no Secrets as etcd had them).
   * @default false
   */
  readonly noEtcdBackup?: boolean;
  /**
   * Accept a repository endpoint inside the cluster (`*.svc`, `localhost`, a bare host name): a
   * backup that dies with the cluster is no backup.
   * @default false
   */
  readonly inClusterRepository?: boolean;
  /**
   * Accept a config backup that does not include the cluster's PKI.
   * @default false
   */
  readonly configWithoutPki?: boolean;
  /**
   * Accept backups that are never test-restored.
   * @default false
   */
  readonly noRestoreDrill?: boolean;
  /**
   * Accept a retention that keeps less than a day of history.
   * @default false
   */
  readonly shortRetention?: boolean;
  /**
   * Accept backups nobody is alerted about when they stop (no PrometheusRule: e.g. no
   * Prometheus operator in the cluster).
   * @default false
   */
  readonly noAlerts?: boolean;
  /**
   * Confirm that the repository password and the storage credentials are ALSO kept outside the
   * cluster (password manager, vault): a restore happens when the cluster and its Secrets are
   * gone. Required, because the Secrets this library references live in the cluster.
   * @default false
   */
  readonly keysStoredOutsideCluster?: boolean;
}

/**
 * Props of {@link ClusterBackup}.
 */
export interface ClusterBackupProps {
  /** Name of the cluster (repository paths, restic hosts, object names). */
  readonly clusterName: string;
  /**
   * Where the etcd and config backups go (required with `etcd`).
   * @default - none: a Velero-only (managed) cluster keeps its backups in Velero's storage location
   */
  readonly repository?: BackupRepository;
  /**
   * The control plane's etcd. Omit only for a managed control plane (set `managedControlPlane`).
   * @default - no etcd backup
   */
  readonly etcd?: EtcdSource;
  /**
   * The control plane is managed by a provider (EKS, GKE, AKS): there is no etcd and no
   * control-plane node to back up; Velero is the whole backup.
   * @default false
   */
  readonly managedControlPlane?: boolean;
  /**
   * Names of every control-plane node, for the config backup (self-managed, host-based etcd).
   * @default - required unless the etcd is external or the control plane managed
   */
  readonly controlPlaneNodes?: string[];
  /**
   * @default Cron.hourly()
   */
  readonly etcdSchedule?: Cron;
  /**
   * @default Retention.hourly24Daily7Weekly4()
   */
  readonly etcdRetention?: Retention;
  /**
   * What a sharp drop in etcd's key count does (see EtcdSnapshotBackup `keyDropGuard`).
   * @default KeyDropGuard.maxDropPercent(50)
   */
  readonly etcdKeyDropGuard?: KeyDropGuard;
  /**
   * Longest time the etcd snapshot may take (see EtcdSnapshotBackup `snapshotTimeout`).
   * @default Duration.minutes(10)
   */
  readonly etcdSnapshotTimeout?: Duration;
  /**
   * @default Cron.daily()
   */
  readonly configSchedule?: Cron;
  /**
   * @default Retention.gfs({ daily: 7, weekly: 4, monthly: 12 })
   */
  readonly configRetention?: Retention;
  /**
   * Host paths of the config backup (see ControlPlaneConfigBackup).
   * @default - the distribution's defaults
   */
  readonly configPaths?: string[];
  /**
   * The API server's encryption-at-rest config, backed up with the control-plane config.
   * @default - none (k3s/RKE2: inside the default paths)
   */
  readonly encryptionProviderConfig?: string;
  /**
   * Velero Schedules (and a storage location). Required for a managed control plane.
   * @default - no Velero objects
   */
  readonly velero?: ClusterVeleroOptions;
  /**
   * Create the repository's Secrets with external-secrets.io from a store outside the cluster, in
   * every namespace of ours that needs them. This keeps the keys a restore needs off the cluster
   * (and satisfies `acknowledge.keysStoredOutsideCluster`). Velero's own credentials are not
   * included.
   * @default - the Secrets exist already (you confirm a copy outside the cluster)
   */
  readonly externalKeys?: ExternalKeysOptions;
  /**
   * Alerts (a PrometheusRule in `namespace`) when a backup, a config archive, a drill or a Velero
   * Schedule fails or stops.
   * @default - alerts with no rule labels and no runbook links
   */
  readonly alerts?: ClusterAlertsOptions;
  /**
   * Keys the restore drill requires in the restored etcd.
   * @default - see RestoreDrill
   */
  readonly drillRequiredKeys?: string[];
  /**
   * When the restore drill runs.
   * @default - daily at 04:30
   */
  readonly drillSchedule?: Cron;
  /**
   * Namespace of the jobs that read host paths (etcd, config). Its Pod Security level must be
   * `privileged`.
   * @default 'backup-system-host'
   */
  readonly hostAccessNamespace?: string;
  /**
   * Namespace of everything else of ours (the restore drill): `restricted` holds there.
   * @default 'backup-system'
   */
  readonly namespace?: string;
  /**
   * Velero's namespace.
   * @default 'velero'
   */
  readonly veleroNamespace?: string;
  /**
   * Also render the two Namespaces with their Pod Security labels.
   * @default true
   */
  readonly createNamespaces?: boolean;
  /**
   * Images.
   * @default - pinned defaults
   */
  readonly images?: BackupImages;
  /**
   * Explicit opt-outs of the pitfall checks.
   * @default - every check is an error
   */
  readonly acknowledge?: PitfallAcknowledgements;
}

/**
 * Everything a cluster needs to survive the loss of its state, composed with coherent names,
 * labels and namespaces: etcd snapshots, control-plane config of every node, Velero Schedules,
 * a restore drill — and a runbook with the exact restore commands.
 *
 * It refuses the well-known pitfalls at synth time (each has a named opt-out in `acknowledge`):
 * no etcd backup on a self-managed control plane; a repository inside the cluster; a config
 * backup without PKI; no restore drill; a retention that keeps less than a day; a retention finer
 * than its schedule; keys that exist only in the cluster.
 */
export class ClusterBackup extends Construct {
  /** The etcd backup, if any. */
  public readonly etcdBackup?: EtcdSnapshotBackup;
  /** The control-plane config backup, if any. */
  public readonly configBackup?: ControlPlaneConfigBackup;
  /** The restore drill, if any. */
  public readonly restoreDrill?: RestoreDrill;
  /** The Velero Schedules. */
  public readonly veleroSchedules: VeleroSchedule[];
  /** The Velero storage location, if created. */
  public readonly veleroStorageLocation?: VeleroBackupStorageLocation;
  /** The alerts, unless acknowledged away. */
  public readonly alerts?: BackupAlerts;
  /** Where each key lives outside the cluster, when `externalKeys` is set. */
  public readonly keyLocations: string[];
  /** Every backup job it composes (etcd, config, drill), as alerts and the runbook read them. */
  public readonly backupJobs: BackupJob[] = [];

  private readonly props: ClusterBackupProps;

  constructor(scope: Construct, id: string, props: ClusterBackupProps) {
    super(scope, id);
    const C = 'ClusterBackup';
    const ack = props.acknowledge ?? {};
    this.props = props;
    const repository = props.repository;
    if (props.etcd && !repository) throw new Error(`${C}: repository is required to back up etcd (and the control-plane config)`);
    if (repository && !props.etcd) {
      throw new Error(`${C}: repository is only used for etcd and control-plane config backups; a Velero-only cluster uses velero.storageLocation`);
    }
    if (props.externalKeys && !repository) throw new Error(`${C}: externalKeys creates the repository's Secrets: it needs repository`);
    checkInputs(C, props);

    // Pitfall: keys that exist only in the cluster.
    if (repository && !ack.keysStoredOutsideCluster && !props.externalKeys) {
      throw new Error(`${C}: the repository password (Secret ${repository.encryption.password.name}) and the storage credentials (Secret ${repository.credentials.secretName}) must also exist outside the cluster, or no backup can be restored once it is gone; set externalKeys (external-secrets.io) or keep copies in your vault and set acknowledge.keysStoredOutsideCluster: true`);
    }
    // Pitfall: the repository on the cluster itself (Velero's location too: checkInputs made its s3Url parseable).
    const endpoints = [repository?.endpoint, props.velero?.storageLocation?.s3Url].filter((e): e is string => e !== undefined);
    for (const endpoint of endpoints) {
      const host = new URL(endpoint).hostname;
      if (!ack.inClusterRepository && (/\.svc(\.|$)|\.cluster\.local$/.test(host) || host === 'localhost' || /^127\./.test(host) || !host.includes('.'))) {
        throw new Error(`${C}: the storage endpoint ${endpoint} looks like it is inside the cluster; a backup that dies with the cluster is no backup. Use off-cluster storage, or set acknowledge.inClusterRepository: true`);
      }
    }
    // Pitfall: a self-managed control plane without etcd backup.
    if (!props.etcd && !props.managedControlPlane && !ack.noEtcdBackup) {
      throw new Error(`${C}: no etcd backup: set etcd (e.g. EtcdSource.kubeadm()), or managedControlPlane: true for EKS/GKE/AKS, or acknowledge.noEtcdBackup: true`);
    }
    if (props.etcd && props.managedControlPlane) {
      throw new Error(`${C}: etcd and managedControlPlane are exclusive: a managed control plane gives no etcd access`);
    }
    if (!props.etcd && (!props.velero || props.velero.schedules.length === 0)) {
      throw new Error(`${C}: nothing to back up: set etcd and/or velero.schedules`);
    }
    if (props.managedControlPlane && (!props.velero || props.velero.schedules.length === 0)) {
      throw new Error(`${C}: a managed control plane is backed up by Velero only: set velero.schedules`);
    }
    for (const [what, r] of [['etcdRetention', props.etcdRetention], ['configRetention', props.configRetention]] as const) {
      if (r && !ack.shortRetention) checkKeepsADay(C, what, r, what === 'etcdRetention' ? props.etcdSchedule ?? Cron.hourly() : props.configSchedule ?? Cron.daily());
    }
    for (const s of props.velero?.schedules ?? []) {
      if (!ack.shortRetention) checkKeepsADay(C, `velero.schedules[${s.name ?? '?'}].retention`, s.retention, s.schedule);
    }

    const hostNs = props.hostAccessNamespace ?? 'backup-system-host';
    const ns = props.namespace ?? 'backup-system';
    if (props.createNamespaces ?? true) {
      if (props.etcd?.usesHostPaths || props.controlPlaneNodes) namespace(this, 'HostAccessNamespace', hostNs, 'privileged');
      if (props.etcd) namespace(this, 'Namespace', ns, 'restricted');
    }

    const usedNamespaces = [...new Set([
      ...(props.etcd?.usesHostPaths ? [hostNs] : []),
      ...(props.etcd ? [ns] : []),
    ])];
    this.keyLocations = [];
    if (props.externalKeys) {
      usedNamespaces.forEach((n, i) => {
        const keys = new ExternalSecretKeys(this, `Keys${i}`, { ...props.externalKeys!, repository: repository!, namespace: n });
        if (i === 0) this.keyLocations.push(...keys.locations);
      });
    }

    if (props.etcd) {
      this.etcdBackup = new EtcdSnapshotBackup(this, 'Etcd', {
        clusterName: props.clusterName,
        source: props.etcd,
        repository: repository!,
        schedule: props.etcdSchedule,
        retention: props.etcdRetention,
        keyDropGuard: props.etcdKeyDropGuard,
        snapshotTimeout: props.etcdSnapshotTimeout,
        namespace: props.etcd.usesHostPaths ? hostNs : ns,
        images: props.images,
      });
      if (props.etcd.usesHostPaths) {
        if (!props.controlPlaneNodes || props.controlPlaneNodes.length === 0) {
          throw new Error(`${C}: controlPlaneNodes must list every control-plane node, so their certificates and manifests are backed up too (etcd alone cannot bring a ${props.etcd.distribution} control plane back)`);
        }
        // Pitfall: a config backup without the PKI (CA, service-account keys).
        const pki = ['/etc/kubernetes/pki', `/var/lib/rancher/${props.etcd.distribution}/server/tls`];
        const pkiCovered = props.configPaths === undefined
          || props.configPaths.some((p) => pki.some((k) => k === p || k.startsWith(`${p}/`)));
        if (!pkiCovered && !ack.configWithoutPki) {
          throw new Error(`${C}: the config backup paths (${props.configPaths!.join(', ')}) do not include the cluster PKI (${pki.join(' or ')}); without the CA and service-account keys a restored etcd is unusable. Add it, or set acknowledge.configWithoutPki: true`);
        }
        this.configBackup = new ControlPlaneConfigBackup(this, 'Config', {
          clusterName: props.clusterName,
          source: props.etcd,
          repository: repository!,
          nodes: props.controlPlaneNodes,
          paths: props.configPaths,
          // Without the PKI (acknowledged), require what was chosen instead.
          requiredPaths: pkiCovered ? undefined : props.configPaths,
          encryptionProviderConfig: props.encryptionProviderConfig,
          schedule: props.configSchedule,
          retention: props.configRetention,
          namespace: hostNs,
          images: props.images,
        });
      }
      this.restoreDrill = new RestoreDrill(this, 'Drill', {
        backup: this.etcdBackup,
        namespace: ns,
        schedule: props.drillSchedule,
        requiredKeys: props.drillRequiredKeys,
        images: props.images,
      });
      const jobs: Array<BackupJob | undefined> = [this.etcdBackup, this.configBackup, this.restoreDrill];
      this.backupJobs.push(...jobs.filter((j): j is BackupJob => j !== undefined));
    } else if (!ack.noRestoreDrill && !props.managedControlPlane) {
      throw new Error(`${C}: no restore drill (it drills the etcd backup): set etcd, or acknowledge.noRestoreDrill: true`);
    }

    const veleroNs = props.veleroNamespace ?? 'velero';
    if (props.velero?.storageLocation) {
      this.veleroStorageLocation = new VeleroBackupStorageLocation(this, 'VeleroLocation', { namespace: veleroNs, ...props.velero.storageLocation });
    }
    this.veleroSchedules = (props.velero?.schedules ?? []).map((s, i) => new VeleroSchedule(this, `Velero${i}`, {
      namespace: veleroNs,
      ...s,
      name: s.name ?? `${props.clusterName}-${i}`,
    }));

    if (!ack.noAlerts) {
      const alertsNs = props.managedControlPlane ? veleroNs : ns;
      this.alerts = new BackupAlerts(this, 'Alerts', {
        name: `${props.clusterName}-backups`,
        namespace: alertsNs,
        ruleLabels: props.alerts?.ruleLabels,
        runbookUrl: props.alerts?.runbookUrl,
        staleAfterGaps: props.alerts?.staleAfterGaps,
      });
      for (const job of this.backupJobs) this.alerts.watch(job);
      for (const s of this.veleroSchedules) this.alerts.watchVeleroSchedule(s);
    }
  }

  /**
   * Markdown with the exact restore commands for this cluster's configuration: where each key
   * lives, the repositories, and the order of steps.
   */
  public restoreRunbook(): string {
    const p = this.props;
    const repo = p.repository;
    // Operators paste the shell blocks: every value in them is a word quoted by shellWords.
    const cacert = repo?._caCertPath() ? ['--cacert', 'ca.crt'] : [];
    const lines: string[] = [];
    const add = (...l: string[]) => lines.push(...l);
    add(`# Restore runbook: cluster \`${p.clusterName}\``, '');
    add('Generated by cdk8s-backup from the same typed configuration as the backup jobs.', '');
    add('## 0. Keys (needed when the cluster is gone)', '');
    const velero = p.velero?.storageLocation;
    if (velero) {
      add(`- Velero's storage: bucket \`${velero.bucket}\`${velero.credentials ? `, credentials Secret \`${velero.credentials.secretName}\` (key \`${velero.credentials.keys.cloudCredentialsFile}\`) in Velero's namespace` : ''} — reinstall Velero on the new cluster with the same location (read-only at first).`);
    }
    if (!repo) {
      add('');
    } else if (this.keyLocations.length > 0) {
      add('Read them from the secret store (the cluster\'s copies came from there):', '');
      for (const l of this.keyLocations) add(`- ${l}`);
    } else {
      add(`- Repository password: Secret \`${repo.encryption.password.name}\`, key \`${repo.encryption.password.key}\` — use your off-cluster copy.`);
      add(`- Storage credentials: Secret \`${repo.credentials.secretName}\` — use your off-cluster copy.`);
    }
    if (repo) {
      if (repo._caCertPath()) add('- The storage endpoint\'s CA bundle: save it as `ca.crt` next to you.');
      add('');
      add('```sh');
      if (repo.backend === 's3') add('export AWS_ACCESS_KEY_ID=\'…\' AWS_SECRET_ACCESS_KEY=\'…\'');
      if (repo.backend === 'azure') add('export AZURE_ACCOUNT_NAME=\'…\' AZURE_ACCOUNT_KEY=\'…\'');
      if (repo.backend === 'gcs') add('export GOOGLE_PROJECT_ID=\'…\' GOOGLE_APPLICATION_CREDENTIALS="$PWD/credentials.json"');
      add('export RESTIC_PASSWORD=\'…\'', '```', '');
    }

    let step = 1;
    if (this.configBackup) {
      const config = this.configBackup;
      add(`## ${step++}. Control-plane config, on each rebuilt control-plane node`, '');
      add('Install the same Kubernetes version, keep kubelet stopped, then per node:', '', '```sh');
      // In the order given: an object's keys put integer-like names ('0') first.
      for (const node of p.controlPlaneNodes ?? []) {
        const restic = ['restic', '-r', config.resticRepositories[node], ...cacert];
        const select = ['--no-lock', '--host', node, '--tag', CONTROL_PLANE_CONFIG_TAG];
        const target = `/tmp/${node}-config`;
        add(shellComment(node));
        add(shellWords(...restic, 'snapshots', ...select));
        add(shellWords(...restic, 'restore', 'latest', ...select, '--target', target));
        for (const dir of config.paths) add(shellWords('sudo', 'cp', '-a', `${target}${dir}/.`, `${dir}/`));
        for (const file of config.files) add(shellWords('sudo', 'cp', '-a', `${target}${file}`, file));
      }
      add('```', '');
    }
    if (this.etcdBackup) {
      const e = this.etcdBackup;
      const restic = ['restic', '-r', e.resticRepository, ...cacert];
      const select = ['--no-lock', '--host', e.resticHost, '--tag', ETCD_SNAPSHOT_TAG];
      const snapshot = '/tmp/etcd-restore/backup/etcd-snapshot.db';
      add(`## ${step++}. etcd, from the newest verified snapshot`, '');
      add('```sh');
      add(`${shellWords(...restic, 'snapshots', ...select)}   # tags: etcd-revision, etcd-keys, sha256`);
      add(shellWords(...restic, 'restore', 'latest', ...select, '--target', '/tmp/etcd-restore'));
      add(`${shellWords('sha256sum', snapshot)}   # must equal the sha256 tag`);
      add('```', '');
      if (p.etcd?.usesHostPaths) {
        const distribution = p.etcd.distribution;
        const nodes = p.controlPlaneNodes ?? [];
        const dataDir = distribution === 'kubeadm' ? '/var/lib/etcd' : `/var/lib/rancher/${distribution}/server/db/etcd`;
        // The <...-ip> placeholders stay inside quotes: pasted unedited, they are no redirection.
        const initialCluster = nodes.map((n) => `${n}=https://<${n}-ip>:2380`).join(',');
        add(`On every control-plane node (${nodes.join(', ')}), with the same snapshot file:`, '');
        add('```sh');
        if (distribution === 'kubeadm') {
          add('sudo mv /etc/kubernetes/manifests /etc/kubernetes/manifests.off   # stops etcd and the API server');
        } else {
          add(shellWords('sudo', 'systemctl', 'stop', distribution === 'k3s' ? 'k3s' : 'rke2-server'));
        }
        add(shellWords('sudo', 'mv', dataDir, `${dataDir}.broken`));
        add(`${shellWords('sudo', 'etcdutl', 'snapshot', 'restore', snapshot, '--data-dir', dataDir)} \\`);
        add(`  --name "$(hostname)" ${shellWords('--initial-cluster', initialCluster)} \\`);
        add(`  ${shellWords('--initial-advertise-peer-urls', 'https://<this-node-ip>:2380')}`);
        if (distribution === 'kubeadm') {
          add('sudo mv /etc/kubernetes/manifests.off /etc/kubernetes/manifests');
          add('sudo systemctl start kubelet');
        } else {
          add(shellComment(`${distribution}: or use its own \`${distribution === 'k3s' ? 'k3s' : 'rke2'} server --cluster-reset --cluster-reset-restore-path=<file>\``));
        }
        add('```', '');
      }
      add('Check: `kubectl get nodes`; the key count is close to the `etcd-keys` tag.', '');
    }
    if (this.veleroSchedules.length > 0) {
      add(`## ${step++}. Workloads and volumes, with Velero`, '');
      add('Once the API server answers and Velero runs with the storage location, restore each Schedule ONCE, from its newest completed backup (with gfs tiers: from the newest tier that has one):', '');
      add('```sh');
      for (const s of this.veleroSchedules) {
        const names = s.scheduleNames;
        add(shellWords('velero', 'backup', 'get', '--selector', `velero.io/schedule-name in (${names.join(',')})`));
        add(`${shellWords('velero', 'restore', 'create', '--from-schedule', names[0], '--wait')}   # or: --from-backup <newest completed backup above>`);
      }
      add('```', '');
    }
    if (this.alerts) {
      add('## Alerts', '');
      add(`What each alert means and what to do first. Every backup job logs why it failed: \`${shellWords('kubectl', 'logs', 'job/<job>', '--all-containers')}\`.`, '');
      // A failed run means what its job says it means; staleness means the same for every job.
      const failed = new Map(this.backupJobs.flatMap((j) => j.scheduledJobs).map((j) => [`${j.alertPrefix}Failed`, j.failureAdvice]));
      for (const name of this.alerts.alertNames()) {
        add(`### ${name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()}`, '');
        add(failed.has(name) ? `\`${name}\`: ${failed.get(name)}` : alertAdvice(name), '');
      }
    }
    if (this.restoreDrill) {
      add(`## ${step++}. Afterwards`, '');
      const drill = this.restoreDrill.cronJob.name;
      const runNow = shellWords('kubectl', 'create', 'job', `--from=cronjob/${drill}`, 'drill-now', '-n', p.namespace ?? 'backup-system');
      add(`- The restore drill \`${drill}\` runs on \`${this.restoreDrill.schedule.expressionString}\`; run it once now: \`${runNow}\`.`);
    }
    return lines.join('\n') + '\n';
  }
}

/**
 * What the runbook prints and the composed constructs would only check later, or not at all
 * (namespaces), or after a first use (Velero's s3Url is parsed for the in-cluster guard).
 */
function checkInputs(C: string, props: ClusterBackupProps): void {
  checkDnsLabel(`${C}: clusterName`, props.clusterName, 63);
  for (const option of ['hostAccessNamespace', 'namespace', 'veleroNamespace'] as const) {
    const value = props[option];
    if (value !== undefined) checkDnsLabel(`${C}: ${option}`, value, 63);
  }
  for (const path of props.configPaths ?? []) checkHostPath(`${C}: configPaths`, path, '/etc/kubernetes');
  if (props.encryptionProviderConfig !== undefined) {
    checkHostPath(`${C}: encryptionProviderConfig`, props.encryptionProviderConfig, '/etc/kubernetes/enc/encryption-config.yaml');
  }
  const s3Url = props.velero?.storageLocation?.s3Url;
  if (s3Url !== undefined) checkHttpUrlHost(`${C}: velero.storageLocation.s3Url`, s3Url);
  // RestoreDrill checks them too, but under its own option name.
  for (const key of props.drillRequiredKeys ?? []) {
    // eslint-disable-next-line no-control-regex
    if (!key || !key.startsWith('/') || /[\u0000-\u001f\u007f]/.test(key)) {
      throw new Error(`${C}: drillRequiredKeys: expected etcd keys with a leading '/', each on one line, e.g. '/registry/namespaces/kube-system' (a key without it never exists, and the drill would fail every day); got ${JSON.stringify(key)}`);
    }
  }
}

function alertAdvice(alert: string): string {
  if (/NeverSucceeded$/.test(alert)) return `\`${alert}\`: the job has never succeeded since the rule was loaded (or kube-state-metrics does not export its metrics). Run it once by hand and read its logs.`;
  if (/TooOld$/.test(alert)) return `\`${alert}\`: no successful run for longer than the schedule allows. Check the CronJob is not suspended, the node is up, and the last Jobs' logs.`;
  if (/PartiallyFailed$/.test(alert)) return `\`${alert}\`: Velero backed up only some items: \`velero backup describe --details\` on the newest backup.`;
  if (/^Velero/.test(alert)) return `\`${alert}\`: \`velero backup logs\` of the newest backup; check the storage location is Available.`;
  return `\`${alert}\`: the Job failed after its retries; its log says which step failed. Nothing was pruned after a failed upload.`;
}

function namespace(scope: Construct, id: string, name: string, level: string): kplus.Namespace {
  return new kplus.Namespace(scope, id, {
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': level,
        'pod-security.kubernetes.io/audit': level,
        'pod-security.kubernetes.io/warn': level,
      },
    },
  });
}

/**
 * How long back a retention keeps backups, at least, for a schedule: a policy that covers less
 * than a day cannot undo yesterday's mistake.
 */
function checkKeepsADay(C: string, option: string, r: Retention, schedule: Cron): void {
  if (r.daily || r.weekly || r.monthly || r.yearly) return;
  const gap = longestGapHours(schedule.expressionString);
  const spanHours = Math.max(
    r.keepWithin ? r.keepWithin.toHours() : 0,
    (r.last ?? 0) * gap,
    (r.hourly ?? 0) * Math.max(1, gap),
  );
  if (spanHours < 24) {
    throw new Error(`${C}: ${option} (${r}) keeps only about ${spanHours} hours of backups; keep at least a day (e.g. add a daily tier), or set acknowledge.shortRetention: true`);
  }
}
