/* eslint-disable no-bitwise */ // file modes and capability masks are bit sets
/**
 * Test support: run the pod spec of a synthesized CronJob/Job/Pod on THIS host,
 * with host binaries standing in for container images.
 *
 * Every container runs (as root is required) in its own mount, PID, UTS and IPC
 * namespace, chrooted into a fresh root file system that contains only what the
 * image profile lists (plus the shared libraries those binaries need), with
 * kubelet-like volumes, environment, user, groups and capabilities.
 *
 * A profile with `rootfs` (a directory holding a whole root file system, e.g. a debootstrapped
 * Debian with the image's packages: scripts/setup.sh) is the image itself, for binaries that do
 * not run on the host's libraries: the container's root is an overlay of a per-container upper
 * layer (its mountpoints, /etc/hosts, ...) on that directory as the read-only lower layer, as a
 * runtime stacks the container layer on the image's layers. The directory is never written to.
 *
 * How a container is started:
 *
 *   node --spawn(detached)--> setpriv --pdeathsig KILL        (dies with node)
 *     -> unshare -m -p -f -u -i --kill-child                  (new namespaces)
 *       -> bash wrapper.sh     (PID 1 of the new PID namespace, host root dir)
 *            mounts the rootfs, /proc, /dev, /sys, volumes; remounts read-only
 *         -> env -i <container env> unshare --root=<rootfs> --wd=<workingDir>
 *              /proc/1/root/<host ld.so> --library-path /proc/1/root/<host libs>
 *              /proc/1/root/<host setpriv> --reuid ... --bounding-set ... --
 *              <container command>
 *
 * setpriv is reached through /proc/1/root (the wrapper's root, i.e. the host)
 * so that nothing of the host is copied into the container's root: once setpriv
 * has dropped privileges and exec'd the command, /proc/1/root is no longer
 * accessible (ptrace access check: the wrapper holds caps the container lacks).
 *
 * Image volumes (`volumes[].image: { reference, pullPolicy }`, KEP-4639, on by default from
 * Kubernetes 1.35) hold the image profile that `images` has for `reference` (looked up like a
 * container's image; an unknown one is a thrown error): its `files` (and busybox applets, `dirs`)
 * copied at their image paths into a per-pod directory, 0755 and root-owned, mounted read-only
 * whatever the mount's readOnly says (as kubelet does); subPath works, a missing subPath fails
 * the container. pullPolicy is not emulated (there are no pulls).
 *
 * Deviations from a real node, besides what is not emulated below: the profiles' binaries are
 * the host's, dynamically linked (Debian's etcd, restic) where the images' are static, so every
 * container gets the shared libraries of its profile's binaries in its root fs, AND of the
 * binaries of every image volume it mounts (a real container running a static etcd from an image
 * volume needs none); a library path the image does not have is then present in the container.
 * Debian's busybox-static (the restic profile's shell) is built with FEATURE_SH_STANDALONE: its
 * ash runs an applet without searching PATH, so `command -v ls` prints `ls` (Alpine's: /bin/ls)
 * and an applet runs even with a PATH that lacks /bin.
 *
 * NOT emulated (see also the README of the tests): network isolation (every pod
 * shares the host network, as with hostNetwork: true), cgroups/resource limits,
 * device cgroup (a root container with CAP_MKNOD could create device nodes),
 * seccomp/AppArmor/SELinux, probes, lifecycle hooks, image pulls, Job retries
 * (backoffLimit), restarts, /etc/passwd-based user/group lookups.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export interface ImageProfile {
  /** Host binaries that the image has, by absolute path inside the image, e.g. { '/usr/local/bin/etcdctl': '/usr/bin/etcdctl', '/bin/sh': '/usr/bin/bash' } */
  readonly files: Record<string, string>;
  /** busybox applets: if set, install /bin/busybox (this host binary) and a symlink for every applet it lists (`busybox --list-full`), like alpine */
  readonly busybox?: string;
  /** Image's default env, e.g. { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } */
  readonly env?: Record<string, string>;
  /** Image's default user (uid), default 0 (root) */
  readonly user?: number;
  /** Image ENTRYPOINT, used if a container sets no command */
  readonly entrypoint?: string[];
  /** Image CMD, used if a container sets neither command nor args */
  readonly cmd?: string[];
  /** Extra (empty) directories of the image: path -> mode, e.g. { '/root': 0o700 }. /tmp (1777) always exists. */
  readonly dirs?: Record<string, number>;
  /**
   * Host directories the image has (data files: a share dir, timezone data, locales), by absolute path inside the
   * image -> host directory, e.g. { '/usr/share/postgresql/15': '/usr/share/postgresql/15' }. Each is bind-mounted
   * READ-ONLY and not recursively (also without readOnlyRootFilesystem: unlike a real image, its content cannot be
   * changed). `files` takes regular files only (a directory there throws: ldd fails on it). The shared libraries
   * of what a directory holds are NOT added: list a shared object that must load (a plugin) in `files` instead.
   * May not overlap a `files` target, a library or another of these directories (thrown error); a volume mount
   * point inside one must already exist in the host directory (else CreateContainerError, like a read-only layer).
   */
  readonly hostDirs?: Record<string, string>;
  /**
   * A host directory holding the image's whole root file system (its own /bin/sh, libraries, /etc/passwd), used
   * through overlayfs as the read-only lower layer under the container's writable layer: a mountpoint the image
   * lacks is made in the container layer (its parent directories keep the image's owner and mode), writes land
   * there, `readOnlyRootFilesystem` makes the merged root read-only. `files`, `busybox`, `dirs` and `hostDirs` still
   * apply on top (usually `files: {}`). Its path may not contain ',' or ':' (overlay mount options).
   */
  readonly rootfs?: string;
}

export interface RunPodOptions {
  /** All objects synthesized for the chart (plain JSON, e.g. from cdk8s Testing.synth(chart)). */
  readonly manifests: any[];
  /** metadata.name of the CronJob/Job/Pod to run; default: the only CronJob/Job/Pod in manifests */
  readonly name?: string;
  /** image reference (exact string) or repository without tag/digest -> profile. Unknown image = thrown error. */
  readonly images: Record<string, ImageProfile>;
  /** hostPath prefix mapping: manifest host path prefix -> directory on this machine. Longest prefix wins. Unmapped hostPath = thrown error. */
  readonly hostPaths?: Record<string, string>;
  /** persistentVolumeClaim volumes: claimName -> directory on this machine (a claim without mapping = thrown error). */
  readonly persistentVolumeClaims?: Record<string, string>;
  /** Secrets available in the namespace: name -> key -> value. Take precedence over Secrets in `manifests`. */
  readonly secrets?: Record<string, Record<string, string | Buffer>>;
  /** ConfigMaps available in the namespace (besides those in `manifests`): name -> key -> value. */
  readonly configMaps?: Record<string, Record<string, string | Buffer>>;
  /** Downward API values by field path ('status.hostIP', 'spec.nodeName', "metadata.labels['x']", ...). */
  readonly fieldRefs?: Record<string, string>;
  /** Per-container timeout (ms), default 120000; the Job's/pod's activeDeadlineSeconds also applies. */
  readonly timeoutMs?: number;
  /** Kill the named container after N ms (simulates a killed job). */
  readonly killAfterMs?: Record<string, number>;
  /** Abort the pod (kills all its processes). */
  readonly signal?: AbortSignal;
}

export interface ContainerResult {
  readonly name: string;
  readonly init: boolean;
  /** null if the container did not start or was killed by the runner */
  readonly exitCode: number | null;
  /** signal that killed the container process tree (only when killed by the runner: timeout, killAfterMs, abort) */
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  /** Why the container failed / did not start, if it did */
  readonly reason?: string;
  /** Host pid (= process group id) of the runner process of this container */
  readonly pid?: number;
  /** Content of the termination message file (terminationMessagePath), if any */
  readonly terminationMessage?: string;
}

export interface PodResult {
  readonly succeeded: boolean;
  readonly reason?: string;
  readonly containers: ContainerResult[];
  /** emptyDir volume name -> temp dir on the host, kept until cleanup() so tests can inspect */
  readonly emptyDirs: Record<string, string>;
  /** The pod's temp dir (logs/ holds one log per container) */
  readonly podDir: string;
  readonly podName: string;
  /** Things the runner could not emulate exactly (e.g. a capability the host does not have) */
  readonly warnings: string[];
  cleanup(): void;
}

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

/** containerd/CRI-O default capability set */
export const DEFAULT_CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID',
  'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** capability names by bit number */
const CAP_NAMES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE',
  'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP',
  'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
];

/** containerd's default PATH when the image sets none */
const RUNTIME_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_TIMEOUT_MS = 120_000;
const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** exit code of the wrapper when setting up the container failed (mounts etc.) */
const SETUP_FAILED = 125;

/** Env vars kubelet injects for the `kubernetes` service (always, also with enableServiceLinks: false). Fake cluster IP. */
const SERVICE_ENV: Record<string, string> = {
  KUBERNETES_SERVICE_HOST: '10.96.0.1',
  KUBERNETES_SERVICE_PORT: '443',
  KUBERNETES_SERVICE_PORT_HTTPS: '443',
  KUBERNETES_PORT: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
  KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
  KUBERNETES_PORT_443_TCP_PORT: '443',
  KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
};

// ---------------------------------------------------------------------------
// Process/dir registry: nothing must outlive the test process
// ---------------------------------------------------------------------------

interface Registry { readonly groups: Set<number>; readonly dirs: Set<string> }

/** jest sandboxes `process`: 'exit' handlers must go on the real one */
function realProcess(): NodeJS.Process {
  try {
    const p = vm.runInThisContext('process');
    if (p && typeof p.once === 'function') return p;
  } catch {
    // fall through
  }
  return process;
}

function registry(): Registry {
  const proc = realProcess() as any;
  const key = Symbol.for('cdk8s-backup.test.pod-runner');
  if (!proc[key]) {
    const reg: Registry = { groups: new Set(), dirs: new Set() };
    proc[key] = reg;
    proc.once('exit', () => {
      for (const pgid of reg.groups) killGroup(pgid);
      if (!process.env.POD_RUNNER_KEEP) {
        for (const dir of reg.dirs) rmrf(dir);
      }
    });
  }
  return proc[key];
}

