import { Testing } from 'cdk8s';
import { CaCertificate, EtcdSnapshotBackup, EtcdSource } from '../../../src';
import { uploadDirectory, uploadFileInPieces, uploadPathList } from '../../../src/job/restic-step';
import { s3 } from '../../support/storage-definition';
import { TEST_CA_PEM } from '../../support/test-ca';

describe('EtcdSnapshotBackup: the CronJob', () => {
  test('the piece size is one restic blob at most: a multiple of 4 KiB up to 512 KiB', () => {
    expect(() => uploadFileInPieces('/backup/f', '/backup/d', 1024 * 1024)).toThrow(/pieceBytes must be a multiple of 4096 between 4096 and 524288; got 1048576/);
    expect(() => uploadFileInPieces('/backup/f', '/backup/d', 5000)).toThrow(/got 5000/);
    expect(uploadFileInPieces('/backup/f', '/backup/d', 4096).split).toEqual({ file: '/backup/f', dir: '/backup/d', pieceBytes: 4096 });
  });
});

describe('what restic uploads', () => {
  test('a directory is one argument', () => {
    expect(uploadDirectory('/backup')).toEqual({ args: ['/backup'] });
  });

  test('a file cut into pieces backs up the pieces\' directory', () => {
    expect(uploadFileInPieces('/backup/f', '/backup/d', 512 * 1024).args).toEqual(['/backup/d']);
  });

  test('a path list: verbatim, with the exclude file and the required file when given', () => {
    expect(uploadPathList('/scripts/paths')).toEqual({ args: ['--files-from-verbatim', '/scripts/paths'], requiredFile: undefined });
    expect(uploadPathList('/scripts/paths', { excludeFile: '/scripts/exclude', requiredFile: '/scripts/required' })).toEqual({
      args: ['--exclude-file', '/scripts/exclude', '--files-from-verbatim', '/scripts/paths'],
      requiredFile: '/scripts/required',
    });
  });
});

describe('an inline CA (CaCertificate.fromPem) for the restic jobs', () => {
  test('every restic container reads it from its job\'s scripts ConfigMap; no CA volume, no Secret', () => {
    const chart = Testing.chart();
    new EtcdSnapshotBackup(chart, 'etcd', { clusterName: 'prod', source: EtcdSource.kubeadm(), repository: s3(CaCertificate.fromPem(TEST_CA_PEM)) });
    const out = Testing.synth(chart);
    expect(out.find((o) => o.kind === 'ConfigMap').data['repository-ca.crt']).toBe(TEST_CA_PEM.trim() + '\n');
    const pod = out.find((o) => o.kind === 'CronJob').spec.jobTemplate.spec.template.spec;
    const restic = [...pod.initContainers ?? [], ...pod.containers].filter((c: any) => (c.env ?? []).some((e: any) => e.name === 'RESTIC_FLAGS'));
    expect(restic.length).toBeGreaterThan(0);
    for (const c of restic) {
      expect(c.env.find((e: any) => e.name === 'RESTIC_FLAGS').value).toBe('--cacert /scripts/repository-ca.crt');
      expect(c.volumeMounts.map((m: any) => m.mountPath)).toContain('/scripts');
    }
    expect(JSON.stringify(pod.volumes)).not.toMatch(/repository-ca/);
  });
});
