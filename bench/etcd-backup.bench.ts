/**
 * Benchmark: the synthesized EtcdSnapshotBackup pod vs. a bare `etcdctl snapshot save`, on a
 * ~1 GiB etcd (BENCH_DB_MB, default 1024), with the test fixtures (real etcd 3.5 with TLS,
 * s3rver over HTTPS, restic, the pod runner with host binaries standing in for the images).
 *
 *   npx projen bench                      # ~1 GiB, several minutes
 *   BENCH_DB_MB=50 npx projen bench       # smoke test
 *   BENCH_LINK_MBIT=400 npx projen bench  # the S3 server behind a 400 Mbit/s (50 MB/s) link
 *   BENCH_LINK_MBIT=0,400 npx projen bench  # loopback, then the link, in one run on one etcd
 *
 * Runs, per phase: the first backup, one of unchanged data, then BENCH_CHURN_RUNS (default 3) each after
 * an hour's churn as kube-apiserver makes it (small puts, rewritten values, deletes, a
 * compaction: fill-etcd.ts churn), printing what each added to the bucket. Before each of our
 * runs, a bare `etcdctl snapshot save` on the same state (its yardstick). After each of our
 * runs, on the same etcd state, a KubeOne-style peer (save, `restic backup` of the file,
 * `forget --prune`, no verification) into its own repository, for the ratio ours/peer.
 *
 * Prints a table and writes the same numbers to .bench/etcd-backup.json.
 *
 * How things are measured:
 * - times: wall clock (Date.now) around `etcdctl snapshot save` and around `runPod`;
 *   per container, ContainerResult.durationMs (includes the runner's per-container setup).
 * - baseline peak RSS: GNU time's "Maximum resident set size" (getrusage ru_maxrss).
 * - pod peak RSS: every 100 ms every process of the container's process group (its runner
 *   process group; nothing in a container leaves it), except the runner's own unshare and
 *   wrapper script, is read from /proc/<pid>/status:
 *   VmHWM (the kernel's per-process RSS high-water mark, exact up to the last sample before the
 *   process exits) and VmRSS/RssAnon/RssFile (sampled, summed over the group).
 * - disk: every 100 ms the allocated size (st_blocks) of every emptyDir of the pod; the peak
 *   total is "extra disk". Stored bytes: sizes of the bucket's objects under the repository.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { churn, fill, VALUE_BYTES } from './fill-etcd';
import { BackupRepository, CaCertificate, Credentials, Encryption, EtcdVersion, EtcdSnapshotBackup, EtcdSource, Retention, BackupDefaults } from '../src';
import { EtcdServer, startEtcd } from '../test/support/etcd';
import { ETCD_IMAGE_PROFILE, RESTIC_IMAGE_PROFILE } from '../test/support/images';
import { makeEtcdPki } from '../test/support/pki';
import { PodResult, runPod } from '../test/support/pod-runner';
import { cleanEnv } from '../test/support/processes';
import { ResticOptions, resticOk } from '../test/support/restic';
import { S3Server, startS3 } from '../test/support/s3';
import { DEFAULT_ETCD_TEST_VERSION, etcdBinary } from '../test/support/tools';

const MiB = 1024 * 1024;
const DB_MB = Number(process.env.BENCH_DB_MB ?? 1024);
/**
 * BENCH_LINK_MBIT: where the S3 server is, one phase each, in order, on the same etcd: `0` on
 * loopback, a rate in Mbit/s in a network namespace of its own behind a veth shaped to that rate
 * in both directions (tc tbf), as object storage across a network is. `0,400` runs both in one
 * run. Default `0`.
 */
const LINKS_MBIT = (process.env.BENCH_LINK_MBIT ?? '0').split(',').map((v) => Number(v.trim()));
/** Backups after an hour's churn each (BENCH_CHURN_RUNS), after the unchanged second run. */
const CHURN_RUNS = Number(process.env.BENCH_CHURN_RUNS ?? 3);
const PASSWORD = 'correct horse battery staple';
const CLUSTER = 'bench';
const SAMPLE_MS = 100;
const DISK_SAMPLE_MS = 100;

// ---------------------------------------------------------------------------
// small helpers