/** Kill every process of every pod still running (e.g. from an afterAll hook). */
export function killAllPods(): void {
  for (const pgid of registry().groups) killGroup(pgid);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Host pids whose parent is `ppid` (/proc/<pid>/task/<pid>/children needs CONFIG_PROC_CHILDREN, not always there). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      // pid (comm) state ppid ...; comm may contain spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(e));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * Kill a container's process tree: SIGKILL the PID-namespace init (the wrapper, child of
 * unshare) first, so the kernel kills everything in the namespace (also processes that left
 * the process group) and unshare reaps it; killing unshare first would leave the init as a
 * zombie orphan in the process group. The whole group is SIGKILLed as well, a moment later.
 */
function killTree(pgid: number): void {
  const children = childrenOf(pgid);
  if (children.length === 0) {
    killGroup(pgid);
    return;
  }
  for (const child of children) {
    try {
      process.kill(child, 'SIGKILL');
    } catch {
      // gone
    }
  }
  setTimeout(() => killGroup(pgid), 1000).unref();
}

function rmrf(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

// ---------------------------------------------------------------------------
// Kubernetes $(VAR) expansion (port of k8s.io/kubernetes third_party/forked/golang/expansion)
// ---------------------------------------------------------------------------

/**
 * Expand $(VAR) references like kubelet does: `$$` is an escaped `$`, references
 * to unknown variables and incomplete references are left as they are.
 */
export function expandKubernetesVars(input: string, ...contexts: Array<Record<string, string> | Map<string, string>>): string {
  const lookup = (name: string): string => {
    for (const ctx of contexts) {
      if (ctx instanceof Map) {
        if (ctx.has(name)) return ctx.get(name)!;
      } else if (Object.prototype.hasOwnProperty.call(ctx, name)) {
        return ctx[name];
      }
    }
    return `$(${name})`;
  };
  let buf = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] === '$' && cursor + 1 < input.length) {
      buf += input.slice(checkpoint, cursor);
      const rest = input.slice(cursor + 1);
      let read: string;
      let isVar = false;
      let advance: number;
      if (rest[0] === '$') {
        read = '$';
        advance = 1;
      } else if (rest[0] === '(') {
        const close = rest.indexOf(')', 1);
        if (close >= 1) {
          read = rest.slice(1, close);
          isVar = true;
          advance = close + 1;
        } else {
          read = '$(';
          advance = 1;
        }
      } else {
        read = '$' + rest[0];
        advance = 1;
      }
      buf += isVar ? lookup(read) : read;
      cursor += advance;
      checkpoint = cursor + 1;
    }
  }
  return buf + input.slice(checkpoint);
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** A failure that Kubernetes would report for the pod (not a malformed test input). */
class PodFailure extends Error {
  constructor(public readonly reason: string, message: string) {
    super(message);
  }

  public get full(): string {
    return `${this.reason}: ${this.message}`;
  }
}

// ---------------------------------------------------------------------------
// Host facts (cached)
// ---------------------------------------------------------------------------

interface HostFile { readonly target: string; readonly source: string }

const lddCache = new Map<string, HostFile[]>();

/** Shared libraries a host binary needs, by the path the loader uses (target) and the real host file (source). */
function sharedLibraries(bin: string): HostFile[] {
  const cached = lddCache.get(bin);
  if (cached) return cached;
  const r = spawnSync('ldd', [bin], { encoding: 'utf8', env: { PATH: hostPath(), LC_ALL: 'C' } });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  let libs: HostFile[] = [];
  if (/not a dynamic executable|statically linked/.test(out)) {
    libs = [];
  } else if (r.status !== 0) {
    throw new Error(`runPod: ldd ${bin} failed: ${out}`);
  } else {
    for (const line of out.split('\n')) {
      if (/=>\s*not found/.test(line)) throw new Error(`runPod: ${bin}: missing library: ${line.trim()}`);
      const m = /^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/.exec(line);
      if (m) libs.push({ target: m[1], source: fs.realpathSync(m[1]) });
    }
  }
  lddCache.set(bin, libs);
  return libs;
}

function hostPath(): string {
  return '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
}

function which(name: string): string {
  for (const dir of hostPath().split(':')) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(`runPod: host tool ${name} not found`);
}

interface RunnerTools {
  /** real path of the host dynamic loader */
  readonly ldso: string;
  /** colon separated real dirs of setpriv's libraries */
  readonly libPath: string;
  /** real path of host setpriv */
  readonly setpriv: string;
  /** capability numbers the host can grant (bounding set of this process, <= cap_last_cap) */
  readonly hostCaps: Set<number>;
}

let runnerToolsCache: RunnerTools | undefined;

