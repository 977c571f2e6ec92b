import { Cron, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { RestoreContext } from './distribution-restore';
import { EtcdSource } from './etcd-source';
import { checkEtcdTools, EtcdTools } from './etcd-tools';
import { EtcdVersion } from './etcd-version';
import { EtcdRestoreTool, renderScenario, RestoreNode, RunbookBlock, WORKSTATION } from './restore-procedure';
import { configError } from '../internal/errors';
import { hardenedContainer } from '../internal/hardening';
import { checkNodeNames } from '../internal/names';
import { shellWords } from '../internal/shell';
import { isHost } from '../internal/urls';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupJob } from '../job/backup-job';
import { BackupDestination, BackupJobOptions } from '../job/backup-job-options';
import { containerResources, ResourceRequirements } from '../job/resource-requirements';
import { resticUploadContainer, uploadFileInPieces } from '../job/restic-step';
import { JobPlanFacts } from '../plan/job-plan';
import { KeyDropGuard } from '../policy/key-drop-guard';
import { Retention } from '../policy/retention';
import { BackupRepository } from '../repository/backup-repository';

/**
 * Resources of the backup containers.
 */
export interface EtcdBackupResources {
  /**
   * `snapshot` init container (one key count, then `etcdctl snapshot save`, which streams: about
   * 30 MiB resident for a 1.1 GiB etcd; it never maps the snapshot).
   * @default - 100m/1 CPU, 64Mi/256Mi memory
   */
  readonly snapshot?: ResourceRequirements;
  /**
   * `upload` container (the sha256 check, the cut into pieces, restic backup and prune: 192 MiB
   * peak measured for a 1.1 GiB etcd).
   * @default - 100m/1 CPU, 256Mi/1Gi memory
   */
  readonly upload?: ResourceRequirements;
}

/**
 * Options of an {@link EtcdSnapshotBackup} (what `ClusterBackup` takes as `etcd`).
 */
export interface EtcdSnapshotBackupOptions extends BackupJobOptions {
  /** Which etcd to snapshot and how to reach it. */
  readonly source: EtcdSource;
  /**
   * Name of the CronJob (≤ 52 characters), also used for its ServiceAccount and ConfigMap.
   * @default `${clusterName}-etcd-backup`
   */
  readonly name?: string;
  /**
   * Container resources.
   * @default - sized from the benchmark (1 GiB etcd), see EtcdBackupResources
   */
  readonly resources?: EtcdBackupResources;
  /**
   * Size limit of the volume the snapshot is written to: at least the etcd database's size plus
   * 32 MiB (the upload cuts the snapshot into pieces from its end, truncating the file every
   * 32 MiB, so that much of it exists twice at most).
   * @default Size.gibibytes(9) (etcd's recommended maximum database size, 8 GiB, with room for the cut)
   */
  readonly workspaceSize?: Size;
  /**
   * Longest time `etcdctl snapshot save` may take (it bounds the whole transfer, so leave room
   * for the largest database). Without a bound, an etcd that accepts connections but does not
   * answer hangs the job until its deadline with no error (etcd-io/etcd#10298). Measured here:
   * 7 s for a 1.1 GiB database, so about 1 minute at etcd's 8 GiB maximum; the default allows
   * ten times that for slow disks and busy nodes. Before the save, one quick question
   * (bounded by 30 s, or this timeout if shorter) tells an unreachable etcd apart, in seconds.
   * @default Duration.minutes(10)
   */
  readonly snapshotTimeout?: Duration;
  /**
   * What happens when the key count drops sharply against the newest accepted snapshot (a wiped
   * or emptied cluster): by default the backup is kept, nothing is pruned and the job fails.
   * @default KeyDropGuard.maxDropPercent(50)
   */
  readonly keyDropGuard?: KeyDropGuard;
  /**
   * The control-plane nodes the etcd members run on (Kubernetes node names; kubeadm names each
   * member after its node), for the restore procedure. Only for an etcd on the control-plane
   * nodes (kubeadm, k3s, RKE2).
   * @default - ClusterBackup passes `controlPlaneConfig.nodes`; standalone, the runbook has placeholders
   */
  readonly controlPlaneNodes?: string[];
  /**
   * The address (IPv4, bracketed IPv6 or DNS name) each etcd member's peers reach it at, by
   * member name, for the restore procedure's commands: for kubeadm, k3s and RKE2 keyed by
   * control-plane node; for an external etcd this also names its members.
   * @default - the runbook has a placeholder (`<cp-1-address>`) for each
   */
  readonly memberAddresses?: { [member: string]: string };
  /**
   * The cluster's etcd version. Each backup records the version the live server reports (tag
   * `etcd-version`); when it differs from this one, the backup is kept, nothing is pruned and the
   * job fails, naming this option: the drill restores with this version's tools and the runbook
   * refuses to restore a snapshot of a newer minor onto it. The default etcd image
   * (`images.etcd`) is this version's `registry.k8s.io/etcd:<version>-0`.
   * @default EtcdVersion.DEFAULT (3.6.11, kubeadm's for Kubernetes 1.34–1.36)
   */
  readonly etcdVersion?: EtcdVersion;
  /**
   * How the etcd tools reach the containers that run our scripts (the cluster's etcd image has
   * no shell from etcd 3.6 on).
   * @default EtcdTools.imageVolume() (the etcd image mounted into the restic image's container; Kubernetes ≥ 1.35)
   */
  readonly etcdTools?: EtcdTools;
}

