import { ApiObject, ApiObjectMetadata, Cron, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BackupJobOptions, DEFAULT_ETCD_IMAGE, DEFAULT_RESTIC_IMAGE } from '../backup-job-options';
import { hardenedContainer } from './hardening';
import { checkDnsLabel, checkTimeZone } from './names';
import { checkSchedule, longestGapHours } from './schedule';
import { Retention } from '../policy/retention';
import { BackupRepository, RepositoryFile } from '../repository/backup-repository';

/**
 * Options resolved and checked once for a backup construct.
 * @internal
 */
export interface ResolvedJobOptions {
  readonly schedule: string;
  readonly retention: Retention;
  readonly images: { readonly etcd: string; readonly restic: string };
}

/**
 * Checks the options every backup construct shares and applies the construct's defaults.
 * @internal
 */
export function resolveJobOptions(construct: string, o: BackupJobOptions, defaults: { schedule: Cron; retention: Retention }): ResolvedJobOptions {
  if (!o.repository) throw new Error(`${construct}: repository is required, e.g. BackupRepository.s3({...})`);
  checkDnsLabel(`${construct}: clusterName`, o.clusterName, 63);
  if (o.backoffLimit !== undefined && (!Number.isInteger(o.backoffLimit) || o.backoffLimit < 0 || o.backoffLimit > 10)) {
    throw new Error(`${construct}: backoffLimit must be a whole number from 0 to 10; got ${o.backoffLimit}`);
  }
  if (o.priorityClassName !== undefined) checkDnsLabel(`${construct}: priorityClassName`, o.priorityClassName, 253);
  if (o.timeZone !== undefined) checkTimeZone(`${construct}: timeZone`, o.timeZone);
  const schedule = checkSchedule(`${construct}: schedule`, o.schedule ?? defaults.schedule);
  const retention = o.retention ?? defaults.retention;
  const finest = retention.finestPeriodHours;
  const gap = longestGapHours(schedule);
  if (finest !== undefined && gap > finest && !o.allowRetentionFinerThanSchedule) {
    throw new Error(`${construct}: retention (${retention}) keeps backups per ${finest === 1 ? 'hour' : `${finest} hours`}, but the schedule ${JSON.stringify(schedule)} runs only every ${gap} hours at worst; run more often, use a coarser retention, or set allowRetentionFinerThanSchedule: true`);
  }
  const images = { etcd: o.images?.etcd ?? DEFAULT_ETCD_IMAGE, restic: o.images?.restic ?? DEFAULT_RESTIC_IMAGE };
  for (const [k, v] of Object.entries(images)) {
    if (!/^[a-z0-9]+([._\-/:@][a-zA-Z0-9_.-]+)+$/.test(v)) {
      throw new Error(`${construct}: images.${k} must be an image reference like registry.example.com/etcd:3.5.16-0; got ${JSON.stringify(v)}`);
    }
  }
  return { schedule, retention, images };
}

/**
 * The `upload` container: restic backup of what it is given, then forget --prune with the
 * retention (assets/restic-upload.sh). Environment first, then repository access.
 * @internal
 */
export interface ResticUploadProps {
  readonly repository: BackupRepository;
  readonly resticRepository: string;
  readonly image: string;
  readonly retention: Retention;
  readonly resources: kplus.ContainerResources;
  readonly scriptsVolume: kplus.Volume;
  readonly tmpVolume: kplus.Volume;
  /** Inputs of the script (BACKUP_HOST, BACKUP_TAG, BACKUP_DIR or BACKUP_FILES_FROM, ...). */
  readonly env: { [name: string]: kplus.EnvValue };
  /** What is backed up (read-only mounts). */
  readonly mounts: kplus.VolumeMount[];
  /** Extra capabilities (e.g. DAC_READ_SEARCH to read other users' files). */
  readonly capabilities?: kplus.Capability[];
  /** User (and group) to run as. @default 0 (root) */
  readonly user?: number;
}

/**
 * The environment and mounts every restic container needs to reach a repository: URL, password,
 * backend credentials (all as Secret references), CA bundle, and writable scratch for a
 * read-only root filesystem.
 * @internal
 */
export function resticRepositoryAccess(scope: Construct, repo: BackupRepository, resticRepository: string): {
  env: { [name: string]: kplus.EnvValue }; mounts: kplus.VolumeMount[];
} {
  const env: { [name: string]: kplus.EnvValue } = {
    RESTIC_REPOSITORY: kplus.EnvValue.fromValue(resticRepository),
    RESTIC_PASSWORD: secretEnv(scope, 'RepositoryPassword', repo.encryption.password.name, repo.encryption.password.key),
  };
  for (const e of repo._env()) {
    env[e.name] = e.secret ? secretEnv(scope, `Env${e.name}`, e.secret.name, e.secret.key) : kplus.EnvValue.fromValue(e.value!);
  }
  const caPath = repo._caCertPath();
  if (caPath) env.RESTIC_CACERT_FILE = kplus.EnvValue.fromValue(caPath);
  // The root filesystem is read-only: restic's temporary packs and cache go to an emptyDir.
  env.TMPDIR = kplus.EnvValue.fromValue('/tmp');
  env.RESTIC_CACHE_DIR = kplus.EnvValue.fromValue('/tmp/restic-cache');
  const mounts = repo._files().map((f) => ({ path: f.mountPath, volume: repositoryFileVolume(scope, f), readOnly: true }));
  return { env, mounts };
}