function runnerTools(): RunnerTools {
  if (runnerToolsCache) return runnerToolsCache;
  const setpriv = fs.realpathSync(which('setpriv'));
  for (const tool of ['unshare', 'mount', 'env', 'bash', 'ldd']) which(tool);
  const libs = sharedLibraries(setpriv);
  const loader = libs.find((l) => /\/ld-linux[^/]*\.so/.test(l.target));
  if (!loader) throw new Error('runPod: cannot find the dynamic loader of setpriv');
  const dirs = [...new Set(libs.filter((l) => l !== loader).map((l) => path.dirname(l.source)))];
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const bnd = BigInt('0x' + (/^CapBnd:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0'));
  const last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  const hostCaps = new Set<number>();
  for (let i = 0; i <= last; i++) if ((bnd >> BigInt(i)) & 1n) hostCaps.add(i);
  runnerToolsCache = { ldso: loader.source, libPath: dirs.join(':'), setpriv, hostCaps };
  return runnerToolsCache;
}

const appletCache = new Map<string, string[]>();

/** ImageProfile.rootfs, checked: an overlayfs lower dir must be a directory and its path may not hold ',' or ':' */
function imageRootfs(dir: string): string {
  const real = fs.realpathSync(dir);
  if (!exists(real)?.isDirectory() || /[,:\\]/.test(real)) throw new Error(`runPod: image rootfs ${dir} is not a directory usable as an overlay layer`);
  return real;
}

function busyboxApplets(bin: string): string[] {
  const cached = appletCache.get(bin);
  if (cached) return cached;
  let r = spawnSync(bin, ['--list-full'], { encoding: 'utf8' });
  let list: string[];
  if (r.status === 0 && r.stdout.trim()) {
    // (Debian's busybox also lists /linuxrc, which alpine does not have)
    list = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => '/' + l.replace(/^\/+/, '')).filter((l) => l !== '/linuxrc');
  } else {
    r = spawnSync(bin, ['--list'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`runPod: ${bin} --list failed`);
    list = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => `/bin/${l}`);
  }
  appletCache.set(bin, list);
  return list;
}

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

function q(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

function isUnder(p: string, prefix: string): boolean {
  return prefix === '/' || p === prefix || p.startsWith(prefix + '/');
}

function normalizeAbs(p: string): string {
  const parts: string[] = [];
  for (const c of splitPath(p)) {
    if (c === '..') parts.pop(); else parts.push(c);
  }
  return '/' + parts.join('/');
}

function exists(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function lexists(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

function toBuffer(v: string | Buffer): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
}

/** Kubernetes resource.Quantity -> number */
export function parseQuantity(q0: string | number): number {
  if (typeof q0 === 'number') return q0;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(String(q0).trim());
  if (!m) throw new PodFailure('Invalid', `quantities must match the regular expression: ${q0}`);
  const n = Number(m[1]);
  const s = m[2] ?? '';
  const bin: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
  const dec: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  if (s === '') return n;
  if (bin[s]) return n * bin[s];
  if (dec[s]) return n * dec[s];
  return n * 10 ** Number(s.slice(1));
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// ---------------------------------------------------------------------------
// Workload selection
// ---------------------------------------------------------------------------

interface Workload {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly podSpec: any;
  readonly podMeta: any;
  readonly deadlineSeconds?: number;
}

function selectWorkload(manifests: any[], name?: string): Workload {
  if (!Array.isArray(manifests)) throw new Error('runPod: manifests must be an array');
  const kinds = ['CronJob', 'Job', 'Pod'];
  const candidates = manifests.filter((m) => m && kinds.includes(m.kind) && (name === undefined || m.metadata?.name === name));
  if (candidates.length !== 1) {
    const all = manifests.filter((m) => m && kinds.includes(m.kind)).map((m) => `${m.kind}/${m.metadata?.name}`);
    throw new Error(`runPod: expected exactly one CronJob/Job/Pod${name ? ` named ${name}` : ''}, found ${candidates.length} (available: ${all.join(', ') || 'none'})`);
  }
  const m = candidates[0];
  const namespace = m.metadata?.namespace ?? 'default';
  let jobSpec: any;
  let template: any;
  if (m.kind === 'CronJob') {
    jobSpec = m.spec?.jobTemplate?.spec;
    template = jobSpec?.template;
  } else if (m.kind === 'Job') {
    jobSpec = m.spec;
    template = jobSpec?.template;
  } else {
    template = { metadata: m.metadata, spec: m.spec };
  }
  if (!template?.spec) throw new Error(`runPod: ${m.kind}/${m.metadata?.name} has no pod template spec`);
  const deadlines = [jobSpec?.activeDeadlineSeconds, template.spec.activeDeadlineSeconds].filter((d) => typeof d === 'number');
  return {
    kind: m.kind,
    name: m.metadata?.name ?? 'pod',
    namespace,
    podSpec: template.spec,
    podMeta: template.metadata ?? {},
    deadlineSeconds: deadlines.length ? Math.min(...deadlines) : undefined,
  };
}

function imageRepository(image: string): string {
  let ref = image.split('@')[0];
  const lastSlash = ref.lastIndexOf('/');
  const lastColon = ref.lastIndexOf(':');
  if (lastColon > lastSlash) ref = ref.slice(0, lastColon);
  return ref;
}

function lookupImage(images: Record<string, ImageProfile>, image: string, user: string): ImageProfile {
  const repo = imageRepository(image);
  const short = repo.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
  const profile = images[image] ?? images[repo] ?? images[short] ?? images[`docker.io/${short}`];
  if (!profile) {
    throw new Error(`runPod: no ImageProfile for image "${image}" (${user}); known: ${Object.keys(images).join(', ')}`);
  }
  return profile;
}

function mapHostPath(mapping: Record<string, string>, p: string): string {
  const norm = normalizeAbs(p);
  let best: string | undefined;
  for (const prefix of Object.keys(mapping)) {
    const np = normalizeAbs(prefix);
    if (isUnder(norm, np) && (best === undefined || np.length > normalizeAbs(best).length)) best = prefix;
  }
  if (best === undefined) {
    throw new Error(`runPod: hostPath ${p} is not mapped (hostPaths: ${Object.keys(mapping).join(', ') || 'none'}); refusing to expose the real host`);
  }
  const np = normalizeAbs(best);
  const rest = np === '/' ? norm.slice(1) : norm.slice(np.length + 1);
  return rest ? path.join(mapping[best], rest) : mapping[best];
}

// ---------------------------------------------------------------------------
// Mount table used to create mountpoints without following symlinks out of the rootfs
// ---------------------------------------------------------------------------

interface Layer { readonly cpath: string; readonly host?: string; readonly readOnly?: boolean }

class MountTable {
  private readonly layers: Layer[] = [];

  /** lower: ImageProfile.rootfs, read-only under the '/' layer (the container layer), as overlayfs merges them */
  constructor(private readonly lower?: string) {}

  /** host undefined = a file system set up by the wrapper (tmpfs /dev, /proc, /sys); readOnly: nothing may be created in it */
  public add(cpath: string, host?: string, readOnly = false): void {
    this.layers.push({ cpath, host, readOnly });
  }

  /** True if `cpath` lies (through the deepest layer) in a read-only layer: an image directory (ImageProfile.hostDirs). */
  public isReadOnly(cpath: string): boolean {
    let best: Layer | undefined;
    for (const l of this.layers) {
      if (isUnder(cpath, l.cpath) && (!best || l.cpath.length >= best.cpath.length)) best = l;
    }
    return !!best?.readOnly;
  }

  /** host path of a container path (through the deepest layer), undefined inside wrapper-made file systems */
  public toHost(cpath: string): string | undefined {
    let best: Layer | undefined;
    for (const l of this.layers) {
      if (isUnder(cpath, l.cpath) && (!best || l.cpath.length >= best.cpath.length)) best = l;
    }
    if (!best || best.host === undefined) return undefined;
    const rest = best.cpath === '/' ? cpath.slice(1) : cpath.slice(best.cpath.length + 1);
    return rest ? path.join(best.host, rest) : best.host;
  }

  /** What the container sees at cpath on the host: toHost(), or the lower layer's file where the '/' layer has none. */
  public view(cpath: string): string | undefined {
    const host = this.toHost(cpath);
    const lower = this.lowerOf(cpath, host);
    return lower !== undefined && !lexists(host!) ? lower : host;
  }

  /** The lower layer's path for cpath if cpath lies in the '/' layer (host is its toHost()) */
  private lowerOf(cpath: string, host: string | undefined): string | undefined {
    if (this.lower === undefined || host === undefined || host !== path.join(this.layers[0].host!, cpath)) return undefined;
    return path.join(this.lower, cpath);
  }

  /** Resolve symlinks of a container path inside the container's view (like securejoin). */
  public resolve(cpath: string, followLast: boolean): string {
    let todo = splitPath(cpath);
    let cur: string[] = [];
    let hops = 0;
    while (todo.length) {
      const c = todo.shift()!;
      if (c === '..') {
        cur.pop();
        continue;
      }
      const cand = [...cur, c];
      const host = this.view('/' + cand.join('/'));
      if (host !== undefined && (todo.length > 0 || followLast)) {
        const st = lexists(host);
        if (st?.isSymbolicLink()) {
          if (++hops > 40) throw new PodFailure('CreateContainerError', `too many levels of symbolic links: ${cpath}`);
          const target = fs.readlinkSync(host);
          if (target.startsWith('/')) cur = [];
          todo = [...splitPath(target), ...todo];
          continue;
        }
      }
      cur = cand;
    }
    return '/' + cur.join('/');
  }

  /**
   * Create a mountpoint (like the runtime does) for an already resolved container path.
   * Returns false if it lies in a wrapper-made file system (the wrapper must create it).
   */
  public makeMountpoint(resolved: string, dir: boolean): boolean {
    const parts = splitPath(resolved);
    for (let i = 1; i <= parts.length; i++) {
      const cp = '/' + parts.slice(0, i).join('/');
      const host = this.toHost(cp);
      if (host === undefined) return false;
      const last = i === parts.length;
      const lower = this.lowerOf(cp, host);
      const st = exists(host);
      const lowerSt = lower !== undefined && !st ? exists(lower) : undefined;
      if (!st && !lowerSt && this.isReadOnly(cp)) {
        throw new PodFailure('CreateContainerError', `mkdir ${cp}: read-only file system (an image directory: ImageProfile.hostDirs)`);
      }
      if (lowerSt?.isDirectory() && !last) {
        // overlayfs copy-up: the upper directory keeps the image's mode and owner (a new mountpoint below it must not change them)
        fs.mkdirSync(host);
        fs.chownSync(host, lowerSt.uid, lowerSt.gid);
        fs.chmodSync(host, lowerSt.mode & 0o7777);
      } else if (!st && !lowerSt) {
        if (last && !dir) fs.writeFileSync(host, '', { mode: 0o755 });
        else fs.mkdirSync(host, { mode: 0o755 });
      }
    }
    return true;
  }
}

// ---------------------------------------------------------------------------
// Projected files (secret/configMap/downwardAPI volumes), kubelet AtomicWriter layout
// ---------------------------------------------------------------------------

interface ProjectedFile { readonly path: string; readonly content: Buffer; readonly mode: number }

function writeProjection(dir: string, files: ProjectedFile[], fsGroup: number | undefined): void {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '_').replace('T', '_').replace('Z', '');
  const tsName = `..${stamp}.${crypto.randomBytes(4).readUInt32BE(0)}`;
  const tsDir = path.join(dir, tsName);
  fs.mkdirSync(tsDir, { mode: 0o755 });
  fs.chmodSync(tsDir, 0o755);
  const top = new Set<string>();
  for (const f of files) {
    const rel = splitPath(f.path);
    top.add(rel[0]);
    const dest = path.join(tsDir, ...rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
    fs.writeFileSync(dest, f.content);
    fs.chmodSync(dest, f.mode);
  }
  fs.symlinkSync(tsName, path.join(dir, '..data'));
  for (const t of top) fs.symlinkSync(path.join('..data', t), path.join(dir, t));
  fs.chmodSync(dir, 0o1777);
  if (fsGroup !== undefined) setVolumeOwnership(dir, fsGroup, true);
}

/** kubelet SetVolumeOwnership: chgrp fsGroup, add group rw (ro for read-only volumes), setgid on dirs */
function setVolumeOwnership(dir: string, fsGroup: number, readOnly: boolean): void {
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    fs.lchownSync(p, st.uid, fsGroup);
    if (st.isSymbolicLink()) return;
    let mask = readOnly ? 0o440 : 0o660;
    if (st.isDirectory()) mask |= 0o2000 | 0o110;
    fs.chmodSync(p, (st.mode & 0o7777) | mask);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
  };
  walk(dir);
}

function checkItemPath(p: unknown, what: string): string {
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || splitPath(p).includes('..')) {
    throw new PodFailure('Invalid', `${what}: path must be relative and may not contain '..': ${String(p)}`);
  }
  return p;
}

// ---------------------------------------------------------------------------
// Image volumes
// ---------------------------------------------------------------------------

/**
 * An image volume's content: the profile's files (real copies, 0755, root-owned: the directory is
 * bind-mounted, so they must not be the host's files themselves), busybox and its applet links,
 * and its dirs, at their image paths under `dir`. Returns the binaries (for their libraries).
 */
function writeImageVolume(dir: string, profile: ImageProfile, volume: string): HostFile[] {
  if (profile.hostDirs && Object.keys(profile.hostDirs).length > 0) {
    throw new Error(`runPod: image volume ${volume}: a profile with hostDirs is not emulated as an image volume`);
  }
  fs.mkdirSync(dir, { mode: 0o755 });
  const binaries: HostFile[] = [];
  const place = (target: string, source: string) => {
    if (!target.startsWith('/')) throw new Error(`runPod: image file ${target} must be absolute`);
    const t = normalizeAbs(target);
    const real = fs.realpathSync(source);
    const h = path.join(dir, t);
    fs.mkdirSync(path.dirname(h), { recursive: true, mode: 0o755 });
    if (lexists(h)) fs.rmSync(h);
    fs.copyFileSync(real, h);
    fs.chownSync(h, 0, 0);
    fs.chmodSync(h, 0o755);
    binaries.push({ target: t, source: real });
  };
  for (const [d, mode] of Object.entries(profile.dirs ?? {})) {
    fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
    fs.chmodSync(path.join(dir, d), mode);
  }
  if (profile.busybox) {
    place('/bin/busybox', profile.busybox);
    for (const applet of busyboxApplets(profile.busybox)) {
      const h = path.join(dir, applet);
      fs.mkdirSync(path.dirname(h), { recursive: true, mode: 0o755 });
      if (!lexists(h) && applet !== '/bin/busybox') fs.symlinkSync('/bin/busybox', h);
    }
  }
  for (const [target, source] of Object.entries(profile.files)) place(target, source);
  // Directories as an image layer has them (0755, root) however the umask made them.
  const walk = (p: string) => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(p, e.name));
    }
    fs.chownSync(p, 0, 0);
  };
  walk(dir);
  return binaries;
}

// ---------------------------------------------------------------------------
// The pod
// ---------------------------------------------------------------------------

interface Volume {
  readonly name: string;
  readonly kind: string;
  readonly host: string;
  /** secret/configMap/downwardAPI/projected/image volumes are always read-only */
  readonly forceReadOnly: boolean;
  /** image volumes: the host binaries in it (their shared libraries go into the containers that mount it) */
  readonly binaries?: HostFile[];
}

interface Controller {
  kill(reason: string): void;
}

interface Outcome { readonly result: ContainerResult; readonly failure?: string }