/**
 * Props of {@link EtcdSnapshotBackup}.
 */
export interface EtcdSnapshotBackupProps extends EtcdSnapshotBackupOptions, BackupDestination {}

/** restic tag of every etcd snapshot this library takes. */
export const ETCD_SNAPSHOT_TAG = 'etcd-snapshot';
/**
 * restic tag (`etcd-revision=<n>`) with the revision the key count is exact for: counted just
 * before the save, so the snapshot's own revision is that one or later. The snapshot step writes
 * `ETCD_REVISION=<n>` and the upload step records each `KEY=value` as the tag `key=value`
 * (lowercase, `_` to `-`): the tag names are decided here and read by the drill's fetch step.
 */
export const ETCD_REVISION_TAG = 'etcd-revision';
/** restic tag (`etcd-keys=<n>`) with the key count at the `etcd-revision` (the snapshot step's ETCD_KEYS). */
export const ETCD_KEYS_TAG = 'etcd-keys';
/**
 * restic tag (`etcd-sha256=<hex>`) with the sha256 `etcdctl snapshot save` appended to the
 * snapshot (its last 32 bytes: the hash of everything before them), recorded by the upload step
 * (restic-upload.sh, CHECKSUM_TRAILER_FILE and CHECKSUM_TAG) and compared by the drill's fetch
 * (restic-fetch.sh, CHECKSUM_TAG) and the runbook.
 */
export const ETCD_SHA256_TAG = 'etcd-sha256';
/**
 * restic tag (`etcd-version=<x.y.z>`) with the version the live etcd server reported when the
 * snapshot was taken (the snapshot step's ETCD_VERSION): the drill and the runbook restore with
 * the tools of that version's minor.
 */
export const ETCD_VERSION_TAG = 'etcd-version';

const PKI_DIR = '/etc/etcd-pki';
/** The user of jobs that read no host files (distroless "nonroot"). */
const BACKUP_DIR = '/backup';
const SNAPSHOT_FILE = `${BACKUP_DIR}/etcd-snapshot.db`;
/**
 * Where a backup holds the snapshot: the directory of its pieces, in order (`cat <dir>/*` joins
 * them into the snapshot file, sha256 trailer included), so that restic deduplicates an hour's
 * churn by the pieces it touched (restic-upload.sh says why and what was measured).
 */
export const ETCD_SNAPSHOT_PIECES_PATH = `${BACKUP_DIR}/etcd-snapshot.parts`;
/** The path of the joined snapshot file, also where backups before the pieces hold it. */
export const ETCD_SNAPSHOT_PATH = SNAPSHOT_FILE;
/** 512 KiB: restic's smallest chunk, so every piece is one whole blob; 256 KiB saved little more (1.3 % instead of 2 %) for twice the pieces. */
const SNAPSHOT_PIECE_BYTES = 512 * 1024;
const SNAPSHOT_META = `${BACKUP_DIR}/etcd-snapshot.env`;
/** When the job started, written by its first container, for the duration in the upload's summary line (not backed up). */
const SUMMARY_START_FILE = `${BACKUP_DIR}/summary-start`;

