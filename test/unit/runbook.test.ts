import { BackupRepository } from '../../src';
import { ClusterRunbookFacts, clusterRunbook } from '../../src/runbook';
import { credentials, encryption } from '../support/repositories';
import { cluster } from '../support/storage-definition';
import { TEST_CA_PEM } from '../support/test-ca';

const repository = BackupRepository.s3({ bucket: 'backups', region: 'eu-west-1', credentials, encryption });
const facts: ClusterRunbookFacts = {
  clusterName: 'prod',
  repository,
  namespace: 'backup-system',
  veleroNamespace: 'velero',
  jobs: [
    { namespace: 'backup-system', restoreSection: () => '## etcd\n\nrestore etcd\n' },
    { namespace: 'backup-system-host', restoreSection: () => undefined },
    { namespace: 'backup-system-host', restoreSection: () => '## Config\n\nrestore config\n\n\n' },
  ],
  keyLocations: [],
  veleroScheduleNames: [],
};

describe('clusterRunbook', () => {
  test('keys first: where the copies are, and the exports to reach the repository', () => {
    const md = clusterRunbook(facts);
    expect(md.startsWith('# Restore runbook: cluster `prod`\n')).toBe(true);
    expect(md).toContain('- Repository password: Secret `backup-repository`, key `password` (in namespace `backup-system` and `backup-system-host`) — use your off-cluster copy.');
    expect(md).toContain('export AWS_ACCESS_KEY_ID=\'…\' AWS_SECRET_ACCESS_KEY=\'…\' AWS_DEFAULT_REGION=eu-west-1\nexport RESTIC_PASSWORD=\'…\'');
  });

  test('the jobs\' sections numbered in order, skipping a job without one', () => {
    const md = clusterRunbook(facts);
    expect(md).toContain('## 1. etcd\n\nrestore etcd\n\n## 2. Config\n\nrestore config\n');
  });

  test('keys from a secret store; Velero restores each Schedule once; the alerts; the drill afterwards', () => {
    const md = clusterRunbook({
      ...facts,
      keyLocations: ['Secret `backup-repository`, key `password` ← store `vault`, key `backups/prod`'],
      veleroScheduleNames: [['apps-daily', 'apps-weekly']],
      alertAdvice: [{ alert: 'EtcdBackupFailed', advice: 'look at the logs.' }],
      drill: { cronJobName: 'prod-drill', schedule: '0 4 * * *' },
    });
    expect(md).toContain('Read them from the secret store (the cluster\'s copies, in namespace `backup-system` and `backup-system-host`, came from there):\n\n- Secret `backup-repository`');
    expect(md).toContain('## 3. Workloads and volumes, with Velero');
    expect(md).toContain('velero backup get --selector \'velero.io/schedule-name in (apps-daily,apps-weekly)\'');
    expect(md).toContain('velero restore create --from-schedule apps-daily --wait');
    expect(md).toContain('### etcd-backup-failed\n\n`EtcdBackupFailed`: look at the logs.');
    expect(md).toContain('## 4. Afterwards');
    expect(md).toContain('kubectl create job --from=cronjob/prod-drill drill-now -n backup-system');
  });
});

describe('an inline CA (CaCertificate.fromPem) for the restic jobs', () => {
  test('the runbook prints the bundle to save as ca.crt', () => {
    const { backup } = cluster({});
    expect(backup.restoreRunbook()).toContain(`save it as \`ca.crt\` in the directory you run restic from.\n\n\`\`\`pem\n${TEST_CA_PEM.trim()}\n\`\`\``);
  });
});