class Pod {
  public readonly dir: string;
  public readonly name: string;
  public readonly warnings: string[] = [];
  public readonly emptyDirs: Record<string, string> = {};
  private readonly spec: any;
  private readonly fields: Record<string, string>;
  private readonly volumes = new Map<string, Volume>();
  private readonly running = new Set<Controller>();
  private readonly deadlineAt?: number;
  private aborted?: string;

  constructor(private readonly opts: RunPodOptions, private readonly wl: Workload, private readonly profiles: Map<any, ImageProfile>,
    private readonly volumeImages: Map<string, ImageProfile>) {
    this.spec = wl.podSpec;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-runner-'));
    registry().dirs.add(this.dir);
    fs.mkdirSync(path.join(this.dir, 'logs'));
    fs.mkdirSync(path.join(this.dir, 'volumes'));
    fs.mkdirSync(path.join(this.dir, 'containers'));
    const f = opts.fieldRefs ?? {};
    this.name = f['metadata.name'] ?? `${wl.name}-test`;
    const hostIP = f['status.hostIP'] ?? '127.0.0.1';
    const podIP = f['status.podIP'] ?? (this.spec.hostNetwork ? hostIP : '127.0.0.1');
    this.fields = {
      'metadata.name': this.name,
      'metadata.namespace': wl.namespace,
      'metadata.uid': crypto.randomUUID(),
      'spec.nodeName': 'node-1',
      'spec.serviceAccountName': this.spec.serviceAccountName ?? this.spec.serviceAccount ?? 'default',
      'status.hostIP': hostIP,
      'status.hostIPs': f['status.hostIPs'] ?? hostIP,
      'status.podIP': podIP,
      'status.podIPs': f['status.podIPs'] ?? podIP,
      ...f,
    };
    if (wl.deadlineSeconds !== undefined) this.deadlineAt = Date.now() + wl.deadlineSeconds * 1000;
  }

  public abort(reason: string): void {
    this.aborted = reason;
    for (const c of this.running) c.kill(reason);
  }

  public async run(): Promise<{ succeeded: boolean; reason?: string; containers: ContainerResult[] }> {
    const results: ContainerResult[] = [];
    try {
      this.validate();
      this.writeEtcFiles();
      this.setupVolumes();
    } catch (e) {
      if (e instanceof PodFailure) return { succeeded: false, reason: e.full, containers: results };
      throw e;
    }
    const sidecars: Array<{ ctl: Controller; done: Promise<Outcome> }> = [];
    const stopSidecars = async () => {
      for (const s of sidecars) s.ctl.kill('Completed');
      for (const s of sidecars) results.push((await s.done).result);
    };
    for (const c of this.spec.initContainers ?? []) {
      if (c.restartPolicy === 'Always') {
        // native sidecar: started, kept running next to the other containers
        const ctl: Controller = { kill: () => undefined };
        sidecars.push({ ctl, done: this.runContainer(c, true, ctl) });
        continue;
      }
      const out = await this.runContainer(c, true);
      results.push(out.result);
      if (out.failure) {
        await stopSidecars();
        return { succeeded: false, reason: out.failure, containers: results };
      }
    }
    const outs = await Promise.all((this.spec.containers ?? []).map((c: any) => this.runContainer(c, false)));
    await stopSidecars();
    results.push(...outs.map((o) => o.result));
    const failure = outs.find((o) => o.failure)?.failure;
    return failure ? { succeeded: false, reason: failure, containers: results } : { succeeded: true, containers: results };
  }

  // ---- validation (what the API server would reject) ----

  private validate(): void {
    const s = this.spec;
    const invalid = (msg: string) => {
      throw new PodFailure('Invalid', msg);
    };
    if (!Array.isArray(s.containers) || s.containers.length === 0) invalid('spec.containers: Required value');
    if (this.wl.kind !== 'Pod' && !['Never', 'OnFailure'].includes(s.restartPolicy)) {
      invalid(`spec.template.spec.restartPolicy: Unsupported value: ${JSON.stringify(s.restartPolicy)}: supported values: "OnFailure", "Never"`);
    }
    const volNames = new Set<string>();
    for (const v of s.volumes ?? []) {
      if (!v.name || !DNS_LABEL.test(v.name)) invalid(`spec.volumes: invalid volume name ${JSON.stringify(v.name)}`);
      if (volNames.has(v.name)) invalid(`spec.volumes: Duplicate value: ${JSON.stringify(v.name)}`);
      volNames.add(v.name);
      if (v.image && (typeof v.image.reference !== 'string' || !v.image.reference)) invalid(`spec.volumes[${v.name}].image.reference: Required value`);
      if (v.image?.pullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(v.image.pullPolicy)) {
        invalid(`spec.volumes[${v.name}].image.pullPolicy: Unsupported value: ${JSON.stringify(v.image.pullPolicy)}`);
      }
    }
    const names = new Set<string>();
    for (const c of [...(s.initContainers ?? []), ...s.containers]) {
      if (!c.name || !DNS_LABEL.test(c.name)) invalid(`container name ${JSON.stringify(c.name)} must be a DNS-1123 label`);
      if (names.has(c.name)) invalid(`containers: Duplicate value: ${JSON.stringify(c.name)}`);
      names.add(c.name);
      if (typeof c.image !== 'string' || !c.image) invalid(`container ${c.name}: image: Required value`);
      for (const a of [...(c.command ?? []), ...(c.args ?? [])]) if (typeof a !== 'string') invalid(`container ${c.name}: command/args must be strings`);
      const mountPaths = new Set<string>();
      for (const vm0 of c.volumeMounts ?? []) {
        if (!volNames.has(vm0.name)) invalid(`container ${c.name}: volumeMounts.name: Not found: ${JSON.stringify(vm0.name)}`);
        if (typeof vm0.mountPath !== 'string' || !vm0.mountPath.startsWith('/')) invalid(`container ${c.name}: volumeMounts.mountPath must be absolute: ${vm0.mountPath}`);
        const mp = normalizeAbs(vm0.mountPath);
        if (mountPaths.has(mp)) invalid(`container ${c.name}: volumeMounts.mountPath: Invalid value: ${JSON.stringify(vm0.mountPath)}: must be unique`);
        mountPaths.add(mp);
        if (vm0.subPath && vm0.subPathExpr) invalid(`container ${c.name}: subPath and subPathExpr are mutually exclusive`);
        if (vm0.subPath) checkItemPath(vm0.subPath, `container ${c.name}: volumeMounts.subPath`);
      }
      for (const e of c.env ?? []) {
        if (!e.name) invalid(`container ${c.name}: env.name: Required value`);
        if (e.value !== undefined && e.value !== '' && e.valueFrom) invalid(`container ${c.name}: env ${e.name}: may not have both value and valueFrom`);
        if (e.valueFrom && Object.keys(e.valueFrom).length !== 1) invalid(`container ${c.name}: env ${e.name}: valueFrom must specify exactly one source`);
      }
      if (c.workingDir !== undefined && (typeof c.workingDir !== 'string' || !c.workingDir.startsWith('/'))) {
        invalid(`container ${c.name}: workingDir must be an absolute path`);
      }
    }
  }

  // ---- downward API ----

