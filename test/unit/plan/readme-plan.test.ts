/**
 * README's "Review the plan" shows part of the plan the library renders for README's example
 * cluster, byte for byte: when the plan's words change, this test fails until README shows the
 * new ones (`npx ts-node --project test/tsconfig.json test/unit/plan/readme-plan.test.ts --write`
 * renders it there).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Cron, Testing } from 'cdk8s';
import { BackupRepository, ClusterBackup, Credentials, Encryption, EtcdSource, Retention } from '../../../src';

const README = path.join(__dirname, '..', '..', '..', 'README.md');
const BEGIN = '<!-- plan:begin (test/unit/plan/readme-plan.test.ts renders it) -->';
const END = '<!-- plan:end -->';

/** README's example cluster (section "Use it"); its plan's summary table and its etcd section. */
export function readmePlanExcerpt(): string {
  const backup = new ClusterBackup(new Chart(Testing.app(), 'prod'), 'backup', {
    clusterName: 'prod',
    etcd: { source: EtcdSource.kubeadm(), retention: Retention.hourly24Daily7Weekly4() },
    controlPlaneConfig: { nodes: ['cp-1', 'cp-2', 'cp-3'] },
    repository: BackupRepository.s3({
      bucket: 'acme-cluster-backups',
      prefix: 'k8s',
      region: 'eu-west-1',
      credentials: Credentials.fromSecret('cluster-backup-s3'),
      encryption: Encryption.repositoryPassword({ name: 'cluster-backup-repository', key: 'password' }),
    }),
    velero: { schedules: [{ name: 'prod-apps', schedule: Cron.schedule({ minute: '0', hour: '2' }), retention: Retention.daily35Days() }] },
    acknowledge: { keysStoredOutsideCluster: true },
  });
  const plan = backup.describe();
  const table = plan.slice(plan.indexOf('| job |'), plan.indexOf('## Keys'));
  const etcd = plan.slice(plan.indexOf('## etcd snapshots'), plan.indexOf('## Restore drill'));
  return ['```markdown', table.trim(), '', '…', '', etcd.trim(), '…', '```'].join('\n');
}

function readmeParts(): { before: string; section: string; after: string } {
  const readme = fs.readFileSync(README, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN} ... ${END} markers`);
  return { before: readme.slice(0, start + BEGIN.length), section: readme.slice(start + BEGIN.length, end), after: readme.slice(end) };
}

if (require.main === module && process.argv.includes('--write')) {
  const { before, after } = readmeParts();
  fs.writeFileSync(README, `${before}\n${readmePlanExcerpt()}\n${after}`);
} else {
  test('README shows the plan the library renders for its example', () => {
    expect(readmeParts().section.trim()).toBe(readmePlanExcerpt().trim());
  });
}
