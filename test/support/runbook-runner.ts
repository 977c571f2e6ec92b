/**
 * Runs a rendered restore runbook's shell blocks where their `# on:` lines say: `workstation`
 * blocks in a plain bash on this machine (restic and the Keys section's exports; an `scp` that
 * delivers `<address>:/tmp/<file>` into that node's /tmp), node blocks on the control-plane
 * harness's nodes (etcd-cluster.ts), one after the other. Nothing is filled in: a runbook that
 * needs an edit fails here.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ControlPlaneHarness } from './etcd-cluster';

export interface RunbookBlockText {
  /** `workstation`, or node names. */
  readonly on: string[];
  /** Run on one of `on` only. */
  readonly once: boolean;
  readonly script: string;
}

/** The shell blocks of one section (`## ` or `### ` heading) of a runbook, with where each runs. */
export function blocksOf(runbook: string, heading: string): RunbookBlockText[] {
  const m = new RegExp(`^(#{2,3}) ${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`, 'm').exec(runbook);
  if (!m) throw new Error(`no section "${heading}" in the runbook`);
  const rest = runbook.slice(m.index + m[0].length);
  const end = rest.search(new RegExp(`\\n#{2,${m[1].length}} `));
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((b) => {
    const [marker, ...lines] = b[1].split('\n');
    const on = /^# on: (one of )?(.+)$/.exec(marker);
    if (!on) throw new Error(`a block without an "# on:" line: ${b[1]}`);
    return { on: on[2].split(' '), once: on[1] !== undefined, script: lines.join('\n') };
  });
}

export interface RunbookRunnerOptions {
  readonly cp: ControlPlaneHarness;
  /** The workstation's working directory (it gets ca.crt and a bin dir). */
  readonly workDir: string;
  /** The Keys section's exports (AWS_*, RESTIC_PASSWORD, ...), from the off-cluster copies. */
  readonly keys: Record<string, string>;
  /** The storage endpoint's CA bundle, saved as ca.crt where each block runs. */
  readonly caCertFile?: string;
  readonly timeoutMs?: number;
  /**
   * Values for placeholders the runbook names (`<lost-node>`), as an operator fills them in,
   * in the commands and in where a block runs; each must occur in the section it is given for.
   */
  readonly placeholders?: Record<string, string>;
}

export class RunbookRunner {
  /** Milliseconds each block took, in order. */
  public readonly timings: Array<{ on: string; ms: number }> = [];

  constructor(private readonly o: RunbookRunnerOptions) {}

  /** Runs every block of a section; the first that fails throws with its output. */
  public async runSection(runbook: string, heading: string, only?: number[]): Promise<void> {
    // Filled before parsing: a placeholder can name where a block runs (`# on: <lost-node>`).
    const raw = blocksOf(runbook, heading).map((b) => `${b.on.join(' ')}\n${b.script}`).join('\n');
    for (const placeholder of Object.keys(this.o.placeholders ?? {})) {
      if (!raw.includes(placeholder)) throw new Error(`placeholder ${placeholder} does not occur in "${heading}"`);
    }
    const blocks = blocksOf(this.fill(runbook), heading);
    for (const [k, block] of blocks.entries()) {
      if (only && !only.includes(k)) continue;
      if (block.on[0] === 'workstation') {
        this.timed('workstation', () => this.onWorkstation(block.script));
        continue;
      }
      for (const node of block.once ? block.on.slice(0, 1) : block.on) {
        if (this.o.caCertFile) fs.copyFileSync(this.o.caCertFile, path.join(this.o.cp.nodeRoot(node), 'root', 'ca.crt'));
        const t0 = Date.now();
        const r = await this.o.cp.runOnNode(node, block.script, { timeoutMs: this.o.timeoutMs ?? 600_000, env: this.o.keys });
        this.timings.push({ on: node, ms: Date.now() - t0 });
        if (r.code !== 0) throw new Error(`block on ${node} failed (${r.code}):\n${block.script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
      }
    }
  }

  private fill(script: string): string {
    let out = script;
    for (const [placeholder, value] of Object.entries(this.o.placeholders ?? {})) out = out.split(placeholder).join(value);
    return out;
  }

  private timed(on: string, fn: () => void): void {
    const t0 = Date.now();
    fn();
    this.timings.push({ on, ms: Date.now() - t0 });
  }

  private onWorkstation(script: string): void {
    const cp = this.o.cp;
    const bin = path.join(this.o.workDir, 'workstation-bin');
    fs.mkdirSync(bin, { recursive: true });
    const roots = cp.nodes.map((n) => `${cp.ip(n)}) dest=${JSON.stringify(cp.tmpDir(n))} ;;`).join('\n  ');
    fs.writeFileSync(path.join(bin, 'scp'), [
      '#!/bin/bash',
      '# scp for the tests: <address>:/tmp/<file> is that node\'s /tmp (its own directory in the harness).',
      'set -euo pipefail',
      'src=$1; target=$2; host=${target%%:*}; file=${target#*:}',
      'case "${host}" in',
      `  ${roots}`,
      '  *) echo "scp (test): unknown host ${host}" >&2; exit 1 ;;',
      'esac',
      'case "${file}" in /tmp/*) cp "${src}" "${dest}/${file#/tmp/}" ;; *) echo "scp (test): only /tmp targets" >&2; exit 1 ;; esac',
    ].join('\n'), { mode: 0o755 });
    if (this.o.caCertFile) fs.copyFileSync(this.o.caCertFile, path.join(this.o.workDir, 'ca.crt'));
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: this.o.workDir,
      encoding: 'utf8',
      env: {
        PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
        HOME: this.o.workDir,
        ...this.o.keys,
        RESTIC_CACHE_DIR: path.join(this.o.workDir, 'restic-cache'),
      },
      timeout: this.o.timeoutMs ?? 600_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`workstation block failed (${r.status}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
}
