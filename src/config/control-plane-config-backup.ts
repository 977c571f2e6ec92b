import { createHash } from 'crypto';
import * as posixPath from 'path';
import { Cron } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { EtcdSource } from '../etcd/etcd-source';
import { renderScenario, RunbookBlock } from '../etcd/restore-procedure';
import { configError } from '../internal/errors';
import { checkDnsLabel, checkNodeNames } from '../internal/names';
import { checkHostPath } from '../internal/paths';
import { shellWords } from '../internal/shell';
import { BackupDefaults } from '../job/backup-defaults';
import { BackupJob } from '../job/backup-job';
import { BackupDestination, BackupJobOptions } from '../job/backup-job-options';
import { containerResources, ResourceRequirements } from '../job/resource-requirements';
import { resticUploadContainer, uploadPathList } from '../job/restic-step';
import { JobPlanFacts } from '../plan/job-plan';
import { Retention } from '../policy/retention';
import { BackupRepository } from '../repository/backup-repository';

/**
 * Options of a {@link ControlPlaneConfigBackup} (what `ClusterBackup` takes as
 * `controlPlaneConfig`; it gives the source from its etcd).
 */
export interface ControlPlaneConfigOptions extends BackupJobOptions {
  /**
   * Names of EVERY control-plane node (as in `kubectl get nodes`). Each node gets its own
   * CronJob pinned to it, its own restic host and its own repository path.
   */
  readonly nodes: string[];
  /**
   * Host directories to back up (absolute, normalized paths of letters, digits, `.`, `_`, `-`,
   * `+` and `@`; mounted read-only at the same path). Optional files inside them (e.g. kubeadm
   * ≥ 1.29's super-admin.conf) simply go along when present.
   * @default - kubeadm: /etc/kubernetes; k3s/RKE2: server/tls, server/cred, server/manifests and /etc/rancher/<k3s|rke2>
   */
  readonly paths?: string[];
  /**
   * Single host files to back up (absolute paths, as in `paths`). Each must exist on every node: a
   * missing one keeps the pod from starting.
   * @default - kubeadm: /var/lib/kubelet/config.yaml; k3s/RKE2: server/token
   */
  readonly files?: string[];
  /**
   * restic exclude patterns (e.g. `/etc/kubernetes/tmp`, `*.bak`), matched literally: restic
   * expands `$NAME` in exclude files from its environment, which holds the repository password
   * and the storage keys, so every `$` is written escaped (`$$`) and means a `$` in a file name.
   * @default - nothing excluded
   */
  readonly exclude?: string[];
  /**
   * Paths that must exist, or the job fails before uploading anything (absolute paths, as in `paths`).
   * @default - the cluster CA and service-account key and the static-pod manifests (kubeadm), the server CA and token (k3s/RKE2)
   */
  readonly requiredPaths?: string[];
  /**
   * Host path of the API server's `--encryption-provider-config` file (an absolute path, as in
   * `paths`). Without its keys, Secrets restored from an etcd snapshot stay unreadable: back it up
   * with the rest. Required when set.
   * @default - k3s/RKE2: their cred/encryption-config.json is inside the default paths; kubeadm: none
   */
  readonly encryptionProviderConfig?: string;
  /**
   * Prefix of the CronJob names (`<prefix>-<node>`, at most 52 characters in all; long node
   * names are shortened with a hash).
   * @default `${clusterName}-config`
   */
  readonly namePrefix?: string;
  /**
   * Resources of the `upload` container.
   * @default - 100m/1 CPU, 128Mi/512Mi memory
   */
  readonly resources?: ResourceRequirements;
}

/**
 * Props of {@link ControlPlaneConfigBackup}.
 */
export interface ControlPlaneConfigBackupProps extends ControlPlaneConfigOptions, BackupDestination {
  /**
   * The control plane's distribution (the same `EtcdSource` as the etcd backup): it decides the
   * default paths and the tolerations. `EtcdSource.external()` has no default paths: set
   * `paths`, `files` and `requiredPaths`.
   */
  readonly source: EtcdSource;
}

/** restic tag of every control-plane config backup. */
export const CONTROL_PLANE_CONFIG_TAG = 'control-plane-config';


/** Paths the restic container itself needs: a host mount there would break it. */
const RESERVED = ['/bin', '/sbin', '/usr', '/lib', '/proc', '/sys', '/dev', '/tmp', '/scripts', '/etc/ssl', '/etc/backup-repository'];

