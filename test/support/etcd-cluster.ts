/**
 * A kubeadm-style stacked-etcd control plane of N nodes (default cp-1, cp-2, cp-3) on this one
 * machine, so that a test can run a restore runbook's shell blocks literally "on a node" and
 * check that the cluster comes back.
 *
 * What a node is:
 *
 * - Disk: `<root>/<node>/` holds what that node's disk would hold at the paths that matter:
 *   `etc/kubernetes/{manifests/etcd.yaml,pki/etcd/*}`, `var/lib/etcd/` (data),
 *   `var/lib/kubelet/config.yaml`, `etc/rancher/` (k3s/RKE2 config), `tmp/`, `root/` (root's home)
 *   and `usr/local/bin/` (empty: where a runbook installs tools). Only these six trees are
 *   node-local (`NODE_LOCAL_PATHS`): everything else (/usr, /bin, the rest of /etc, /var/tmp, ...)
 *   is the real host, shared by all nodes, as with pod-runner.ts (no chroot).
 * - etcd tools: like a kubeadm, k3s or RKE2 host, a node has NO etcd, etcdctl or etcdutl on its
 *   PATH (etcd runs from its image; the host has none in /usr/bin either: test/support/tools.ts).
 *   A runbook installs them as it says, from etcd's GitHub release: the nodes' `curl` serves, for
 *   exactly the release URL of each of ETCD_TEST_VERSIONS
 *   (https://github.com/etcd-io/etcd/releases/download/v<v>/etcd-v<v>-linux-amd64.tar.gz), a
 *   tarball of that layout holding that version's real etcd, etcdctl and etcdutl, and 404 for
 *   any other URL (the machine has no route to GitHub).
 * - Network: node i has its own loopback address 127.0.0.(11+i) (all of 127/8 is loopback on
 *   Linux, nothing to configure; `startControlPlane` checks it can bind them) and etcd's real
 *   ports 2379 (client) and 2380 (peer) on it, like real kubeadm nodes. No network namespaces:
 *   every node reaches every other one, and 127.0.0.1 is shared by all.
 *   ONE DEVIATION from kubeadm's manifest: `--listen-client-urls` is `https://<ip>:2379` only,
 *   without kubeadm's `https://127.0.0.1:2379`, which would collide between nodes. A script on a
 *   node must talk to etcd at `https://<node-ip>:2379`. The certificates still have the SANs
 *   127.0.0.1, ::1, localhost, the node name and the node IP. kubeadm's
 *   `--listen-metrics-urls=http://127.0.0.1:2381` is left out for the same reason (no probes).
 * - Kubelet: one in-process timer per node (every 200 ms) reads every non-hidden file in the
 *   node's `etc/kubernetes/manifests/` (as the kubelet does; `etcd.yaml.bak` in that directory
 *   still counts), picks the Pod whose container command is `etcd`, and
 *   starts it when it is not running, with the etcd of its image's version: the manifest's
 *   `registry.k8s.io/etcd:<version>-0` runs that version's `etcd` (PATH of the "container" is
 *   that version's bin dir first, as the image's /usr/local/bin; an image of a version the
 *   machine does not have fails to start, like an image that cannot be pulled) (command + args from the manifest, read anew at each start),
 *   restarts it with a back-off (0.25 s doubling to 5 s) when it exits, restarts it when the
 *   manifest's content changes, and stops it (SIGTERM, SIGKILL after 2 s: processes.ts) when no
 *   such manifest is left (moved away, as the kubeadm docs tell operators to do; the runbook moves
 *   the whole manifests dir) or it no longer parses. `events(node)` tells what it did and why.
 * - The etcd "container": its hostPath volumes are honoured, a hostPath P being `<root>/<node>/P`
 *   (P must be node-local; type DirectoryOrCreate/FileOrCreate create it like the kubelet). It
 *   runs in its own mount and UTS namespace (hostname = node name, as with hostNetwork):
 *   a scratch tmpfs on /var/lib carries an overlay of /etc (so a mount point like
 *   /etc/kubernetes/pki/etcd can be made without touching the host's /etc), then fresh tmpfs on
 *   /var/lib and /tmp (the container's own), then each volume is bind-mounted on its mountPath
 *   (which must be under /etc, /var/lib or /tmp). The host's /etc/kubernetes and /var/lib/etcd
 *   are never touched: all of this exists in the namespace only.
 * - The operator's shell (`runOnNode`): `bash -euo pipefail -c <script>` as root in its own
 *   mount, UTS and PID namespace (hostname = node name, so `$(hostname)` works; everything it
 *   starts dies with it), where the same overlay makes /etc/kubernetes a mount point and the
 *   node's `etc/kubernetes`, `var/lib`, `tmp` and `root` are bind-mounted on /etc/kubernetes,
 *   /var/lib, /tmp and /root. The whole /var/lib is the node's (not just /var/lib/etcd): then
 *   /var/lib/etcd is a plain directory, and `mv /var/lib/etcd /var/lib/etcd.broken` works (a mount
 *   point could not be renamed); nothing a runbook runs needs the host's /var/lib (dpkg state
 *   etc.). Writes to the rest of /etc land in the overlay and vanish with the script. The working
 *   directory and HOME are /root (the node's). PATH is `<root>/harness/<node>/bin` + the usual
 *   system dirs, which holds shims:
 *     curl       etcd's release tarballs only (see "etcd tools" above).
 *     sudo       tests run as root; the shim drops a few options (-E, -n, -H, -u root) and execs the rest
 *                (the host has no sudo).
 *     systemctl  `start|stop|restart|is-active|status|enable|disable|daemon-reload kubelet`: stop
 *                pauses this node's fake kubelet (running members go on running, as with a real
 *                kubelet), start/restart resumes it; the host's real systemctl is never reached.
 *                Unit `etcd` is the member as an external etcd's systemd unit: stop takes its
 *                manifest away and waits until it no longer answers, start (--no-block) puts it back.
 *                `cat` prints Debian's etcd.service (which configures etcd by ETCD_* environment)
 *                and the drop-ins in /etc/systemd/system/etcd.service.d; a start with drop-ins
 *                turns their EnvironmentFile= variables into the member's env, dropping the flags
 *                they stand for (unitEnvironment). Drop-ins live in the script's /etc overlay.
 *   Because of these binds, `root` must not be under /tmp, /var/lib, /etc or /root (it would be
 *   hidden in the namespace); the default is a fresh /var/tmp/etcd-cluster-XXXXXX.
 *
 * Not emulated: kube-apiserver and the other static pods, probes, the kubelet's pod sandbox,
 * images, resource limits, network isolation, `kubeadm` itself; the kubelet ignores
 * var/lib/kubelet/config.yaml (its staticPodPath is always /etc/kubernetes/manifests).
 *
 * Measured on the dev VM (2 vCPU, raft 50/500 ms), 7 runs of etcd-cluster.test.ts, 3 of
 * them with both cores kept busy by two shell loops (etcd 3.4.23, before the move to 3.5; one
 * idle run with 3.5.30 is within these ranges: see the test's printed timings):
 * - startControlPlane to healthy 0.7-2.7 s: PKI ~0.2 s; etcd bootstrapping a NEW cluster first
 *   asks each peer for the cluster with a 1 s timeout, and a peer that listens but does not serve
 *   yet costs that second (a restart with data skips this).
 * - member gone after its manifest moved out 0.1-0.3 s, ~1.2 s if it was the leader (it hands
 *   leadership over first); healthy again 0.45-1.0 s after moving it back. All three at once
 *   ~2.1 s: the leader's hand-over to peers that stop too hangs until the SIGKILL after 2 s.
 * - runOnNode('true') 35-75 ms; health() ~150 ms; loadKeys(2000) ~0.9 s; getAll of 2000 keys ~50 ms;
 *   snapshotSave ~50 ms; `snapshot restore` on 3 nodes in parallel 0.15-0.3 s, the restored
 *   cluster healthy 0.35-1.0 s after the manifests are back; stop() 0.2-0.4 s.
 * - etcd-cluster.test.ts 11.5-13.5 s in jest (~8 s of tests), 16-19 s with both cores busy.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { etcdctlEnv as etcdctlEnvFor, keyFor, LoadKeysOptions, LoadKeysResult, MAX_TXN_OPS, valueFor } from './etcd';
import { EtcdPki, makeEtcdPki } from './pki';
import { canConnect, cleanEnv, CLEAN_PATH, ManagedProcess, startProcess, waitFor } from './processes';
import { DEFAULT_ETCD_TEST_VERSION, etcdBinary, ETCD_TEST_VERSIONS, etcdVersionOfImage, TOOLS_DIR } from './tools';

/** etcd's client port: the real one, on each node's own IP. */
export const CLIENT_PORT = 2379;
/** etcd's peer port: the real one, on each node's own IP. */
export const PEER_PORT = 2380;
export const DEFAULT_NODES: readonly string[] = ['cp-1', 'cp-2', 'cp-3'];
/** The paths where a node's own disk (`<root>/<node>/...`) shows through. */
export const NODE_LOCAL_PATHS: readonly string[] = ['/etc/kubernetes', '/etc/rancher', '/var/lib', '/tmp', '/root', '/usr/local/bin'];
/** Where the etcd container may mount volumes (the overlay'd /etc and its own tmpfs /var/lib and /tmp). */
const CONTAINER_MOUNTABLE = ['/etc', '/var/lib', '/tmp'];
/** PATH of a root shell on a node, after the harness's shim dir. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Exit code of a namespace wrapper whose mounts failed (as pod-runner.ts). */
const SETUP_FAILED = 125;
const SETPRIV = '/usr/bin/setpriv';
const UNSHARE = '/usr/bin/unshare';
const OPENSSL = '/usr/bin/openssl';
const ETCD_PKI = '/etc/kubernetes/pki/etcd';
/** Drop-ins of the `etcd` unit (in the shell's /etc overlay: they last for one runOnNode script). */
const ETCD_DROP_INS = '/etc/systemd/system/etcd.service.d';