const sec = (ms: number) => ms / 1000;
const fmtMiB = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / MiB).toFixed(1)} MiB`);
const fmtS = (ms: number | undefined) => (ms === undefined ? '-' : `${sec(ms).toFixed(2)} s`);

/** Kubernetes quantity ("256Mi", "1Gi", "500M", "1024") in bytes. */
function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(String(q));
  if (!m) return undefined;
  const mult: Record<string, number> = {
    '': 1, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'Ki': 1024, 'Mi': MiB, 'Gi': 1024 * MiB, 'Ti': 1024 * 1024 * MiB,
  };
  return m[2] in mult ? Number(m[1]) * mult[m[2]] : undefined;
}

/** Allocated bytes (like du) and apparent bytes of everything below `dir`. */
function diskUsage(dir: string): { allocated: number; apparent: number } {
  let allocated = 0;
  let apparent = 0;
  const walk = (p: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return; // removed meanwhile
    }
    allocated += st.blocks * 512;
    if (st.isFile()) apparent += st.size;
    if (st.isDirectory()) {
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(p);
      } catch {
        return;
      }
      for (const e of entries) walk(path.join(p, e));
    }
  };
  walk(dir);
  return { allocated, apparent };
}

// ---------------------------------------------------------------------------
// 2. baseline

interface Baseline { readonly ms: number; readonly maxRssBytes: number; readonly fileBytes: number }

function baseline(etcd: EtcdServer, file: string): Promise<Baseline> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn('/usr/bin/time', ['-v', etcdBinary('etcdctl', etcd.version), 'snapshot', 'save', file], {
      env: cleanEnv(etcd.env()), stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stdout.resume();
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Date.now() - t0;
      if (code !== 0) {
        reject(new Error(`etcdctl snapshot save exited ${code}:\n${err}`));
        return;
      }
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      if (!m) {
        reject(new Error(`no "Maximum resident set size" in /usr/bin/time output:\n${err}`));
        return;
      }
      resolve({ ms, maxRssBytes: Number(m[1]) * 1024, fileBytes: fs.statSync(file).size });
    });
  });
}

// ---------------------------------------------------------------------------
// 2b. the peer: a KubeOne-style job (save, `restic backup`, `forget --prune`; no verification,
// the file as one), run on the same etcd state right after each of our runs, into its own
// repository on the same bucket. restic without a cache, as in a fresh pod.

interface PeerRun { readonly ms: number; readonly storedBytesAfter: number }

function runPeer(etcd: EtcdServer, s3: S3Server, work: string, first: boolean): PeerRun {
  const opts: ResticOptions = { repository: s3.resticRepository('k8s/peer/etcd'), password: PASSWORD, s3, tmpDir: work, timeoutMs: 600_000 };
  if (first) resticOk(['init'], opts);
  const file = path.join(work, 'peer-snapshot.db');
  const t0 = Date.now();
  etcd.etcdctl(['snapshot', 'save', file], { timeoutMs: 600_000 });
  resticOk(['backup', '--host', 'peer', '--tag', 'etcd', file], opts);
  resticOk(['forget', '--host', 'peer', '--keep-last', '24', '--prune'], opts);
  const ms = Date.now() - t0;
  fs.rmSync(file, { force: true });
  return { ms, storedBytesAfter: s3.listObjects('k8s/peer/etcd/').reduce((a, o) => a + o.size, 0) };
}

// ---------------------------------------------------------------------------
// 3. samplers

interface GroupMemory {
  /** largest VmHWM of any process of the group, and which process */
  maxHwm: number;
  maxHwmProcess: string;
  /** sampled peaks of the group's summed VmRSS, RssAnon, RssFile */
  peakRss: number;
  peakAnon: number;
  peakFile: number;
  samples: number;
}

function statusFields(pid: number): { name: string; hwm: number; rss: number; anon: number; file: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  };
  const name = /^Name:\s+(.*)$/m.exec(text)?.[1] ?? '?';
  return { name, hwm: kb('VmHWM'), rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/**
 * Samples the memory of every pod container. A container is the process group the runner
 * starts for it (`setpriv ... unshare ...`, a direct child of this process, detached: its own
 * group); everything started inside stays in that group. Keyed by process group id, which the
 * runner reports afterwards as ContainerResult.pid.
 */
class MemorySampler {
  public readonly groups = new Map<number, GroupMemory>();
  private readonly containerGroups = new Set<number>();

  public sample(): void {
    const members = new Map<number, number[]>();
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      } catch {
        continue;
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(e);
      const ppid = Number(f[1]);
      const pgrp = Number(f[2]);
      if (f[0] === 'Z' || f[0] === 'X') continue;
      if (pgrp === pid && ppid === process.pid && (comm === 'setpriv' || comm === 'unshare')) this.containerGroups.add(pid);
      // Not the container's: the runner's `unshare` (group leader) and its wrapper script (PID 1 of
      // the container's PID namespace, which only mounts and then waits for the command).
      if (pid === pgrp || ppid === pgrp) continue;
      if (!members.has(pgrp)) members.set(pgrp, []);
      members.get(pgrp)!.push(pid);
    }
    for (const pgid of this.containerGroups) {
      const pids = members.get(pgid);
      if (!pids) continue;
      let g = this.groups.get(pgid);
      if (!g) {
        g = { maxHwm: 0, maxHwmProcess: '', peakRss: 0, peakAnon: 0, peakFile: 0, samples: 0 };
        this.groups.set(pgid, g);
      }
      let rss = 0;
      let anon = 0;
      let file = 0;
      for (const pid of pids) {
        const s = statusFields(pid);
        if (!s) continue;
        rss += s.rss;
        anon += s.anon;
        file += s.file;
        if (s.hwm > g.maxHwm) {
          g.maxHwm = s.hwm;
          g.maxHwmProcess = s.name;
        }
      }
      g.peakRss = Math.max(g.peakRss, rss);
      g.peakAnon = Math.max(g.peakAnon, anon);
      g.peakFile = Math.max(g.peakFile, file);
      g.samples++;
    }
  }
}

/** Peak disk use of the pod's emptyDirs (found as <tmpdir>/pod-runner-*\/volumes/*, tmpdir private to this run). */
class DiskSampler {
  public peakTotal = 0;
  public readonly peakByVolume: Record<string, number> = {};

  constructor(private readonly tmpDir: string) {}

  public sample(): void {
    let total = 0;
    let pods: string[] = [];
    try {
      pods = fs.readdirSync(this.tmpDir).filter((d) => d.startsWith('pod-runner-'));
    } catch {
      return;
    }
    for (const pod of pods) {
      const vols = path.join(this.tmpDir, pod, 'volumes');
      let names: string[] = [];
      try {
        names = fs.readdirSync(vols);
      } catch {
        continue;
      }
      for (const v of names) {
        const used = diskUsage(path.join(vols, v)).allocated;
        total += used;
        this.peakByVolume[v] = Math.max(this.peakByVolume[v] ?? 0, used);
      }
    }
    this.peakTotal = Math.max(this.peakTotal, total);
  }
}

// ---------------------------------------------------------------------------
// the pod

interface ContainerReport {
  readonly name: string;
  readonly seconds: number;
  readonly exitCode: number | null;
  readonly memoryLimitBytes?: number;
  readonly peakRssBytes?: number;
  readonly maxProcessHwmBytes?: number;
  readonly maxHwmProcess?: string;
  readonly peakAnonBytes?: number;
  readonly peakFileBytes?: number;
  readonly peakRssOfLimit?: number;
  readonly memorySamples?: number;
}

interface PodReport {
  readonly succeeded: boolean;
  readonly seconds: number;
  readonly containers: ContainerReport[];
  /** runPod wall time minus the containers' durations: runner setup (rootfs, volumes) */
  readonly runnerOverheadSeconds: number;
  readonly extraDiskPeakBytes: number;
  readonly extraDiskPeakByVolumeBytes: Record<string, number>;
  readonly extraDiskAtEndByVolumeBytes: Record<string, number>;
  readonly snapshotFileBytes?: number;
  readonly storedBytesAfter: number;
  readonly storedObjectsAfter: number;
  readonly uploadStdoutTail: string;
}

function memoryLimits(manifests: any[]): Record<string, number | undefined> {
  const cj = manifests.find((m) => m.kind === 'CronJob');
  const spec = cj.spec.jobTemplate.spec.template.spec;
  const out: Record<string, number | undefined> = {};
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    out[c.name] = parseQuantity(c.resources?.limits?.memory);
  }
  return out;
}

async function runBackupPod(
  opts: { etcd: EtcdServer; s3: S3Server; hostRoot: string; podTmp: string },
): Promise<{ report: PodReport; result: PodResult }> {
  const { etcd, s3, hostRoot, podTmp } = opts;
  const chart = Testing.chart();
  new EtcdSnapshotBackup(chart, 'etcd', {
    clusterName: CLUSTER,
    // The test's S3 server is on 127.0.0.1 and its retentions are short by design.
    acknowledge: { inClusterRepository: true, shortRetention: true },
    source: EtcdSource.kubeadm({ endpoint: `https://$(HOST_IP):${etcd.clientPort}` }),
    etcdVersion: EtcdVersion.of(DEFAULT_ETCD_TEST_VERSION),
    repository: BackupRepository.s3({
      bucket: 'backups',
      prefix: 'k8s',
      endpoint: s3.endpoint,
      caCert: CaCertificate.fromSecret({ name: 'storage-ca', key: 'ca.crt' }),
      credentials: Credentials.fromSecret('backup-s3'),
      encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
    }),
    retention: Retention.keepLast(24),
  });
  const manifests = Testing.synth(chart);
  const limits = memoryLimits(manifests);

  const mem = new MemorySampler();
  const disk = new DiskSampler(podTmp);
  const memTimer = setInterval(() => mem.sample(), SAMPLE_MS);
  const diskTimer = setInterval(() => disk.sample(), DISK_SAMPLE_MS);
  // runPod makes its pod dir with os.tmpdir(): a directory of our own, so the sampler finds it.
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = podTmp;
  const t0 = Date.now();
  let result: PodResult;
  try {
    result = await runPod({
      manifests,
      images: { 'registry.k8s.io/etcd': ETCD_IMAGE_PROFILE, [BackupDefaults.RESTIC_IMAGE]: RESTIC_IMAGE_PROFILE },
      hostPaths: { '/etc/kubernetes': path.join(hostRoot, 'etc/kubernetes') },
      secrets: {
        'backup-repository': { password: PASSWORD },
        'backup-s3': { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
        'storage-ca': { 'ca.crt': fs.readFileSync(s3.caCertFile) },
      },
      fieldRefs: { 'status.hostIP': '127.0.0.1', 'spec.nodeName': 'cp-1' },
      timeoutMs: 40 * 60_000,
    });
  } finally {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    clearInterval(memTimer);
    clearInterval(diskTimer);
  }
  const ms = Date.now() - t0;
  disk.sample(); // the volumes at the end (nothing removes them before cleanup())

  const containers: ContainerReport[] = result.containers.map((c) => {
    const g = c.pid !== undefined ? mem.groups.get(c.pid) : undefined;
    const limit = limits[c.name];
    const peak = g ? Math.max(g.peakRss, g.maxHwm) : undefined;
    return {
      name: c.name,
      seconds: sec(c.durationMs),
      exitCode: c.exitCode,
      memoryLimitBytes: limit,
      peakRssBytes: peak,
      maxProcessHwmBytes: g?.maxHwm,
      maxHwmProcess: g?.maxHwmProcess,
      peakAnonBytes: g?.peakAnon,
      peakFileBytes: g?.peakFile,
      peakRssOfLimit: peak !== undefined && limit ? peak / limit : undefined,
      memorySamples: g?.samples,
    };
  });
  const atEnd: Record<string, number> = {};
  for (const [name, dir] of Object.entries(result.emptyDirs)) atEnd[name] = diskUsage(dir).allocated;
  // The upload replaces the snapshot file by its pieces (older layouts kept the file).
  const snapshotFile = result.emptyDirs.backup ? path.join(result.emptyDirs.backup, 'etcd-snapshot.db') : undefined;
  const piecesDir = result.emptyDirs.backup ? path.join(result.emptyDirs.backup, 'etcd-snapshot.parts') : undefined;
  const piecesBytes = piecesDir && fs.existsSync(piecesDir)
    ? fs.readdirSync(piecesDir).reduce((a, n) => a + fs.statSync(path.join(piecesDir, n)).size, 0) : undefined;
  const objects = s3.listObjects(`k8s/${CLUSTER}/etcd/`);
  const upload = result.containers.find((c) => c.name === 'upload');
  const report: PodReport = {
    succeeded: result.succeeded,
    seconds: sec(ms),
    containers,
    runnerOverheadSeconds: sec(ms - result.containers.reduce((a, c) => a + c.durationMs, 0)),
    extraDiskPeakBytes: Math.max(disk.peakTotal, Object.values(atEnd).reduce((a, b) => a + b, 0)),
    extraDiskPeakByVolumeBytes: Object.fromEntries(Object.keys(atEnd).map((k) => [k, Math.max(disk.peakByVolume[k] ?? 0, atEnd[k])])),
    extraDiskAtEndByVolumeBytes: atEnd,
    snapshotFileBytes: snapshotFile && fs.existsSync(snapshotFile) ? fs.statSync(snapshotFile).size : piecesBytes,
    storedBytesAfter: objects.reduce((a, o) => a + o.size, 0),
    storedObjectsAfter: objects.length,
    uploadStdoutTail: (upload?.stdout ?? '').split('\n').filter((l) => /Added to the repository|processed|Files:|Dirs:|remove|keep|^upload: .*\d+\.\d\d s|^\{"summary"/i.test(l)).join('\n'),
  };
  return { report, result };
}

function explain(result: PodResult): string {
  return result.containers.map((c) => `--- ${c.name} exit=${c.exitCode} ${c.reason ?? ''}\n${c.stdout}\n${c.stderr}`).join('\n');
}

// ---------------------------------------------------------------------------
// output

function printTable(r: any): void {
  const base = r.baseline as Baseline;
  console.log('\n=== etcd backup benchmark ===');
  console.log(`etcd dbSize / keys / load time   ${fmtMiB(r.etcd.dbSizeBytes)} / ${r.etcd.keys} x 64 KiB / ${r.etcd.loadSeconds.toFixed(1)} s`);
  console.log(`bare etcdctl snapshot save        ${fmtS(base.ms)} (first), peak RSS ${fmtMiB(base.maxRssBytes)}, file ${fmtMiB(base.fileBytes)}`);
  for (const phase of r.phases as any[]) printPhase(r, phase);
}

function printPhase(r: any, phase: any): void {
  const all = phase.pods as PodReport[];
  const bare = phase.bareSaves as Baseline[];
  const peers = phase.peers as PeerRun[];
  const [p1, p2] = all;
  console.log(`\n--- ${phase.linkMbit > 0 ? `over a ${phase.linkMbit} Mbit/s link` : 'loopback'} ---`);
  const header = ['container', 'run1 s', 'run2 s', 'peak RSS', '(anon / file)', 'top process HWM', 'limit', '% limit'];
  const table: string[][] = [header];
  for (const c of p1.containers) {
    const c2 = p2?.containers.find((x) => x.name === c.name);
    const worst = c2 && (c2.peakRssBytes ?? 0) > (c.peakRssBytes ?? 0) ? c2 : c;
    table.push([
      c.name,
      c.seconds.toFixed(2),
      c2 ? c2.seconds.toFixed(2) : '-',
      fmtMiB(worst.peakRssBytes),
      `(${fmtMiB(worst.peakAnonBytes)} / ${fmtMiB(worst.peakFileBytes)})`,
      `${fmtMiB(worst.maxProcessHwmBytes)} ${worst.maxHwmProcess ?? ''}`,
      fmtMiB(worst.memoryLimitBytes),
      worst.peakRssOfLimit !== undefined ? `${(worst.peakRssOfLimit * 100).toFixed(0)}%` : '-',
    ]);
  }
  table.push(['(runner setup)', p1.runnerOverheadSeconds.toFixed(2), p2 ? p2.runnerOverheadSeconds.toFixed(2) : '-', '', '', '', '', '']);
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  console.log('(memory: worse of the first two runs; peak RSS = max(sampled sum of VmRSS of the container, largest VmHWM))');
  const vols = Object.entries(p1.extraDiskPeakByVolumeBytes).map(([k, v]) => `${k} ${fmtMiB(v)}`).join(', ');
  console.log(`extra disk (peak, emptyDirs)      ${fmtMiB(p1.extraDiskPeakBytes)}  [${vols}]`);
  // Run for run: ours against the bare save just before it, the peer on the same state, and what
  // each added to the bucket against the database size.
  console.log('');
  console.log('run                  bare save  ours      /bare  stored          peer      /bare  peer stored       ours/peer');
  for (let i = 0; i < all.length; i++) {
    const what = i === 0 ? '1 first' : i === 1 ? '2 unchanged' : `${i + 1} after churn`;
    const added = all[i].storedBytesAfter - (i > 0 ? all[i - 1].storedBytesAfter : 0);
    const peerAdded = peers[i].storedBytesAfter - (i > 0 ? peers[i - 1].storedBytesAfter : 0);
    const pct = (b: number) => `${(b / r.etcd.dbSizeBytes * 100).toFixed(1)}%`;
    console.log([
      what.padEnd(19),
      fmtS(bare[i].ms).padEnd(9),
      `${all[i].seconds.toFixed(2)} s`.padEnd(9),
      `${phase.ratio.overBareSavePerRun[i].toFixed(2)}x`.padEnd(6),
      `+${fmtMiB(added)} (${pct(added)})`.padEnd(15),
      fmtS(peers[i].ms).padEnd(9),
      `${phase.ratio.peerOverBareSavePerRun[i].toFixed(2)}x`.padEnd(6),
      `+${fmtMiB(peerAdded)} (${pct(peerAdded)})`.padEnd(17),
      `${phase.ratio.podOverPeerPerRun[i].toFixed(2)}x`,
    ].join(' '));
  }
  console.log(`all runs: ours/peer ${phase.ratio.podOverPeerAllRuns.toFixed(2)}x`);
}

// ---------------------------------------------------------------------------

/**
 * A network namespace with the far end of a veth pair (10.77.<n>.2), the near end on the host
 * (10.77.<n>.1), each end's egress shaped by a token bucket to `mbit`: uploads leave through the
 * host's end, downloads through the namespace's.
 */
function shapedLink(mbit: number, phase: number): { host: string; commandPrefix: string[]; remove(): void } {
  const n = (process.pid + phase) % 250;
  const ns = `cdk8s-backup-bench-${process.pid}-${phase}`;
  const [hostIf, nsIf] = [`bbh${process.pid % 100000}p${phase}`, `bbn${process.pid % 100000}p${phase}`];
  const sh = (cmd: string) => execFileSync('sh', ['-ec', cmd], { stdio: 'pipe' });
  const tbf = `tbf rate ${mbit}mbit burst ${Math.max(64, Math.round(mbit * 1000 / 8 / 100))}kb latency 100ms`;
  sh([
    `ip netns add ${ns}`,
    `ip link add ${hostIf} type veth peer name ${nsIf}`,
    `ip link set ${nsIf} netns ${ns}`,
    `ip addr add 10.77.${n}.1/24 dev ${hostIf}`,
    `ip link set ${hostIf} up`,
    `ip netns exec ${ns} ip addr add 10.77.${n}.2/24 dev ${nsIf}`,
    `ip netns exec ${ns} ip link set ${nsIf} up`,
    `ip netns exec ${ns} ip link set lo up`,
    `tc qdisc add dev ${hostIf} root ${tbf}`,
    `ip netns exec ${ns} tc qdisc add dev ${nsIf} root ${tbf}`,
  ].join('\n'));
  return {
    host: `10.77.${n}.2`,
    commandPrefix: ['ip', 'netns', 'exec', ns],
    remove: () => sh(`ip link del ${hostIf} || true\nip netns del ${ns} || true`),
  };
}

async function main(): Promise<number> {
  if (!(DB_MB > 0)) throw new Error(`BENCH_DB_MB must be a positive number of MiB; got ${process.env.BENCH_DB_MB}`);
  if (!LINKS_MBIT.every((l) => l >= 0)) throw new Error(`BENCH_LINK_MBIT must be a comma-separated list of Mbit/s (0: loopback); got ${process.env.BENCH_LINK_MBIT}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'etcd-bench-'));
  const removeWork = () => fs.rmSync(work, { recursive: true, force: true });
  process.once('exit', removeWork);
  const stoppers: Array<() => Promise<void>> = [];
  const pods: PodResult[] = [];
  let exitCode = 0;
  try {
    const hostRoot = path.join(work, 'node');
    const pkiDir = path.join(hostRoot, 'etc/kubernetes/pki/etcd');
    fs.mkdirSync(pkiDir, { recursive: true });
    makeEtcdPki(pkiDir);
    const podTmp = path.join(work, 'pods');
    fs.mkdirSync(podTmp);

    const loadavgAtStart = os.loadavg();
    console.log(`etcd-backup bench: target dbSize ${DB_MB} MiB, host ${os.cpus().length} CPUs, ${(os.totalmem() / 1024 / MiB).toFixed(0)} GiB RAM, load average ${loadavgAtStart.map((l) => l.toFixed(2)).join(' ')}`);
    const etcd = await startEtcd({
      pkiDir,
      dataDir: path.join(work, 'etcd-data'),
      extraArgs: [`--quota-backend-bytes=${8 * 1024 * MiB}`, `--max-request-bytes=${10 * MiB}`],
    });
    stoppers.push(() => etcd.stop());
    console.log('loading etcd ...');
    const loaded = await fill(etcd, DB_MB * MiB);
    console.log(`loaded ${loaded.keys} keys, dbSize ${fmtMiB(loaded.dbSize)} in ${sec(loaded.ms).toFixed(1)} s`);

    const baselineFile = path.join(work, 'baseline-snapshot.db');
    /** A bare `etcdctl snapshot save` of the current state: the yardstick for the run after it. */
    const bareSave = async (): Promise<Baseline> => {
      const b = await baseline(etcd, baselineFile);
      fs.rmSync(baselineFile, { force: true });
      return b;
    };
    console.log('baseline: etcdctl snapshot save ...');
    const base = await bareSave();
    console.log(`  ${fmtS(base.ms)}, peak RSS ${fmtMiB(base.maxRssBytes)}, ${fmtMiB(base.fileBytes)}`);

    const phases: any[] = [];
    let churns = 0;
    let lastS3: S3Server | undefined;
    for (const mbit of LINKS_MBIT) {
      const link = mbit > 0 ? shapedLink(mbit, phases.length) : undefined;
      const s3 = await startS3({ bucket: 'backups', dataDir: path.join(work, `s3-data-${phases.length}`), silent: true, host: link?.host, commandPrefix: link?.commandPrefix });
      lastS3 = s3;
      // Stopped in reverse: the server, then its link.
      if (link) stoppers.push(async () => link.remove());
      stoppers.push(() => s3.stop());
      console.log(`\n--- phase ${phases.length + 1}: S3 at ${s3.endpoint}${link ? `, behind a ${mbit} Mbit/s link each way (tc tbf on a veth into its own network namespace)` : ', loopback'}`);

      const reports: PodReport[] = [];
      const peers: PeerRun[] = [];
      const bare: Baseline[] = [];
      // Run 1: first backup; run 2: unchanged data; runs 3..: after an hour's churn each.
      const runs = 2 + CHURN_RUNS;
      for (let run = 1; run <= runs; run++) {
        if (run > 2) {
          await churn(etcd, loaded.keys, ++churns + 2);
          console.log(`churn before run ${run}: 200 small puts, 20 large values rewritten, 20 deletes, compaction; dbSize ${fmtMiB(JSON.parse(etcd.etcdctl(['endpoint', 'status', '-w', 'json']))[0].Status.dbSize)}`);
        }
        // The bare save right before each run, on the same state: the ratio is run for run
        // (one save at the start, on a freshly loaded etcd, measured 6.8-11.3 s across runs).
        const b = await bareSave();
        bare.push(b);
        console.log(`backup pod, run ${run} (bare save ${fmtS(b.ms)}) ...`);
        const { report, result } = await runBackupPod({ etcd, s3, hostRoot, podTmp });
        pods.push(result);
        result.cleanup();
        if (!report.succeeded) {
          console.error(`backup pod run ${run} FAILED: ${result.reason ?? ''}\n${explain(result)}`);
          exitCode = 1;
          break;
        }
        console.log(`  ${report.seconds.toFixed(2)} s (${report.containers.map((c) => `${c.name} ${c.seconds.toFixed(2)} s`).join(', ')})`);
        if (report.uploadStdoutTail) console.log(report.uploadStdoutTail.replace(/^/gm, '    upload| '));
        reports.push(report);
        const peer = runPeer(etcd, s3, work, run === 1);
        peers.push(peer);
        console.log(`  peer (save, restic backup, forget --prune): ${fmtS(peer.ms)}`);
      }
      if (exitCode !== 0) return exitCode;
      phases.push({
        linkMbit: mbit,
        bareSaves: bare,
        pods: reports,
        peers,
        ratio: {
          overBareSavePerRun: reports.map((p, i) => p.seconds / sec(bare[i].ms)),
          peerOverBareSavePerRun: peers.map((p, i) => sec(p.ms) / sec(bare[i].ms)),
          podOverPeerPerRun: reports.map((p, i) => p.seconds / sec(peers[i].ms)),
          podOverPeerAllRuns: reports.reduce((a, p) => a + p.seconds, 0) / sec(peers.reduce((a, p) => a + p.ms, 0)),
        },
      });
    }
    const s3 = lastS3!;

    // What a prune costs on its own, against a forget that removes nothing (the cost every run
    // pays even when pruning is skipped): for the prune cadence.
    const ours: ResticOptions = { repository: s3.resticRepository(`k8s/${CLUSTER}/etcd`), password: PASSWORD, s3, tmpDir: work, timeoutMs: 600_000 };
    const timed = (args: string[]) => {
      const t0 = Date.now();
      resticOk(args, ours);
      return Date.now() - t0;
    };
    const forgetOnlyMs = timed(['forget', '--host', CLUSTER, '--tag', 'etcd-snapshot', '--group-by', 'host', '--keep-last', '24']);
    const pruneMs = timed(['prune']);
    console.log(`restic on our repository of the last phase after ${phases[phases.length - 1].pods.length} runs: forget (removing nothing) ${fmtS(forgetOnlyMs)}, prune ${fmtS(pruneMs)}`);

    const out = {
      date: new Date().toISOString(),
      host: { cpus: os.cpus().length, memBytes: os.totalmem(), kernel: os.release(), loadavgAtStart, loadavgAtEnd: os.loadavg() },
      versions: {
        etcdctl: etcd.etcdctl(['version']).split('\n')[0],
        note: `images: etcd ${DEFAULT_ETCD_TEST_VERSION} (Debian) as registry.k8s.io/etcd:${DEFAULT_ETCD_TEST_VERSION}-0 mounted into ${BackupDefaults.RESTIC_IMAGE}, restic 0.18.0 and busybox 1.37.0 (Debian) for it`,
      },
      etcd: { targetMiB: DB_MB, dbSizeBytes: loaded.dbSize, keys: loaded.keys, valueBytes: VALUE_BYTES, loadSeconds: sec(loaded.ms) },
      baseline: base,
      phases,
      restic: { forgetOnlySeconds: sec(forgetOnlyMs), pruneSeconds: sec(pruneMs) },
      method: {
        times: 'wall clock around etcdctl snapshot save / runPod; per container ContainerResult.durationMs (includes runner setup of that container)',
        baselineRss: 'GNU /usr/bin/time -v Maximum resident set size (ru_maxrss)',
        podRss: `every ${SAMPLE_MS} ms /proc/<pid>/status of every process in the container's process group (without the runner's unshare + wrapper): VmHWM (kernel per-process peak) and summed VmRSS/RssAnon/RssFile (sampled)`,
        disk: `every ${DISK_SAMPLE_MS} ms allocated size (st_blocks) of the pod's emptyDirs, plus at the end before cleanup`,
        stored: 'sum of object sizes in the bucket under the repository prefix',
      },
    };
    printTable(out);
    console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other work on this host skews the times)`);
    const outDir = path.resolve(__dirname, '..', '.bench');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'etcd-backup.json'), JSON.stringify(out, null, 2) + '\n');
    console.log(`\nwritten ${path.relative(process.cwd(), path.join(outDir, 'etcd-backup.json'))}`);
    return 0;
  } finally {
    for (const p of pods) p.cleanup();
    for (const stop of stoppers.reverse()) {
      try {
        await stop();
      } catch (e) {
        console.error(`cleanup: ${(e as Error).message}`);
      }
    }
    removeWork();
  }
}

main().then((code) => {
  process.exitCode = code;
}, (e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exitCode = 1;
});
