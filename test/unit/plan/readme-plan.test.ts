/**
 * docs/plan-example.md (linked from README's "Review the plan") shows part of the plan the library
 * renders for README's example cluster, byte for byte: when the plan's words change, this test
 * fails until the page shows the new ones (`npx ts-node --project test/tsconfig.json
 * test/unit/plan/readme-plan.test.ts --write` renders it there).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Cron, Testing } from 'cdk8s';
import { BackupRepository, ClusterBackup, Credentials, Encryption, EtcdSource, Retention } from '../../../src';

const PAGE = path.join(__dirname, '..', '..', '..', 'docs', 'plan-example.md');
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
      maintainerCredentials: Credentials.fromSecret('cluster-backup-s3-maintainer'),
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

function pageParts(): { before: string; section: string; after: string } {
  const page = fs.readFileSync(PAGE, 'utf8');
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/plan-example.md lacks the ${BEGIN} ... ${END} markers`);
  return { before: page.slice(0, start + BEGIN.length), section: page.slice(start + BEGIN.length, end), after: page.slice(end) };
}

if (require.main === module && process.argv.includes('--write')) {
  const { before, after } = pageParts();
  fs.writeFileSync(PAGE, `${before}\n${readmePlanExcerpt()}\n${after}`);
} else {
  test('docs/plan-example.md shows the plan the library renders for the README example', () => {
    expect(pageParts().section.trim()).toBe(readmePlanExcerpt().trim());
  });
}