/**
 * The loopback address of the `index`-th node (0-based): 127.0.<w>.11, 127.0.<w>.12, ... where
 * <w> is the jest worker (1 outside jest): test files that run at once in two workers get
 * clusters of their own (all of 127/8 is loopback on Linux).
 */
export function nodeIp(index: number): string {
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  return `127.0.${Number.isInteger(worker) && worker >= 1 && worker <= 254 ? worker : 1}.${11 + index}`;
}

export interface ControlPlaneOptions {
  /** Node names (DNS labels). @default ['cp-1', 'cp-2', 'cp-3'] */
  readonly nodes?: readonly string[];
  /**
   * Directory for the node disks, logs and shims; must not be under /tmp, /var/lib, /etc or /root.
   * Removed by `stop()` (and by a failed start) unless `keep`.
   * @default - a fresh /var/tmp/etcd-cluster-XXXXXX
   */
  readonly root?: string;
  /** Keep `root` after `stop()` (for debugging). @default false */
  readonly keep?: boolean;
  /**
   * Raft timings written into the manifests (--heartbeat-interval / --election-timeout). Start to
   * healthy, measured once each idle / with both cores busy: 10/100 1.0 / 3.3 s, 50/500 0.5 / 1.7 s,
   * etcd's defaults 100/1000 1.4 / 2.1 s; none re-elected in 3 s after 2000 writes. 50/500 also
   * leaves a busy 2-core machine 10x the heartbeat before an election.
   * @default 50
   */
  readonly heartbeatIntervalMs?: number;
  /** @default 500 */
  readonly electionTimeoutMs?: number;
  /** Wait this long for `waitHealthy()`; 0 returns at once. @default 30000 */
  readonly startTimeoutMs?: number;
  /**
   * The etcd version of the members: their static pods' image is `registry.k8s.io/etcd:<version>-0`
   * (one of ETCD_TEST_VERSIONS), and the harness's own etcdctl is of this version.
   * @default DEFAULT_ETCD_TEST_VERSION
   */
  readonly etcdVersion?: string;
  /** How often each fake kubelet looks at its manifests. @default 200 */
  readonly kubeletIntervalMs?: number;
  /**
   * More systemd units the systemctl shim knows (e.g. `k3s`): start, stop, restart, enable and
   * disable succeed and are recorded (`unitLog`), nothing runs. @default []
   */
  readonly units?: readonly string[];
  /** More commands on the nodes' PATH: name -> bash lines after `#!/bin/bash`. @default {} */
  readonly shims?: Record<string, string[]>;
}

export interface RunOnNodeOptions {
  /** Extra environment of the script (on top of PATH, HOME=/root, USER, LOGNAME, LANG, TZ). */
  readonly env?: Record<string, string>;
  /** Kill the script (its whole PID namespace) after this long. @default 120000 */
  readonly timeoutMs?: number;
}

export interface RunResult {
  /** Exit code; null if killed (timeout). 125: the namespace setup failed (see stderr). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
}

export interface NodeHealth {
  readonly node: string;
  readonly ip: string;
  /** https://<ip>:2379 */
  readonly endpoint: string;
  /** `etcdctl endpoint health` passed (the member serves a quorum read). */
  readonly healthy: boolean;
  /** Why not healthy / why the status is missing. */
  readonly error?: string;
  /** From `endpoint status`, ids in hex as etcdctl prints them in tables. */
  readonly memberId?: string;
  readonly leaderId?: string;
  readonly isLeader?: boolean;
  readonly revision?: number;
  readonly raftTerm?: number;
  readonly raftIndex?: number;
  readonly version?: string;
  readonly dbSize?: number;
}

export interface MemberInfo {
  /** hex */
  readonly id: string;
  /** Empty for a member added but not started yet. */
  readonly name: string;
  readonly peerUrls: string[];
  readonly clientUrls: string[];
  readonly isLearner: boolean;
}

export interface WaitHealthyOptions {
  /** Nodes that must be healthy. @default every node */
  readonly nodes?: readonly string[];
  /** Started members the member list must have. @default the number of nodes */
  readonly members?: number;
}

/** Which member an etcdctl call of the harness goes to. */
export interface OnNode {
  /** @default - the first node that accepts connections */
  readonly node?: string;
}

// ---------------------------------------------------------------------------
// The harness

/** A control plane started by `startControlPlane`. */
export class ControlPlaneHarness {
  public readonly root: string;
  public readonly nodes: readonly string[];
  /** The harness's own etcd PKI: the shared CA and the healthcheck-client cert it talks to etcd with. */
  public readonly pki: EtcdPki;
  /** `cp-1=https://127.0.0.11:2380,...`: the --initial-cluster of the manifests. */
  public readonly initialCluster: string;
  /** The members' etcd version (ControlPlaneOptions.etcdVersion); the harness's etcdctl is of this version. */
  public readonly etcdVersion: string;
  private readonly layouts: ReadonlyMap<string, NodeLayout>;
  private readonly kubelets: ReadonlyMap<string, FakeKubelet>;
  private readonly keep: boolean;
  private readonly scripts = new Set<ManagedProcess>();
  private timer?: NodeJS.Timeout;
  private runCounter = 0;
  private stopping?: Promise<void>;

  /** @internal */
  constructor(props: { root: string; layouts: NodeLayout[]; pki: EtcdPki; keep: boolean; kubeletIntervalMs: number; etcdVersion: string }) {
    this.root = props.root;
    this.etcdVersion = props.etcdVersion;
    this.nodes = props.layouts.map((l) => l.name);
    this.pki = props.pki;
    this.keep = props.keep;
    this.initialCluster = initialClusterOf(props.layouts);
    this.layouts = new Map(props.layouts.map((l) => [l.name, l]));
    this.kubelets = new Map(props.layouts.map((l) => [l.name, new FakeKubelet(l, path.join(props.root, 'harness', 'logs'))]));
    const tick = () => this.kubelets.forEach((k) => k.tick());
    tick();
    this.timer = setInterval(tick, props.kubeletIntervalMs);
    // A forgotten harness must not keep jest alive; processes.ts kills its members at exit.
    this.timer.unref();
  }

  /** `<root>/<node>`: the node's disk. */
  public nodeRoot(node: string): string {
    return this.layout(node).root;
  }

  /** The node's own loopback address. */
  public ip(node: string): string {
    return this.layout(node).ip;
  }

  /** https://<ip>:2379 */
  public endpoint(node: string): string {
    return `https://${this.ip(node)}:${CLIENT_PORT}`;
  }

  /** Host path of the node's /etc/kubernetes/manifests/etcd.yaml. */
  public manifestPath(node: string): string {
    return path.join(this.nodeRoot(node), 'etc/kubernetes/manifests/etcd.yaml');
  }

