import { recoverySection } from '../../../src/repository/recovery-runbook';

describe('recoverySection', () => {
  test('S3: rclone lists the versions and copies the repositories as of a time into a new path, the source alone read-only', () => {
    const md = recoverySection({ kind: 's3', bucket: 'backups', path: 'k8s/prod', endpoint: 'https://s3.example.com', region: 'eu-west-1' }, 'prod').join('\n');
    expect(md).toContain('## Backups deleted or overwritten');
    expect(md).toContain('export RCLONE_CONFIG_BACKUPS_TYPE=s3 RCLONE_CONFIG_BACKUPS_PROVIDER=Other RCLONE_CONFIG_BACKUPS_ENV_AUTH=true RCLONE_CONFIG_BACKUPS_ENDPOINT=https://s3.example.com RCLONE_CONFIG_BACKUPS_REGION=eu-west-1');
    expect(md).toContain('TZ=UTC rclone lsl --s3-versions backups:backups/k8s/prod | sort -k2,3 | tail -n 40');
    // rclone 1.60 reads a time without a zone as local time: the runbook's is UTC, with its Z
    expect(md).toContain("before='2006-01-02T15:04:05Z'");
    expect(md).toContain('rclone copy "backups,version_at=\'${before}\':backups/k8s/prod" backups:backups/k8s/prod-before-attack');
  });

  test('REST server: every repository at the maintainer\'s URL, forget what the jobs did not write, check', () => {
    const md = recoverySection({ kind: 'rest', maintainerRepositories: ['rest:https://admin.example.com/prod/etcd', 'rest:https://admin.example.com/prod/config/cp-1'] }, 'prod').join('\n');
    expect(md).toContain('restic -r rest:https://admin.example.com/prod/etcd snapshots');
    expect(md).toContain('restic -r rest:https://admin.example.com/prod/config/cp-1 snapshots');
    expect(md).toContain('repository=rest:https://admin.example.com/prod/etcd\nid=\'…\'\nrestic -r "$repository" forget "$id"\nrestic -r "$repository" check --read-data\n');
    expect(md).not.toMatch(/<snapshot id>/);
  });

  test('other services: no section', () => {
    expect(recoverySection({ kind: 'gcs' }, 'prod')).toEqual([]);
  });
});
