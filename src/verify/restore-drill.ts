import { Cron, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  ETCD_KEYS_TAG, ETCD_REVISION_TAG, ETCD_SHA256_TAG, ETCD_SNAPSHOT_PATH, ETCD_SNAPSHOT_PIECES_PATH, ETCD_SNAPSHOT_TAG, ETCD_VERSION_TAG,
  etcdImageFor, EtcdSnapshotBackup,
} from '../etcd/etcd-snapshot-backup';
import { configError } from '../internal/errors';
import { hardenedContainer } from '../internal/hardening';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupJob } from '../job/backup-job';
import { BackupImages } from '../job/backup-job-options';
import { containerResources } from '../job/resource-requirements';
import { resticRepositoryAccess } from '../job/restic-step';
import { JobPlanFacts } from '../plan/job-plan';

/**
 * Options of a {@link RestoreDrill} (what `ClusterBackup` takes as `restoreDrill`).
 */
export interface RestoreDrillOptions {
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
   * Keys that must exist in the restored etcd (at the revision the backup counted at), each with a leading
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
   * Images. The etcd image (its `etcdutl` restores, its `etcd` serves the restored copy) must be
   * of the backup's `etcdVersion`: the drill fails when the snapshot was taken by another minor.
   * @default - the backup's etcd image, and the default restic image
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

/**
 * Props of {@link RestoreDrill}.
 */
export interface RestoreDrillProps extends RestoreDrillOptions {
  /** The etcd backup whose newest snapshot the drill restores. */
  readonly backup: EtcdSnapshotBackup;
}

const WORK = '/work';
/** When the drill started, written by the fetch, for the duration in the drill's summary line. */
const SUMMARY_START_FILE = `${WORK}/summary-start`;

/**
 * A CronJob that proves the newest etcd snapshot restores: fetches it from the repository
 * (checking it is the file the backup verified: its sha256 trailer against the etcd-sha256
 * tag), restores it into scratch space, starts a throwaway etcd on it bound to
 * 127.0.0.1 inside the pod, checks the snapshot is not older than the revision the backup
 * counted at, and compares key count and required keys at that revision with what the backup
 * job recorded. Any difference fails the Job, which monitoring sees through
 * kube-state-metrics like any backup job (see BackupAlerts).
 *
 * It needs no host access and no Kubernetes API access, and runs as a non-root user.
 */
export class RestoreDrill extends BackupJob {
  /** The CronJob. */
  public readonly cronJob: kplus.CronJob;

  private readonly plan: { backup: EtcdSnapshotBackup; requiredKeys: string[] };

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    const C = 'RestoreDrill';
    const backup = props.backup;
    if (!backup) throw configError(`${C}: backup is required (the EtcdSnapshotBackup to drill)`);
    const clusterName = backup.resticHost;
    super(scope, id, {
      clusterName,
      repository: backup.repository,
      schedule: props.schedule,
      timeZone: props.timeZone,
      images: props.images,
      activeDeadline: props.activeDeadline,
      namespace: props.namespace,
      // A drill that fails says so at once; a retry would only hide a flaky restore.
      backoffLimit: 0,
      name: props.name ?? `${clusterName}-etcd-drill`,
      component: 'restore-drill',
      scripts: ['restic-fetch.sh', 'etcd-drill.sh'],
      defaultSchedule: Cron.schedule({ minute: '30', hour: '4' }),
      alertPrefix: 'RestoreDrill',
      alertGroup: 'restore-drill',
    });
    const port = props.localPort ?? 2379;
    if (!Number.isInteger(port) || port < 1024 || port > 65534) {
      throw configError(`${C}: localPort must be a whole number from 1024 to 65534 (the peer port is the next one); got ${port}`);
    }
    const requiredKeys = props.requiredKeys ?? ['/registry/namespaces/kube-system', '/registry/namespaces/default'];
    for (const k of requiredKeys) {
      // Kubernetes keeps every object under /registry (kubeadm, k3s and RKE2 alike): a key
      // without the leading '/' can never exist, and the drill would fail every day.
      if (!k || !k.startsWith('/') || /[\x00-\x1f\x7f]/.test(k)) {
        throw configError(`${C}: requiredKeys: expected an etcd key with a leading '/', on one line, e.g. '/registry/namespaces/kube-system'; got ${JSON.stringify(k)}`);
      }
    }
    this.plan = { backup, requiredKeys };
    if (requiredKeys.length > 0) this.addScriptFile('required-keys.txt', requiredKeys.map((k) => `${k}\n`).join(''));
    const resticImage = props.images?.restic ?? BackupDefaults.RESTIC_IMAGE;
    const etcdImage = props.images?.etcd === undefined ? backup.etcdImage : etcdImageFor(C, backup.etcdVersion, props.images.etcd);
    // With EtcdTools.imageVolume() the etcd image is a volume of this pod: Pod Security
    // `restricted` admits image volumes from Kubernetes 1.33 (kubernetes/kubernetes#130394).
    const tools = backup.etcdTools._bind(etcdImage, resticImage);
    const scriptsVol = this.scriptsVolume(this);
    const workVol = kplus.Volume.fromEmptyDir(this, 'WorkVolume', 'work', { sizeLimit: props.workspaceSize ?? Size.gibibytes(16) });
    const tmpVol = this.tmpVolume(this);
    const access = resticRepositoryAccess(this, backup.repository, backup.resticRepository, 'reader');
    const nonRoot = hardenedContainer(BackupDefaults.NON_ROOT_UID, BackupDefaults.NON_ROOT_UID);
    const snapshotInBackup = ETCD_SNAPSHOT_PATH;