/**
 * Archives each control-plane node's configuration — certificates and keys (PKI), static-pod
 * manifests, kubeconfigs, kubelet config, the encryption-at-rest config — with restic, one
 * CronJob per node.
 *
 * Why one CronJob per node and not an Indexed Job: each CronJob is pinned to its node by name,
 * so a node that is down shows up as that node's failed job (and alert) instead of silently
 * moving a pod elsewhere; each node's restic host, repository path, lock and retention are its
 * own. The cost is one object per node: the node list lives in the chart, so adding a
 * control-plane node means adding its name.
 *
 * The container runs as root with only `DAC_READ_SEARCH` (read files of other users, e.g.
 * 0600 keys); host paths are mounted read-only at their own paths, so a restore puts every file
 * back where it was, with its mode and owner.
 */
export class ControlPlaneConfigBackup extends BackupJob {
  /** The control-plane nodes, in the order given. */
  public readonly nodes: string[];
  /** Where the backups go. */
  public readonly repository: BackupRepository;
  /** The restic repository URL of each node. */
  public readonly resticRepositories: { [node: string]: string };
  /** The directories backed up. */
  public readonly paths: string[];
  /** The single files backed up. */
  public readonly files: string[];

  constructor(scope: Construct, id: string, props: ControlPlaneConfigBackupProps) {
    const C = 'ControlPlaneConfigBackup';
    const prefix = props.namePrefix ?? `${props.clusterName}-config`;
    checkDnsLabel(`${C}: namePrefix${props.namePrefix ? '' : ' (from clusterName)'}`, prefix, 44);
    super(scope, id, {
      ...props,
      name: prefix,
      component: 'control-plane-config',
      scripts: ['restic-upload.sh'],
      defaultSchedule: Cron.daily(),
      defaultRetention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }),
      alertPrefix: 'ControlPlaneConfigBackup',
      alertGroup: 'control-plane-config',
    });
    if (!props.source) throw configError(`${C}: source is required, e.g. EtcdSource.kubeadm()`);

    const defaults = props.source.distribution.controlPlaneConfig;
    if (!defaults && (props.paths === undefined || props.requiredPaths === undefined)) {
      throw configError(`${C}: the distribution ${JSON.stringify(props.source.distribution.name)} has no default config paths; set paths (and files) and requiredPaths explicitly`);
    }
    this.paths = checkPaths(`${C}: paths`, props.paths ?? defaults!.paths);
    this.files = checkPaths(`${C}: files`, props.files ?? defaults?.files ?? []);
    const required = checkPaths(`${C}: requiredPaths`, props.requiredPaths ?? defaults!.requiredPaths);
    if (props.encryptionProviderConfig !== undefined) {
      const [file] = checkPaths(`${C}: encryptionProviderConfig`, [props.encryptionProviderConfig]);
      if (!this.paths.some((p) => within(file, p)) && !this.files.includes(file)) this.files = [...this.files, file];
      if (!required.includes(file)) required.push(file);
    }
    if (this.paths.length + this.files.length === 0) {
      throw configError(`${C}: paths and files are both empty: nothing to back up`);
    }
    checkNoOverlap(C, [...this.paths, ...this.files]);
    for (const r of required) {
      if (!this.paths.some((p) => within(r, p)) && !this.files.includes(r)) {
        const which = props.requiredPaths === undefined ? ` (${props.source.distribution.name}'s default: a rebuilt node needs it)` : '';
        throw configError(`${C}: requiredPaths${which}: ${r} is not inside any backed-up path (${[...this.paths, ...this.files].join(', ')}); add it to paths or files${which ? ', or set requiredPaths yourself' : ''}`);
      }
    }
    const exclude = checkExcludes(C, props.exclude ?? [], [...this.paths, ...this.files], required);

    const nodes = props.nodes;
    if (!nodes || nodes.length === 0) {
      throw configError(`${C}: nodes must list every control-plane node by name (kubectl get nodes -l node-role.kubernetes.io/control-plane)`);
    }
    checkNodeNames(`${C}: nodes`, nodes);
    const lines = (xs: string[]) => xs.map((x) => `${x}\n`).join('');
    this.addScriptFile('backup-paths.txt', lines([...this.paths, ...this.files]));
    this.addScriptFile('required-paths.txt', lines(required));
    // restic expands $NAME in exclude files (os.Expand; `$$` is a literal `$`, restic docs
    // "Excluding files"; measured with 0.18.0): never from this container's secrets.
    if (exclude.length > 0) this.addScriptFile('exclude.txt', lines(exclude.map((e) => e.replace(/\$/g, '$$$$'))));
    const restic = props.images?.restic ?? BackupDefaults.RESTIC_IMAGE;
    const source = uploadPathList('/scripts/backup-paths.txt', {
      excludeFile: exclude.length > 0 ? '/scripts/exclude.txt' : undefined,
      requiredFile: '/scripts/required-paths.txt',
    });

    this.nodes = [...nodes];
    this.repository = props.repository;
    this.resticRepositories = {};
    for (const node of nodes) {
      const nodeScope = new Construct(this, node);
      const resticRepository = props.repository.resticRepository(`${props.clusterName}/config/${node}`);
      this.retainRepository(`${props.clusterName}/config/${node}`, CONTROL_PLANE_CONFIG_TAG);
      this.resticRepositories[node] = resticRepository;
      const scriptsVol = this.scriptsVolume(nodeScope);
      const tmpVol = this.tmpVolume(nodeScope);
      const hostMounts: kplus.VolumeMount[] = [
        ...this.paths.map((p) => hostMount(nodeScope, p, kplus.HostPathVolumeType.DIRECTORY)),
        ...this.files.map((f) => hostMount(nodeScope, f, kplus.HostPathVolumeType.FILE)),
      ];
      this.addCronJob(nodeScope, {
        name: jobName(prefix, node),
        description: `control-plane config of node ${node}`,
        failureAdvice: 'The Job of a node (its `node` label) failed after its retries. Its log says whether a required path was missing '
          + 'on the node (nothing uploaded), a file was unreadable (restic exit 3: the incomplete snapshot was removed) or the upload '
          + 'failed; nothing was pruned after a failed upload.',
        labels: { 'backup.cdk8s.io/node': nodeLabel(node) },
        tolerations: props.source.tolerations,
        nodeName: node,
        containers: [resticUploadContainer(nodeScope, {
          repository: props.repository,
          resticRepository,
          image: restic,
          retention: this.retention!,
          resources: containerResources(`${C}: resources`, props.resources, 100, 1000, 128, 512),
          scriptsVolume: scriptsVol,
          tmpVolume: tmpVol,
          source,
          host: '$(NODE_NAME)',
          tag: CONTROL_PLANE_CONFIG_TAG,
          env: { NODE_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.NODE_NAME) },
          mounts: hostMounts,
          capabilities: [kplus.Capability.DAC_READ_SEARCH],
        })],
      });
    }
  }

  /** @internal */
  public _planFacts(): JobPlanFacts {
    const files = [...this.paths, ...this.files].map((p) => `\`${p}\``).join(', ');
    return {
      ...super._planFacts(),
      title: `Control-plane config: ${this.name}-<node>`,
      what: [`Archives ${files} of ${this.nodes.length === 1 ? 'the control-plane node' : `each of the ${this.nodes.length} control-plane nodes`}, one CronJob per node.`],
      writesTo: this.nodes.map((node) => ({ label: node, resticRepository: this.resticRepositories[node] })),
    };
  }

  /**
   * Per node, on that node: restore its newest snapshot as root (restic keeps owners and modes)
   * into a scratch dir, then copy each path back in place.
   */
  public restoreSection(): string {
    const blocks: RunbookBlock[] = this.nodes.map((node) => {
      const restic = this.repository._rootRestic(this.resticRepositories[node]);
      const select = ['--no-lock', '--host', node, '--tag', CONTROL_PLANE_CONFIG_TAG];
      const target = `/tmp/${node}-config`;
      return {
        on: [node],
        title: `restore ${node}'s config`,
        lines: [
          'restic version | grep -E \'^restic 0[.](1[4-9]|[2-9][0-9])[.]\' >/dev/null || { echo \'restic 0.14.0 or newer is needed on this node (a static binary from github.com/restic/restic/releases)\' >&2; exit 1; }',
          shellWords(...restic, 'snapshots', ...select),
          shellWords(...restic, 'restore', 'latest', ...select, '--target', target),
          // A rebuilt node may lack the parents: cp does not create them.
          ...this.paths.flatMap((dir) => [shellWords('sudo', 'mkdir', '-p', dir), shellWords('sudo', 'cp', '-a', `${target}${dir}/.`, `${dir}/`)]),
          ...this.files.flatMap((file) => [shellWords('sudo', 'mkdir', '-p', posixPath.posix.dirname(file)), shellWords('sudo', 'cp', '-a', `${target}${file}`, file)]),
        ],
      };
    });
    return [
      ...renderScenario({
        title: 'Control-plane config, on each rebuilt control-plane node',
        when: 'a control-plane node was rebuilt (reinstalled with the same Kubernetes version, its kubelet stopped): before anything else on it',
        intro: 'On each node, with the Keys section\'s exports and `ca.crt` (if any) in the directory you run it from.',
        blocks,
      }, '##'),
    ].join('\n');
  }
}

