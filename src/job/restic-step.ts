import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { configError } from '../internal/errors';
import { hardenedContainer } from '../internal/hardening';
import { Retention } from '../policy/retention';
import { BackupRepository, RepositoryRole } from '../repository/backup-repository';
import { RepositoryFile } from '../repository/repository-backend';

/**
 * What the upload step backs up, decided at synth time and handed to the script as ready-made
 * restic arguments (the script does not branch on it).
 * @internal
 */
export interface UploadSource {
  /** restic `backup` arguments naming what to back up, e.g. `/backup` or `--files-from-verbatim <file>`. */
  readonly args: string[];
  /** Paths that must exist before anything is uploaded, listed one per line in this file. */
  readonly requiredFile?: string;
  /** A file the script replaces by a directory of its fixed-size pieces before the backup (its volume must be writable). */
  readonly split?: { readonly file: string; readonly dir: string; readonly pieceBytes: number };
}

/** Back up one directory. @internal */
export function uploadDirectory(dir: string): UploadSource {
  return { args: [dir] };
}

/**
 * Back up one large file as a directory of fixed-size pieces, which restic deduplicates piece by
 * piece (restic-upload.sh says why). `cat <dir>/*` joins them.
 * @internal
 */
export function uploadFileInPieces(file: string, dir: string, pieceBytes: number): UploadSource {
  // restic's chunker never cuts below 512 KiB: a piece up to that size is always one whole blob.
  if (!Number.isInteger(pieceBytes) || pieceBytes < 4096 || pieceBytes > 512 * 1024 || pieceBytes % 4096 !== 0) {
    throw configError(`uploadFileInPieces: pieceBytes must be a multiple of 4096 between 4096 and 524288; got ${pieceBytes}`);
  }
  return { args: [dir], split: { file, dir, pieceBytes } };
}

/** Back up the paths listed in a file, minus restic exclude patterns in another. @internal */
export function uploadPathList(listFile: string, options: { excludeFile?: string; requiredFile?: string } = {}): UploadSource {
  return {
    args: [...(options.excludeFile ? ['--exclude-file', options.excludeFile] : []), '--files-from-verbatim', listFile],
    requiredFile: options.requiredFile,
  };
}

/**
 * The `upload` container: restic backup of what it is given, then forget --prune with the
 * retention (assets/restic-upload.sh).
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
  /** What to back up. */
  readonly source: UploadSource;
  /** The snapshot group this job owns: restic `--host` (may reference `$(VAR)` of `env`). */
  readonly host: string;
  /** The snapshot group this job owns: its restic tag. */
  readonly tag: string;
  /** Further inputs of the script (BACKUP_META, CHECKSUM_FILE, DROP_GUARD_*, NODE_NAME ...). */
  readonly env?: { [name: string]: kplus.EnvValue };
  /** What is backed up (read-only mounts, except where the source splits a file). */
  readonly mounts: kplus.VolumeMount[];
  /** Extra capabilities (e.g. DAC_READ_SEARCH to read other users' files). */
  readonly capabilities?: kplus.Capability[];
  /** User (and group) to run as. @default 0 (root) */
  readonly user?: number;
}

/** How long a restic command waits for another's lock when the roles are split (a prune, a backup). @internal */
export const RETRY_LOCK = '10m';

/** Seconds a script's first restic call may take (REPOSITORY_TIMEOUT): one `unlock` or one listing of a reachable repository takes a few. @internal */
export const FIRST_REPOSITORY_CALL_SECONDS = 60;

/**
 * The environment and mounts every restic container needs to reach a repository: URL, password,
 * backend credentials (all as Secret references), CA bundle (as `RESTIC_FLAGS`, since restic 0.14
 * reads it only from `--cacert`), and writable scratch for a read-only root filesystem.
 * @internal
 */
