import { EtcdVersion } from './etcd-version';
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
 * The tool that restores an etcd snapshot into a data dir: `etcdutl` (etcd 3.5+; `etcdctl
 * snapshot restore` is deprecated in 3.5 and gone in 3.6, CHANGELOG-3.6, #13809) of the
 * snapshot's own minor, read from its `etcd-version` tag when it is fetched: a restore must match
 * the server's minor (etcd-io/etcd#13070), a newer minor's snapshot cannot be restored with older
 * tools, and an older one's data dir is upgraded by the newer server as any upgrade is. kubeadm,
 * k3s and RKE2 nodes ship neither etcdutl nor etcdctl (etcd runs from its image), so the runbook
 * installs the release binaries of that version when the node lacks them.
 * @internal
 */
export class EtcdRestoreTool {
  constructor(public readonly etcdVersion: EtcdVersion) {}

  /** The cluster's configured version. */
  public get version(): string {
    return this.etcdVersion.version;
  }

  /** The restore binary. */
  public get binary(): string {
    return 'etcdutl';
  }

  /** See EtcdVersion.canBumpRevision (of the cluster's version: snapshots of an older minor are restored with their own tools). */
  public get canBumpRevision(): boolean {
    return this.etcdVersion.canBumpRevision;
  }

  /**
   * Workstation lines, after the fetch: the etcd version that took the snapshot (its tag; older
   * backups have none and were taken by the configured version), refused when its minor is newer
   * than the cluster's, written to VERSION_FILE for the nodes.
   */
  public snapshotVersionLines(listLatest: string, versionFile: string): string[] {
    const cfg = this.etcdVersion;
    const refuse = `the snapshot was taken by etcd \${ver}, a newer minor than the cluster's etcd ${cfg.version} (etcdVersion): `
      + `restoring it with etcd ${cfg.minorVersion} tools is a downgrade etcd does not support (etcd-io/etcd#13070). `
      + `Run the control plane's etcd at \${ver} (image registry.k8s.io/etcd:\${ver}-0) before restoring, or restore an older snapshot taken by ${cfg.minorVersion} (restic snapshots shows each one's etcd-version tag).`;
    return [
      // One snapshot (--latest 1): one etcd-version tag at most.
      `ver=$({ ${listLatest} | grep -o '"etcd-version=[0-9.]*"' || true; } | cut -d= -f2 | tr -d '"')`,
      `if test -z "\${ver}"; then ver=${shellQuote(cfg.version)}; echo "the snapshot has no etcd-version tag (taken before backups recorded it): restoring with etcd \${ver}, the cluster's version"; fi`,
      'case "${ver}" in 3.[5-9].*) ;; *) echo "the etcd version ${ver} of the snapshot is not one this runbook restores (3.5 and newer)" >&2; exit 1 ;; esac',
      `minor=\${ver#3.}; minor=\${minor%%.*}; if test "\${minor}" -gt ${cfg.minor}; then echo "${refuse}" >&2; exit 1; fi`,
      // Written by that `sh`, as the join above: every word of the pasted line is literal.
      `${shellWords('sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh')} "\${ver}" ${shellQuote(versionFile)}`,
    ];
  }

  /**
   * Lines that put etcdutl and etcdctl of the snapshot's version (VERSION_FILE, copied from the
   * workstation) on a node that lacks them or has another minor.
   */
  public installLines(versionFile: string): string[] {
    const has = (b: string) => `${b} version 2>/dev/null | grep "^${b} version: \${ver%.*}\\." >/dev/null`;
    const url = 'https://github.com/etcd-io/etcd/releases/download/v${ver}/etcd-v${ver}-linux-amd64.tar.gz';
    return [
      `ver=$(cat ${shellQuote(versionFile)})`,
      `if ! ${has('etcdutl')} || ! ${has('etcdctl')}; then curl -fsSL "${url}" | sudo tar -xz -C /usr/local/bin --strip-components=1 "etcd-v\${ver}-linux-amd64/etcdutl" "etcd-v\${ver}-linux-amd64/etcdctl"; fi   # arm64: -linux-arm64`,
      // grep without -q reads all of it: -q would exit first and, under pipefail, fail the pipe.
      ...['etcdutl', 'etcdctl'].map((b) => `${has(b)} || { echo "${b} is not etcd \${ver%.*}: the snapshot was taken by etcd \${ver}; put its ${b} first on PATH" >&2; exit 1; }`),
    ];
  }

  /**
   * A line that puts etcdctl on a node that has none (kubeadm, k3s and RKE2 nodes run etcd from its
   * image and have no etcd tools): the cluster's version, from etcd's release. Any etcd 3.5+ client
   * talks to 3.5–3.7 servers, so an etcdctl the node already has is kept.
   */
  public clientInstallLines(): string[] {
    const v = this.version;
    const url = `https://github.com/etcd-io/etcd/releases/download/v${v}/etcd-v${v}-linux-amd64.tar.gz`;
    return [`if ! command -v etcdctl >/dev/null; then curl -fsSL ${shellQuote(url)} | sudo tar -xz -C /usr/local/bin --strip-components=1 ${shellQuote(`etcd-v${v}-linux-amd64/etcdctl`)}; fi   # arm64: -linux-arm64`];
  }

  /** The restore of one member from the snapshot file into the data dir (which must not exist). */
  public restoreLines(args: { snapshot: string; dataDir: string; name: string; initialCluster: string; token: string; peerUrl: string }): string[] {
    const bump = this.canBumpRevision ? ['--bump-revision', '1000000000', '--mark-compacted'] : [];
    return [
      `${shellWords('sudo', this.binary, 'snapshot', 'restore', args.snapshot, '--data-dir', args.dataDir)} \\`,
      `  ${shellWords('--name', args.name, '--initial-cluster', args.initialCluster)} \\`,
      `  ${shellWords('--initial-cluster-token', args.token, '--initial-advertise-peer-urls', args.peerUrl, ...bump)}`,
    ];
  }

  /** An `etcdctl` invocation against one endpoint with client certificates (host paths). */
  public etcdctl(endpoint: string, certs: { ca: string; cert: string; key: string }, ...args: string[]): string {
    return shellWords('sudo', 'etcdctl', '--endpoints', endpoint, '--cacert', certs.ca, '--cert', certs.cert, '--key', certs.key, ...args);
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