  /** Host path of the node's /var/lib/etcd. */
  public dataDir(node: string): string {
    return path.join(this.nodeRoot(node), 'var/lib/etcd');
  }

  /** What systemctl did to the extra units on `node` (`ControlPlaneOptions.units`): `start k3s`, ... */
  public unitLog(node: string): string[] {
    const log = this.layout(node).unitLog;
    return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** Host path of the node's /tmp (stage files for `runOnNode` here). */
  public tmpDir(node: string): string {
    return path.join(this.nodeRoot(node), 'tmp');
  }

  /** ETCDCTL_* env pointing at `node` with the harness's healthcheck-client cert (host paths). */
  public etcdctlEnv(node: string): Record<string, string> {
    return etcdctlEnvFor(this.endpoint(node), this.pki);
  }

  /** True while the node's kubelet has an etcd process that has not exited. */
  public isRunning(node: string): boolean {
    return this.kubelet(node).running;
  }

  /** pid of the node's etcd, if running. */
  public memberPid(node: string): number | undefined {
    return this.kubelet(node).pid;
  }

  /** The last `maxBytes` of the current (or last) etcd's output on `node`. */
  public memberLog(node: string, maxBytes = 8192): string {
    return this.kubelet(node).log(maxBytes);
  }

  /** What the node's kubelet did (starts, stops, exits, manifest errors), oldest first. */
  public events(node: string): readonly string[] {
    return this.kubelet(node).events;
  }

  /**
   * Runs `bash -euo pipefail -c script` as root on `node`: in a mount/UTS/PID namespace where
   * /etc/kubernetes, /var/lib, /tmp and /root are the node's (see the header), hostname is the
   * node name, cwd and HOME are /root, and PATH starts with the sudo/systemctl shims.
   */
  public async runOnNode(node: string, script: string, options: RunOnNodeOptions = {}): Promise<RunResult> {
    if (this.stopping) {
      throw new Error(`runOnNode(${node}): the harness is stopped`);
    }
    const layout = this.layout(node);
    ensureNodeDirs(layout);
    const base = path.join(this.root, 'harness', 'runs', `${node}-${++this.runCounter}`);
    fs.mkdirSync(path.dirname(base), { recursive: true });
    const wrapper = [
      ...nodeViewMounts(layout),
      'cd /root',
      'set +e',
      `"$@" >${q(`${base}.stdout`)} 2>${q(`${base}.stderr`)}`,
      // Not the last command: bash would exec it, and the script would be PID 1 (deaf to SIGTERM).
      'exit $?',
    ].join('\n');
    const t0 = Date.now();
    const proc = startProcess({
      name: `run-${node}`,
      command: SETPRIV,
      args: ['--pdeathsig', 'KILL', '--', UNSHARE, '--mount', '--uts', '--pid', '--fork', '--kill-child', '--mount-proc',
        '--propagation', 'private', '--', '/bin/bash', '-c', wrapper, `node-${node}`, '/bin/bash', '-euo', 'pipefail', '-c', script],
      env: cleanEnv({ PATH: `${layout.binDir}:${SYSTEM_PATH}`, HOME: '/root', USER: 'root', LOGNAME: 'root', ...options.env }),
      logFile: `${base}.setup.log`,
    });
    this.scripts.add(proc);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void proc.stop();
    }, options.timeoutMs ?? 120_000);
    try {
      const exit = await proc.waitForExit();
      return {
        code: exit.code,
        signal: exit.signal,
        stdout: readAndRemove(`${base}.stdout`),
        stderr: readAndRemove(`${base}.stderr`) + (exit.code === SETUP_FAILED ? readAndRemove(`${base}.setup.log`) : ''),
        timedOut,
        durationMs: Date.now() - t0,
      };
    } finally {
      clearTimeout(timer);
      await proc.stop();
      this.scripts.delete(proc);
      fs.rmSync(`${base}.setup.log`, { force: true });
    }
  }

  /** `etcdctl <args>` on the host against `node` (harness cert); resolves stdout, rejects with stderr. */
  public async etcdctl(args: readonly string[], options: { node?: string; input?: string | Buffer; timeoutMs?: number } = {}): Promise<string> {
    const node = options.node ?? this.nodes[0];
    const env = cleanEnv(this.etcdctlEnv(node));
    const r = await runCommand(etcdBinary('etcdctl', this.etcdVersion), args, { env, input: options.input, timeoutMs: options.timeoutMs ?? 60_000 });
    if (r.code !== 0) {
      throw new Error(`etcdctl ${args.join(' ')} on ${node} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`);
    }
    return r.stdout.toString('utf8');
  }

  /** `endpoint health` and `endpoint status` of every node, in parallel. */
  public health(): Promise<NodeHealth[]> {
    return Promise.all(this.nodes.map((n) => this.nodeHealth(n)));
  }

  /** `member list` from the first node that answers. */
  public async memberList(options: OnNode = {}): Promise<MemberInfo[]> {
    return this.onSomeNode(options, async (node) => {
      const out = await this.etcdctl(['--dial-timeout=1s', '--command-timeout=3s', 'member', 'list', '-w', 'json'], { node });
      return ((parseJsonWithIds(out) as { members?: MemberJson[] }).members ?? []).map((m) => ({
        id: hexId(m.ID),
        name: m.name ?? '',
        peerUrls: m.peerURLs ?? [],
        clientUrls: m.clientURLs ?? [],
        isLearner: m.isLearner === true,
      }));
    });
  }

  /**
   * Every key under `prefix` with its value (`get --prefix -w json`, base64-decoded with
   * `encoding`; use 'latin1' to keep arbitrary bytes one char per byte).
   */
  public async getAll(prefix = '/', options: OnNode & { encoding?: BufferEncoding } = {}): Promise<Map<string, string>> {
    const encoding = options.encoding ?? 'utf8';
    return this.onSomeNode(options, async (node) => {
      const out = JSON.parse(await this.etcdctl(['--command-timeout=60s', 'get', '--prefix', '-w', 'json', '--', prefix], { node })) as GetJson;
      const map = new Map<string, string>();
      for (const kv of out.kvs ?? []) {
        map.set(Buffer.from(kv.key, 'base64').toString(encoding), Buffer.from(kv.value ?? '', 'base64').toString(encoding));
      }
      return map;
    });
  }

  /** `etcdctl put` (the value goes through stdin: any bytes, even a leading '-'); resolves the new revision. */
  public async put(key: string, value: string | Buffer, options: OnNode = {}): Promise<number> {
    return this.onSomeNode(options, async (node) => {
      const out = JSON.parse(await this.etcdctl(['put', '-w', 'json', '--', key], { node, input: value })) as { header?: { revision?: number } };
      return Number(out.header?.revision ?? 0);
    });
  }

  /** Like etcd.ts's `EtcdServer.loadKeys` (same keys and values: `keyFor`, `valueFor`), through `node`. */
  public async loadKeys(n: number, options: LoadKeysOptions & OnNode = {}): Promise<LoadKeysResult> {
    const t0 = Date.now();
    const prefix = options.prefix ?? '/fixtures/key-';
    const valueBytes = options.valueBytes ?? 64;
    const start = options.start ?? 0;
    const batchSize = Math.min(options.batchSize ?? MAX_TXN_OPS, MAX_TXN_OPS);
    const keys = Array.from({ length: n }, (_, i) => keyFor(start + i, prefix));
    const node = options.node ?? await this.reachableNode();
    const batches: string[] = [];
    for (let i = 0; i < keys.length; i += batchSize) {
      // txn stdin: compares, blank line, success ops, blank line, failure ops, blank line
      const puts = keys.slice(i, i + batchSize).map((k) => `put ${JSON.stringify(k)} ${JSON.stringify(valueFor(k, valueBytes))}`);
      batches.push(`\n${puts.join('\n')}\n\n\n`);
    }
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const out = await this.etcdctl(['txn'], { node, input: batches[next++] });
        if (!out.startsWith('SUCCESS')) {
          throw new Error(`etcdctl txn did not succeed: ${out.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, batches.length) }, worker));
    const revision = (await this.nodeHealth(node)).revision ?? 0;
    return { keys, revision, durationMs: Date.now() - t0 };
  }

  /** `etcdctl snapshot save <file>` from `node` (host path); returns the file. */
  public async snapshotSave(file: string, options: OnNode = {}): Promise<string> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await this.onSomeNode(options, (node) => this.etcdctl(['snapshot', 'save', file], { node }));
    return file;
  }

  /**
   * Waits until the nodes are healthy, agree on one leader, and the member list has every
   * member started; resolves their health. On timeout the error carries the kubelet events
   * and etcd's last log lines of every unhealthy node.
   */
  public async waitHealthy(timeoutMs = 30_000, options: WaitHealthyOptions = {}): Promise<NodeHealth[]> {
    const wanted = options.nodes ?? this.nodes;
    const members = options.members ?? this.nodes.length;
    let last: NodeHealth[] = [];
    try {
      return await waitFor(async () => {
        last = (await this.health()).filter((h) => wanted.includes(h.node));
        const sick = last.filter((h) => !h.healthy);
        if (sick.length > 0) {
          throw new Error(sick.map((h) => `${h.node}: ${h.error}`).join('; '));
        }
        const leaders = new Set(last.map((h) => h.leaderId));
        if (leaders.size !== 1 || leaders.has(undefined) || leaders.has('0')) {
          throw new Error(`no single leader: ${last.map((h) => `${h.node}→${h.leaderId}`).join(', ')}`);
        }
        const started = (await this.memberList({ node: wanted[0] })).filter((m) => m.name !== '');
        if (started.length !== members) {
          throw new Error(`${started.length} started members, want ${members}: ${started.map((m) => m.name).join(', ')}`);
        }
        return last;
      }, timeoutMs, { intervalMs: 100, description: `nodes ${wanted.join(', ')} to be healthy`, abort: () => this.stopping && 'harness stopped' });
    } catch (e) {
      const sick = wanted.filter((n) => !last.find((h) => h.node === n)?.healthy);
      const details = sick.map((n) => `--- ${n} kubelet: ${this.events(n).slice(-5).join(' | ')}\n${this.memberLog(n, 1500)}`);
      throw new Error([String(e instanceof Error ? e.message : e), ...details].join('\n'));
    }
  }

  /** Waits until the kubelet of `node` has stopped its etcd (the whole process group) and nothing listens on its client port. */
  /**
   * The node's member loses its data (a failed disk): its manifest goes out of the manifests dir
   * (the kubelet reads every file there), the member stops, the data dir is removed, and the
   * manifest comes back, so the kubelet keeps trying to start an empty member.
   */
  public async loseData(node: string): Promise<void> {
    const manifest = this.manifestPath(node);
    const away = path.join(this.nodeRoot(node), 'etcd.yaml.away');
    fs.renameSync(manifest, away);
    await this.waitStopped(node);
    fs.rmSync(this.dataDir(node), { recursive: true, force: true });
    fs.renameSync(away, manifest);
  }

  public async waitStopped(node: string, timeoutMs = 10_000): Promise<void> {
    const kubelet = this.kubelet(node);
    await waitFor(async () => kubelet.idle && !(await canConnect(CLIENT_PORT, this.ip(node), 200)), timeoutMs,
      { intervalMs: 50, description: `etcd on ${node} to stop` });
  }

  /** Stops the kubelets, every member and running script; removes `root` unless `keep`. Idempotent. */
  public stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.kubelets.values()].map((k) => k.shutdown()));
    await Promise.all([...this.scripts].map((p) => p.stop()));
    if (!this.keep) {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }

  private async nodeHealth(node: string): Promise<NodeHealth> {
    const base = { node, ip: this.ip(node), endpoint: this.endpoint(node) };
    // etcdctl's gRPC dial retries a refused connection until --dial-timeout: ask the port first.
    if (!(await canConnect(CLIENT_PORT, base.ip, 500))) {
      return { ...base, healthy: false, error: `nothing listens on ${base.ip}:${CLIENT_PORT}` };
    }
    let status: StatusJson['Status'];
    try {
      const out = await this.etcdctl(['--dial-timeout=1s', '--command-timeout=3s', 'endpoint', 'status', '-w', 'json'], { node });
      status = (parseJsonWithIds(out) as StatusJson[])[0].Status;
    } catch (e) {
      return { ...base, healthy: false, error: errorMessage(e) };
    }
    const memberId = hexId(status.header.member_id);
    const leaderId = hexId(status.leader);
    const facts = {
      memberId,
      leaderId,
      isLeader: memberId === leaderId,
      revision: Number(status.header.revision),
      raftTerm: Number(status.raftTerm),
      raftIndex: Number(status.raftIndex),
      version: status.version,
      dbSize: Number(status.dbSize),
    };
    try {
      await this.etcdctl(['--dial-timeout=1s', '--command-timeout=3s', 'endpoint', 'health'], { node });
      return { ...base, ...facts, healthy: true };
    } catch (e) {
      return { ...base, ...facts, healthy: false, error: errorMessage(e) };
    }
  }

  /** Runs `fn` on options.node, or on the first node accepting connections (the next one if it fails). */
  private async onSomeNode<T>(options: OnNode, fn: (node: string) => Promise<T>): Promise<T> {
    if (options.node !== undefined) {
      return fn(options.node);
    }
    const errors: string[] = [];
    for (const node of this.nodes) {
      if (!(await canConnect(CLIENT_PORT, this.ip(node), 500))) {
        errors.push(`${node}: not listening`);
        continue;
      }
      try {
        return await fn(node);
      } catch (e) {
        errors.push(`${node}: ${errorMessage(e)}`);
      }
    }
    throw new Error(`no node could do it: ${errors.join('; ')}`);
  }

  private async reachableNode(): Promise<string> {
    return this.onSomeNode({}, async (node) => node);
  }

  private layout(node: string): NodeLayout {
    const l = this.layouts.get(node);
    if (!l) {
      throw new Error(`unknown node ${JSON.stringify(node)} (nodes: ${this.nodes.join(', ')})`);
    }
    return l;
  }

  private kubelet(node: string): FakeKubelet {
    this.layout(node);
    return this.kubelets.get(node)!;
  }
}

/**
 * Lays out the node disks (PKI, kubeadm etcd manifest, data dir), starts one fake kubelet per
 * node and (unless startTimeoutMs is 0) waits until the cluster is healthy. Call `stop()` in
 * afterAll.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlaneHarness> {
  if (process.getuid?.() !== 0) {
    throw new Error('startControlPlane: must run as root (mount namespaces)');
  }
  const names = options.nodes ?? DEFAULT_NODES;
  checkNodeNames(names);
  const etcdVersion = options.etcdVersion ?? DEFAULT_ETCD_TEST_VERSION;
  etcdBinary('etcd', etcdVersion); // a missing version fails here, not in every kubelet tick
  const root = options.root ?? fs.mkdtempSync('/var/tmp/etcd-cluster-');
  checkRoot(root);
  fs.mkdirSync(root, { recursive: true });
  let harness: ControlPlaneHarness | undefined;
  try {
    const layouts = names.map((name, i) => nodeLayout(root, name, nodeIp(i)));
    await Promise.all(layouts.map((l) => checkPortsFree(l.ip)));
    const pki = makeEtcdPki(path.join(root, 'harness', 'pki'));
    const raft = { heartbeatMs: options.heartbeatIntervalMs ?? 50, electionMs: options.electionTimeoutMs ?? 500 };
    const initialCluster = initialClusterOf(layouts);
    const releases = stageEtcdReleases(path.join(root, 'harness', 'releases'));
    for (const l of layouts) {
      writeNodeDisk(l, pki, kubeadmEtcdManifest(l, initialCluster, raft, etcdVersion));
      writeShims(l, options, etcdVersion, releases);
    }
    harness = new ControlPlaneHarness({
      root, layouts, pki, keep: options.keep ?? false, kubeletIntervalMs: options.kubeletIntervalMs ?? 200, etcdVersion,
    });
    const timeoutMs = options.startTimeoutMs ?? 30_000;
    if (timeoutMs > 0) {
      await harness.waitHealthy(timeoutMs);
    }
    return harness;
  } catch (e) {
    if (harness) {
      await harness.stop();
    } else if (!options.keep) {
      fs.rmSync(root, { recursive: true, force: true });
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Node disks

interface NodeLayout {
  readonly name: string;
  readonly ip: string;
  /** `<root>/<node>` */
  readonly root: string;
  /** `<root>/harness/<node>/bin`: the shims (outside the node's disk: a runbook cannot wipe them). */
  readonly binDir: string;
  /** Exists while `systemctl stop kubelet` is in effect. */
  readonly kubeletStoppedFile: string;
  /** Where `systemctl stop etcd` keeps the member's manifest. */
  readonly etcdUnitStash: string;
  /** `<verb> <unit>` per line, for the units given in `ControlPlaneOptions.units`. */
  readonly unitLog: string;
  /** The `etcd` unit's drop-in environment (KEY=VALUE lines), written by `systemctl start etcd`. */
  readonly etcdUnitEnv: string;
}

function nodeLayout(root: string, name: string, ip: string): NodeLayout {
  const harnessDir = path.join(root, 'harness', name);
  return {
    name,
    ip,
    root: path.join(root, name),
    binDir: path.join(harnessDir, 'bin'),
    kubeletStoppedFile: path.join(harnessDir, 'kubelet-stopped'),
    etcdUnitStash: path.join(harnessDir, 'etcd-unit-stopped.yaml'),
    unitLog: path.join(harnessDir, 'units.log'),
    etcdUnitEnv: path.join(harnessDir, 'etcd-unit.env'),
  };
}

function initialClusterOf(layouts: readonly NodeLayout[]): string {
  return layouts.map((l) => `${l.name}=https://${l.ip}:${PEER_PORT}`).join(',');
}

function checkNodeNames(names: readonly string[]): void {
  if (names.length === 0 || names.length > 200) {
    throw new Error(`startControlPlane: 1 to 200 nodes, got ${names.length}`);
  }
  for (const n of names) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n) || n === 'harness') {
      throw new Error(`startControlPlane: node name ${JSON.stringify(n)} is not a DNS label (or is "harness")`);
    }
  }
  if (new Set(names).size !== names.length) {
    throw new Error(`startControlPlane: duplicate node names in ${names.join(', ')}`);
  }
}

