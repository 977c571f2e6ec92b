/**
 * assets/summary-lib.sh, sourced by every script for the JSON line it ends with, run by each shell
 * the images have: busybox ash (restic image), bash (the etcd image's /bin/sh, the database
 * images) and dash (a Debian /bin/sh). Whatever the names hold, the line is one valid JSON object;
 * an EXIT trap that prints it keeps the script's exit code.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const LIB = path.join(__dirname, '..', '..', 'assets', 'summary-lib.sh');
const SHELLS: Array<[string, string[]]> = [['busybox ash', ['busybox', 'sh']], ['bash', ['bash']], ['dash', ['dash']]];

function run(shell: string[], script: string, env: Record<string, string>): { status: number | null; lines: string[] } {
  const r = spawnSync(shell[0], [...shell.slice(1), '-c', `. "$0"\n${script}`, LIB], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
  return { status: r.status, lines: r.stdout.split('\n').filter((l) => l !== '') };
}

describe.each(SHELLS)('summary-lib.sh in %s', (_, shell) => {
  test('GIVEN names with quotes, backslashes, control characters and non-ASCII THEN the line is valid JSON that holds them exactly', () => {
    const odd = 'a"b\\c\td\ne\u0001f ü';
    const { status, lines } = run(shell, [
      'summary_begin',
      'summary_add text string "$ODD"',
      'summary_add none string ""',
      'summary_add n number 12.5',
      'summary_add notANumber number "1 2"',
      'summary_add list json \'["x"]\'',
      'summary_emit 0',
    ].join('\n'), { SUMMARY_KIND: 'etcd-snapshot', SUMMARY_CLUSTER: odd, SUMMARY_JOB: 'job"1', ODD: odd });
    expect(status).toBe(0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({
      summary: 'cdk8s-backup/v1',
      kind: 'etcd-snapshot',
      cluster: odd,
      job: 'job"1',
      result: 'succeeded',
      failedStep: null,
      exitCode: 0,
      text: odd,
      none: null,
      n: 12.5,
      notANumber: null,
      list: ['x'],
      durationSeconds: expect.any(Number),
    });
  });

  test('GIVEN set -e and a failing command WHEN the EXIT trap prints the line THEN it says failed with the step, and the exit code stays', () => {
    const { status, lines } = run(shell, [
      'set -eu',
      'summary_begin',
      'step=first',
      'trap \'rc=$?; set +eu; trap - EXIT; summary_emit "$rc" "$step"; exit "$rc"\' EXIT',
      'echo working',
      'step=second',
      'sh -c "exit 7"',
      'echo never',
    ].join('\n'), { SUMMARY_KIND: 'database-dump' });
    expect(status).toBe(7);
    expect(lines[0]).toBe('working');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1])).toMatchObject({ kind: 'database-dump', cluster: null, job: null, result: 'failed', failedStep: 'second', exitCode: 7 });
  });
});