/**
 * An hourly (by default) CronJob that snapshots etcd, checks the snapshot against the sha256 etcd
 * appended to it, and ships it encrypted to a restic repository, then applies the retention.
 *
 * Containers (in order):
 * 1. `snapshot` (etcd image, init): a quick reachability check, the key count and the revision
 *    it is exact for (one range request, just before the save: the snapshot holds that revision,
 *    and reading the count from the snapshot would map the whole database), then `etcdctl
 *    snapshot save`, configured by `ETCDCTL_*`, bounded by `snapshotTimeout`.
 * 2. `upload` (restic image): checks the snapshot's content against the sha256 `snapshot save`
 *    appended (a corrupt or truncated snapshot fails the job before anything is uploaded), cuts
 *    it into 512 KiB pieces (`ETCD_SNAPSHOT_PIECES_PATH`, so that restic stores only the pieces
 *    an hour's churn touched), then `restic backup` with `--host <cluster>` and tags (revision,
 *    key count, and that sha256 as `etcd-sha256`, which the drill and the runbook compare), then
 *    `restic forget --prune` with the retention, only after a successful backup and only when
 *    the key count did not drop sharply (`keyDropGuard`).
 *
 * With certificates from the host (kubeadm, k3s, RKE2) both run as root with every
 * capability dropped: etcd's client key on the host is 0600 root, and `etcdctl snapshot save`
 * writes the snapshot 0600 for its user; root without capabilities can read files root owns and
 * nothing else. With certificates from a Secret (external etcd) they run as uid 65532.
 */
export class EtcdSnapshotBackup extends BackupJob {
  /** The CronJob. */
  public readonly cronJob: kplus.CronJob;
  /** The repository root the snapshots go to. */
  public readonly repository: BackupRepository;
  /** The restic repository URL the snapshots go to. */
  public readonly resticRepository: string;
  /** restic `--host` of the snapshots. */
  public readonly resticHost: string;
  /** What a sharp drop in the key count does. */
  public readonly keyDropGuard: KeyDropGuard;
  /** Which etcd it snapshots. */
  public readonly source: EtcdSource;
  /** The control-plane nodes its members run on (empty when not given). */
  public readonly controlPlaneNodes: string[];
  /** The address of each member, by member name, as given. */
  public readonly memberAddresses: { [member: string]: string };
  /** The cluster's etcd version. */
  public readonly etcdVersion: EtcdVersion;
  /** How the etcd tools reach the containers. */
  public readonly etcdTools: EtcdTools;
  /** The etcd image (the tools' source with `EtcdTools.imageVolume()`). */
  public readonly etcdImage: string;
  /** The tool the runbook restores with, from the cluster's etcd version. @internal */
  public readonly _restoreTool: EtcdRestoreTool;