/** The namespaces cover /tmp, /var/lib, /etc and /root: a root under them would be hidden there. */
function checkRoot(root: string): void {
  const abs = path.resolve(root);
  for (const hidden of ['/tmp', '/var/lib', '/etc', '/root']) {
    if (abs === '/' || isUnder(abs, hidden)) {
      throw new Error(`startControlPlane: root ${abs} must not be under ${hidden} (the node namespaces mount over it)`);
    }
  }
}

/** Binding proves the address is usable (127/8 is loopback) and that no leftover etcd holds the ports. */
async function checkPortsFree(ip: string): Promise<void> {
  for (const port of [CLIENT_PORT, PEER_PORT]) {
    await new Promise<void>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`startControlPlane: cannot bind ${ip}:${port} (${e.code}): ${
        e.code === 'EADDRINUSE' ? 'a leftover etcd? see `ss -ltnp`' : e.message}`)));
      server.listen({ host: ip, port, exclusive: true }, () => server.close(() => resolve()));
    });
  }
}

function ensureNodeDirs(l: NodeLayout): void {
  for (const dir of NODE_LOCAL_PATHS) {
    fs.mkdirSync(path.join(l.root, dir), { recursive: true });
  }
  fs.chmodSync(path.join(l.root, 'tmp'), 0o1777);
  fs.chmodSync(path.join(l.root, 'root'), 0o700);
}

