import { configError } from '../internal/host-spelling';
import { shellQuote, shellWords } from '../internal/shell';

/**
 * The restore procedure as data: scenarios of ordered blocks, each saying where it runs. The
 * runbook renders them; the tests run them, block by block, on the nodes they name.
 */

/** Where a block runs when it is not on the nodes: the operator's machine with restic and the keys. @internal */
export const WORKSTATION = 'workstation';

/**
 * Commands an operator runs in one place, in order.
 * @internal
 */
export interface RunbookBlock {
  /** `workstation`, or the node names it runs on (one after the other, the same commands). */
  readonly on: string[];
  /** Run it on ONE of `on` (a healthy one), not on each. @default false */
  readonly once?: boolean;
  /** What it does, in a few words (the runbook's step title). */
  readonly title: string;
  /** Shell lines, every value quoted. */
  readonly lines: string[];
  /** Prose after the title: why, what to check. */
  readonly note?: string;
}

/**
 * One situation an operator can be in, with its own steps.
 * @internal
 */
export interface RestoreScenario {
  /** Heading, e.g. `Quorum lost`. */
  readonly title: string;
  /** When it applies (one sentence for the "which situation" list). */
  readonly when: string;
  /** Prose before the steps. */
  readonly intro?: string;
  readonly blocks: RunbookBlock[];
}

/**
 * A control-plane node as the restore names it: its Kubernetes node name and the address its
 * peers reach it at (literal when given, a placeholder the runbook names otherwise).
 * @internal
 */
export interface RestoreNode {
  readonly name: string;
  readonly address: string;
}

/**
 * The tool that restores an etcd snapshot into a data dir, matching the cluster's etcd version:
 * `etcdutl` from etcd 3.5 (`etcdctl snapshot restore` is deprecated there and gone in 3.6),
 * `etcdctl` for 3.4, which has no etcdutl. kubeadm, k3s and RKE2 nodes ship neither, and
 * `registry.k8s.io/etcd` images have no etcdutl (etcd-io/etcd#13764), so the runbook installs
 * the release binaries of that version when the node lacks them.
 * @internal
 */
export class EtcdRestoreTool {
  /** From a version like `3.5.16`. */
  public static forVersion(option: string, version: string): EtcdRestoreTool {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version ?? '');
    if (!m) throw configError(`${option}: expected an etcd version like '3.5.16'; got ${JSON.stringify(version)}`);
    const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (major !== 3 || minor < 4) {
      throw configError(`${option}: the restore procedure knows etcd 3.4 to 3.6 (Kubernetes 1.28 runs 3.5); got ${JSON.stringify(version)}`);
    }
    return new EtcdRestoreTool(version, minor, patch);
  }

  private constructor(public readonly version: string, private readonly minor: number, private readonly patch: number) {}

  /** The restore binary. */
  public get binary(): string {
    return this.minor === 4 ? 'etcdctl' : 'etcdutl';
  }

  /**
   * `--bump-revision --mark-compacted` exist from etcdctl 3.4.27 and etcdutl 3.5.10 (etcd
   * CHANGELOG-3.4/3.5, PRs #16193/#16165): the restored revision jumps ahead of anything a
   * client saw, and every watch is told to re-list, so no watch cache serves the lost future.
   */
  public get canBumpRevision(): boolean {
    return this.minor === 4 ? this.patch >= 27 : this.minor > 5 || this.patch >= 10;
  }

  /** Lines that put the tool (and etcdctl, for the health checks) on a node that lacks them. */
  public installLines(): string[] {
    const v = `v${this.version}`;
    const dir = `etcd-${v}-linux-amd64`;
    const url = `https://github.com/etcd-io/etcd/releases/download/${v}/${dir}.tar.gz`;
    const bins = this.minor === 4 ? ['etcdctl'] : ['etcdutl', 'etcdctl'];
    const missing = bins.map((b) => `! command -v ${b} >/dev/null`).join(' || ');
    return [
      `if ${missing}; then curl -fsSL ${shellQuote(url)} | sudo tar -xz -C /usr/local/bin --strip-components=1 ${shellWords(...bins.map((b) => `${dir}/${b}`))}; fi   # arm64: -linux-arm64`,
      // grep without -q reads all of it: -q would exit first and, under pipefail, fail the pipe.
      ...bins.map((b) => `${b} version | grep ${shellQuote(`^${b} version: 3\\.${this.minor}\\.`)} >/dev/null || { echo ${shellQuote(`${b} is not etcd 3.${this.minor}: use the cluster's etcd version, ${this.version}`)} >&2; exit 1; }`),
    ];
  }

  /** The restore of one member from the snapshot file into the data dir (which must not exist). */
  public restoreLines(args: { snapshot: string; dataDir: string; name: string; initialCluster: string; token: string; peerUrl: string }): string[] {
    const env = this.minor === 4 ? ['ETCDCTL_API=3'] : [];
    const bump = this.canBumpRevision ? ['--bump-revision', '1000000000', '--mark-compacted'] : [];
    return [
      `${shellWords('sudo', ...env, this.binary, 'snapshot', 'restore', args.snapshot, '--data-dir', args.dataDir)} \\`,
      `  ${shellWords('--name', args.name, '--initial-cluster', args.initialCluster)} \\`,
      `  ${shellWords('--initial-cluster-token', args.token, '--initial-advertise-peer-urls', args.peerUrl, ...bump)}`,
    ];
  }

  /** An `etcdctl` invocation against one endpoint with client certificates (host paths). */
  public etcdctl(endpoint: string, certs: { ca: string; cert: string; key: string }, ...args: string[]): string {
    const env = this.minor === 4 ? ['ETCDCTL_API=3'] : [];
    return shellWords('sudo', ...env, 'etcdctl', '--endpoints', endpoint, '--cacert', certs.ca, '--cert', certs.cert, '--key', certs.key, ...args);
  }
}