/** @internal */
export function resticUploadContainer(scope: Construct, p: ResticUploadProps): kplus.ContainerProps {
  const access = resticRepositoryAccess(scope, p.repository, p.resticRepository);
  return {
    name: 'upload',
    image: p.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: ['/bin/sh', '/scripts/restic-upload.sh'],
    args: p.retention.toResticForgetArgs(),
    envVariables: { ...p.env, ...access.env },
    volumeMounts: [
      ...p.mounts,
      { path: '/tmp', volume: p.tmpVolume },
      { path: '/scripts', volume: p.scriptsVolume, readOnly: true },
      ...access.mounts,
    ],
    securityContext: hardenedContainer(p.user ?? 0, p.user ?? 0, p.capabilities),
    resources: p.resources,
  };
}

function repositoryFileVolume(scope: Construct, f: RepositoryFile): kplus.Volume {
  const items = { [(f.secret ?? f.configMap)!.key]: { path: f.fileName } };
  return f.secret
    ? kplus.Volume.fromSecret(scope, `${f.volume}-volume`, kplus.Secret.fromSecretName(scope, `${f.volume}-secret`, f.secret.name), { name: f.volume, items, defaultMode: 0o444 })
    : kplus.Volume.fromConfigMap(scope, `${f.volume}-volume`, kplus.ConfigMap.fromConfigMapName(scope, `${f.volume}-cm`, f.configMap!.name), { name: f.volume, items, defaultMode: 0o444 });
}

/** @internal */
export function secretEnv(scope: Construct, id: string, name: string, key: string): kplus.EnvValue {
  return kplus.EnvValue.fromSecretValue({ secret: kplus.Secret.fromSecretName(scope, id, name), key });
}

/**
 * Pod placement and the containers of a backup CronJob.
 * @internal
 */
export interface BackupCronJobProps {
  readonly metadata: ApiObjectMetadata;
  readonly options: BackupJobOptions;
  readonly resolved: ResolvedJobOptions;
  readonly serviceAccount: kplus.ServiceAccount;
  readonly hostNetwork: boolean;
  readonly nodeSelector: { [label: string]: string };
  readonly tolerations: kplus.NodeTaintQuery[];
  /** Pin to exactly this node (nodeAffinity on metadata.name: node names are not labels). */
  readonly nodeName?: string;
  readonly initContainers: kplus.ContainerProps[];
  readonly containers: kplus.ContainerProps[];
  /** Pod user and group (fsGroup too when not root). @default 0 (root) */
  readonly user?: number;
}

/**
 * A CronJob with the hygiene every backup job gets: no overlap, bounded time and retries,
 * history, explicit time zone, root-with-no-capabilities pod, RuntimeDefault seccomp, no token.
 * @internal
 */
export function backupCronJob(scope: Construct, id: string, p: BackupCronJobProps): kplus.CronJob {
  const o = p.options;
  const [minute, hour, day, month, weekDay] = expandMacro(p.resolved.schedule).split(/\s+/);
  const cronJob = new kplus.CronJob(scope, id, {
    metadata: p.metadata,
    schedule: Cron.schedule({ minute, hour, day, month, weekDay }),
    timeZone: o.timeZone ?? 'Etc/UTC',
    concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
    startingDeadline: o.startingDeadline ?? Duration.minutes(15),
    successfulJobsRetained: 3,
    failedJobsRetained: 3,
    backoffLimit: o.backoffLimit ?? 2,
    activeDeadline: o.activeDeadline ?? Duration.minutes(45),
    serviceAccount: p.serviceAccount,
    automountServiceAccountToken: false,
    restartPolicy: kplus.RestartPolicy.NEVER,
    hostNetwork: p.hostNetwork,
    dns: p.hostNetwork ? { policy: kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET } : undefined,
    securityContext: p.user ? { ensureNonRoot: true, user: p.user, group: p.user, fsGroup: p.user } : { ensureNonRoot: false, user: 0, group: 0 },
    podMetadata: { labels: p.metadata.labels },
    initContainers: p.initContainers,
    containers: p.containers,
  });
  if (p.tolerations.length > 0) cronJob.scheduling.tolerate(kplus.Node.tainted(...p.tolerations));

  // Fields cdk8s-plus-28 does not model.
  const pod = '/spec/jobTemplate/spec/template/spec';
  const raw = ApiObject.of(cronJob);
  raw.addJsonPatch(JsonPatch.add(`${pod}/securityContext/seccompProfile`, { type: 'RuntimeDefault' }));
  if (Object.keys(p.nodeSelector).length > 0) raw.addJsonPatch(JsonPatch.add(`${pod}/nodeSelector`, p.nodeSelector));
  if (p.nodeName !== undefined) {
    raw.addJsonPatch(JsonPatch.add(`${pod}/affinity`, {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.nodeName] }] }],
        },
      },
    }));
  }
  if (o.priorityClassName) raw.addJsonPatch(JsonPatch.add(`${pod}/priorityClassName`, o.priorityClassName));
  return cronJob;
}

function expandMacro(expr: string): string {
  const macros: { [m: string]: string } = {
    '@hourly': '0 * * * *',
    '@daily': '0 0 * * *',
    '@midnight': '0 0 * * *',
    '@weekly': '0 0 * * 0',
    '@monthly': '0 0 1 * *',
    '@yearly': '0 0 1 1 *',
    '@annually': '0 0 1 1 *',
  };
  return macros[expr] ?? expr;
}