/** What kubeadm leaves on a control-plane node for etcd, plus the kubelet's config. */
function writeNodeDisk(l: NodeLayout, pki: EtcdPki, manifest: string): void {
  ensureNodeDirs(l);
  const pkiDir = path.join(l.root, ETCD_PKI);
  fs.mkdirSync(pkiDir, { recursive: true });
  // One etcd CA for the cluster; kubeadm copies it to every control-plane node.
  copyFile(pki.caCert, path.join(pkiDir, 'ca.crt'), 0o644);
  copyFile(pki.caKey, path.join(pkiDir, 'ca.key'), 0o600);
  copyFile(pki.clientCert, path.join(pkiDir, 'healthcheck-client.crt'), 0o644);
  copyFile(pki.clientKey, path.join(pkiDir, 'healthcheck-client.key'), 0o600);
  const sans = [`DNS:${l.name}`, 'DNS:localhost', `IP:${l.ip}`, 'IP:127.0.0.1', 'IP:::1'];
  for (const leaf of ['server', 'peer']) {
    signServerClientCert({ ca: pki, cn: l.name, sans, certFile: path.join(pkiDir, `${leaf}.crt`), keyFile: path.join(pkiDir, `${leaf}.key`) });
  }
  const manifests = path.join(l.root, 'etc/kubernetes/manifests');
  fs.mkdirSync(manifests, { recursive: true });
  fs.writeFileSync(path.join(manifests, 'etcd.yaml'), manifest, { mode: 0o600 });
  // kubeadm creates the data dir 0700.
  fs.mkdirSync(path.join(l.root, 'var/lib/etcd'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(l.root, 'var/lib/kubelet'), { recursive: true });
  fs.writeFileSync(path.join(l.root, 'var/lib/kubelet/config.yaml'), stringifyYaml({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    staticPodPath: '/etc/kubernetes/manifests',
  }));
}

function copyFile(from: string, to: string, mode: number): void {
  fs.copyFileSync(from, to);
  fs.chmodSync(to, mode);
}

/**
 * kubeadm's etcd server/peer certificate: serverAuth+clientAuth with the node's SANs, signed by
 * the etcd CA. pki.ts's leaf helper is private and has fixed SANs; this is the same openssl call.
 */
function signServerClientCert(o: { ca: EtcdPki; cn: string; sans: readonly string[]; certFile: string; keyFile: string }): void {
  const config = `${o.certFile}.cnf`;
  fs.writeFileSync(config, [
    '[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', `CN = ${o.cn}`, '[ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth,clientAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    `subjectAltName = ${o.sans.join(',')}`,
    '',
  ].join('\n'));
  try {
    const r = spawnSyncChecked(OPENSSL, ['req', '-x509', '-new', '-config', config, '-extensions', 'ext',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', o.keyFile, '-out', o.certFile,
      '-days', '365', '-CA', o.ca.caCert, '-CAkey', o.ca.caKey]);
    if (r) {
      throw new Error(`openssl failed for ${o.certFile}: ${r}`);
    }
  } finally {
    fs.rmSync(config, { force: true });
  }
  fs.chmodSync(o.keyFile, 0o600);
  fs.chmodSync(o.certFile, 0o644);
}

/** Runs a short tool synchronously; returns its stderr if it failed, '' if it succeeded. */
function spawnSyncChecked(command: string, args: string[]): string {
  const r = spawnSync(command, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  return r.status === 0 ? '' : `${r.stderr?.toString() ?? ''}${r.error?.message ?? ''}` || `exit ${r.status}`;
}

/**
 * kubeadm's stacked-etcd static pod (flags sorted as kubeadm writes them), with the deviations
 * of the header: no 127.0.0.1 client URL and no metrics URL, plus short raft timings.
 */
function kubeadmEtcdManifest(l: NodeLayout, initialCluster: string, raft: { heartbeatMs: number; electionMs: number }, etcdVersion: string): string {
  const client = `https://${l.ip}:${CLIENT_PORT}`;
  const peer = `https://${l.ip}:${PEER_PORT}`;
  const command = [
    'etcd',
    `--advertise-client-urls=${client}`,
    `--cert-file=${ETCD_PKI}/server.crt`,
    '--client-cert-auth=true',
    '--data-dir=/var/lib/etcd',
    `--election-timeout=${raft.electionMs}`,
    `--heartbeat-interval=${raft.heartbeatMs}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=${initialCluster}`,
    '--initial-cluster-state=new',
    `--key-file=${ETCD_PKI}/server.key`,
    `--listen-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--name=${l.name}`,
    `--peer-cert-file=${ETCD_PKI}/peer.crt`,
    '--peer-client-cert-auth=true',
    `--peer-key-file=${ETCD_PKI}/peer.key`,
    `--peer-trusted-ca-file=${ETCD_PKI}/ca.crt`,
    '--snapshot-count=10000',
    `--trusted-ca-file=${ETCD_PKI}/ca.crt`,
  ];
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      annotations: { 'kubeadm.kubernetes.io/etcd.advertise-client-urls': client },
      creationTimestamp: null,
      labels: { component: 'etcd', tier: 'control-plane' },
      name: 'etcd',
      namespace: 'kube-system',
    },
    spec: {
      containers: [{
        command,
        image: etcdImage(etcdVersion),
        imagePullPolicy: 'IfNotPresent',
        name: 'etcd',
        resources: { requests: { cpu: '100m', memory: '100Mi' } },
        volumeMounts: [
          { mountPath: '/var/lib/etcd', name: 'etcd-data' },
          { mountPath: ETCD_PKI, name: 'etcd-certs' },
        ],
      }],
      hostNetwork: true,
      priority: 2000001000,
      priorityClassName: 'system-node-critical',
      securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
      volumes: [
        { hostPath: { path: ETCD_PKI, type: 'DirectoryOrCreate' }, name: 'etcd-certs' },
        { hostPath: { path: '/var/lib/etcd', type: 'DirectoryOrCreate' }, name: 'etcd-data' },
      ],
    },
    status: {},
  });
}