    this.cronJob = this.addCronJob(this, {
      description: `restore drill of cluster ${clusterName}'s etcd backup`,
      failureAdvice: 'The newest etcd snapshot did not restore to what its backup recorded, or could not be fetched. The fetch log says '
        + 'whether the repository was unreachable or the stored data damaged (the etcd-sha256 tag, restic\'s own checks, or the restore\'s check of the content); the drill log names the '
        + 'revision, key count or required key that differs. Until it passes again, do not rely on that snapshot: restore an older one.',
      user: BackupDefaults.NON_ROOT_UID,
      initContainers: [{
        name: 'fetch',
        image: resticImage,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/sh', '/scripts/restic-fetch.sh'],
        envVariables: {
          BACKUP_HOST: kplus.EnvValue.fromValue(clusterName),
          BACKUP_TAG: kplus.EnvValue.fromValue(ETCD_SNAPSHOT_TAG),
          FETCH_DIR: kplus.EnvValue.fromValue(`${WORK}/fetched`),
          CHECKSUM_PATH: kplus.EnvValue.fromValue(snapshotInBackup),
          PIECES_PATH: kplus.EnvValue.fromValue(ETCD_SNAPSHOT_PIECES_PATH),
          CHECKSUM_TAG: kplus.EnvValue.fromValue(ETCD_SHA256_TAG),
          // etcd-drill.sh reads them back as ETCD_REVISION and ETCD_KEYS.
          METADATA_TAGS: kplus.EnvValue.fromValue(`${ETCD_REVISION_TAG} ${ETCD_KEYS_TAG} ${ETCD_VERSION_TAG}`),
          EXPECTED_FILE: kplus.EnvValue.fromValue(`${WORK}/expected.env`),
          SUMMARY_START_FILE: kplus.EnvValue.fromValue(SUMMARY_START_FILE),
          ...access.env,
        },
        volumeMounts: [
          { path: WORK, volume: workVol },
          { path: '/tmp', volume: tmpVol },
          { path: '/scripts', volume: scriptsVol, readOnly: true },
          ...access.mounts,
        ],
        securityContext: nonRoot,
        resources: containerResources('', undefined, 100, 1000, 128, 1024),
      }],
      containers: [{
        name: 'drill',
        image: tools.image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['/bin/sh', '/scripts/etcd-drill.sh'],
        envVariables: {
          SNAPSHOT_FILE: kplus.EnvValue.fromValue(`${WORK}/fetched${snapshotInBackup}`),
          EXPECTED_FILE: kplus.EnvValue.fromValue(`${WORK}/expected.env`),
          DRILL_DIR: kplus.EnvValue.fromValue(`${WORK}/drill`),
          DRILL_PORT: kplus.EnvValue.fromValue(String(port)),
          ...(requiredKeys.length > 0 ? { REQUIRED_KEYS: kplus.EnvValue.fromValue('/scripts/required-keys.txt') } : {}),
          SUMMARY_START_FILE: kplus.EnvValue.fromValue(SUMMARY_START_FILE),
          ...(tools.toolsDir ? { ETCD_TOOLS_DIR: kplus.EnvValue.fromValue(tools.toolsDir) } : {}),
        },
        volumeMounts: [
          { path: WORK, volume: workVol },
          { path: '/scripts', volume: scriptsVol, readOnly: true },
        ],
        securityContext: nonRoot,
        resources: containerResources('', undefined, 100, 1000, 256, 2048),
      }],
      imageVolumes: tools.imageVolume ? [{ ...tools.imageVolume, containers: ['drill'] }] : [],
    });
  }

  /** @internal */
  public _planFacts(): JobPlanFacts {
    const { backup, requiredKeys } = this.plan;
    const keys = requiredKeys.length === 0 ? '' : ` and the keys ${requiredKeys.map((k) => `\`${k}\``).join(', ')}`;
    return {
      ...super._planFacts(),
      title: `Restore drill: ${this.name}`,
      what: [`Restores the newest snapshot of \`${backup.name}\` into a throwaway etcd inside its pod and compares the revision, the key count${keys} with what the backup recorded.`],
      readsFrom: [{ resticRepository: backup.resticRepository }],
    };
  }
}
