/**
 * docs/runbook-example.md (linked from README's "Restore etcd") is the runbook the library renders
 * for README's example cluster, byte for byte: when the procedure changes, this test fails until
 * the page shows the new one (`npx ts-node --project test/tsconfig.json test/unit/readme.test.ts
 * --write` renders it there).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { BackupRepository, Credentials, Encryption, EtcdSnapshotBackup, EtcdSource } from '../../src';

const PAGE = path.join(__dirname, '..', '..', 'docs', 'runbook-example.md');
const BEGIN = '<!-- restore-runbook:begin (test/unit/readme.test.ts renders it) -->';
const END = '<!-- restore-runbook:end -->';

/** README's example: cluster prod on kubeadm, three control-plane nodes with known addresses. */
export function readmeRestoreSection(): string {
  const backup = new EtcdSnapshotBackup(Testing.chart(), 'etcd', {
    clusterName: 'prod',
    source: EtcdSource.kubeadm(),
    controlPlaneNodes: ['cp-1', 'cp-2', 'cp-3'],
    memberAddresses: { 'cp-1': '10.0.0.11', 'cp-2': '10.0.0.12', 'cp-3': '10.0.0.13' },
    repository: BackupRepository.s3({
      bucket: 'acme-cluster-backups',
      prefix: 'k8s',
      region: 'eu-west-1',
      credentials: Credentials.fromSecret('cluster-backup-s3'),
      encryption: Encryption.repositoryPassword({ name: 'cluster-backup-repository', key: 'password' }),
    }),
  });
  return backup.restoreSection().replace(/^## .*\n\n/, '');
}

function pageParts(): { before: string; section: string; after: string } {
  const page = fs.readFileSync(PAGE, 'utf8');
  const start = page.indexOf(BEGIN);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`docs/runbook-example.md lacks the ${BEGIN} ... ${END} markers`);
  return { before: page.slice(0, start + BEGIN.length), section: page.slice(start + BEGIN.length, end), after: page.slice(end) };
}

if (require.main === module && process.argv.includes('--write')) {
  const { before, after } = pageParts();
  fs.writeFileSync(PAGE, `${before}\n${readmeRestoreSection().trim()}\n${after}`);
} else {
  test('docs/runbook-example.md shows the restore procedure the library renders for the README example', () => {
    expect(pageParts().section.trim()).toBe(readmeRestoreSection().trim());
  });
}