/** kubeadm's etcd image of `version` (its tag is `<version>-0`); the fake kubelet runs the etcd of that version. */
export function etcdImage(version: string): string {
  return `registry.k8s.io/etcd:${version}-0`;
}

// ---------------------------------------------------------------------------
// Shims on the nodes' PATH

/** etcd's release asset URL of `version` (linux amd64), as the runbook downloads it. */
export function etcdReleaseUrl(version: string): string {
  return `https://github.com/etcd-io/etcd/releases/download/v${version}/etcd-v${version}-linux-amd64.tar.gz`;
}

/**
 * Stages each of ETCD_TEST_VERSIONS as its release tarball's top directory
 * (`etcd-v<v>-linux-amd64/{etcd,etcdctl,etcdutl,README.md}`, the binaries as symlinks to the real
 * ones) under `dir`; the curl shim tars one up (dereferencing the links) when it is asked for.
 * Returns URL -> staged directory.
 */
function stageEtcdReleases(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const version of ETCD_TEST_VERSIONS) {
    const top = path.join(dir, `etcd-v${version}-linux-amd64`);
    fs.mkdirSync(top, { recursive: true });
    for (const tool of ['etcd', 'etcdctl', 'etcdutl'] as const) {
      fs.symlinkSync(etcdBinary(tool, version), path.join(top, tool));
    }
    fs.writeFileSync(path.join(top, 'README.md'), `etcd ${version} (etcd-cluster harness: Debian's binaries in the release layout)\n`);
    out.set(etcdReleaseUrl(version), top);
  }
  return out;
}

function writeShims(l: NodeLayout, options: ControlPlaneOptions, etcdVersion: string, releases: ReadonlyMap<string, string>): void {
  fs.mkdirSync(l.binDir, { recursive: true });
  const shim = (name: string, body: string[]) => {
    fs.writeFileSync(path.join(l.binDir, name), ['#!/bin/bash', ...body, ''].join('\n'), { mode: 0o755 });
  };
  for (const [name, body] of Object.entries(options.shims ?? {})) shim(name, body);
  // The runbook's `curl -fsSL <release url> | sudo tar -xz ...`: the release tarball of a test
  // version (its real binaries), 404 for anything else. gzip -1: the stream is read once.
  shim('curl', [
    '# etcd-cluster harness: serves etcd\'s release tarballs of the test versions; 404 for any other URL (no route to GitHub).',
    'set -euo pipefail',
    'url=; for a in "$@"; do case "$a" in -*) ;; *) url=$a ;; esac; done',
    'case "$url" in',
    ...[...releases].map(([url, top]) => `  ${q(url)}) tar -ch -C ${q(path.dirname(top))} ${q(path.basename(top))} | gzip -1 ;;`),
    '  *) echo "curl: (22) The requested URL returned error: 404" >&2; exit 22 ;;',
    'esac',
  ]);
  shim('sudo', [
    '# etcd-cluster harness: the script already runs as root; run the command.',
    'set -u',
    'while [ $# -gt 0 ]; do',
    '  case "$1" in',
    '    -E|-n|-H|--preserve-env|--preserve-env=*) shift ;;',
    '    -u) [ "${2-}" = root ] || { echo "sudo (harness shim): only -u root" >&2; exit 1; }; shift 2 ;;',
    '    --) shift; break ;;',
    '    -*) echo "sudo (harness shim): unsupported option $1" >&2; exit 1 ;;',
    '    *) break ;;',
    '  esac',
    'done',
    '# sudo VAR=value command: the assignments go into the environment of the command',
    'while [ $# -gt 0 ] && [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; do export "$1"; shift; done',
    '[ $# -gt 0 ] || { echo "usage: sudo command [args...]" >&2; exit 1; }',
    'exec "$@"',
  ]);
  const stopped = q(l.kubeletStoppedFile);
  // The member as a systemd unit too (an external etcd's): stopping it takes its manifest away
  // (outside the node's disk) and waits until it no longer answers; starting puts it back.
  const unitStash = q(l.etcdUnitStash);
  shim('systemctl', [
    '# etcd-cluster harness: units kubelet (stop pauses the fake kubelet) and etcd (the member, as an external etcd\'s unit).',
    'set -u',
    'args=(); for a in "$@"; do [ "${a#-}" = "$a" ] && args+=("$a"); done',
    'verb=${args[0]-}; unit=${args[1]-}; unit=${unit%.service}',
    '[ "$verb" = daemon-reload ] && exit 0',
    'if [ "$unit" = etcd ]; then',
    '  case "$verb" in',
    `    stop) rm -f ${q(l.etcdUnitEnv)}; [ -e /etc/kubernetes/manifests/etcd.yaml ] && mv /etc/kubernetes/manifests/etcd.yaml ${unitStash}`,
    `      for i in $(seq 150); do (exec 3<>/dev/tcp/${l.ip}/${CLIENT_PORT}) 2>/dev/null || exit 0; sleep 0.2; done; echo "etcd did not stop" >&2; exit 1 ;;`,
    // The unit reads ETCD_* from its environment, as Debian's (printed by `cat`): a drop-in's
    // EnvironmentFile= goes into the manifest as env, in place of the flags it sets.
    `    start|restart) [ -e ${unitStash} ] || exit 0`,
    // Each drop-in's EnvironmentFile= (a leading '-': optional), in order, later ones winning as
    // in systemd; the kubelet reads the result when it starts the member (unitEnvironment).
    `      : > ${q(l.etcdUnitEnv)}`,
    `      for f in ${q(ETCD_DROP_INS)}/*.conf; do [ -e "$f" ] || continue`,
    '        while IFS= read -r line || [ -n "$line" ]; do case "$line" in',
    "          ''|'#'*|'[Service]') ;;",
    '          EnvironmentFile=*) ef=${line#EnvironmentFile=}; optional=; [ "${ef#-}" != "$ef" ] && { optional=yes; ef=${ef#-}; }',
    `            if [ -e "$ef" ]; then cat "$ef" >> ${q(l.etcdUnitEnv)}; elif [ -z "$optional" ]; then echo "etcd.service: Failed to load environment files: $ef" >&2; exit 1; fi ;;`,
    '          *) echo "systemctl (harness shim): $f: only [Service] EnvironmentFile= is emulated, not $line" >&2; exit 1 ;;',
    '        esac; done < "$f"',
    '      done',
    `      mv ${unitStash} /etc/kubernetes/manifests/etcd.yaml; exit 0 ;;`,
    `    cat) cat ${q(path.join(TOOLS_DIR, `etcd-${etcdVersion}`, 'usr/lib/systemd/system/etcd.service'))}; for f in ${q(ETCD_DROP_INS)}/*.conf; do [ -e "$f" ] && { echo; echo "# $f"; cat "$f"; }; done; exit 0 ;;`,
    '    *) echo "systemctl (harness shim): unsupported: $*" >&2; exit 1 ;;',
    '  esac',
    'fi',
    ...(options.units ?? []).map((u) => `if [ "$unit" = ${q(u)} ]; then case "$verb" in start|stop|restart|enable|disable) echo "$verb $unit" >> ${q(l.unitLog)}; exit 0 ;; *) echo "systemctl (harness shim): unsupported: $*" >&2; exit 1 ;; esac; fi`),
    'if [ "$unit" != kubelet ]; then echo "Unit ${unit}.service could not be found (etcd-cluster harness: only kubelet, etcd and the units it was given)." >&2; exit 5; fi',
    'case "$verb" in',
    `  start|restart) rm -f ${stopped} ;;`,
    `  stop) : > ${stopped} ;;`,
    '  enable|disable) ;;',
    `  is-active|status) if [ -e ${stopped} ]; then echo inactive; exit 3; else echo active; fi ;;`,
    '  *) echo "systemctl (harness shim): unsupported: $*" >&2; exit 1 ;;',
    'esac',
  ]);
}

