/**
 * assets/restic-upload.sh's cut of a file into pieces (SPLIT_FILE/SPLIT_DIR/SPLIT_BYTES), run by
 * busybox ash (the restic image's shell) with a real restic 0.14 and a local repository, at the
 * sizes where the cut's arithmetic turns: one byte, exactly one piece, one byte more, the 64
 * pieces after which it truncates the file, and a few regions with a short last piece. What
 * restic stores must join back into exactly the file that was cut.
 */
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', '..', 'assets', 'restic-upload.sh');
/** Small pieces keep the files small; the script's arithmetic is the same for 512 KiB. */
const PIECE = 4096;

describe('restic-upload.sh: the file in pieces', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restic-pieces-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const sizes = [1, PIECE, PIECE + 1, 64 * PIECE, 64 * PIECE + 1, 130 * PIECE + 7];
  test.each(sizes)('GIVEN a file of %i bytes WHEN uploaded THEN it is stored as its pieces in order, the file is gone, and the pieces join into it', (size) => {
    const work = fs.mkdtempSync(path.join(dir, `size-${size}-`));
    const backup = path.join(work, 'backup');
    fs.mkdirSync(backup);
    const file = path.join(backup, 'snapshot.db');
    const content = randomBytes(size);
    fs.writeFileSync(file, content);
    const env = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      RESTIC_REPOSITORY: path.join(work, 'repo'),
      RESTIC_PASSWORD: 'pw',
      RESTIC_CACHE_DIR: path.join(work, 'cache'),
      TMPDIR: work,
      BACKUP_HOST: 'prod',
      BACKUP_TAG: 'etcd-snapshot',
      BACKUP_ARGS: path.join(backup, 'parts'),
      SPLIT_FILE: file,
      SPLIT_DIR: path.join(backup, 'parts'),
      SPLIT_BYTES: String(PIECE),
    };
    // A local repository, made first (the script initializes only object-storage repositories).
    expect(spawnSync('restic', ['init', '--quiet'], { env }).status).toBe(0);
    const r = spawnSync('busybox', ['sh', SCRIPT, '--keep-last', '1'], { env, encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/error|fatal/i);
    expect(r.status).toBe(0);
    const pieces = Math.ceil(size / PIECE);
    expect(r.stdout).toContain(`upload: ${file} (${size} bytes) in ${pieces} pieces of ${PIECE} bytes under ${env.SPLIT_DIR}`);
    expect(fs.existsSync(file)).toBe(false);

    // What the repository holds, restored and joined as the runbook does.
    const target = path.join(work, 'restored');
    const restore = spawnSync('restic', ['restore', 'latest', '--no-lock', '--target', target], { env, encoding: 'utf8' });
    expect(restore.status).toBe(0);
    const restoredDir = path.join(target, env.SPLIT_DIR);
    const names = fs.readdirSync(restoredDir).sort();
    expect(names).toEqual(Array.from({ length: pieces }, (_, k) => `p${100000 + k}`));
    const parts = names.map((n) => fs.readFileSync(path.join(restoredDir, n)));
    for (const p of parts.slice(0, -1)) expect(p.length).toBe(PIECE);
    const joined = spawnSync('sh', ['-c', 'cat "$1"/p*', 'sh', restoredDir], { maxBuffer: 16 * 1024 * 1024 });
    expect(Buffer.compare(joined.stdout, content)).toBe(0);
  });
});