  private fieldValue(fieldPath: string, forVolume: boolean): string {
    if (Object.prototype.hasOwnProperty.call(this.opts.fieldRefs ?? {}, fieldPath)) return this.opts.fieldRefs![fieldPath];
    const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
    if (sub) return this.podMetaMap(sub[1])[sub[2]] ?? '';
    if (forVolume && /^metadata\.(labels|annotations)$/.test(fieldPath)) {
      const map = this.podMetaMap(fieldPath.split('.')[1]);
      return Object.keys(map).sort().map((k) => `${k}=${JSON.stringify(map[k])}`).join('\n');
    }
    const allowed = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName',
      'status.hostIP', 'status.hostIPs', 'status.podIP', 'status.podIPs'];
    if (!allowed.includes(fieldPath) || (forVolume && !fieldPath.startsWith('metadata.'))) {
      throw new PodFailure('Invalid', `fieldRef.fieldPath: Unsupported value: ${JSON.stringify(fieldPath)}`);
    }
    return this.fields[fieldPath];
  }

  private podMetaMap(kind: string): Record<string, string> {
    if (kind === 'labels') {
      return { ...(this.wl.podMeta.labels ?? {}), ...(this.wl.kind !== 'Pod' ? { 'job-name': this.wl.name, 'batch.kubernetes.io/job-name': this.wl.name } : {}) };
    }
    return { ...(this.wl.podMeta.annotations ?? {}) };
  }

  private resourceValue(ref: any, container: any): string {
    const all = [...(this.spec.initContainers ?? []), ...this.spec.containers];
    const c = ref.containerName ? all.find((x: any) => x.name === ref.containerName) : container;
    if (!c) throw new PodFailure('Invalid', `resourceFieldRef: container ${ref.containerName} not found`);
    const [kind, res] = String(ref.resource).split(/\.(.*)/s);
    if (!['limits', 'requests'].includes(kind) || !['cpu', 'memory', 'ephemeral-storage'].includes(res)) {
      throw new PodFailure('Invalid', `resourceFieldRef.resource: Unsupported value: ${JSON.stringify(ref.resource)}`);
    }
    const limits = c.resources?.limits ?? {};
    const requests = { ...limits, ...(c.resources?.requests ?? {}) }; // API defaulting: requests default to limits
    const allocatable: Record<string, number> = { 'cpu': os.cpus().length, 'memory': os.totalmem(), 'ephemeral-storage': 100 * 2 ** 30 };
    let value: number;
    if (kind === 'limits') value = limits[res] !== undefined ? parseQuantity(limits[res]) : allocatable[res];
    else value = requests[res] !== undefined ? parseQuantity(requests[res]) : 0;
    const divisor = parseQuantity(ref.divisor ?? '1');
    if (res === 'cpu') {
      return String(Math.ceil(Math.ceil(value * 1000 - 1e-9) / Math.ceil(divisor * 1000 - 1e-9)));
    }
    return String(Math.ceil(value / divisor - 1e-12));
  }

  // ---- Secrets / ConfigMaps ----

  private sameNamespace(m: any): boolean {
    return (m.metadata?.namespace ?? this.wl.namespace) === this.wl.namespace;
  }

  private secret(name: string): Record<string, Buffer> | undefined {
    const given = this.opts.secrets?.[name];
    if (given) return Object.fromEntries(Object.entries(given).map(([k, v]) => [k, toBuffer(v)]));
    const m = this.opts.manifests.find((x) => x?.kind === 'Secret' && x.metadata?.name === name && this.sameNamespace(x));
    if (!m) return undefined;
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(m.data ?? {})) out[k] = Buffer.from(String(v), 'base64');
    for (const [k, v] of Object.entries(m.stringData ?? {})) out[k] = Buffer.from(String(v), 'utf8');
    return out;
  }

  private configMap(name: string): Record<string, Buffer> | undefined {
    const given = this.opts.configMaps?.[name];
    if (given) return Object.fromEntries(Object.entries(given).map(([k, v]) => [k, toBuffer(v)]));
    const m = this.opts.manifests.find((x) => x?.kind === 'ConfigMap' && x.metadata?.name === name && this.sameNamespace(x));
    if (!m) return undefined;
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(m.data ?? {})) out[k] = Buffer.from(String(v), 'utf8');
    for (const [k, v] of Object.entries(m.binaryData ?? {})) out[k] = Buffer.from(String(v), 'base64');
    return out;
  }

  // ---- volumes (set up once per pod, like kubelet before any container starts) ----

  private get fsGroup(): number | undefined {
    return this.spec.securityContext?.fsGroup;
  }

  private setupVolumes(): void {
    const vols: any[] = [...(this.spec.volumes ?? [])];
    const automount = this.spec.automountServiceAccountToken !== false;
    if (automount) {
      vols.push({
        name: '__sa_token__',
        projected: {
          defaultMode: 0o644,
          sources: [
            { serviceAccountToken: { path: 'token' } },
            { configMap: { name: '__kube_root_ca__', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      });
    }
    for (const v of vols) {
      const host = path.join(this.dir, 'volumes', v.name);
      const add = (kind: string, h: string, forceReadOnly: boolean) => this.volumes.set(v.name, { name: v.name, kind, host: h, forceReadOnly });
      const fail = (msg: string) => {
        throw new PodFailure('FailedMount', `MountVolume.SetUp failed for volume ${JSON.stringify(v.name)} : ${msg}`);
      };
      if (v.emptyDir) {
        fs.mkdirSync(host, { mode: 0o777 });
        fs.chmodSync(host, 0o777);
        if (this.fsGroup !== undefined) setVolumeOwnership(host, this.fsGroup, false);
        this.emptyDirs[v.name] = host;
        add('emptyDir', host, false);
        if (v.emptyDir.medium === 'Memory') this.warn(`emptyDir ${v.name}: medium Memory is emulated by a plain directory`);
      } else if (v.hostPath) {
        const type = v.hostPath.type ?? '';
        const p = mapHostPath(this.opts.hostPaths ?? {}, v.hostPath.path);
        let st = exists(p);
        switch (type) {
          case '':
            // the runtime (containerd) creates a missing host path as a directory
            if (!st) fs.mkdirSync(p, { recursive: true, mode: 0o755 });
            break;
          case 'DirectoryOrCreate':
            if (!st) {
              fs.mkdirSync(p, { recursive: true, mode: 0o755 });
              st = exists(p);
            }
            if (!st!.isDirectory()) fail(`hostPath type check failed: ${v.hostPath.path} is not a directory`);
            break;
          case 'Directory':
            if (!st?.isDirectory()) fail(`hostPath type check failed: ${v.hostPath.path} is not a directory`);
            break;
          case 'FileOrCreate':
            if (!st) {
              if (!exists(path.dirname(p))?.isDirectory()) fail(`open ${v.hostPath.path}: no such file or directory`);
              fs.writeFileSync(p, '', { mode: 0o644 });
              st = exists(p);
            }
            if (!st!.isFile()) fail(`hostPath type check failed: ${v.hostPath.path} is not a file`);
            break;
          case 'File':
            if (!st?.isFile()) fail(`hostPath type check failed: ${v.hostPath.path} is not a file`);
            break;
          case 'Socket':
            if (!st?.isSocket()) fail(`hostPath type check failed: ${v.hostPath.path} is not a socket file`);
            break;
          case 'CharDevice':
            if (!st?.isCharacterDevice()) fail(`hostPath type check failed: ${v.hostPath.path} is not a character device`);
            break;
          case 'BlockDevice':
            if (!st?.isBlockDevice()) fail(`hostPath type check failed: ${v.hostPath.path} is not a block device`);
            break;
          default:
            throw new PodFailure('Invalid', `hostPath.type: Unsupported value: ${JSON.stringify(type)}`);
        }
        add('hostPath', p, false);
      } else if (v.persistentVolumeClaim) {
        const claim = v.persistentVolumeClaim.claimName;
        const dir = this.opts.persistentVolumeClaims?.[claim];
        if (dir === undefined) throw new Error(`runPod: volume ${v.name}: persistentVolumeClaim ${claim} is not mapped (option persistentVolumeClaims)`);
        if (!exists(dir)?.isDirectory()) throw new Error(`runPod: persistentVolumeClaims.${claim}: ${dir} is not a directory`);
        add('persistentVolumeClaim', dir, !!v.persistentVolumeClaim.readOnly);
      } else if (v.secret || v.configMap || v.downwardAPI || v.projected) {
        const files = this.projectedFiles(v, fail);
        writeProjection(host, files, this.fsGroup);
        add(v.secret ? 'secret' : v.configMap ? 'configMap' : v.downwardAPI ? 'downwardAPI' : 'projected', host, true);
      } else if (v.image) {
        const binaries = writeImageVolume(host, this.volumeImages.get(v.name)!, v.name);
        this.volumes.set(v.name, { name: v.name, kind: 'image', host, forceReadOnly: true, binaries });
      } else {
        const kind = Object.keys(v).filter((k) => k !== 'name').join(',');
        throw new Error(`runPod: volume ${v.name}: type ${kind} is not emulated`);
      }
    }
  }

  private projectedFiles(v: any, fail: (msg: string) => never): ProjectedFile[] {
    const files: ProjectedFile[] = [];
    const fromObject = (src: any, kind: 'secret' | 'configMap', name: string, defaultMode: number) => {
      const data = kind === 'secret' ? this.secret(name) : (name === '__kube_root_ca__' ? { 'ca.crt': Buffer.from('# fake kube-root-ca.crt (pod-runner)\n') } : this.configMap(name));
      const label = kind === 'secret' ? 'secret' : 'configmap';
      if (!data) {
        if (src.optional) return;
        fail(`${label} ${JSON.stringify(name)} not found`);
        return;
      }
      if (src.items?.length) {
        for (const it of src.items) {
          const p = checkItemPath(it.path, `${kind}.items.path`);
          if (!(it.key in data)) {
            if (src.optional) continue;
            fail(`${label} references non-existent ${kind === 'secret' ? 'secret' : 'config'} key: ${it.key}`);
          }
          files.push({ path: p, content: data[it.key], mode: it.mode ?? defaultMode });
        }
      } else {
        for (const [k, val] of Object.entries(data)) files.push({ path: k, content: val, mode: defaultMode });
      }
    };
    const fromDownward = (items: any[], defaultMode: number) => {
      for (const it of items ?? []) {
        const p = checkItemPath(it.path, 'downwardAPI.items.path');
        let value: string;
        if (it.fieldRef) value = this.fieldValue(it.fieldRef.fieldPath, true);
        else if (it.resourceFieldRef) value = this.resourceValue(it.resourceFieldRef, undefined);
        else throw new PodFailure('Invalid', 'downwardAPI item needs fieldRef or resourceFieldRef');
        files.push({ path: p, content: Buffer.from(value), mode: it.mode ?? defaultMode });
      }
    };
    if (v.secret) {fromObject(v.secret, 'secret', v.secret.secretName, v.secret.defaultMode ?? 0o644);} else if (v.configMap) {fromObject(v.configMap, 'configMap', v.configMap.name, v.configMap.defaultMode ?? 0o644);} else if (v.downwardAPI) {fromDownward(v.downwardAPI.items, v.downwardAPI.defaultMode ?? 0o644);} else {
      const mode = v.projected.defaultMode ?? 0o644;
      for (const s of v.projected.sources ?? []) {
        if (s.secret) {fromObject(s.secret, 'secret', s.secret.name, mode);} else if (s.configMap) {fromObject(s.configMap, 'configMap', s.configMap.name, mode);} else if (s.downwardAPI) {fromDownward(s.downwardAPI.items, mode);} else if (s.serviceAccountToken) {
          const token = `fake.${Buffer.from(JSON.stringify({ sub: `system:serviceaccount:${this.wl.namespace}:${this.fields['spec.serviceAccountName']}`, aud: s.serviceAccountToken.audience })).toString('base64url')}.pod-runner`;
          files.push({ path: checkItemPath(s.serviceAccountToken.path, 'serviceAccountToken.path'), content: Buffer.from(token), mode });
        } else {throw new Error(`runPod: projected volume ${v.name}: source ${Object.keys(s).join(',')} is not emulated`);}
      }
    }
    return files;
  }

  private writeEtcFiles(): void {
    const etc = path.join(this.dir, 'etc');
    fs.mkdirSync(etc);
    const hostname = this.spec.hostNetwork ? this.fields['spec.nodeName'] : this.name;
    let hosts: string;
    if (this.spec.hostNetwork) {
      hosts = exists('/etc/hosts') ? fs.readFileSync('/etc/hosts', 'utf8') : '127.0.0.1\tlocalhost\n';
    } else {
      hosts = ['# Kubernetes-managed hosts file.', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', 'fe00::0\tip6-localnet',
        'fe00::0\tip6-mcastprefix', 'fe00::1\tip6-allnodes', 'fe00::2\tip6-allrouters', `${this.fields['status.podIP']}\t${this.name}`, ''].join('\n');
    }
    for (const a of this.spec.hostAliases ?? []) hosts += `${a.ip}\t${(a.hostnames ?? []).join('\t')}\n`;
    fs.writeFileSync(path.join(etc, 'hosts'), hosts, { mode: 0o644 });
    fs.writeFileSync(path.join(etc, 'hostname'), hostname + '\n', { mode: 0o644 });
    // DNS: we keep the host resolver (there is no cluster DNS)
    fs.writeFileSync(path.join(etc, 'resolv.conf'), exists('/etc/resolv.conf') ? fs.readFileSync('/etc/resolv.conf') : '', { mode: 0o644 });
  }

  private warn(msg: string): void {
    if (!this.warnings.includes(msg)) this.warnings.push(msg);
  }

  // ---- per container ----

  /** kubelet's makeEnvironmentVariables; returns the list kubelet hands to the runtime */
  private kubeletEnv(c: any): Map<string, string> {
    const env = new Map<string, string>();
    const cfgErr = (msg: string): never => {
      throw new PodFailure('CreateContainerConfigError', msg);
    };
    for (const ef of c.envFrom ?? []) {
      const ref = ef.secretRef ?? ef.configMapRef;
      const kind = ef.secretRef ? 'secret' : 'configmap';
      const data = ef.secretRef ? this.secret(ref.name) : this.configMap(ref.name);
      if (!data) {
        if (ref.optional) continue;
        cfgErr(`${kind} ${JSON.stringify(ref.name)} not found`);
      }
      for (const [k, v] of Object.entries(data!)) {
        const name = (ef.prefix ?? '') + k;
        if (!ENV_NAME.test(name)) {
          this.warn(`container ${c.name}: envFrom key ${JSON.stringify(name)} is not a valid env var name and was skipped (like kubelet)`);
          continue;
        }
        env.set(name, v.toString('utf8'));
      }
    }
    for (const e of c.env ?? []) {
      let value = e.value ?? '';
      if (value !== '') {
        value = expandKubernetesVars(value, env, SERVICE_ENV);
      } else if (e.valueFrom) {
        const vf = e.valueFrom;
        if (vf.fieldRef) {
          value = this.fieldValue(vf.fieldRef.fieldPath, false);
        } else if (vf.resourceFieldRef) {
          value = this.resourceValue(vf.resourceFieldRef, c);
        } else if (vf.secretKeyRef || vf.configMapKeyRef) {
          const ref = vf.secretKeyRef ?? vf.configMapKeyRef;
          const isSecret = !!vf.secretKeyRef;
          const data = isSecret ? this.secret(ref.name) : this.configMap(ref.name);
          if (!data) {
            if (ref.optional) continue;
            cfgErr(`${isSecret ? 'secret' : 'configmap'} ${JSON.stringify(ref.name)} not found`);
          }
          if (!(ref.key in data!)) {
            if (ref.optional) continue;
            cfgErr(`couldn't find key ${ref.key} in ${isSecret ? 'Secret' : 'ConfigMap'} ${this.wl.namespace}/${ref.name}`);
          }
          value = data![ref.key].toString('utf8');
        } else {
          throw new PodFailure('Invalid', `env ${e.name}: unsupported valueFrom ${Object.keys(vf).join(',')}`);
        }
      }
      env.set(e.name, value);
    }
    for (const [k, v] of Object.entries(SERVICE_ENV)) if (!env.has(k)) env.set(k, v);
    return env;
  }

  private async runContainer(c: any, init: boolean, sidecarCtl?: Controller): Promise<Outcome> {
    const started = Date.now();
    const notStarted = (reason: string): Outcome => ({
      result: { name: c.name, init, exitCode: null, signal: null, stdout: '', stderr: '', durationMs: Date.now() - started, reason },
      failure: `${reason} (container ${c.name})`,
    });
    if (this.aborted) return notStarted(this.aborted);
    let prepared: Prepared;
    try {
      prepared = this.prepare(c, init);
    } catch (e) {
      if (e instanceof PodFailure) return notStarted(e.full);
      throw e;
    }
    return this.spawnContainer(c, init, prepared, started, sidecarCtl);
  }

  private prepare(c: any, init: boolean): Prepared {
    const profile = this.profiles.get(c)!;
    const cdir = path.join(this.dir, 'containers', `${init ? 'init-' : ''}${c.name}`);
    fs.mkdirSync(cdir);
    const kenv = this.kubeletEnv(c);

    // --- security context ---
    const psc = this.spec.securityContext ?? {};
    const csc = c.securityContext ?? {};
    const uid: number = csc.runAsUser ?? psc.runAsUser ?? profile.user ?? 0;
    const gid: number = csc.runAsGroup ?? psc.runAsGroup ?? 0;
    if (!Number.isInteger(uid) || uid < 0) throw new PodFailure('Invalid', `runAsUser must be a non-negative integer: ${uid}`);
    const nonRoot = csc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot === true && uid === 0) {
      const explicit = csc.runAsUser ?? psc.runAsUser;
      throw new PodFailure('CreateContainerConfigError', explicit === 0
        ? `container's runAsUser breaks non-root policy (pod: "${this.name}_${this.wl.namespace}(${this.fields['metadata.uid']})", container: ${c.name})`
        : `container has runAsNonRoot and image will run as root (pod: "${this.name}_${this.wl.namespace}(${this.fields['metadata.uid']})", container: ${c.name})`);
    }
    const groups = [...new Set<number>([...(psc.supplementalGroups ?? []), ...(psc.fsGroup !== undefined ? [psc.fsGroup] : [])])];
    const caps = this.capabilities(c, csc);

    // --- environment as the runtime builds it ---
    const env = new Map<string, string>();
    env.set('PATH', RUNTIME_DEFAULT_PATH);
    env.set('HOSTNAME', this.spec.hostNetwork ? this.fields['spec.nodeName'] : this.name);
    for (const [k, v] of Object.entries(profile.env ?? {})) env.set(k, v);
    if (c.tty) env.set('TERM', 'xterm');
    for (const [k, v] of kenv) env.set(k, v);
    if (!env.has('HOME')) env.set('HOME', uid === 0 ? '/root' : '/');

    // --- command ---
    const expand = (s: string) => expandKubernetesVars(s, kenv);
    let argv: string[];
    if (c.command?.length) argv = [...c.command.map(expand), ...(c.args ?? []).map(expand)];
    else if (c.args?.length) argv = [...(profile.entrypoint ?? []), ...c.args.map(expand)];
    else argv = [...(profile.entrypoint ?? []), ...(profile.cmd ?? [])];
    if (argv.length === 0) throw new PodFailure('CreateContainerError', `no command specified (container ${c.name})`);

    // --- rootfs ---
    const rootfs = path.join(cdir, 'rootfs');
    fs.mkdirSync(rootfs);
    fs.chmodSync(rootfs, 0o755);
    const lower = profile.rootfs === undefined ? undefined : imageRootfs(profile.rootfs);
    const table = new MountTable(lower);
    table.add('/', rootfs);
    for (const v of ['/proc', '/dev', '/sys']) table.add(v);
    const mkdirRoot = (p: string, mode: number) => {
      const h = path.join(rootfs, p);
      fs.mkdirSync(h, { recursive: true, mode: 0o755 });
      fs.chmodSync(h, mode);
    };
    for (const [d, m] of [['/proc', 0o555], ['/sys', 0o555], ['/dev', 0o755], ['/etc', 0o755], ['/tmp', 0o1777]] as Array<[string, number]>) mkdirRoot(d, m);
    for (const [d, m] of Object.entries(profile.dirs ?? {})) mkdirRoot(d, m);

    const hostFiles: HostFile[] = [];
    const binaries: HostFile[] = [];
    if (profile.busybox) {
      const bb = fs.realpathSync(profile.busybox);
      binaries.push({ target: '/bin/busybox', source: bb });
      for (const applet of busyboxApplets(profile.busybox)) {
        const h = path.join(rootfs, applet);
        fs.mkdirSync(path.dirname(h), { recursive: true, mode: 0o755 });
        if (!lexists(h) && applet !== '/bin/busybox') fs.symlinkSync('/bin/busybox', h);
      }
    }
    for (const [target, source] of Object.entries(profile.files)) {
      if (!target.startsWith('/')) throw new Error(`runPod: image file ${target} must be absolute`);
      binaries.push({ target: normalizeAbs(target), source: fs.realpathSync(source) });
    }
    const seen = new Set<string>();
    /** A host file bound at its target in this root fs (a mount point made for it), once. */
    const addHostFile = (f: HostFile) => {
      if (seen.has(f.target)) return;
      seen.add(f.target);
      hostFiles.push(f);
      const h = path.join(rootfs, f.target);
      fs.mkdirSync(path.dirname(h), { recursive: true, mode: 0o755 });
      if (lexists(h)) fs.rmSync(h);
      fs.writeFileSync(h, '', { mode: 0o755 });
    };
    for (const b of binaries) [b, ...sharedLibraries(b.source)].forEach(addHostFile);
    // Debian's binaries in a mounted image volume are dynamically linked (the image's are static):
    // their libraries come into this root fs, as the profile's own do (see the header).
    for (const m of c.volumeMounts ?? []) {
      for (const b of this.volumes.get(m.name)?.binaries ?? []) sharedLibraries(b.source).forEach(addHostFile);
    }
    for (const f of hostFiles) table.add(f.target, f.source);
    const imageDirs: HostFile[] = [];
    for (const [target, source] of Object.entries(profile.hostDirs ?? {})) {
      if (!target.startsWith('/') || normalizeAbs(target) === '/') throw new Error(`runPod: image directory ${target} must be absolute and not /`);
      const t = normalizeAbs(target);
      if (!exists(source)?.isDirectory()) throw new Error(`runPod: image directory ${t}: ${source} is not a directory`);
      const clash = [...hostFiles, ...imageDirs].find((o) => isUnder(o.target, t) || isUnder(t, o.target));
      if (clash) throw new Error(`runPod: image directory ${t} overlaps ${clash.target} (ImageProfile.files/hostDirs)`);
      imageDirs.push({ target: t, source: fs.realpathSync(source) });
      fs.mkdirSync(path.join(rootfs, t), { recursive: true, mode: 0o755 });
    }
    for (const d of imageDirs) table.add(d.target, d.source, true);
    for (const f of ['hosts', 'hostname', 'resolv.conf']) fs.writeFileSync(path.join(rootfs, 'etc', f), '', { mode: 0o644 });
    table.add('/etc/hosts', path.join(this.dir, 'etc', 'hosts'));

    // --- volume mounts (sorted by depth like containerd) ---
    const mounts: WrapperMount[] = [];
    const declared = [...(c.volumeMounts ?? [])];
    if (this.volumes.has('__sa_token__') && !declared.some((m) => normalizeAbs(m.mountPath) === SA_MOUNT_PATH)) {
      declared.push({ name: '__sa_token__', mountPath: SA_MOUNT_PATH, readOnly: true });
    }
    const termPath = c.terminationMessagePath ?? '/dev/termination-log';
    const termFile = path.join(cdir, 'termination-log');
    fs.writeFileSync(termFile, '');
    fs.chmodSync(termFile, 0o666);
    const depth = (p0: string) => splitPath(p0).length;
    const sorted = declared.map((m, i) => ({ m, i })).sort((a, b) => (depth(a.m.mountPath) - depth(b.m.mountPath)) || (a.i - b.i));
    const all: Array<{ source: string; cpath: string; readOnly: boolean }> = [];
    for (const { m } of sorted) {
      const vol = this.volumes.get(m.name)!;
      let source = vol.host;
      const subPath = m.subPathExpr ? expand(m.subPathExpr) : m.subPath;
      if (subPath) {
        checkItemPath(subPath, `container ${c.name}: volumeMounts.subPath`);
        if (!exists(vol.host)?.isDirectory()) throw new PodFailure('CreateContainerConfigError', `subPath ${subPath}: volume ${vol.name} is not a directory`);
        const vt = new MountTable();
        vt.add('/', vol.host);
        const resolved = vt.resolve('/' + subPath, true);
        source = vt.toHost(resolved)!;
        if (!exists(source) && vol.kind === 'image') {
          // nothing can be created in an image
          throw new PodFailure('CreateContainerConfigError', `failed to prepare subPath for volumeMount ${JSON.stringify(m.name)} of container ${JSON.stringify(c.name)}: ${subPath} does not exist in image ${vol.name}`);
        }
        if (!exists(source)) vt.makeMountpoint(resolved, true); // kubelet creates a missing subPath as a directory
      }
      all.push({ source, cpath: normalizeAbs(m.mountPath), readOnly: !!m.readOnly || vol.forceReadOnly });
    }
    all.push({ source: termFile, cpath: normalizeAbs(termPath), readOnly: false });
    all.sort((a, b) => splitPath(a.cpath).length - splitPath(b.cpath).length);
    for (const m of all) {
      const isDir = !!exists(m.source)?.isDirectory();
      const resolved = table.resolve(m.cpath, true);
      const made = table.makeMountpoint(resolved, isDir);
      mounts.push({ source: m.source, target: resolved, readOnly: m.readOnly, create: made ? undefined : (isDir ? 'dir' : 'file') });
      table.add(resolved, m.source);
    }

    // --- working dir (runc creates it) ---
    const wd = normalizeAbs(c.workingDir ?? '/');
    const wdResolved = table.resolve(wd, true);
    if (!table.makeMountpoint(wdResolved, true)) this.warn(`container ${c.name}: workingDir ${wd} is inside /dev, /proc or /sys`);

    this.lookPath(table, argv[0], env.get('PATH') ?? '', wd);

    return {
      cdir,
      rootfs,
      lower,
      hostFiles,
      imageDirs,
      mounts,
      env,
      argv,
      uid,
      gid,
      groups,
      caps,
      wd,
      termFile,
      readOnlyRoot: !!csc.readOnlyRootFilesystem,
      noNewPrivs: csc.allowPrivilegeEscalation === false,
    };
  }

  /**
   * Resolve the executable like runc (Go exec.LookPath with the container's PATH, then execve):
   * glibc's execvp (used by setpriv) would run a script without #! via /bin/sh, runc fails with ENOEXEC.
   */
  private lookPath(table: MountTable, file: string, pathEnv: string, wd: string): void {
    const startErr = (msg: string): never => {
      throw new PodFailure('StartError', msg);
    };
    const candidates = file.includes('/')
      ? [file.startsWith('/') ? file : path.posix.join(wd, file)]
      : pathEnv.split(':').map((d) => path.posix.join(d === '' ? wd : (d.startsWith('/') ? d : path.posix.join(wd, d)), file));
    for (const cand of candidates) {
      const host = table.view(table.resolve(cand, true));
      if (host === undefined) return; // in /dev, /proc or /sys: leave it to execve
      const st = exists(host);
      if (!st || st.isDirectory() || (st.mode & 0o111) === 0) continue;
      const fd = fs.openSync(host, 'r');
      const head = Buffer.alloc(4);
      const n = fs.readSync(fd, head, 0, 4, 0);
      fs.closeSync(fd);
      const magic = head.subarray(0, n);
      if (magic.subarray(0, 2).toString('latin1') !== '#!' && !magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
        startErr(`exec ${JSON.stringify(file)}: exec format error (${cand})`);
      }
      return;
    }
    startErr(file.includes('/')
      ? `exec: ${JSON.stringify(file)}: stat ${file}: no such file or directory`
      : `exec: ${JSON.stringify(file)}: executable file not found in $PATH`);
  }

  private capabilities(c: any, csc: any): number[] {
    const norm = (x: string) => String(x).toUpperCase().replace(/^CAP_/, '');
    const idx = (n: string): number => {
      const i = CAP_NAMES.indexOf(n);
      if (i < 0) throw new PodFailure('CreateContainerError', `unknown capability ${JSON.stringify(n)} (container ${c.name})`);
      return i;
    };
    let set: Set<number>;
    if (csc.privileged) {
      set = new Set(CAP_NAMES.map((_, i) => i));
    } else {
      const add = (csc.capabilities?.add ?? []).map(norm);
      const drop = (csc.capabilities?.drop ?? []).map(norm);
      set = new Set(DEFAULT_CAPABILITIES.map(idx));
      if (add.includes('ALL')) set = new Set(CAP_NAMES.map((_, i) => i));
      if (drop.includes('ALL')) set = new Set();
      for (const a of add) if (a !== 'ALL') set.add(idx(a));
      for (const d of drop) if (d !== 'ALL') set.delete(idx(d));
    }
    const host = runnerTools().hostCaps;
    const out: number[] = [];
    for (const i of [...set].sort((a, b) => a - b)) {
      if (host.has(i)) out.push(i);
      else this.warn(`container ${c.name}: capability ${CAP_NAMES[i]} is not available on this host and was not granted`);
    }
    return out;
  }

  private wrapperScript(c: any, p: Prepared): string {
    const tools = runnerTools();
    const L: string[] = [];
    L.push('#!/bin/bash', 'set -u', 'export LC_ALL=C');
    L.push(`R=${q(p.rootfs)}`, `ERR=${q(path.join(p.cdir, 'setup-error'))}`);
    L.push('die() { { printf \'%s\\n\' "$1"; cat "$ERR.log" 2>/dev/null; } >"$ERR"; exit ' + SETUP_FAILED + '; }');
    L.push('run() { local what=$1; shift; "$@" 2>>"$ERR.log" || die "$what"; }');
    const hostname = this.spec.hostNetwork ? this.fields['spec.nodeName'] : this.name;
    L.push(`printf '%s' ${q(hostname)} >/proc/sys/kernel/hostname || die 'set hostname'`);
    if (p.lower) {
      // the container layer (rootfs, where the mountpoints were made) over the image's root, merged in $M
      L.push(`M=${q(path.join(p.cdir, 'merged'))}`, `W=${q(path.join(p.cdir, 'overlay-work'))}`, 'mkdir "$M" "$W" || die "mkdir overlay"');
      L.push(`run "overlay rootfs" mount -t overlay overlay -o ${q(`lowerdir=${p.lower},upperdir=`)}"$R",workdir="$W" "$M"`);
      L.push('R=$M');
    } else {
      L.push('run "bind rootfs" mount --bind "$R" "$R"');
    }
    for (const f of p.hostFiles) {
      L.push(`run ${q(`image file ${f.target}`)} mount --bind -o ro ${q(f.source)} "$R"${q(f.target)}`);
    }
    for (const d of p.imageDirs) {
      L.push(`run ${q(`image directory ${d.target}`)} mount --bind ${q(d.source)} "$R"${q(d.target)}`);
      L.push(`run ${q(`read-only image directory ${d.target}`)} mount -o remount,bind,ro "$R"${q(d.target)}`);
    }
    // /proc with the masked / read-only paths of runc's default spec
    L.push('run "mount /proc" mount -t proc -o nosuid,nodev,noexec proc "$R/proc"');
    for (const m of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/latency_stats', '/proc/timer_stats']) {
      L.push(`if [ -e "$R${m}" ]; then run "mask ${m}" mount --bind /dev/null "$R${m}"; fi`);
    }
    for (const m of ['/proc/acpi', '/proc/scsi']) L.push(`if [ -d "$R${m}" ]; then run "mask ${m}" mount -t tmpfs -o ro,size=0 tmpfs "$R${m}"; fi`);
    for (const m of ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']) {
      L.push(`if [ -e "$R${m}" ]; then run "ro ${m}" mount --bind "$R${m}" "$R${m}"; run "ro ${m}" mount -o remount,bind,ro "$R${m}"; fi`);
    }
    // minimal /dev like the runtime
    L.push('run "mount /dev" mount -t tmpfs -o nosuid,strictatime,mode=755,size=65536k tmpfs "$R/dev"');
    L.push('for d in null zero full random urandom tty; do : >"$R/dev/$d" && run "/dev/$d" mount --bind "/dev/$d" "$R/dev/$d"; done');
    L.push('ln -s /proc/self/fd "$R/dev/fd"; ln -s /proc/self/fd/0 "$R/dev/stdin"; ln -s /proc/self/fd/1 "$R/dev/stdout"; ln -s /proc/self/fd/2 "$R/dev/stderr"');
    L.push('mkdir -p "$R/dev/shm" "$R/dev/pts" "$R/dev/mqueue"');
    L.push('run "/dev/shm" mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm "$R/dev/shm"');
    L.push('run "/dev/pts" mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$R/dev/pts"');
    L.push('ln -s pts/ptmx "$R/dev/ptmx"');
    L.push('run "/dev/mqueue" mount -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue"');
    L.push('run "mount /sys" mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"');
    L.push('if [ -d "$R/sys/firmware" ]; then run "mask /sys/firmware" mount -t tmpfs -o ro,size=0 tmpfs "$R/sys/firmware"; fi');
    for (const f of ['hosts', 'hostname', 'resolv.conf']) {
      L.push(`run "/etc/${f}" mount --bind ${q(path.join(this.dir, 'etc', f))} "$R/etc/${f}"`);
    }
    for (const m of p.mounts) {
      const t = `"$R"${q(m.target)}`;
      if (m.create === 'dir') L.push(`mkdir -p ${t} || die ${q(`mkdir ${m.target}`)}`);
      if (m.create === 'file') L.push(`{ mkdir -p "$(dirname ${t})" && { [ -e ${t} ] || : >${t}; }; } || die ${q(`create ${m.target}`)}`);
      L.push(`run ${q(`mount ${m.target}`)} mount --rbind ${q(m.source)} ${t}`);
      if (m.readOnly) L.push(`run ${q(`read-only ${m.target}`)} mount -o remount,bind,ro ${t}`);
    }
    if (p.readOnlyRoot) L.push('run "read-only rootfs" mount -o remount,bind,ro "$R"');

    // The command: clean env, chroot+chdir (unshare), then setpriv (host binary reached via /proc/$$/root)
    const capNames = p.caps.map((i) => '+' + CAP_NAMES[i].toLowerCase());
    const setpriv = [
      ...(p.noNewPrivs ? ['--no-new-privs'] : []),
      '--reuid', String(p.uid), '--regid', String(p.gid),
      ...(p.groups.length ? ['--groups', p.groups.join(',')] : ['--clear-groups']),
      '--inh-caps=-all', '--ambient-caps=-all',
      `--bounding-set=${['-all', ...capNames].join(',')}`,
      '--',
      ...p.argv,
    ];
    const envArgs = [...p.env].map(([k, v]) => `${k}=${v}`);
    L.push('H=/proc/$$/root');
    L.push([
      'env -i', ...envArgs.map(q),
      'unshare', '"--root=$R"', q(`--wd=${p.wd}`),
      `"$H"${q(tools.ldso)}`, '--library-path', q(tools.libPath.split(':').map((d) => `/proc/1/root${d}`).join(':')),
      `"$H"${q(tools.setpriv)}`,
      ...setpriv.map(q),
    ].join(' \\\n  '));
    L.push('exit $?', '');
    void c;
    return L.join('\n');
  }

  private spawnContainer(c: any, init: boolean, p: Prepared, started: number, sidecarCtl?: Controller): Promise<Outcome> {
    const script = path.join(p.cdir, 'wrapper.sh');
    fs.writeFileSync(script, this.wrapperScript(c, p), { mode: 0o700 });
    const logPath = path.join(this.dir, 'logs', `${init ? 'init-' : ''}${c.name}.log`);
    const log = fs.openSync(logPath, 'a');
    const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'KILL', '--',
      'unshare', '--mount', '--pid', '--fork', '--uts', '--ipc', '--kill-child', '--propagation', 'private', 'bash', script], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: hostPath(), LC_ALL: 'C' },
    });
    const pgid = child.pid!;
    const reg = registry();
    reg.groups.add(pgid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      out.push(d); fs.writeSync(log, d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      err.push(d); fs.writeSync(log, d);
    });
    let killReason: string | undefined;
    let closed = false;
    const ctl: Controller = {
      kill: (reason: string) => {
        if (!killReason) killReason = reason;
        if (!closed) killTree(pgid);
      },
    };
    if (sidecarCtl) sidecarCtl.kill = ctl.kill;
    this.running.add(ctl);
    const timers: NodeJS.Timeout[] = [];
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!sidecarCtl) timers.push(setTimeout(() => ctl.kill(`Timeout: container ${c.name} did not finish within ${timeoutMs} ms`), timeoutMs));
    if (this.deadlineAt !== undefined) {
      timers.push(setTimeout(() => ctl.kill(`DeadlineExceeded: Job was active longer than specified deadline (${this.wl.deadlineSeconds}s)`),
        Math.max(0, this.deadlineAt - Date.now())));
    }
    const killAfter = this.opts.killAfterMs?.[c.name];
    if (killAfter !== undefined) timers.push(setTimeout(() => ctl.kill(`Killed: container ${c.name} killed after ${killAfter} ms`), killAfter));
    const onAbort = () => ctl.kill(`Aborted: ${String(this.opts.signal?.reason ?? 'aborted')}`);
    this.opts.signal?.addEventListener('abort', onAbort);

    let finished = false;
    return new Promise<Outcome>((resolve) => {
      child.on('error', (e) => {
        if (finished) return;
        finished = true;
        // spawn itself failed (host tool missing): a runner problem
        timers.forEach(clearTimeout);
        reg.groups.delete(pgid);
        this.running.delete(ctl);
        fs.closeSync(log);
        resolve({
          result: { name: c.name, init, exitCode: null, signal: null, stdout: '', stderr: String(e), durationMs: Date.now() - started, reason: `RunnerError: ${e.message}` },
          failure: `RunnerError: ${e.message}`,
        });
      });
      child.on('close', (code, signal) => {
        if (finished) return;
        finished = true;
        timers.forEach(clearTimeout);
        this.opts.signal?.removeEventListener('abort', onAbort);
        closed = true;
        killGroup(pgid); // nothing of the group may survive
        reg.groups.delete(pgid);
        this.running.delete(ctl);
        fs.closeSync(log);
        const stdout = Buffer.concat(out).toString('utf8');
        const stderr = Buffer.concat(err).toString('utf8');
        let reason: string | undefined;
        let exitCode: number | null = code;
        const setupErr = path.join(p.cdir, 'setup-error');
        if (killReason) {
          reason = killReason;
          exitCode = null;
        } else if (code === SETUP_FAILED && exists(setupErr)) {
          reason = `CreateContainerError: ${fs.readFileSync(setupErr, 'utf8').trim()}`;
          exitCode = null;
        } else if ((code === 126 || code === 127) && /setpriv: failed to execute/.test(stderr)) {
          const m = /setpriv: failed to execute (.*)$/m.exec(stderr);
          reason = `StartError: exec: ${m ? m[1] : p.argv[0]}`;
        } else if (code !== 0) {
          reason = `Error: container ${c.name} exited with code ${code}`;
        }
        let terminationMessage: string | undefined = fs.readFileSync(p.termFile, 'utf8');
        if (!terminationMessage && c.terminationMessagePolicy === 'FallbackToLogsOnError' && reason) {
          terminationMessage = (stdout + stderr).split('\n').slice(-80).join('\n').slice(-2048);
        }
        const result: ContainerResult = {
          name: c.name,
          init,
          exitCode,
          signal: killReason ? (signal ?? 'SIGKILL') : null,
          stdout,
          stderr,
          durationMs: Date.now() - started,
          pid: pgid,
          ...(reason ? { reason } : {}),
          ...(terminationMessage ? { terminationMessage } : {}),
        };
        const failure = sidecarCtl && killReason === 'Completed' ? undefined : (reason ? `${reason}${reason.includes(c.name) ? '' : ` (container ${c.name})`}` : undefined);
        resolve({ result: sidecarCtl && killReason === 'Completed' ? { ...result, reason: undefined } : result, failure });
      });
    });
  }
}