  constructor(scope: Construct, id: string, props: EtcdSnapshotBackupProps) {
    super(scope, id, {
      ...props,
      name: props.name ?? `${props.clusterName}-etcd-backup`,
      component: 'etcd-snapshot',
      scripts: ['etcd-snapshot.sh', 'restic-upload.sh'],
      defaultSchedule: Cron.hourly(),
      defaultRetention: Retention.hourly24Daily7Weekly4(),
      alertPrefix: 'EtcdBackup',
      alertGroup: 'etcd',
    });
    if (!props.source) throw configError('EtcdSnapshotBackup: source is required, e.g. EtcdSource.kubeadm()');
    this.resticHost = props.clusterName;
    this.repository = props.repository;
    this.resticRepository = props.repository.resticRepository(`${props.clusterName}/etcd`);
    this.retainRepository(`${props.clusterName}/etcd`, ETCD_SNAPSHOT_TAG);
    this.keyDropGuard = props.keyDropGuard ?? KeyDropGuard.maxDropPercent(50);
    this.source = props.source;
    if (props.controlPlaneNodes !== undefined && !props.source.usesHostPaths) {
      throw configError('EtcdSnapshotBackup: controlPlaneNodes names the nodes of an etcd on the control plane (kubeadm, k3s, RKE2); an external etcd has its own members: remove it');
    }
    this.controlPlaneNodes = checkNodeNames('EtcdSnapshotBackup: controlPlaneNodes', props.controlPlaneNodes ?? []);
    this.memberAddresses = checkMemberAddresses(props.memberAddresses ?? {}, props.source.usesHostPaths ? this.controlPlaneNodes : undefined);
    this.etcdVersion = checkEtcdVersion('EtcdSnapshotBackup: etcdVersion', props.etcdVersion ?? EtcdVersion.DEFAULT);
    this.etcdImage = etcdImageFor('EtcdSnapshotBackup', this.etcdVersion, props.images?.etcd);
    this.etcdTools = checkEtcdTools('EtcdSnapshotBackup: etcdTools', props.etcdTools ?? EtcdTools.imageVolume());
    this._restoreTool = new EtcdRestoreTool(this.etcdVersion);
    const snapshotTimeout = props.snapshotTimeout ?? Duration.minutes(10);
    const deadline = props.activeDeadline ?? BackupDefaults.ACTIVE_DEADLINE;
    if (snapshotTimeout.toSeconds() < 5 || snapshotTimeout.toSeconds() >= deadline.toSeconds()) {
      throw configError(`EtcdSnapshotBackup: snapshotTimeout must be at least 5 seconds and shorter than activeDeadline (${deadline.toSeconds()} s), so the job fails with a message instead of being killed; got ${snapshotTimeout.toSeconds()} s`);
    }
    // The reachability check gets at most 30 s: an etcd that answers nothing in that time is not
    // going to stream a snapshot.
    const reachSeconds = Math.min(30, snapshotTimeout.toSeconds());
    const resticImage = props.images?.restic ?? BackupDefaults.RESTIC_IMAGE;
    const tools = this.etcdTools._bind(this.etcdImage, resticImage);

    const source = props.source;
    // Volumes: the snapshot's (sized), the scripts, the etcd client certificates.
    const workspace = props.workspaceSize ?? Size.gibibytes(9);
    const backupVol = kplus.Volume.fromEmptyDir(this, 'BackupVolume', 'backup', { sizeLimit: workspace });
    const tmpVol = this.tmpVolume(this);
    const scriptsVol = this.scriptsVolume(this);
    const certMounts = etcdCertificateMounts(this, source);

    const etcdEnv: { [name: string]: kplus.EnvValue } = {};
    if (source.endpoint.includes('$(HOST_IP)')) {
      etcdEnv.HOST_IP = kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_IP);
    }
    // No ETCDCTL_API: 3.5's etcdctl speaks v3 by default, and 3.6+ logs every ETCDCTL_* variable it
    // does not know as a warning on stderr (etcd v3.6.14 pkg/flags SetPflagsFromEnv, etcdctl/main.go).
    Object.assign(etcdEnv, {
      ETCDCTL_ENDPOINTS: kplus.EnvValue.fromValue(source.endpoint),
      ETCDCTL_CACERT: kplus.EnvValue.fromValue(`${PKI_DIR}/ca.crt`),
      ETCDCTL_CERT: kplus.EnvValue.fromValue(`${PKI_DIR}/client.crt`),
      ETCDCTL_KEY: kplus.EnvValue.fromValue(`${PKI_DIR}/client.key`),
      ETCDCTL_DIAL_TIMEOUT: kplus.EnvValue.fromValue('10s'),
    });