// ---------------------------------------------------------------------------
// Namespaces

/** bash that fails the wrapper with SETUP_FAILED and a message naming the step. */
const WRAPPER_PRELUDE = [
  'set -eu',
  'user_path=$PATH',
  'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
  `fail() { echo "etcd-cluster harness: namespace setup failed: $1" >&2; exit ${SETUP_FAILED}; }`,
];

/**
 * A scratch tmpfs on /var/lib carrying a writable overlay of /etc, so mount points under /etc
 * can be created in the namespace only (the host has no /etc/kubernetes). Whatever is mounted on
 * /var/lib next hides the scratch; the overlay keeps its upper dir.
 */
function overlayEtc(hostname: string): string[] {
  return [
    `hostname ${q(hostname)} || fail hostname`,
    'mount -t tmpfs -o mode=0700 harness-scratch /var/lib || fail "scratch tmpfs on /var/lib"',
    'mkdir /var/lib/etc-upper /var/lib/etc-work',
    'mount -t overlay -o lowerdir=/etc,upperdir=/var/lib/etc-upper,workdir=/var/lib/etc-work harness-etc /etc || fail "overlay on /etc"',
  ];
}

/** The operator's view of a node: its disk on /etc/kubernetes, /var/lib, /tmp and /root. */
function nodeViewMounts(l: NodeLayout): string[] {
  const lines = [...WRAPPER_PRELUDE, ...overlayEtc(l.name)];
  for (const dir of NODE_LOCAL_PATHS) {
    lines.push(`mkdir -p ${q(dir)}`, `mount --bind ${q(path.join(l.root, dir))} ${q(dir)} || fail ${q(`bind ${dir}`)}`);
  }
  lines.push('PATH=$user_path');
  return lines;
}

/** The etcd container's view: the overlay'd /etc, its own /var/lib and /tmp, and its volumes. */
function containerMounts(node: string, binds: readonly VolumeBind[]): string[] {
  const lines = [
    ...WRAPPER_PRELUDE,
    ...overlayEtc(node),
    'mount -t tmpfs -o mode=0755 container-var-lib /var/lib || fail "tmpfs on /var/lib"',
    'mount -t tmpfs -o mode=1777 container-tmp /tmp || fail "tmpfs on /tmp"',
  ];
  // Parents before children, as the runtime sorts them.
  const sorted = [...binds].sort((a, b) => a.target.split('/').length - b.target.split('/').length);
  for (const b of sorted) {
    const t = q(b.target);
    lines.push(b.file ? `mkdir -p "$(dirname ${t})" && : >>${t}` : `mkdir -p ${t}`);
    lines.push(`mount --bind ${q(b.source)} ${t} || fail ${q(`volume on ${b.target}`)}`);
    if (b.readOnly) {
      lines.push(`mount -o remount,bind,ro ${t} || fail ${q(`read-only ${b.target}`)}`);
    }
  }
  lines.push('PATH=$user_path', 'exec "$@"');
  return lines;
}

// ---------------------------------------------------------------------------
// The fake kubelet

interface VolumeBind {
  /** Host path: `<root>/<node>/<hostPath>`. */
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  readonly file: boolean;
}

interface StaticPod {
  readonly file: string;
  /** The container's image (`registry.k8s.io/etcd:<version>-0`) and the etcd bin dir of its version. */
  readonly image?: string;
  readonly etcdBinDir?: string;
  /** Why the image cannot run here (no version tag, a version the machine does not have). */
  readonly imageError?: string;
  /** Of the file's content: a change restarts the member, as the kubelet does. */
  readonly hash: string;
  readonly argv: string[];
  readonly env: Record<string, string>;
  readonly binds: VolumeBind[];
  /** What to create before starting (DirectoryOrCreate, FileOrCreate) and what must exist. */
  readonly hostPaths: Array<{ path: string; type: string }>;
}

interface ContainerManifest {
  readonly name?: string;
  readonly image?: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: Array<{ name: string; value?: string }>;
  readonly volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

interface PodManifest {
  readonly kind?: string;
  readonly spec?: {
    readonly containers?: ContainerManifest[];
    readonly volumes?: Array<{ name: string; hostPath?: { path: string; type?: string } }>;
  };
}

interface RunningMember {
  readonly proc: ManagedProcess;
  readonly hash: string;
  readonly startedAt: number;
}

/** Restart back-off after the n-th exit in a row (the kubelet's is 10 s doubling to 5 min). */
function backoffMs(exits: number): number {
  return Math.min(5000, 250 * 2 ** (exits - 1));
}

class FakeKubelet {
  public readonly events: string[] = [];
  private member?: RunningMember;
  private lastLogFile?: string;
  private exitsInARow = 0;
  private notBefore = 0;
  private starts = 0;
  private inFlight?: Promise<void>;
  private down = false;
  private lastError?: string;

  constructor(private readonly node: NodeLayout, private readonly logDir: string) {
    fs.mkdirSync(logDir, { recursive: true });
  }

  public get running(): boolean {
    return this.member !== undefined && this.member.proc.exited === undefined;
  }

  /** No process of a member left (a stopping member counts until its whole process group is gone). */
  public get idle(): boolean {
    return this.member === undefined;
  }

  public get pid(): number | undefined {
    return this.running ? this.member?.proc.pid : undefined;
  }

  public log(maxBytes: number): string {
    if (this.member) {
      return this.member.proc.output(maxBytes);
    }
    try {
      const buf = this.lastLogFile ? fs.readFileSync(this.lastLogFile) : Buffer.alloc(0);
      return buf.subarray(Math.max(0, buf.length - maxBytes)).toString('utf8');
    } catch {
      return '';
    }
  }