/** Moves a directory aside when it exists (it does not on a rebuilt node). @internal */
export function moveAsideLines(dir: string): string[] {
  return [`if sudo test -e ${shellQuote(dir)}; then sudo mv ${shellQuote(dir)} ${shellQuote(`${dir}.before-restore`)}."$(date +%Y%m%d%H%M%S)"; fi`];
}

/**
 * Waits (up to a minute) until nothing answers on host:port, and fails the block if something
 * still does: a static pod stops when the kubelet next looks (every 20 s), then gets its grace
 * period.
 * @internal
 */
export function waitPortClosedLines(host: string, port: number, what: string): string[] {
  const probe = `timeout 2 bash -c ${shellQuote(`exec 3<>${shellQuote(`/dev/tcp/${host}/${port}`)}`)} 2>/dev/null`;
  return [
    `for attempt in $(seq 30); do ${probe} || break; echo ${shellQuote(`waiting for ${what} to stop`)}; sleep 2; done`,
    `if ${probe}; then echo ${shellQuote(`${what} still answers on ${host}:${port}: stop it before going on`)} >&2; exit 1; fi`,
  ];
}

/** The `name=https://address:2380,...` list every restored member gets. @internal */
export function initialCluster(nodes: RestoreNode[]): string {
  return nodes.map((n) => `${n.name}=https://${n.address}:2380`).join(',');
}

/** The marker line that opens a block: where it runs, for the operator and for the tests. @internal */
export function onMarker(block: RunbookBlock): string {
  return `# on: ${block.once ? 'one of ' : ''}${block.on.join(' ')}`;
}

/** A scenario as Markdown: its steps numbered, each block opened by its marker. @internal */
export function renderScenario(s: RestoreScenario, level: string): string[] {
  const lines = [`${level} ${s.title}`, '', `When: ${s.when}.`, ''];
  if (s.intro) lines.push(s.intro, '');
  s.blocks.forEach((b, i) => {
    const where = b.on[0] === WORKSTATION ? 'on your workstation' : `on ${b.once ? 'ONE of ' : ''}${b.on.join(', ')}`;
    // A subshell with strict mode: a failing command stops its block, not the operator's
    // terminal (an `exit` in it ends the subshell only).
    lines.push(`**Step ${i + 1} — ${where}:** ${b.title}.${b.note ? ` ${b.note}` : ''}`, '', '```sh', onMarker(b), '(', 'set -euo pipefail', ...b.lines, ')', '```', '');
  });
  return lines;
}