function hostMount(scope: Construct, hostPath: string, type: kplus.HostPathVolumeType): kplus.VolumeMount {
  const name = volumeName(hostPath);
  return {
    path: hostPath,
    volume: kplus.Volume.fromHostPath(scope, name, name, { path: hostPath, type }),
    readOnly: true,
  };
}

/** `/etc/kubernetes` → `host-etc-kubernetes` (≤ 63 characters, unique by a hash if shortened). */
function volumeName(hostPath: string): string {
  const slug = `host-${hostPath.slice(1).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/-+$/, '')}`;
  return slug.length <= 63 ? slug : `${slug.slice(0, 56).replace(/-+$/, '')}-${hash(hostPath)}`;
}

/** `<prefix>-<node>` with dots as dashes; shortened with a hash of the node name when too long. */
function jobName(prefix: string, node: string): string {
  const full = `${prefix}-${node.replace(/\./g, '-')}`;
  if (full.length <= 52) return full;
  return `${full.slice(0, 52 - 7).replace(/-+$/, '')}-${hash(node)}`;
}

/** Node names can exceed a label value's 63 characters. */
function nodeLabel(node: string): string {
  return node.length <= 63 ? node : `${node.slice(0, 56).replace(/[-.]+$/, '')}-${hash(node)}`;
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 6);
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