export function resticRepositoryAccess(scope: Construct, repo: BackupRepository, resticRepository: string, role: RepositoryRole = 'writer'): {
  env: { [name: string]: kplus.EnvValue }; mounts: kplus.VolumeMount[];
} {
  const env: { [name: string]: kplus.EnvValue } = {
    RESTIC_REPOSITORY: kplus.EnvValue.fromValue(resticRepository),
    RESTIC_PASSWORD: secretEnv(scope, 'RepositoryPassword', repo.encryption.password.name, repo.encryption.password.key),
  };
  for (const e of repo._env(role)) {
    env[e.name] = e.secret ? secretEnv(scope, `Env${e.name}`, e.secret.name, e.secret.key) : kplus.EnvValue.fromValue(e.value!);
  }
  const caPath = repo._caCertPath();
  // Split roles: the maintenance job's prune and the backups share each repository and no longer
  // remove each other's locks (restic-lib.sh writer_unlock_args): each waits for the other's lock
  // instead of failing at once (restic >= 0.16).
  const flags = [...(caPath ? ['--cacert', caPath] : []), ...(repo.splitRoles ? ['--retry-lock', RETRY_LOCK] : [])];
  env.RESTIC_FLAGS = kplus.EnvValue.fromValue(flags.join(' '));
  // restic >= 0.17 retries an unreachable backend for 15 minutes with no option to shorten it
  // (0.18.0 cmd/restic/global.go, retry.New(be, 15*time.Minute, ...)): each script's first
  // question to the repository gets this long, so an unreachable endpoint fails the job in about
  // a minute, with the script's message, instead of at the deadline.
  env.REPOSITORY_TIMEOUT = kplus.EnvValue.fromValue(String(FIRST_REPOSITORY_CALL_SECONDS));
  // The root filesystem is read-only: restic's temporary packs and cache go to an emptyDir.
  env.TMPDIR = kplus.EnvValue.fromValue('/tmp');
  env.RESTIC_CACHE_DIR = kplus.EnvValue.fromValue('/tmp/restic-cache');
  const mounts = repo._files(role).map((f) => ({ path: f.mountPath, volume: repositoryFileVolume(scope, f), readOnly: true }));
  return { env, mounts };
}

/**
 * What a writing step is told about its keys' delete rights (restic-lib.sh): with split roles
 * it applies no retention (RETENTION_ELSEWHERE) and its delete probe must find the keys unable
 * to delete (DELETE_PROTECTION_EXPECTED; under S3 Object Lock a delete that leaves a locked
 * version also passes).
 * @internal
 */
export function writerRoleEnv(repo: BackupRepository): { [name: string]: kplus.EnvValue } {
  if (!repo.splitRoles) return {};
  return {
    RETENTION_ELSEWHERE: kplus.EnvValue.fromValue('the repository\'s maintenance job'),
    DELETE_PROTECTION_EXPECTED: kplus.EnvValue.fromValue(repo.immutability?.kind === 's3-object-lock' ? 'versioned' : 'denied'),
  };
}

/** @internal */
export function resticUploadContainer(scope: Construct, p: ResticUploadProps): kplus.ContainerProps {
  const access = resticRepositoryAccess(scope, p.repository, p.resticRepository);
  const env: { [name: string]: kplus.EnvValue } = {
    ...p.env,
    BACKUP_HOST: kplus.EnvValue.fromValue(p.host),
    BACKUP_TAG: kplus.EnvValue.fromValue(p.tag),
    BACKUP_ARGS: kplus.EnvValue.fromValue(p.source.args.join(' ')),
    ...writerRoleEnv(p.repository),
  };
  if (p.source.requiredFile) env.BACKUP_REQUIRED_FILE = kplus.EnvValue.fromValue(p.source.requiredFile);
  if (p.source.split) {
    env.SPLIT_FILE = kplus.EnvValue.fromValue(p.source.split.file);
    env.SPLIT_DIR = kplus.EnvValue.fromValue(p.source.split.dir);
    env.SPLIT_BYTES = kplus.EnvValue.fromValue(String(p.source.split.pieceBytes));
  }
  return {
    name: 'upload',
    image: p.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    command: ['/bin/sh', '/scripts/restic-upload.sh'],
    // Split roles: the maintenance job applies the retention, with the maintainer's keys.
    args: p.repository.splitRoles ? [] : p.retention.toResticForgetArgs(),
    envVariables: { ...env, ...access.env },
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
