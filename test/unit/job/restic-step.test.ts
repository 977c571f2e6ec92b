import { uploadDirectory, uploadFileInPieces, uploadPathList } from '../../../src/job/restic-step';

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