interface WrapperMount { readonly source: string; readonly target: string; readonly readOnly: boolean; readonly create?: 'dir' | 'file' }

interface Prepared {
  readonly cdir: string;
  readonly rootfs: string;
  /** ImageProfile.rootfs: the overlay's lower layer (rootfs is then its upper layer) */
  readonly lower?: string;
  readonly hostFiles: HostFile[];
  /** ImageProfile.hostDirs: bind-mounted read-only */
  readonly imageDirs: HostFile[];
  readonly mounts: WrapperMount[];
  readonly env: Map<string, string>;
  readonly argv: string[];
  readonly uid: number;
  readonly gid: number;
  readonly groups: number[];
  readonly caps: number[];
  readonly wd: string;
  readonly termFile: string;
  readonly readOnlyRoot: boolean;
  readonly noNewPrivs: boolean;
}

/**
 * Run the pod of a CronJob/Job/Pod from `manifests` on this host (needs root).
 * Failures Kubernetes would report (bad mounts, missing secret keys, runAsNonRoot,
 * non-zero exit codes, deadlines) give `succeeded: false` + `reason`; malformed
 * test input (no workload, unknown image, unmapped hostPath) throws.
 */
export async function runPod(opts: RunPodOptions): Promise<PodResult> {
  if (process.getuid?.() !== 0) throw new Error('runPod: must run as root (mount namespaces, chroot, setpriv)');
  const wl = selectWorkload(opts.manifests, opts.name);
  const profiles = new Map<any, ImageProfile>();
  for (const c of [...(wl.podSpec.initContainers ?? []), ...(wl.podSpec.containers ?? [])]) {
    if (typeof c?.image === 'string' && c.image) profiles.set(c, lookupImage(opts.images, c.image, `container ${c.name}`));
  }
  const volumeImages = new Map<string, ImageProfile>();
  for (const v of wl.podSpec.volumes ?? []) {
    if (typeof v?.image?.reference === 'string' && v.image.reference) volumeImages.set(v.name, lookupImage(opts.images, v.image.reference, `image volume ${v.name}`));
  }
  for (const v of wl.podSpec.volumes ?? []) if (v?.hostPath) mapHostPath(opts.hostPaths ?? {}, v.hostPath.path);
  runnerTools();
  const pod = new Pod(opts, wl, profiles, volumeImages);
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    pod.abort('cleanup');
    rmrf(pod.dir);
    registry().dirs.delete(pod.dir);
  };
  const onAbort = () => pod.abort(`Aborted: ${String(opts.signal?.reason ?? 'aborted')}`);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    const r = await pod.run();
    return { ...r, emptyDirs: pod.emptyDirs, podDir: pod.dir, podName: pod.name, warnings: pod.warnings, cleanup };
  } catch (e) {
    cleanup();
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
