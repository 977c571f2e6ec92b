import { Cron, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BackupImages } from '../backup-job-options';
import { ETCD_SNAPSHOT_TAG, EtcdSnapshotBackup } from '../etcd/etcd-snapshot-backup';
import { readAsset } from '../internal/assets';
import { backupCronJob, resolveJobOptions, resticRepositoryAccess } from '../internal/backup-cron-job';
import { hardenedContainer, resources } from '../internal/hardening';
import { checkDnsLabel } from '../internal/names';
import { Retention } from '../policy/retention';

/**
 * Props of {@link RestoreDrill}.
 */
export interface RestoreDrillProps {
  /** The etcd backup whose newest snapshot the drill restores. */
  readonly backup: EtcdSnapshotBackup;
  /**
   * When to run the drill.
   * @default - daily at 04:30
   */
  readonly schedule?: Cron;
  /**
   * Time zone of the schedule.
   * @default 'Etc/UTC'
   */
  readonly timeZone?: string;
  /**
   * Name of the CronJob (≤ 52 characters).
   * @default `${clusterName}-etcd-drill`
   */
  readonly name?: string;
  /**
   * Namespace. The drill needs no host access: keep it out of the privileged namespace of the
   * backup jobs (it passes Pod Security `restricted`). It needs the repository's Secrets there.
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Keys that must exist in the restored etcd (at the snapshot's revision), each with a leading
   * `/`, e.g. `/registry/namespaces/kube-system`.
   * @default ['/registry/namespaces/kube-system', '/registry/namespaces/default']
   */
  readonly requiredKeys?: string[];
  /**
   * Client port of the throwaway etcd inside the pod (the peer port is the next one). It binds
   * to 127.0.0.1 in the pod's own network namespace.
   * @default 2379
   */
  readonly localPort?: number;
  /**
   * Images.
   * @default - the backup's defaults
   */
  readonly images?: BackupImages;
  /**
   * Size limit of the scratch volume (the fetched snapshot plus its restore: about twice the
   * database).
   * @default Size.gibibytes(16)
   */
  readonly workspaceSize?: Size;
  /**
   * Longest time a drill may take.
   * @default Duration.minutes(45)
   */
  readonly activeDeadline?: Duration;
}

const WORK = '/work';
const UID = 65532;

/**
 * A CronJob that proves the newest etcd snapshot restores: fetches it from the repository
 * (checking its sha256), restores it into scratch space, starts a throwaway etcd on it bound to
 * 127.0.0.1 inside the pod, and compares revision, key count and required keys with what the
 * backup job recorded. Any difference fails the Job, which monitoring sees through
 * kube-state-metrics like any backup job (see BackupAlerts).
 *
 * It needs no host access and no Kubernetes API access, and runs as a non-root user.
 */
export class RestoreDrill extends Construct {
  /** The CronJob. */
  public readonly cronJob: kplus.CronJob;
  /** The schedule expression. */
  public readonly schedule: string;

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    super(scope, id);
    const C = 'RestoreDrill';
    const backup = props.backup;
    if (!backup) throw new Error(`${C}: backup is required (the EtcdSnapshotBackup to drill)`);
    const clusterName = backup.resticHost;
    const resolved = resolveJobOptions(C, {
      clusterName,
      repository: backup.repository,
      schedule: props.schedule,
      timeZone: props.timeZone,
      images: props.images,
      activeDeadline: props.activeDeadline,
      backoffLimit: 0,
    }, { schedule: Cron.schedule({ minute: '30', hour: '4' }), retention: Retention.keepLast(1) });
    this.schedule = resolved.schedule;
    const name = props.name ?? `${clusterName}-etcd-drill`;
    checkDnsLabel(`${C}: name (CronJob names are limited to 52 characters${props.name ? '' : '; set `name` to a shorter one'})`, name, 52);
    const port = props.localPort ?? 2379;
    if (!Number.isInteger(port) || port < 1024 || port > 65534) {
      throw new Error(`${C}: localPort must be a whole number from 1024 to 65534 (the peer port is the next one); got ${port}`);
    }
    const requiredKeys = props.requiredKeys ?? ['/registry/namespaces/kube-system', '/registry/namespaces/default'];
    for (const k of requiredKeys) {
      // Kubernetes keeps every object under /registry (kubeadm, k3s and RKE2 alike): a key
      // without the leading '/' can never exist, and the drill would fail every day.
      if (!k || !k.startsWith('/') || /[\x00-\x1f\x7f]/.test(k)) {
        throw new Error(`${C}: requiredKeys: expected an etcd key with a leading '/', on one line, e.g. '/registry/namespaces/kube-system'; got ${JSON.stringify(k)}`);
      }
    }