function checkPaths(option: string, paths: string[]): string[] {
  for (const p of paths) {
    // Besides mounts, the paths become lines of restic's file lists and words of the runbook.
    checkHostPath(option, p, '/etc/kubernetes');
    if (p.split('/').length < 3) {
      throw configError(`${option}: ${JSON.stringify(p)} is a top-level directory; back up the directories you need below it (e.g. /etc/kubernetes, not /etc)`);
    }
    const reserved = RESERVED.find((r) => within(p, r) || within(r, p));
    if (reserved) {
      throw configError(`${option}: ${JSON.stringify(p)} overlaps ${reserved}, which the backup container needs for itself`);
    }
  }
  return [...paths];
}

function checkNoOverlap(construct: string, paths: string[]): void {
  for (const a of paths) {
    for (const b of paths) {
      if (a !== b && within(a, b)) throw configError(`${construct}: ${a} is inside ${b}, which is already backed up; list it once`);
    }
    if (paths.indexOf(a) !== paths.lastIndexOf(a)) throw configError(`${construct}: ${a} is listed twice`);
  }
}

function checkExcludes(construct: string, exclude: string[], paths: string[], required: string[]): string[] {
  for (const e of exclude) {
    if (!e || /[\n\r]/.test(e) || e !== e.trim()) {
      throw configError(`${construct}: exclude: ${JSON.stringify(e)} is not a restic exclude pattern (one non-empty pattern, no surrounding whitespace)`);
    }
    if (/^\/?\**$/.test(e)) {
      throw configError(`${construct}: exclude: ${JSON.stringify(e)} excludes everything`);
    }
  }
  // A plain-path pattern removes that path and everything below it.
  const excluded = (p: string) => exclude.some((e) => !/[*?[]/.test(e) && within(p, e));
  if (paths.every(excluded)) {
    throw configError(`${construct}: exclude removes every backed-up path (${paths.join(', ')}); nothing would be backed up`);
  }
  const lost = required.filter(excluded);
  if (lost.length > 0) throw configError(`${construct}: exclude removes required paths: ${lost.join(', ')}`);
  return [...exclude];
}