    // Host certificates are 0600 root: reading them takes root (with no capabilities). Certificates
    // from a Secret are mounted group-readable for the pod's fsGroup, so that job runs non-root.
    const user = source.usesHostPaths ? 0 : BackupDefaults.NON_ROOT_UID;
    const root = hardenedContainer(user, user);
    const res = props.resources ?? {};
    this.cronJob = this.addCronJob(this, {
      description: `etcd snapshot of cluster ${props.clusterName}`,
      failureAdvice: 'The Job failed after its retries. Its log says whether the snapshot (etcd unreachable, or too slow for '
        + '`snapshotTimeout`), the check of its sha256 or the upload failed; nothing was pruned after a failed upload. If it says DATA LOSS '
        + 'SUSPECTED, etcd holds far fewer keys than the newest accepted snapshot: every snapshot is kept and nothing is pruned until you '
        + 'decide. Restore from the snapshot the log names, or, if the drop was intended, accept it with the '
        + '`restic tag --remove count-drop` command the log prints (it names the snapshot'
        + `${props.repository.splitRoles ? '; run it with the maintainer\'s keys: the tag rewrites the snapshot, which the backup jobs\' keys cannot delete' : ''}).`,
      hostNetwork: source.hostNetwork,
      nodeSelector: source.nodeSelector,
      tolerations: source.tolerations,
      user,
      initContainers: [
        {
          name: 'snapshot',
          image: tools.image,
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          command: ['/bin/sh', '/scripts/etcd-snapshot.sh'],
          envVariables: {
            ...etcdEnv,
            SNAPSHOT_FILE: kplus.EnvValue.fromValue(SNAPSHOT_FILE),
            SNAPSHOT_META: kplus.EnvValue.fromValue(SNAPSHOT_META),
            ETCD_REACH_TIMEOUT: kplus.EnvValue.fromValue(`${reachSeconds}s`),
            ETCD_SNAPSHOT_TIMEOUT: kplus.EnvValue.fromValue(`${snapshotTimeout.toSeconds()}s`),
            SUMMARY_START_FILE: kplus.EnvValue.fromValue(SUMMARY_START_FILE),
            ...(tools.toolsDir ? { ETCD_TOOLS_DIR: kplus.EnvValue.fromValue(tools.toolsDir) } : {}),
          },
          volumeMounts: [
            { path: BACKUP_DIR, volume: backupVol },
            { path: '/scripts', volume: scriptsVol, readOnly: true },
            ...certMounts,
          ],
          securityContext: root,
          resources: containerResources('EtcdSnapshotBackup: resources.snapshot', res.snapshot, 100, 1000, 64, 256),
        },
      ],
      containers: [resticUploadContainer(this, {
        repository: props.repository,
        resticRepository: this.resticRepository,
        image: resticImage,
        retention: this.retention!,
        resources: containerResources('EtcdSnapshotBackup: resources.upload', res.upload, 100, 1000, 256, 1024),
        scriptsVolume: scriptsVol,
        tmpVolume: tmpVol,
        source: uploadFileInPieces(SNAPSHOT_FILE, ETCD_SNAPSHOT_PIECES_PATH, SNAPSHOT_PIECE_BYTES),
        host: this.resticHost,
        tag: ETCD_SNAPSHOT_TAG,
        env: {
          BACKUP_META: kplus.EnvValue.fromValue(SNAPSHOT_META),
          CHECKSUM_TRAILER_FILE: kplus.EnvValue.fromValue(SNAPSHOT_FILE),
          CHECKSUM_TAG: kplus.EnvValue.fromValue(ETCD_SHA256_TAG),
          SUMMARY_START_FILE: kplus.EnvValue.fromValue(SUMMARY_START_FILE),
          // The live server's version must be the one the drill and the runbook restore with.
          META_MUST_MATCH: kplus.EnvValue.fromValue(`${ETCD_VERSION_TAG}=${this.etcdVersion.version}`),
          META_MISMATCH_ADVICE: kplus.EnvValue.fromValue(`etcdVersion says ${this.etcdVersion.version}: the restore drill restores with that version's tools, and the runbook refuses a snapshot of a newer minor. `
            + 'If the cluster\'s etcd was upgraded (or downgraded), set the backup\'s etcdVersion to what the server reports (and images.etcd, if set) and deploy; until then every run is kept and fails like this.'),
          ...(this.keyDropGuard.percent === undefined ? {} : {
            DROP_GUARD_TAG: kplus.EnvValue.fromValue(ETCD_KEYS_TAG),
            DROP_GUARD_MAX_PERCENT: kplus.EnvValue.fromValue(String(this.keyDropGuard.percent)),
          }),
        },
        // Writable: the snapshot is cut into its pieces in place.
        mounts: [{ path: BACKUP_DIR, volume: backupVol }],
        user,
      })],
      imageVolumes: tools.imageVolume ? [{ ...tools.imageVolume, containers: ['snapshot'] }] : [],
    });
  }

  /** @internal */
  public _planFacts(): JobPlanFacts {
    const guard = this.keyDropGuard.percent === undefined ? 'no guard against a sharp drop in keys (acknowledged data loss)'
      : `a drop of more than ${this.keyDropGuard.percent} % in keys against the newest accepted snapshot fails the job and stops pruning`;
    return {
      ...super._planFacts(),
      title: `etcd snapshots: ${this.name}`,
      what: [
        `Snapshots the ${this.source.distribution.name} etcd at \`${this.source.endpoint}\` and checks it against its sha256; ${guard}.`,
        `Expects etcd ${this.etcdVersion.version} (\`etcdVersion\`; a server that reports another version fails the job, its backup kept); `
          + (this.etcdTools.mountsEtcdImage
            ? `the etcd tools are the image \`${this.etcdImage}\`'s, mounted as an image volume (Kubernetes ≥ 1.35) into the restic image's shell.`
            : `the etcd tools come from the shell image \`${this.etcdTools._shellImage}\`.`),
      ],
      writesTo: [{ resticRepository: this.resticRepository }],
    };
  }

  /**
   * The etcd restore: fetch the newest verified snapshot on a workstation and copy it to every
   * member, then the steps of the situation the operator is in, from the distribution.
   */
  public restoreSection(): string {
    const restic = this.repository._workstationRestic(this.resticRepository);
    const select = ['--no-lock', '--host', this.resticHost, '--tag', ETCD_SNAPSHOT_TAG];
    const fetched = `/tmp/etcd-restore${SNAPSHOT_FILE}`;
    const onNode = '/tmp/etcd-snapshot.db';
    const versionFetched = '/tmp/etcd-restore/etcd-version';
    const versionOnNode = '/tmp/etcd-snapshot.etcd-version';
    const nodes = this.restoreNodes();
    const ctx: RestoreContext = {
      clusterName: this.clusterName,
      nodes,
      snapshotOnNode: onNode,
      versionOnNode,
      tool: this._restoreTool,
      certs: this.source.usesHostPaths ? this.source.certificates : { ca: '<etcd-ca.crt>', cert: '<etcd-client.crt>', key: '<etcd-client.key>' },
      dataDir: this.source.distribution.etcdDataDir!,
    };
    const restore = this.source.distribution._restore;
    const scenarios = [restore.quorumLost(ctx), restore.memberLost(ctx)];
    const fetch: RunbookBlock = {
      on: [WORKSTATION],
      title: 'fetch the newest verified snapshot, check it is the one the backup verified (its sha256 trailer against the etcd-sha256 tag; the restore checks the content against the trailer) '
        + 'and that the cluster\'s etcd can run it (its etcd-version tag: the restore uses that version\'s tools, and a newer minor than the cluster\'s is refused), and copy both to every member',
      lines: [
        `${shellWords(...restic, 'snapshots', ...select)}   # tags: ${ETCD_REVISION_TAG}, ${ETCD_KEYS_TAG}, ${ETCD_SHA256_TAG}, ${ETCD_VERSION_TAG}`,
        shellWords('rm', '-rf', '/tmp/etcd-restore'),
        shellWords(...restic, 'restore', 'latest', ...select, '--target', '/tmp/etcd-restore'),
        // The backup holds the snapshot as pieces (older backups: the file itself); join them in
        // order. The glob is expanded by that `sh`, after the restore: every word of the pasted
        // line is literal, whatever the operator's shell and its glob options.
        shellWords('sh', '-c', 'test -e "$2" || cat "$1"/p* > "$2"', 'sh', `/tmp/etcd-restore${ETCD_SNAPSHOT_PIECES_PATH}`, fetched),
        `sha=$(${shellWords(...restic, 'snapshots', ...select, '--latest', '1', '--json')} | grep -o '"${ETCD_SHA256_TAG}=[0-9a-f]*"' | cut -d= -f2 | tr -d '"')`,
        `actual=$(${shellWords('tail', '-c', '32', fetched)} | od -An -v -tx1 | tr -d ' \\n')`,
        `test "\${actual}" = "\${sha}" || { echo "the sha256 trailer \${actual} is not the ${ETCD_SHA256_TAG} tag \${sha}: do not restore this file" >&2; exit 1; }`,
        ...this._restoreTool.snapshotVersionLines(shellWords(...restic, 'snapshots', ...select, '--latest', '1', '--json'), versionFetched),
        ...nodes.flatMap((n) => [shellWords('scp', fetched, `${n.address}:${onNode}`), shellWords('scp', versionFetched, `${n.address}:${versionOnNode}`)]),
      ],
    };
    const memberWord = this.source.usesHostPaths ? 'control-plane node' : 'etcd member';
    const lines = [
      '## etcd, from the newest verified snapshot',
      '',
      `Which situation are you in? (The ${memberWord}s: ${nodes.map((n) => `\`${n.name}\``).join(', ')}; each block says where it runs.)`,
      '',
      ...scenarios.map((sc) => `- **${sc.title}**: ${sc.when}.`),
      '- **One namespace or application lost**, etcd fine: no etcd restore; restore it with Velero (below).',
      '',
      ...renderScenario({ title: 'Fetch the snapshot', when: 'first, for a restore of etcd from a snapshot', blocks: [fetch] }, '###'),
      ...scenarios.flatMap((sc) => renderScenario(sc, '###')),
      `**After a snapshot restore** (quorum lost or the whole cluster): \`kubectl get nodes\` answers, and the key count is close to the snapshot's \`${ETCD_KEYS_TAG}\` tag. `
        + 'The snapshot brought back every PersistentVolume and PVC object as it was: `velero restore` skips objects that exist, so it restores no volume data '
        + 'for them; to restore lost volume data with Velero, delete the affected namespace first (or restore into another with `--namespace-mappings`).',
      '',
    ];
    return lines.join('\n');
  }

  /** The members, with the addresses given or placeholders the runbook names. */
  private restoreNodes(): RestoreNode[] {
    const names = this.source.usesHostPaths ? this.controlPlaneNodes : Object.keys(this.memberAddresses);
    if (names.length === 0) return [{ name: '<node>', address: '<node-address>' }];
    return names.map((name) => ({ name, address: this.memberAddresses[name] ?? `<${name}-address>` }));
  }
}

