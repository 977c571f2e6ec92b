import { ApiObject, Cron, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { EtcdSource } from './etcd-source';
import { readAsset } from '../internal/assets';
import { checkDnsLabel, hardenedContainer, resources } from '../internal/hardening';
import { checkSchedule, longestGapHours } from '../internal/schedule';
import { Retention } from '../policy/retention';
import { BackupRepository } from '../repository/backup-repository';

/**
 * Container images. Pin them (by tag or digest) to what your registry mirrors.
 */
export interface BackupImages {
  /**
   * An etcd image with `etcdctl` and a `/bin/sh` (used to take and verify the snapshot).
   * If it also has `etcdutl` (etcd ≥ 3.5), verification uses it.
   * @default 'registry.k8s.io/etcd:3.5.16-0'
   */
  readonly etcd?: string;
  /**
   * The restic image (alpine based, busybox shell).
   * @default 'docker.io/restic/restic:0.17.3'
   */
  readonly restic?: string;
}

/** Default images (pinned). */
export const DEFAULT_ETCD_IMAGE = 'registry.k8s.io/etcd:3.5.16-0';
/** Default restic image (pinned). */
export const DEFAULT_RESTIC_IMAGE = 'docker.io/restic/restic:0.17.3';

/**
 * Resources of the backup containers.
 */
export interface EtcdBackupResources {
  /**
   * `snapshot` init container (etcdctl snapshot save: streams, little memory).
   * @default - 100m/1 CPU, 64Mi/256Mi memory
   */
  readonly snapshot?: kplus.ContainerResources;
  /**
   * `verify` init container (a full restore of the snapshot into scratch space).
   * @default - 100m/1 CPU, 128Mi/1Gi memory
   */
  readonly verify?: kplus.ContainerResources;
  /**
   * `upload` container (restic backup and prune).
   * @default - 100m/1 CPU, 256Mi/1Gi memory
   */
  readonly upload?: kplus.ContainerResources;
}

/**
 * Props of {@link EtcdSnapshotBackup}.
 */
export interface EtcdSnapshotBackupProps {
  /**
   * Name of the cluster: restic `--host` of every snapshot and the repository path
   * `<prefix>/<clusterName>/etcd`.
   */
  readonly clusterName: string;
  /** Which etcd to snapshot and how to reach it. */
  readonly source: EtcdSource;
  /** Where the snapshots go. */
  readonly repository: BackupRepository;
  /**
   * When to take a snapshot.
   * @default Cron.hourly()
   */
  readonly schedule?: Cron;
  /**
   * Time zone of the schedule (IANA name).
   * @default 'Etc/UTC'
   */
  readonly timeZone?: string;
  /**
   * Which snapshots to keep.
   * @default Retention.hourly24Daily7Weekly4()
   */
  readonly retention?: Retention;
  /**
   * Allow a retention whose finest tier (e.g. hourly) is finer than the schedule (e.g. daily):
   * such a tier then keeps far fewer distinct backups, over a much longer time, than it says.
   * @default false
   */
  readonly allowRetentionFinerThanSchedule?: boolean;
  /**
   * Name of the CronJob (≤ 52 characters), also used for its ServiceAccount and ConfigMap.
   * @default `${clusterName}-etcd-backup`
   */
  readonly name?: string;
  /**
   * Namespace of the CronJob. Host-path jobs need a namespace whose Pod Security level is
   * `privileged`.
   * @default - the chart's namespace
   */
  readonly namespace?: string;
  /**
   * Images.
   * @default - pinned defaults, see BackupImages
   */
  readonly images?: BackupImages;
  /**
   * Container resources.
   * @default - sized from the benchmark (1 GiB etcd), see EtcdBackupResources
   */
  readonly resources?: EtcdBackupResources;
  /**
   * Size limit of the scratch volumes (the snapshot, and its verification restore: each about
   * the size of the etcd database).
   * @default Size.gibibytes(8) (etcd's recommended maximum database size)
   */
  readonly workspaceSize?: Size;
  /**
   * Longest time a run may take before Kubernetes stops it.
   * @default Duration.minutes(45)
   */
  readonly activeDeadline?: Duration;
  /**
   * How many times a failed run is retried.
   * @default 2
   */
  readonly backoffLimit?: number;
  /**
   * How late a missed run may still start.
   * @default Duration.minutes(15)
   */
  readonly startingDeadline?: Duration;
  /**
   * PriorityClass of the pods.
   * @default - none (the cluster default)
   */
  readonly priorityClassName?: string;
}

/** restic tag of every etcd snapshot this library takes. */
export const ETCD_SNAPSHOT_TAG = 'etcd-snapshot';

const PKI_DIR = '/etc/etcd-pki';
const BACKUP_DIR = '/backup';
const SNAPSHOT_FILE = `${BACKUP_DIR}/etcd-snapshot.db`;
const SNAPSHOT_META = `${BACKUP_DIR}/etcd-snapshot.env`;

/**
 * An hourly (by default) CronJob that snapshots etcd, verifies the snapshot by restoring it, and
 * ships it encrypted to a restic repository, then applies the retention.
 *
 * Containers (in order):
 * 1. `snapshot` (etcd image, init): `etcdctl snapshot save`, no shell, configured by `ETCDCTL_*`.
 * 2. `verify` (etcd image, init): restores the snapshot into scratch space (this rejects a
 *    corrupt snapshot; `snapshot status` alone does not), records revision and live key count.
 * 3. `upload` (restic image): sha256, `restic backup` with `--host <cluster>` and tags,
 *    then `restic forget --prune` with the retention, only after a successful backup.
 *
 * All three run as root with every capability dropped: etcd's client key on the host is
 * 0600 root, and `etcdctl snapshot save` writes the snapshot 0600 root; root without
 * capabilities can read files root owns and nothing else.
 */
export class EtcdSnapshotBackup extends Construct {
  /** The CronJob. */
  public readonly cronJob: kplus.CronJob;
  /** The ServiceAccount of its pods (no API access, no token mounted). */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The ConfigMap with the scripts. */
  public readonly scripts: kplus.ConfigMap;
  /** The restic repository URL the snapshots go to. */
  public readonly resticRepository: string;
  /** restic `--host` of the snapshots. */
  public readonly resticHost: string;
  /** The retention applied after every backup. */
  public readonly retention: Retention;
  /** The schedule expression. */
  public readonly schedule: string;

  constructor(scope: Construct, id: string, props: EtcdSnapshotBackupProps) {
    super(scope, id);
    if (!props.source) throw new Error('EtcdSnapshotBackup: source is required, e.g. EtcdSource.kubeadm()');
    if (!props.repository) throw new Error('EtcdSnapshotBackup: repository is required, e.g. BackupRepository.s3({...})');
    checkDnsLabel('EtcdSnapshotBackup: clusterName', props.clusterName, 63);
    const name = props.name ?? `${props.clusterName}-etcd-backup`;
    checkDnsLabel(`EtcdSnapshotBackup: name (CronJob names are limited to 52 characters${props.name ? '' : '; set `name` to a shorter one'})`, name, 52);
    if (props.backoffLimit !== undefined && (!Number.isInteger(props.backoffLimit) || props.backoffLimit < 0 || props.backoffLimit > 10)) {
      throw new Error(`EtcdSnapshotBackup: backoffLimit must be a whole number from 0 to 10; got ${props.backoffLimit}`);
    }

    this.schedule = checkSchedule('EtcdSnapshotBackup: schedule', props.schedule ?? Cron.hourly());
    this.retention = props.retention ?? Retention.hourly24Daily7Weekly4();
    const finest = this.retention.finestPeriodHours;
    const gap = longestGapHours(this.schedule);
    if (finest !== undefined && gap > finest && !props.allowRetentionFinerThanSchedule) {
      throw new Error(`EtcdSnapshotBackup: retention (${this.retention}) keeps backups per ${finest === 1 ? 'hour' : `${finest} hours`}, but the schedule ${JSON.stringify(this.schedule)} runs only every ${gap} hours at worst; run more often, use a coarser retention, or set allowRetentionFinerThanSchedule: true`);
    }

    const source = props.source;
    const images = { etcd: props.images?.etcd ?? DEFAULT_ETCD_IMAGE, restic: props.images?.restic ?? DEFAULT_RESTIC_IMAGE };
    for (const [k, v] of Object.entries(images)) {
      if (!/^[a-z0-9]+([._\-/:@][a-zA-Z0-9_.-]+)+$/.test(v)) {
        throw new Error(`EtcdSnapshotBackup: images.${k} must be an image reference like registry.example.com/etcd:3.5.16-0; got ${JSON.stringify(v)}`);
      }
    }
    this.resticHost = props.clusterName;
    this.resticRepository = props.repository.resticRepository(`${props.clusterName}/etcd`);
    const metadata = {
      name,
      namespace: props.namespace,
      labels: {
        'app.kubernetes.io/name': 'cdk8s-backup',
        'app.kubernetes.io/component': 'etcd-snapshot',
        'app.kubernetes.io/instance': name,
        'backup.cdk8s.io/cluster': props.clusterName,
      },
    };

    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', { metadata, automountToken: false });
    this.scripts = new kplus.ConfigMap(this, 'Scripts', {
      metadata: { ...metadata, name: `${name}-scripts` },
      data: {
        'etcd-verify.sh': readAsset('etcd-verify.sh'),
        'restic-upload.sh': readAsset('restic-upload.sh'),
      },
    });

    // Volumes: scratch space (sized), the scripts, the etcd client certificates.
    const workspace = props.workspaceSize ?? Size.gibibytes(8);
    const backupVol = kplus.Volume.fromEmptyDir(this, 'BackupVolume', 'backup', { sizeLimit: workspace });
    const scratchVol = kplus.Volume.fromEmptyDir(this, 'ScratchVolume', 'scratch', { sizeLimit: workspace });
    const tmpVol = kplus.Volume.fromEmptyDir(this, 'TmpVolume', 'tmp', { sizeLimit: Size.gibibytes(1) });
    const scriptsVol = kplus.Volume.fromConfigMap(this, 'ScriptsVolume', this.scripts, { name: 'scripts', defaultMode: 0o555 });
    const certMounts: kplus.VolumeMount[] = [];
    if (source.tlsSecret) {
      const secret = kplus.Secret.fromSecretName(this, 'EtcdTlsSecret', source.tlsSecret);
      const vol = kplus.Volume.fromSecret(this, 'EtcdCertsVolume', secret, {
        name: 'etcd-certs',
        defaultMode: 0o400,
        items: {
          [source.certificates.ca]: { path: 'ca.crt' },
          [source.certificates.cert]: { path: 'client.crt' },
          [source.certificates.key]: { path: 'client.key' },
        },
      });
      certMounts.push({ path: PKI_DIR, volume: vol, readOnly: true });
    } else {
      // Only the three files etcdctl needs, each read-only; `File` fails the pod if one is missing.
      const files: Array<[string, string, string]> = [
        ['etcd-ca', source.certificates.ca, 'ca.crt'],
        ['etcd-client-cert', source.certificates.cert, 'client.crt'],
        ['etcd-client-key', source.certificates.key, 'client.key'],
      ];
      for (const [volName, hostPath, file] of files) {
        const vol = kplus.Volume.fromHostPath(this, `${volName}-volume`, volName, { path: hostPath, type: kplus.HostPathVolumeType.FILE });
        certMounts.push({ path: `${PKI_DIR}/${file}`, volume: vol, readOnly: true });
      }
    }

    const etcdEnv: { [name: string]: kplus.EnvValue } = {};
    if (source.endpoint.includes('$(HOST_IP)')) {
      etcdEnv.HOST_IP = kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_IP);
    }
    Object.assign(etcdEnv, {
      ETCDCTL_API: kplus.EnvValue.fromValue('3'),
      ETCDCTL_ENDPOINTS: kplus.EnvValue.fromValue(source.endpoint),
      ETCDCTL_CACERT: kplus.EnvValue.fromValue(`${PKI_DIR}/ca.crt`),
      ETCDCTL_CERT: kplus.EnvValue.fromValue(`${PKI_DIR}/client.crt`),
      ETCDCTL_KEY: kplus.EnvValue.fromValue(`${PKI_DIR}/client.key`),
      ETCDCTL_DIAL_TIMEOUT: kplus.EnvValue.fromValue('10s'),
    });

    const root = hardenedContainer(0, 0);
    const res = props.resources ?? {};
    const initContainers: kplus.ContainerProps[] = [
      {
        name: 'snapshot',
        image: images.etcd,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['etcdctl', 'snapshot', 'save', SNAPSHOT_FILE],
        envVariables: etcdEnv,
        volumeMounts: [{ path: BACKUP_DIR, volume: backupVol }, ...certMounts],
        securityContext: root,
        resources: res.snapshot ?? resources(100, 1000, 64, 256),
      },
      {
        name: 'verify',
        image: images.etcd,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/sh', '/scripts/etcd-verify.sh'],
        envVariables: {
          ...etcdEnv,
          SNAPSHOT_FILE: kplus.EnvValue.fromValue(SNAPSHOT_FILE),
          SNAPSHOT_META: kplus.EnvValue.fromValue(SNAPSHOT_META),
          SCRATCH_DIR: kplus.EnvValue.fromValue('/scratch'),
        },
        volumeMounts: [
          { path: BACKUP_DIR, volume: backupVol },
          { path: '/scratch', volume: scratchVol },
          { path: '/scripts', volume: scriptsVol, readOnly: true },
          ...certMounts,
        ],
        securityContext: root,
        resources: res.verify ?? resources(100, 1000, 128, 1024),
      },
    ];

    const repo = props.repository;
    const uploadEnv: { [name: string]: kplus.EnvValue } = {
      RESTIC_REPOSITORY: kplus.EnvValue.fromValue(this.resticRepository),
      RESTIC_PASSWORD: secretEnv(this, 'RepositoryPassword', repo.encryption.password.name, repo.encryption.password.key),
    };
    for (const e of repo._env()) {
      uploadEnv[e.name] = e.secret
        ? secretEnv(this, `Env${e.name}`, e.secret.name, e.secret.key)
        : kplus.EnvValue.fromValue(e.value!);
    }
    const caPath = repo._caCertPath();
    if (caPath) uploadEnv.RESTIC_CACERT_FILE = kplus.EnvValue.fromValue(caPath);
    Object.assign(uploadEnv, {
      BACKUP_DIR: kplus.EnvValue.fromValue(BACKUP_DIR),
      BACKUP_META: kplus.EnvValue.fromValue(SNAPSHOT_META),
      CHECKSUM_FILE: kplus.EnvValue.fromValue(SNAPSHOT_FILE),
      BACKUP_HOST: kplus.EnvValue.fromValue(this.resticHost),
      BACKUP_TAG: kplus.EnvValue.fromValue(ETCD_SNAPSHOT_TAG),
      TMPDIR: kplus.EnvValue.fromValue('/tmp'),
      RESTIC_CACHE_DIR: kplus.EnvValue.fromValue('/tmp/restic-cache'),
    });
    const repoMounts: kplus.VolumeMount[] = repo._files().map((f) => {
      const items = { [(f.secret ?? f.configMap)!.key]: { path: f.fileName } };
      const vol = f.secret
        ? kplus.Volume.fromSecret(this, `${f.volume}-volume`, kplus.Secret.fromSecretName(this, `${f.volume}-secret`, f.secret.name), { name: f.volume, items, defaultMode: 0o444 })
        : kplus.Volume.fromConfigMap(this, `${f.volume}-volume`, kplus.ConfigMap.fromConfigMapName(this, `${f.volume}-cm`, f.configMap!.name), { name: f.volume, items, defaultMode: 0o444 });
      return { path: f.mountPath, volume: vol, readOnly: true };
    });

    this.cronJob = new kplus.CronJob(this, 'Resource', {
      metadata,
      schedule: Cron.schedule(cronFields(this.schedule)),
      timeZone: props.timeZone ?? 'Etc/UTC',
      concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
      startingDeadline: props.startingDeadline ?? Duration.minutes(15),
      successfulJobsRetained: 3,
      failedJobsRetained: 3,
      backoffLimit: props.backoffLimit ?? 2,
      activeDeadline: props.activeDeadline ?? Duration.minutes(45),
      serviceAccount: this.serviceAccount,
      automountServiceAccountToken: false,
      restartPolicy: kplus.RestartPolicy.NEVER,
      hostNetwork: source.hostNetwork,
      dns: source.hostNetwork ? { policy: kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET } : undefined,
      securityContext: { ensureNonRoot: false, user: 0, group: 0 },
      podMetadata: { labels: metadata.labels },
      initContainers,
      containers: [{
        name: 'upload',
        image: images.restic,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/sh', '/scripts/restic-upload.sh'],
        args: this.retention.toResticForgetArgs(),
        envVariables: uploadEnv,
        volumeMounts: [
          { path: BACKUP_DIR, volume: backupVol, readOnly: true },
          { path: '/tmp', volume: tmpVol },
          { path: '/scripts', volume: scriptsVol, readOnly: true },
          ...repoMounts,
        ],
        securityContext: root,
        resources: res.upload ?? resources(100, 1000, 256, 1024),
      }],
    });
    if (source.tolerations.length > 0) {
      this.cronJob.scheduling.tolerate(kplus.Node.tainted(...source.tolerations));
    }

    // Fields cdk8s-plus-28 does not model.
    const pod = '/spec/jobTemplate/spec/template/spec';
    const raw = ApiObject.of(this.cronJob);
    raw.addJsonPatch(JsonPatch.add(`${pod}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
    if (Object.keys(source.nodeSelector).length > 0) {
      raw.addJsonPatch(JsonPatch.add(`${pod}/nodeSelector`, source.nodeSelector));
    }
    if (props.priorityClassName) {
      checkDnsLabel('EtcdSnapshotBackup: priorityClassName', props.priorityClassName, 253);
      raw.addJsonPatch(JsonPatch.add(`${pod}/priorityClassName`, props.priorityClassName));
    }
  }
}

function secretEnv(scope: Construct, id: string, name: string, key: string): kplus.EnvValue {
  return kplus.EnvValue.fromSecretValue({ secret: kplus.Secret.fromSecretName(scope, id, name), key });
}

function cronFields(expr: string) {
  if (expr.startsWith('@')) {
    const macro: { [m: string]: string } = { '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@weekly': '0 0 * * 0', '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *' };
    expr = macro[expr];
  }
  const [minute, hour, day, month, weekDay] = expr.split(/\s+/);
  return { minute, hour, day, month, weekDay };
}