    const labels = {
      'app.kubernetes.io/name': 'cdk8s-backup',
      'app.kubernetes.io/component': 'restore-drill',
      'app.kubernetes.io/instance': name,
      'backup.cdk8s.io/cluster': clusterName,
    };
    const metadata = { name, namespace: props.namespace, labels };
    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });
    const data: { [file: string]: string } = {
      'restic-fetch.sh': readAsset('restic-fetch.sh'),
      'etcd-lib.sh': readAsset('etcd-lib.sh'),
      'etcd-drill.sh': readAsset('etcd-drill.sh'),
    };
    if (requiredKeys.length > 0) data['required-keys.txt'] = requiredKeys.map((k) => `${k}\n`).join('');
    const scripts = new kplus.ConfigMap(this, 'Scripts', { metadata: { ...metadata, name: `${name}-scripts` }, data });
    const scriptsVol = kplus.Volume.fromConfigMap(this, 'ScriptsVolume', scripts, { name: 'scripts', defaultMode: 0o555 });
    const workVol = kplus.Volume.fromEmptyDir(this, 'WorkVolume', 'work', { sizeLimit: props.workspaceSize ?? Size.gibibytes(16) });
    const tmpVol = kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp', { sizeLimit: Size.gibibytes(1) });
    const access = resticRepositoryAccess(this, backup.repository, backup.resticRepository);
    const nonRoot = hardenedContainer(UID, UID);
    const snapshotInBackup = '/backup/etcd-snapshot.db';

    this.cronJob = backupCronJob(this, 'Resource', {
      metadata,
      options: { clusterName, repository: backup.repository, timeZone: props.timeZone, activeDeadline: props.activeDeadline, backoffLimit: 0 },
      resolved,
      serviceAccount,
      hostNetwork: false,
      nodeSelector: {},
      tolerations: [],
      user: UID,
      initContainers: [{
        name: 'fetch',
        image: resolved.images.restic,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/sh', '/scripts/restic-fetch.sh'],
        envVariables: {
          BACKUP_HOST: kplus.EnvValue.fromValue(clusterName),
          BACKUP_TAG: kplus.EnvValue.fromValue(ETCD_SNAPSHOT_TAG),
          FETCH_DIR: kplus.EnvValue.fromValue(`${WORK}/fetched`),
          CHECKSUM_PATH: kplus.EnvValue.fromValue(snapshotInBackup),
          EXPECTED_FILE: kplus.EnvValue.fromValue(`${WORK}/expected.env`),
          ...access.env,
        },
        volumeMounts: [
          { path: WORK, volume: workVol },
          { path: '/tmp', volume: tmpVol },
          { path: '/scripts', volume: scriptsVol, readOnly: true },
          ...access.mounts,
        ],
        securityContext: nonRoot,
        resources: resources(100, 1000, 128, 1024),
      }],
      containers: [{
        name: 'drill',
        image: resolved.images.etcd,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/sh', '/scripts/etcd-drill.sh'],
        envVariables: {
          SNAPSHOT_FILE: kplus.EnvValue.fromValue(`${WORK}/fetched${snapshotInBackup}`),
          EXPECTED_FILE: kplus.EnvValue.fromValue(`${WORK}/expected.env`),
          DRILL_DIR: kplus.EnvValue.fromValue(`${WORK}/drill`),
          DRILL_PORT: kplus.EnvValue.fromValue(String(port)),
          ...(requiredKeys.length > 0 ? { REQUIRED_KEYS: kplus.EnvValue.fromValue('/scripts/required-keys.txt') } : {}),
          ETCDCTL_API: kplus.EnvValue.fromValue('3'),
        },
        volumeMounts: [
          { path: WORK, volume: workVol },
          { path: '/scripts', volume: scriptsVol, readOnly: true },
        ],
        securityContext: nonRoot,
        resources: resources(100, 1000, 256, 2048),
      }],
    });
  }
}