/** The three certificate files, read-only: from the host (only those files) or from a Secret. */
function etcdCertificateMounts(scope: Construct, source: EtcdSource): kplus.VolumeMount[] {
  if (source.tlsSecret) {
    const secret = kplus.Secret.fromSecretName(scope, 'EtcdTlsSecret', source.tlsSecret);
    const vol = kplus.Volume.fromSecret(scope, 'EtcdCertsVolume', secret, {
      name: 'etcd-certs',
      defaultMode: 0o440,
      items: {
        [source.certificates.ca]: { path: 'ca.crt' },
        [source.certificates.cert]: { path: 'client.crt' },
        [source.certificates.key]: { path: 'client.key' },
      },
    });
    return [{ path: PKI_DIR, volume: vol, readOnly: true }];
  }
  // `File` fails the pod before it starts if one is missing.
  const files: Array<[string, string, string]> = [
    ['etcd-ca', source.certificates.ca, 'ca.crt'],
    ['etcd-client-cert', source.certificates.cert, 'client.crt'],
    ['etcd-client-key', source.certificates.key, 'client.key'],
  ];
  return files.map(([volName, hostPath, file]) => ({
    path: `${PKI_DIR}/${file}`,
    volume: kplus.Volume.fromHostPath(scope, `${volName}-volume`, volName, { path: hostPath, type: kplus.HostPathVolumeType.FILE }),
    readOnly: true,
  }));
}