  /** One reconcile at a time; a tick during one is skipped. */
  public tick(): void {
    if (this.inFlight || this.down) {
      return;
    }
    this.inFlight = this.reconcile()
      .catch((e) => this.event(`kubelet error: ${errorMessage(e)}`))
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  public async shutdown(): Promise<void> {
    this.down = true;
    await this.inFlight;
    if (this.member) {
      // Teardown: no 2 s grace (a stopping leader waits for a leadership transfer to peers that stop too).
      await this.stopMember('harness stopped', 200);
    }
  }

  private async reconcile(): Promise<void> {
    if (this.member?.proc.exited) {
      await this.reapExited(this.member);
    }
    if (fs.existsSync(this.node.kubeletStoppedFile)) {
      return; // `systemctl stop kubelet`: static pods go on running, nothing is started or stopped
    }
    const found = findEtcdPod(this.node);
    this.noteError(found.error);
    if (!found.pod) {
      if (this.member) {
        await this.stopMember('no etcd static pod in /etc/kubernetes/manifests');
      }
      return;
    }
    if (this.member && this.member.hash !== found.pod.hash) {
      await this.stopMember(`${found.pod.file} changed`);
      this.exitsInARow = 0;
      this.notBefore = 0;
    }
    if (!this.member && Date.now() >= this.notBefore && !this.down) {
      this.startMember(found.pod);
    }
  }

  private startMember(pod: StaticPod): void {
    try {
      if (pod.imageError) throw new Error(pod.imageError);
      prepareHostPaths(pod);
    } catch (e) {
      this.noteError(`cannot start etcd: ${errorMessage(e)}`);
      this.notBefore = Date.now() + 1000;
      return;
    }
    const proc = startProcess({
      name: `etcd-${this.node.name}`,
      command: SETPRIV,
      args: ['--pdeathsig', 'KILL', '--', UNSHARE, '--mount', '--uts', '--propagation', 'private', '--',
        '/bin/bash', '-c', containerMounts(this.node.name, pod.binds).join('\n'), `kubelet-${this.node.name}`, ...pod.argv],
      // The image's PATH: its etcd (of the image's version) comes first, as /usr/local/bin does there.
      env: cleanEnv({ PATH: `${pod.etcdBinDir}:${CLEAN_PATH}`, ...pod.env }),
      logFile: path.join(this.logDir, `${this.node.name}-etcd-${++this.starts}.log`),
    });
    this.member = { proc, hash: pod.hash, startedAt: Date.now() };
    this.event(`started etcd (pid ${proc.pid}, ${pod.image}) from ${pod.file}`);
  }

  private async stopMember(reason: string, graceMs = 2000): Promise<void> {
    const m = this.member!;
    await m.proc.stop(graceMs);
    this.member = undefined;
    this.lastLogFile = m.proc.logFile;
    this.event(`stopped etcd (pid ${m.proc.pid}): ${reason}`);
  }

  private async reapExited(m: RunningMember): Promise<void> {
    const ranMs = Date.now() - m.startedAt;
    await m.proc.stop(); // unregisters it and kills anything left in its group
    this.member = undefined;
    this.lastLogFile = m.proc.logFile;
    this.exitsInARow = ranMs > 10_000 ? 1 : this.exitsInARow + 1;
    const delay = backoffMs(this.exitsInARow);
    this.notBefore = Date.now() + delay;
    this.event(`etcd (pid ${m.proc.pid}) exited ${JSON.stringify(m.proc.exited)} after ${ranMs} ms; back-off ${delay} ms`);
  }

  /** Records an error once, not every 200 ms. */
  private noteError(error: string | undefined): void {
    if (error !== undefined && error !== this.lastError) {
      this.event(error);
    }
    this.lastError = error;
  }

  private event(text: string): void {
    this.events.push(`${new Date().toISOString()} ${text}`);
  }
}

/**
 * The etcd static pod of a node: every non-hidden regular file of its manifests dir is read (as
 * the kubelet does), and the Pod whose first container's command is `etcd` is the member.
 */
function findEtcdPod(l: NodeLayout): { pod?: StaticPod; error?: string } {
  const dir = path.join(l.root, 'etc/kubernetes/manifests');
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return {};
  }
  const pods: StaticPod[] = [];
  const errors: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    try {
      if (!fs.statSync(file).isFile()) {
        continue;
      }
      const text = fs.readFileSync(file, 'utf8');
      const manifest = parseYaml(text) as PodManifest | null;
      const container = manifest?.kind === 'Pod' ? manifest.spec?.containers?.[0] : undefined;
      if (container?.command && path.posix.basename(container.command[0] ?? '') === 'etcd') {
        pods.push(staticPod(l, `/etc/kubernetes/manifests/${name}`, text, manifest!, container));
      }
    } catch (e) {
      errors.push(`${name}: ${errorMessage(e)}`);
    }
  }
  if (pods.length > 1) {
    return { error: `more than one etcd static pod: ${pods.map((p) => p.file).join(', ')}` };
  }
  return { pod: pods[0], error: errors.length > 0 ? `invalid manifests: ${errors.join('; ')}` : undefined };
}

function staticPod(l: NodeLayout, file: string, text: string, manifest: PodManifest, c: ContainerManifest): StaticPod {
  const volumes = new Map((manifest.spec?.volumes ?? []).map((v) => [v.name, v]));
  const binds: VolumeBind[] = [];
  const hostPaths: Array<{ path: string; type: string }> = [];
  for (const m of c.volumeMounts ?? []) {
    const hostPath = volumes.get(m.name)?.hostPath;
    if (!hostPath) {
      throw new Error(`volume ${m.name}: only hostPath volumes are emulated`);
    }
    const target = path.posix.normalize(m.mountPath);
    if (!CONTAINER_MOUNTABLE.some((p) => isUnder(target, p) && target !== p)) {
      throw new Error(`mountPath ${m.mountPath}: must be under ${CONTAINER_MOUNTABLE.join(', ')}`);
    }
    const source = onNodeDisk(l, hostPath.path);
    const type = hostPath.type ?? '';
    hostPaths.push({ path: source, type });
    binds.push({ source, target, readOnly: m.readOnly === true, file: type === 'File' || type === 'FileOrCreate' });
  }
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    env[e.name] = e.value ?? '';
  }
  let argv = [...(c.command ?? []), ...(c.args ?? [])].map(String);
  // Started as the `etcd` unit with drop-ins: their ETCD_* variables configure the member, in
  // place of the flags they stand for (etcd's flags would shadow its environment).
  for (const [name, value] of Object.entries(unitEnvironment(l))) {
    if (!name.startsWith('ETCD_')) continue;
    const flag = `--${name.slice(5).toLowerCase().replace(/_/g, '-')}`;
    argv = argv.filter((a) => a !== flag && !a.startsWith(`${flag}=`));
    env[name] = value;
  }
  const image = c.image;
  const version = image ? etcdVersionOfImage(image) : undefined;
  let binDir: string | undefined;
  let imageError: string | undefined;
  if (!version) {
    imageError = `image ${JSON.stringify(image)}: no etcd version tag (registry.k8s.io/etcd:<version>-0)`;
  } else {
    try {
      binDir = path.dirname(etcdBinary('etcd', version));
    } catch (e) {
      imageError = `image ${image}: ${errorMessage(e)}`;
    }
  }
  return {
    file,
    image,
    etcdBinDir: binDir,
    imageError,
    hash: crypto.createHash('sha256').update(file).update('\0').update(text).digest('hex'),
    argv,
    env,
    binds,
    hostPaths,
  };
}

/** What `systemctl start etcd` read from the unit's drop-ins (KEY=VALUE, later lines win, quotes stripped). */
function unitEnvironment(l: NodeLayout): Record<string, string> {
  const env: Record<string, string> = {};
  if (!fs.existsSync(l.etcdUnitEnv)) return env;
  for (const line of fs.readFileSync(l.etcdUnitEnv, 'utf8').split('\n')) {
    const kv = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (kv) env[kv[1]] = kv[2].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  return env;
}

/** hostPath P of a node is `<root>/<node>/P`; only the node-local trees are its disk. */
function onNodeDisk(l: NodeLayout, hostPath: string): string {
  const p = path.posix.normalize(hostPath);
  if (!p.startsWith('/') || !NODE_LOCAL_PATHS.some((d) => isUnder(p, d))) {
    throw new Error(`hostPath ${hostPath}: only ${NODE_LOCAL_PATHS.join(', ')} are node-local in this harness`);
  }
  return path.join(l.root, p);
}

/** The kubelet's hostPath type checks and DirectoryOrCreate/FileOrCreate. */
function prepareHostPaths(pod: StaticPod): void {
  for (const { path: p, type } of pod.hostPaths) {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    switch (type) {
      case '':
      case 'DirectoryOrCreate':
        if (!st) {
          fs.mkdirSync(p, { recursive: true, mode: 0o755 });
        } else if (!st.isDirectory()) {
          throw new Error(`hostPath ${p} is not a directory`);
        }
        break;
      case 'Directory':
        if (!st?.isDirectory()) {
          throw new Error(`hostPath type check failed: ${p} is not a directory`);
        }
        break;
      case 'FileOrCreate':
        if (!st) {
          fs.mkdirSync(path.dirname(p), { recursive: true });
          fs.writeFileSync(p, '', { mode: 0o644 });
        } else if (!st.isFile()) {
          throw new Error(`hostPath ${p} is not a file`);
        }
        break;
      case 'File':
        if (!st?.isFile()) {
          throw new Error(`hostPath type check failed: ${p} is not a file`);
        }
        break;
      default:
        throw new Error(`hostPath type ${type} is not emulated`);
    }
  }
}

// ---------------------------------------------------------------------------
// Small helpers

interface StatusJson {
  readonly Status: {
    readonly header: { readonly member_id: string; readonly revision: number };
    readonly leader: string;
    readonly raftTerm: number;
    readonly raftIndex: number;
    readonly version: string;
    readonly dbSize: number;
  };
}

interface MemberJson {
  readonly ID: string;
  readonly name?: string;
  readonly peerURLs?: string[];
  readonly clientURLs?: string[];
  readonly isLearner?: boolean;
}

interface GetJson {
  readonly kvs?: Array<{ key: string; value?: string }>;
}

/** etcdctl prints uint64 ids as JSON numbers, beyond a double's 53 bits: read them as strings. */
function parseJsonWithIds(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

function hexId(id: string | number | undefined): string {
  return id === undefined ? '0' : BigInt(id).toString(16);
}

function q(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

function isUnder(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function readAndRemove(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/** A short-lived host command (etcdctl), asynchronous so the kubelet timers keep running. */
function runCommand(command: string, args: readonly string[], o: { env: Record<string, string>; input?: string | Buffer; timeoutMs: number }):
Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env: o.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(o.input ?? '');
  });
}
