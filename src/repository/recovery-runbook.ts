import { configError } from '../internal/errors';
import { shellWords } from '../internal/shell';

/**
 * What the runbook's "Backups deleted or overwritten" section needs of a storage service.
 * @internal
 */
export interface RecoveryFacts {
  /** `s3` (object versions, rclone) or `rest` (what append-only kept). */
  readonly kind: string;
  /** S3: bucket, path of the cluster's repositories, endpoint, region. */
  readonly bucket?: string;
  readonly path?: string;
  readonly endpoint?: string;
  readonly region?: string;
  /** REST: the cluster's repositories as the maintainer reaches them. */
  readonly maintainerRepositories?: string[];
}

/**
 * The runbook section for an attack on the backups themselves: see what happened, bring the
 * repositories back as they were before it, then restore as usual. Every value in a shell block
 * is quoted for the shell.
 * @internal
 */
export function recoverySection(f: RecoveryFacts, clusterName: string): string[] {
  const lines = ['## Backups deleted or overwritten', ''];
  if (f.kind === 's3') {
    if (!f.bucket || f.path === undefined || !f.endpoint) throw configError('recoverySection: S3 facts incomplete');
    const remote = `backups:${f.bucket}/${f.path}`;
    const restored = `${f.bucket}/${f.path}-before-attack`;
    lines.push(
      'When a drill or the maintenance job\'s `restic check` fails with missing or damaged packs, or snapshots vanished: someone deleted or overwrote objects. '
      + 'On a versioned bucket (Object Lock turns versioning on) S3 keeps every replaced version and turns a delete into a delete marker, so the repositories '
      + 'can be copied back as they were at a time before the attack, into a new path, and restored from there. This needs rclone 1.59 or newer (its S3 `version_at`) '
      + 'and keys that can list versions and read them (the maintainer\'s, or the bucket administrator\'s). Do not run the maintenance job until you are done: its prune would '
      + 'remove what the attacker\'s snapshots no longer reference.', '',
      '```sh',
      '# rclone reads the keys exported in step 0 (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
      `export RCLONE_CONFIG_BACKUPS_TYPE=s3 RCLONE_CONFIG_BACKUPS_PROVIDER=Other RCLONE_CONFIG_BACKUPS_ENV_AUTH=true ${shellWords(`RCLONE_CONFIG_BACKUPS_ENDPOINT=${f.endpoint}`)}${f.region ? ` ${shellWords(`RCLONE_CONFIG_BACKUPS_REGION=${f.region}`)}` : ''}`,
      '# 1. What happened: every version with its time in UTC (a name with -vYYYY-MM-DD-... is an older version); the newest changes last',
      `TZ=UTC rclone lsl --s3-versions ${shellWords(remote)} | sort -k2,3 | tail -n 40`,
      // rclone reads a time without a zone as the workstation's local time: the Z makes it UTC.
      '# 2. A time before the first change you did not expect, in UTC (keep the Z: without it rclone takes local time)',
      'before=\'2006-01-02T15:04:05Z\'',
      '# 3. The repositories as they were then, into a new path (nothing is changed where they are)',
      // version_at on the source only: with it, an rclone remote is read-only.
      `rclone copy "backups,version_at='\${before}':${f.bucket}/${f.path}" ${shellWords(`backups:${restored}`)}`,
      '```', '',
      `Then run the steps below against the copy: each restic repository with \`${f.path}/\` replaced by \`${f.path}-before-attack/\`, `
      + 'and `check --read-data` on each first. Find out how the keys leaked before you give the backup jobs new ones: rotate every role\'s keys.', '',
    );
    return lines;
  }
  if (f.kind === 'rest') {
    const repos = f.maintainerRepositories ?? [];
    lines.push(
      'An append-only rest-server refuses every delete and every overwrite at the writer\'s URL: whoever held the backup jobs\' keys could only add snapshots. '
      + 'List each repository at the maintainer\'s URL (as the maintainer\'s user), forget what your jobs did not write (another host or tag, or a time the job did not run), then check it:', '',
      '```sh',
      'export RESTIC_REST_USERNAME=\'…\' RESTIC_REST_PASSWORD=\'…\'   # the maintainer\'s',
    );
    for (const r of repos) {
      lines.push(shellWords('restic', '-r', r, 'snapshots'));
    }
    // Values to fill are shell variables, never `<placeholders>`: pasted, a `<` is a redirection.
    lines.push(
      '# for each snapshot your jobs did not write: its repository (from the lists above) and its id',
      `repository=${shellWords(repos[0] ?? `rest:…/${clusterName}_…`)}`,
      'id=\'…\'',
      'restic -r "$repository" forget "$id"',
      'restic -r "$repository" check --read-data',
      '```', '',
    );
    return lines;
  }
  return [];
}