/** An EtcdVersion (untyped code can pass anything). @internal */
export function checkEtcdVersion(option: string, version: unknown): EtcdVersion {
  if (!(version instanceof EtcdVersion)) {
    throw configError(`${option}: expected an EtcdVersion, e.g. EtcdVersion.of('3.6.11') or EtcdVersion.V3_6_11; got ${JSON.stringify(version)}`);
  }
  return version;
}

/**
 * The etcd image: the given one, whose tag (when it names a version) must be the etcd version, or
 * the Kubernetes project's image of that version.
 * @internal
 */
export function etcdImageFor(construct: string, version: EtcdVersion, image: string | undefined): string {
  if (image === undefined) return version.image;
  const tagged = /:v?(\d+\.\d+\.\d+)(-\d+)?(@sha256:[0-9a-f]+)?$/.exec(image)?.[1];
  if (tagged !== undefined && tagged !== version.version) {
    throw configError(`${construct}: images.etcd ${JSON.stringify(image)} is etcd ${tagged}, but etcdVersion is ${version.version}: `
      + `set etcdVersion: EtcdVersion.of('${tagged}') if the cluster runs ${tagged}, or use the image of ${version.version} (${version.image})`);
  }
  return image;
}

function checkMemberAddresses(addresses: { [member: string]: string }, nodes: string[] | undefined): { [member: string]: string } {
  const C = 'EtcdSnapshotBackup: memberAddresses';
  for (const [member, address] of Object.entries(addresses)) {
    if (nodes !== undefined && !nodes.includes(member)) {
      throw configError(`${C}: ${JSON.stringify(member)} is not one of controlPlaneNodes (${nodes.join(', ') || 'none given'})`);
    }
    checkNodeNames(`${C} (member names)`, [member]);
    if (typeof address !== 'string' || !isHost(address)) {
      throw configError(`${C}.${member}: expected an IPv4 address, a bracketed IPv6 address or a DNS name its peers reach it at; got ${JSON.stringify(address)}`);
    }
  }
  return { ...addresses };
}
