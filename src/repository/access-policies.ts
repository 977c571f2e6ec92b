/**
 * What each role of a repository may do at its storage, as the storage's administrator grants
 * it: for S3, IAM policy documents (JSON); for other services, the grants in words.
 */
export interface RepositoryAccessPolicies {
  /** `aws-iam-policy` (JSON documents) or `text`. */
  readonly format: string;
  /** The backup jobs' keys: read, add, and remove only restic's lock files. */
  readonly writer: string;
  /** The drills' and the runbook's keys: read, and take and remove their own locks. */
  readonly reader: string;
  /**
   * The maintenance job's keys: read, add and delete below the prefix (and list and read older
   * object versions, for the runbook's recovery), and nothing more.
   */
  readonly maintainer: string;
}

/**
 * What no role may do, stated as an explicit Deny so that a broader policy attached to the same
 * user (an admin group) cannot give it back: deleting object versions (which would undo
 * versioning and Object Lock), bypassing governance retention, and changing the bucket's
 * versioning, lock, lifecycle or policy.
 */
const NEVER = [
  's3:DeleteObjectVersion',
  's3:BypassGovernanceRetention',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:PutBucketVersioning',
  's3:PutBucketObjectLockConfiguration',
  's3:PutLifecycleConfiguration',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:DeleteBucket',
];

/**
 * The three IAM policies of an S3 repository root, scoped to `prefix` (every job's repository
 * lies below it): restic lists the bucket by prefix, reads and writes objects below it, and
 * deletes its lock files (`<repository>/locks/<id>`) when a command ends. IAM cannot tell
 * "create" from "overwrite", so the writer's PutObject could replace a pack with garbage: bucket
 * versioning (or Object Lock) underneath keeps the replaced version.
 * @internal
 */
export function s3AccessPolicies(bucket: string, prefix: string): RepositoryAccessPolicies {
  const objects = `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}*`;
  // Every job's repository is `<prefix>/<cluster>/<kind>[/<node>]`: its locks are `<that>/locks/<id>`.
  const locks = `arn:aws:s3:::${bucket}/${prefix ? `${prefix}/` : ''}*/locks/*`;
  const list = {
    Sid: 'ListTheRepositories',
    Effect: 'Allow',
    Action: ['s3:ListBucket'],
    Resource: `arn:aws:s3:::${bucket}`,
    ...(prefix ? { Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } } } : {}),
  };
  const location = { Sid: 'FindTheBucket', Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: `arn:aws:s3:::${bucket}` };
  const never = { Sid: 'NeverUndoVersionsOrLocks', Effect: 'Deny', Action: NEVER, Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`] };
  const doc = (statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: [list, location, ...statements, never] }, undefined, 2);
  return {
    format: 'aws-iam-policy',
    writer: doc([
      { Sid: 'ReadAndAdd', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: objects },
      { Sid: 'RemoveOwnLocks', Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: locks },
    ]),
    reader: doc([
      { Sid: 'Read', Effect: 'Allow', Action: ['s3:GetObject'], Resource: objects },
      { Sid: 'TakeAndRemoveOwnLocks', Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: locks },
    ]),
    // The runbook's "Backups deleted or overwritten" lists the versions (ListObjectVersions:
    // s3:ListBucketVersions) and copies the older ones (GetObject with a versionId:
    // s3:GetObjectVersion) with the maintainer's keys: reading old versions deletes nothing.
    maintainer: doc([
      { ...list, Sid: 'ListTheRepositoriesVersions', Action: ['s3:ListBucketVersions'] },
      { Sid: 'ReadAddAndPrune', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: objects },
      { Sid: 'ReadOlderVersions', Effect: 'Allow', Action: ['s3:GetObjectVersion'], Resource: objects },
    ]),
  };
}

/**
 * A REST server's roles are its users and its two URLs.
 * @internal
 */
export function restServerAccessPolicies(url: string, maintainerUrl: string, prefix: string): RepositoryAccessPolicies {
  const path = prefix ? `/${prefix}` : '/';
  return {
    format: 'text',
    writer: `a rest-server user at ${url} started with --append-only (it refuses every DELETE but restic's locks); with --private-repos the user's name is the first segment of the path ${path}`,
    reader: `the writer's user at ${url} (append-only: a reader can read and take locks, nothing more)`,
    maintainer: `a user of a rest-server WITHOUT --append-only at ${maintainerUrl}, on the same --path, reachable only from where the maintenance job runs (never from the protected cluster)`,
  };
}

/**
 * GCS and Azure grants in words: their per-prefix delete rights need IAM conditions (GCS) or
 * ABAC (Azure) that this library does not render.
 * @internal
 */
export function describedAccessPolicies(service: string, scope: string): RepositoryAccessPolicies {
  return {
    format: 'text',
    writer: `${service}: read and create objects below ${scope}, delete only objects whose name contains /locks/ (a condition on the object name); no delete of anything else, no overwrite where the service can refuse it; keep object versioning on`,
    reader: `${service}: read objects below ${scope}; create and delete only objects whose name contains /locks/`,
    maintainer: `${service}: read, create and delete objects below ${scope}; nothing on the bucket/container itself (no versioning, retention or lifecycle changes)`,
  };
}
