/**
 * The restore runbook is pasted into a shell at 3 a.m.: nothing in it may run what a value
 * contains, and every value must reach its command as the one word it is.
 *
 * The runbook's shell text is piped into a real shell in a sandbox: user nobody, an empty
 * environment, PATH an empty directory, and a `command_not_found_handle` that records every
 * external command (restic, sudo, velero, ..., and anything a payload would call) instead of
 * running it. Builtins still run, so a redirection or `$(...)` that slips through leaves a trace.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Cron, Testing } from 'cdk8s';
import {
  BackupRepository, CaCertificate, ClusterBackup, ClusterBackupProps, Credentials, Encryption, EtcdSource, Retention,
} from '../../src';
import { shellQuote } from '../../src/internal/shell';

// ---------------------------------------------------------------------------------------------
// The sandbox
// ---------------------------------------------------------------------------------------------

/** Tests run as root; the paste runs as nobody (already unprivileged otherwise). */
const AS_NOBODY = process.getuid?.() === 0 ? ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];

/** Records a call as its word count and its words, each ended by NUL (no argument can hold one). */
const RECORD = 'printf \'%s\\0\' "$#" "$@" >> "$CALL_LOG"';

/** The stop steps' port probe (`timeout 2 bash -c 'exec 3<>/dev/tcp/…'`) finds nothing listening. */
const PROBE_FINDS_NOTHING = '[ "$1" = timeout ] && return 1';

interface Shell {
  readonly name: string;
  readonly argv: string[];
  /** Defined before the pasted text. */
  readonly prelude: string;
  /** Non-interactive and strict: any error is a failure (interactive shells just go on). */
  readonly strict: boolean;
}

/**
 * bash as a script reader, made strict: an unset variable or an unmatched glob in the runbook
 * aborts, so an expansion that only works by luck is an error here.
 */
const BASH: Shell = {
  name: 'bash',
  argv: ['/bin/bash'],
  prelude: `set -u\nshopt -s failglob\ncommand_not_found_handle() {\n  ${RECORD}\n  ${PROBE_FINDS_NOTHING}\n  return 0\n}\n`,
  strict: true,
};

/** bash as an operator's terminal: history expansion (`!`) and interactive comments on. */
const INTERACTIVE_BASH: Shell = {
  name: 'interactive bash',
  argv: ['/bin/bash', '--norc', '--noprofile', '-i'],
  prelude: `unset HISTFILE\ncommand_not_found_handle() {\n  ${RECORD}\n  ${PROBE_FINDS_NOTHING}\n  return 0\n}\n`,
  strict: false,
};

/** POSIX shells have no not-found hook: the probe command of the quoting tests is a function. */
const posix = (name: string, argv: string[]): Shell => ({
  name,
  argv,
  prelude: `probe() {\n  set -- probe "$@"\n  ${RECORD}\n}\n`,
  strict: true,
});

interface Paste {
  /** Every external command called, as its words (the command name first). */
  readonly calls: string[][];
  readonly status: number | null;
  readonly stderr: string;
  /** What the paste left in its home and working directory: nothing, unless a redirection ran. */
  readonly leftovers: string[];
}

function paste(text: string, shell: Shell = BASH): Paste {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runbook-paste-'));
  try {
    fs.chmodSync(root, 0o755);
    const emptyPath = path.join(root, 'empty-path');
    const home = path.join(root, 'home');
    const logDir = path.join(root, 'log');
    fs.mkdirSync(emptyPath, { mode: 0o755 });
    for (const dir of [home, logDir]) {
      fs.mkdirSync(dir);
      fs.chmodSync(dir, 0o777);
    }
    const log = path.join(logDir, 'calls');
    const argv = [...AS_NOBODY, '/usr/bin/env', '-i', `PATH=${emptyPath}`, `HOME=${home}`, `CALL_LOG=${log}`, ...shell.argv];
    const r = spawnSync(argv[0], argv.slice(1), { cwd: home, input: `${shell.prelude}${text}\n`, encoding: 'utf8', timeout: 30_000 });
    if (r.error) throw r.error;
    return { calls: readCalls(log), status: r.status, stderr: r.stderr, leftovers: fs.readdirSync(home) };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function readCalls(log: string): string[][] {
  if (!fs.existsSync(log)) return [];
  const words = fs.readFileSync(log, 'utf8').split('\0');
  words.pop(); // after the last NUL
  const calls: string[][] = [];
  for (let i = 0; i < words.length; i += Number(words[i]) + 1) calls.push(words.slice(i + 1, i + 1 + Number(words[i])));
  return calls;
}

/** The one placeholder an operator fills in, filled as the runbook says: one of the members. */
function withLostMember(text: string, member: string): string {
  return text.split("'<lost-node>'").join(shellQuote(member)).split("'<lost-member>'").join(shellQuote(member));
}

function expectCleanRun(p: Paste): void {
  expect({ status: p.status, stderr: p.stderr, leftovers: p.leftovers }).toEqual({ status: 0, stderr: '', leftovers: [] });
}

/**
 * The later stages of a pipeline run at the same time as the first, so their order in the log
 * is not the runbook's: the comparison leaves them out (they carry no configured value).
 */
function notPipelineStage(call: string[]): boolean {
  return !['grep', 'cut', 'tr', 'awk', 'tail', 'od', 'sort'].includes(call[0]) && !(call[0] === 'sudo' && call[1] === 'tar');
}

/** Commands only a payload would call. */
const PAYLOAD_COMMANDS = ['touch', 'id', 'pwned', 'sh'];

/** The fetch step's write of the snapshot's etcd version for the nodes (no tag in the sandbox: the cluster's). */
const writeVersion = (v: string) => ['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', v, '/tmp/etcd-restore/etcd-version'];
/** The `sh`s the runbook itself calls: the join of the fetched snapshot's pieces (all words fixed), and the version's write. */
const JOIN_PIECES = ['sh', '-c', 'test -e "$2" || cat "$1"/p* > "$2"', 'sh', '/tmp/etcd-restore/backup/etcd-snapshot.parts', '/tmp/etcd-restore/backup/etcd-snapshot.db'];
const payloadsRun = (calls: string[][]) => calls
  .filter((c) => JSON.stringify(c) !== JSON.stringify(JOIN_PIECES))
  .filter((c) => !(c.length === 6 && JSON.stringify(c.slice(0, 4)) === JSON.stringify(writeVersion('').slice(0, 4)) && /^[0-9.]*$/.test(c[4])))
  .map((c) => c[0])
  .filter((c) => PAYLOAD_COMMANDS.includes(c));

// ---------------------------------------------------------------------------------------------
// The runbook's shell text
// ---------------------------------------------------------------------------------------------

const FENCED_SH = /^```sh\n([\s\S]*?)^```$/gm;

function shellBlocks(md: string): string[] {
  return [...md.matchAll(FENCED_SH)].map((m) => m[1]);
}

/** Inline code in the prose that is a command an operator would paste. */
function inlineCommands(md: string): string[] {
  return [...md.replace(FENCED_SH, '').matchAll(/`((?:kubectl|velero|restic) [^`]+)`/g)].map((m) => m[1]);
}

/** Lines joined where they end in a backslash: one command each. */
function commandLines(block: string): string[] {
  // The `(` and `)` around each restore step open and close its subshell: not commands of their own.
  return block.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() !== '' && l !== '(' && l !== ')');
}

// ---------------------------------------------------------------------------------------------
// Runbooks from the most hostile values synth still accepts
// ---------------------------------------------------------------------------------------------

/** A node name of 253 characters, the longest DNS subdomain. */
const LONGEST_NODE = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
const nightly = Cron.schedule({ minute: '0', hour: '2' });
const creds = Credentials.fromSecret('s3.creds-1', { accessKeyId: '-._Ak', secretAccessKey: '_.-Sk', cloudCredentialsFile: '-.cloud_' });
const encryption = Encryption.repositoryPassword({ name: 'repo.pw-1', key: '-._Pw9' });

interface Scenario {
  readonly name: string;
  readonly props: ClusterBackupProps;
  readonly caCert: boolean;
}

const SCENARIOS: Scenario[] = [
  {
    name: 'kubeadm: bracketed IPv6 endpoint (glob characters), path characters at the edge, longest node name, Velero',
    caCert: true,
    props: {
      clusterName: '0-edge',
      etcd: { source: EtcdSource.kubeadm({ caCert: '/etc/kubernetes/pki/etcd/-ca+@_.crt' }) },
      controlPlaneConfig: {
        nodes: ['cp-1.example.internal', LONGEST_NODE, '0'],
        paths: ['/etc/kubernetes', '/opt/-dash/@at/+plus/a.b_c', '/var/lib/x@y+z', '/var/lib/kubelet/pki'],
        encryptionProviderConfig: '/etc/enc@+/-x_.y',
      },
      repository: BackupRepository.s3({
        bucket: 'a.b-c',
        prefix: '/K8s_x/v1.2-y/-z/',
        region: 'a-1',
        endpoint: 'https://[2001:db8::1]:65535',
        caCert: CaCertificate.fromSecret({ name: 'ca', key: 'ca.crt' }),
        credentials: creds,
        encryption,
      }),
      hostAccessNamespace: 'h'.repeat(63),
      namespace: '0',
      veleroNamespace: 'v-1',
      velero: {
        storageLocation: { bucket: 'velero.b-1', prefix: '/a/b/', s3Url: 'https://[2001:db8::2]:9000/s3-path', region: 'us-east-1', credentials: creds },
        schedules: [{ name: 'apps.v1-x', schedule: nightly, retention: Retention.gfs({ daily: 7, weekly: 4, monthly: 12 }) }],
      },
      acknowledge: { keysStoredOutsideCluster: true, singleCredential: true, inClusterRepository: true },
    },
  },
  {
    name: 'k3s: GCS repository, default paths',
    caCert: false,
    props: {
      clusterName: 'k3s',
      etcd: { source: EtcdSource.k3s({ clientKey: '/var/lib/rancher/k3s/server/tls/etcd/@client+key_.-' }) },
      controlPlaneConfig: { nodes: ['server-0', 'server-1.k3s.internal'] },
      repository: BackupRepository.gcs({ bucket: 'g_b.c-1', projectId: 'proj-123456', prefix: 'a_b/c.d', credentials: creds, encryption }),
      acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
    },
  },
  {
    name: 'rke2: Azure repository, Velero Schedules named after the cluster',
    caCert: false,
    props: {
      clusterName: 'rke2',
      etcd: { source: EtcdSource.rke2() },
      controlPlaneConfig: { nodes: ['rke2-0', 'rke2-1'] },
      repository: BackupRepository.azureBlob({ accountName: 'acct0', container: 'c-1', prefix: '-', credentials: creds, encryption }),
      velero: {
        schedules: [
          { schedule: nightly, retention: Retention.daily35Days() },
          { schedule: nightly, retention: Retention.gfs({ daily: 7, weekly: 4 }) },
        ],
      },
      acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
    },
  },
  {
    name: 'external etcd: IPv4 endpoint with the highest port',
    caCert: false,
    props: {
      clusterName: 'legacy',
      etcd: { source: EtcdSource.external({ endpoint: 'https://etcd.example.com:2379', tlsSecret: 'etcd.tls-1' }) },
      repository: BackupRepository.s3({ bucket: 'bkt', endpoint: 'https://10.0.0.1:65535', credentials: creds, encryption }),
      acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
    },
  },
  {
    name: 'managed control plane: Velero only',
    caCert: false,
    props: {
      clusterName: 'eks',
      managedControlPlane: true,
      veleroNamespace: 'velero-0',
      velero: {
        storageLocation: { bucket: 'velero', s3Url: 'https://s3.example.com', region: 'us-east-1', credentials: creds },
        schedules: [{ name: 'x', schedule: nightly, retention: Retention.daily35Days() }],
      },
    },
  },
];

/** The member the pastes lose: the first the runbook names. */
function firstMember(b: ClusterBackup, s: Scenario): string {
  return b.etcdBackup && s.props.etcd!.source.distribution.name !== 'external' ? s.props.controlPlaneConfig!.nodes[0] : '<node>';
}

function build(props: ClusterBackupProps): ClusterBackup {
  const chart = Testing.chart();
  const backup = new ClusterBackup(chart, 'backup', props);
  Testing.synth(chart);
  return backup;
}

/**
 * The external commands the shell blocks must call, in order, each word exactly as the
 * configuration has it: what the operator's shell has to receive.
 */
function expectedBlockCalls(b: ClusterBackup, s: Scenario): string[][] {
  const calls: string[][] = [];
  const cacert = s.caCert ? ['--cacert', 'ca.crt'] : [];
  const config = b.configBackup;
  for (const node of config ? s.props.controlPlaneConfig!.nodes : []) {
    // As root on the node, with the exported keys passed through sudo.
    const preserve = config!.repository._rootRestic('x')[1];
    expect(preserve).toMatch(/^--preserve-env=RESTIC_PASSWORD,[A-Z_,]+$/);
    const restic = ['sudo', preserve, 'restic', '-r', config!.resticRepositories[node], ...cacert];
    const select = ['--no-lock', '--host', node, '--tag', 'control-plane-config'];
    calls.push(['restic', 'version']);
    calls.push([...restic, 'snapshots', ...select]);
    calls.push([...restic, 'restore', 'latest', ...select, '--target', `/tmp/${node}-config`]);
    for (const dir of config!.paths) calls.push(['sudo', 'mkdir', '-p', dir], ['sudo', 'cp', '-a', `/tmp/${node}-config${dir}/.`, `${dir}/`]);
    for (const file of config!.files) calls.push(['sudo', 'mkdir', '-p', path.posix.dirname(file)], ['sudo', 'cp', '-a', `/tmp/${node}-config${file}`, file]);
  }
  const etcd = b.etcdBackup;
  if (etcd) {
    const restic = ['restic', '-r', etcd.resticRepository, ...cacert];
    const select = ['--no-lock', '--host', etcd.resticHost, '--tag', 'etcd-snapshot'];
    const fetched = '/tmp/etcd-restore/backup/etcd-snapshot.db';
    const onNode = '/tmp/etcd-snapshot.db';
    const distribution = s.props.etcd!.source.distribution.name;
    const nodes = distribution === 'external' ? ['<node>'] : s.props.controlPlaneConfig!.nodes;
    const address = (n: string) => (n === '<node>' ? '<node-address>' : `<${n}-address>`);
    const members = nodes.map((n) => `${n}=https://${address(n)}:2380`).join(',');
    const stamp = ['date', '+%Y%m%d%H%M%S'];
    const moveAside = (dir: string) => [['sudo', 'test', '-e', dir], stamp, ['sudo', 'mv', dir, `${dir}.before-restore.`]];
    const restore = (n: string) => ['sudo', 'etcdutl', 'snapshot', 'restore', onNode, '--data-dir', distribution === 'external' ? '/var/lib/etcd' : '/var/lib/etcd',
      '--name', n, '--initial-cluster', members, '--initial-cluster-token', `${s.props.clusterName}-restored`,
      '--initial-advertise-peer-urls', `https://${address(n)}:2380`, '--bump-revision', '1000000000', '--mark-compacted'];
    // The snapshot's version, from the file the fetch copied (the sandbox's tools answer every
    // version check, so nothing is downloaded), then each tool's check.
    const versionOnNode = '/tmp/etcd-snapshot.etcd-version';
    const tools = [['cat', versionOnNode], ['etcdutl', 'version'], ['etcdctl', 'version'], ['etcdutl', 'version'], ['etcdctl', 'version']];
    // A healthy node without etcdctl (the sandbox has none) gets the cluster's version's.
    const v = etcd.etcdVersion.version;
    const clientInstall = ['curl', '-fsSL', `https://github.com/etcd-io/etcd/releases/download/v${v}/etcd-v${v}-linux-amd64.tar.gz`];
    const certs = etcd.source.usesHostPaths ? etcd.source.certificates : { ca: '<etcd-ca.crt>', cert: '<etcd-client.crt>', key: '<etcd-client.key>' };
    const etcdctl = (...args: string[]) => ['sudo', 'etcdctl', '--endpoints', nodes.map((n) => `https://${address(n)}:2379`).join(','),
      '--cacert', certs.ca, '--cert', certs.cert, '--key', certs.key, ...args];

    // Fetch, on the workstation.
    calls.push([...restic, 'snapshots', ...select], ['rm', '-rf', '/tmp/etcd-restore'], [...restic, 'restore', 'latest', ...select, '--target', '/tmp/etcd-restore']);
    calls.push(JOIN_PIECES);
    // (then `tail -c 32` of the fetched file into od and tr: pipeline stages, left out below)
    calls.push([...restic, 'snapshots', ...select, '--latest', '1', '--json']);
    // The snapshot's etcd version (its tag), checked against the cluster's and kept for the nodes.
    calls.push([...restic, 'snapshots', ...select, '--latest', '1', '--json'], writeVersion(etcd.etcdVersion.version));
    for (const n of nodes) calls.push(['scp', fetched, `${address(n)}:${onNode}`], ['scp', '/tmp/etcd-restore/etcd-version', `${address(n)}:${versionOnNode}`]);
    if (distribution === 'kubeadm') {
      const manifests = '/etc/kubernetes/manifests';
      const stopped = '/etc/kubernetes/manifests-stopped';
      const controlPlane = ['kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml'];
      const move = (files: string[], from: string, to: string) => [['sudo', 'mkdir', '-p', to], ...files.flatMap((f) => [['sudo', 'test', '-e', `${from}/${f}`], ['sudo', 'mv', `${from}/${f}`, `${to}/`]])];
      for (const n of nodes) {
        calls.push(...move([...controlPlane, 'etcd.yaml'], manifests, stopped), ['seq', '30'], ['timeout', '2', 'bash', '-c', `exec 3<>'/dev/tcp/${address(n)}/2379'`]);
      }
      calls.push(...tools);
      for (const n of nodes) calls.push(...moveAside('/var/lib/etcd'), restore(n));
      calls.push(...move(['etcd.yaml'], stopped, manifests), ['sudo', 'systemctl', 'start', 'kubelet']);
      calls.push(['seq', '60'], etcdctl('endpoint', 'health'), etcdctl('member', 'list', '-w', 'table'));
      calls.push(...move(controlPlane, stopped, manifests), ['sudo', 'systemctl', 'restart', 'kubelet']);
      // One node lost: the sandbox lists no member, so there is nothing to remove.
      calls.push(clientInstall, ['seq', '11'], etcdctl('member', 'list'), etcdctl('member', 'list'));
      calls.push(['sudo', 'kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs'], ['sudo', 'kubeadm', 'token', 'create', '--print-join-command', '--certificate-key', '']);
      calls.push(['sudo', 'kubeadm', 'reset', '-f']);
    } else if (distribution === 'external') {
      calls.push(['sudo', 'systemctl', 'stop', 'etcd'], ...tools);
      for (const n of nodes) calls.push(...moveAside('/var/lib/etcd'), restore(n), ['sudo', 'chown', '-R', 'etcd:etcd', '/var/lib/etcd']);
      calls.push(['sudo', 'systemctl', 'start', '--no-block', 'etcd']);
      // One member lost: nothing listed to remove in the sandbox; added back at its address; the new member started.
      const lost = firstMember(b, s);
      calls.push(clientInstall, ['seq', '11'], etcdctl('member', 'list'), ['seq', '11'], etcdctl('member', 'add', lost, '--peer-urls', `https://${address(lost)}:2380`));
      const env = '/etc/etcd-rejoin.env';
      const dropIn = '/etc/systemd/system/etcd.service.d/90-rejoin.conf';
      calls.push(['sudo', 'systemctl', 'cat', 'etcd'], ['sudo', 'systemctl', 'stop', 'etcd'], ...moveAside('/var/lib/etcd'),
        ['sudo', 'install', '-d', '-m', '0700', '-o', 'etcd', '-g', 'etcd', '/var/lib/etcd'],
        ['sudo', 'tee', env], ['sudo', 'mkdir', '-p', path.posix.dirname(dropIn)], ['sudo', 'tee', dropIn], ['sudo', 'systemctl', 'daemon-reload'],
        ['sudo', 'systemctl', 'start', '--no-block', 'etcd'], ['seq', '60'], etcdctl('endpoint', 'health'), etcdctl('member', 'list', '-w', 'table'),
        ['sudo', 'rm', '-f', dropIn, env], ['sudo', 'systemctl', 'daemon-reload']);
    } else {
      const service = distribution === 'k3s' ? 'k3s' : 'rke2-server';
      const server = `/var/lib/rancher/${distribution}/server`;
      calls.push(['sudo', 'systemctl', 'stop', service]);
      calls.push(['sudo', 'cat', `${server}/token`], ['sudo', distribution, 'server', '--cluster-reset', `--cluster-reset-restore-path=${onNode}`, '--etcd-s3=false', '--token='], ['sudo', 'systemctl', 'start', service]);
      if (nodes.length > 1) calls.push(...moveAside(`${server}/db`), ['sudo', 'systemctl', 'start', service]);
      calls.push(...moveAside(`${server}/db`), ['sudo', 'systemctl', 'start', service]);
    }
  }
  for (const schedule of b.veleroSchedules) {
    calls.push(['velero', 'backup', 'get', '--selector', `velero.io/schedule-name in (${schedule.scheduleNames.join(',')})`]);
    calls.push(['velero', 'restore', 'create', '--from-schedule', schedule.scheduleNames[0], '--wait']);
  }
  // "Backups deleted or overwritten": the repositories' versions, and their copy as of a time.
  const backend = s.props.repository?._backend;
  if (backend?.s3Location) {
    const where = `${backend.s3Location.bucket}/${backend.prefix ? `${backend.prefix}/` : ''}${s.props.clusterName}`;
    calls.push(['rclone', 'lsl', '--s3-versions', `backups:${where}`]);
    calls.push(['rclone', 'copy', `backups,version_at='2006-01-02T15:04:05Z':${where}`, `backups:${where}-before-attack`]);
  }
  return calls;
}

describe('the runbook pasted into a shell runs only its own commands, with every value as one literal word', () => {
  describe.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
    // GIVEN the runbook of a configuration at the edge of what synth accepts
    const backup = build(scenario.props);
    const md = backup.restoreRunbook();
    const blocks = shellBlocks(md);

    test('every command line parses on its own (bash -n)', () => {
      expect(blocks.length).toBeGreaterThan(0);
      for (const line of [...blocks.flatMap(commandLines), ...inlineCommands(md)]) {
        const r = spawnSync('/bin/bash', ['-n'], { input: `${line}\n`, encoding: 'utf8' });
        expect({ line, status: r.status, stderr: r.stderr }).toEqual({ line, status: 0, stderr: '' });
      }
    });

    test.each([BASH, INTERACTIVE_BASH].map((sh) => [sh.name, sh] as const))('pasted into %s: exactly the expected calls, nothing else', (_shell, shell) => {
      // WHEN every shell block is pasted, in order
      const p = paste(withLostMember(blocks.join(''), firstMember(backup, scenario)), shell);
      // THEN the shell received exactly the runbook's commands, word for word, and nothing ran
      // that a value could have smuggled in
      if (shell.strict) expectCleanRun(p);
      expect(p.leftovers).toEqual([]);
      expect(p.calls.filter(notPipelineStage)).toEqual(expectedBlockCalls(backup, scenario));
    });

    test('the commands in the prose arrive as the same words', () => {
      const p = paste(inlineCommands(md).join('\n'));
      expectCleanRun(p);
      expect(p.calls.map((c) => c[0]).filter((c) => !['kubectl', 'velero', 'restic'].includes(c))).toEqual([]);
      expect(p.calls).toContainEqual(['kubectl', 'logs', 'job/<job>', '--all-containers']);
      if (backup.restoreDrill) {
        expect(p.calls).toContainEqual(['kubectl', 'create', 'job', `--from=cronjob/${backup.restoreDrill.cronJob.name}`, 'drill-now', '-n', scenario.props.namespace ?? 'backup-system']);
      }
    });
  });

  test('the values that went in come out verbatim (kubeadm, IPv6 endpoint)', () => {
    // GIVEN the hostile kubeadm configuration
    const scenario = SCENARIOS[0];
    // WHEN its runbook is pasted
    const calls = paste(shellBlocks(build(scenario.props).restoreRunbook()).join('')).calls;
    // THEN the repository URL is the word after -r, brackets and all (unquoted, a glob); each
    // config path is a word of cp; the 253-character node name is the restic host
    const words = (cmd: string, ...first: string[]) => calls.filter((c) => c[0] === cmd && first.every((w, i) => c[i + 1] === w));
    const after = (call: string[], flag: string) => call[call.indexOf(flag) + 1];
    expect(words('restic').map((c) => after(c, '-r'))).toContain('s3:https://[2001:db8::1]:65535/a.b-c/K8s_x/v1.2-y/-z/0-edge/etcd');
    expect(calls.filter((c) => c.includes('restic')).map((c) => after(c, '-r'))).toContain(`s3:https://[2001:db8::1]:65535/a.b-c/K8s_x/v1.2-y/-z/0-edge/config/${LONGEST_NODE}`);
    expect(calls.filter((c) => c.includes('restic')).map((c) => after(c, '--host'))).toContain(LONGEST_NODE);
    expect(words('sudo', 'cp', '-a').map((c) => c[4])).toEqual(expect.arrayContaining([
      '/etc/kubernetes/', '/opt/-dash/@at/+plus/a.b_c/', '/var/lib/x@y+z/', '/etc/enc@+/-x_.y', '/var/lib/kubelet/config.yaml',
    ]));
    expect(words('sudo', 'cp', '-a').map((c) => c[3])).toContain(`/tmp/${LONGEST_NODE}-config/opt/-dash/@at/+plus/a.b_c/.`);
    const members = `cp-1.example.internal=https://<cp-1.example.internal-address>:2380,${LONGEST_NODE}=https://<${LONGEST_NODE}-address>:2380,0=https://<0-address>:2380`;
    expect(words('sudo', 'etcdutl').map((c) => [after(c, '--name'), after(c, '--initial-cluster')])).toEqual([
      ['cp-1.example.internal', members], [LONGEST_NODE, members], ['0', members],
    ]);
    expect(words('velero', 'backup', 'get').map((c) => c[4])).toEqual(['velero.io/schedule-name in (apps.v1-x-daily,apps.v1-x-weekly,apps.v1-x-monthly)']);
  });
});

describe('with the input checks switched off, the payloads of issue 8 stay inert: the quoting alone holds', () => {
  /** The library loaded afresh with the path, URL-host and DNS-label checks replaced by no-ops. */
  function unchecked(): { lib: typeof import('../../src'); testing: typeof Testing } {
    let loaded: { lib: typeof import('../../src'); testing: typeof Testing } | undefined;
    jest.isolateModules(() => {
      jest.doMock('../../src/internal/paths', () => ({ checkHostPath: (_option: string, p: string) => p }));
      jest.doMock('../../src/internal/urls', () => ({ checkHttpUrlHost: () => undefined }));
      jest.doMock('../../src/internal/names', () => ({ ...jest.requireActual('../../src/internal/names'), checkDnsLabel: () => undefined }));
      /* eslint-disable @typescript-eslint/no-require-imports */
      loaded = { lib: require('../../src'), testing: require('cdk8s').Testing };
      /* eslint-enable @typescript-eslint/no-require-imports */
    });
    return loaded!;
  }

  test('a runbook rendered from the hostile values runs none of them and passes each on verbatim', () => {
    // GIVEN the values of the issue, which the checks would refuse
    const { lib, testing } = unchecked();
    const endpoint = "https://x';{touch,pwned};'.example.com:9000";
    const hostilePaths = ['/etc/x$(touch${IFS}/tmp/pwned)', "/etc/a';{touch,pwned};'", '/etc/`id`', '/etc/a\nid'];
    const chart = testing.chart();
    const backup = new lib.ClusterBackup(chart, 'backup', {
      clusterName: 'prod',
      etcd: { source: lib.EtcdSource.kubeadm() },
      controlPlaneConfig: { nodes: ['cp-1'], paths: ['/etc/kubernetes', '/var/lib/kubelet/pki', ...hostilePaths], encryptionProviderConfig: '/etc/x$(id)' },
      repository: lib.BackupRepository.s3({ bucket: 'backups', endpoint, credentials: creds, encryption }),
      namespace: 'backup;$(id)',
      acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
    });
    const md = backup.restoreRunbook();
    // WHEN every shell block and every command of the prose is pasted
    const p = paste(withLostMember([...shellBlocks(md), ...inlineCommands(md)].join('\n'), 'cp-1'));
    // THEN nothing of the payloads ran, nothing was redirected, and each value is one word
    expectCleanRun(p);
    expect(payloadsRun(p.calls)).toEqual([]);
    expect(fs.existsSync('/tmp/pwned')).toBe(false);
    const after = (call: string[], flag: string) => call[call.indexOf(flag) + 1];
    expect(p.calls.filter((c) => c.includes('restic') && c.includes('-r')).map((c) => after(c, '-r'))).toEqual([
      ...Array(2).fill(`s3:${endpoint}/backups/prod/config/cp-1`), ...Array(4).fill(`s3:${endpoint}/backups/prod/etcd`),
    ]);
    const copied = p.calls.filter((c) => c[0] === 'sudo' && c[1] === 'cp').map((c) => c[4]);
    expect(copied).toEqual(['/etc/kubernetes/', '/var/lib/kubelet/pki/', ...hostilePaths.map((h) => `${h}/`), '/var/lib/kubelet/config.yaml', '/var/lib/kubelet/kubeadm-flags.env', '/etc/x$(id)']);
    expect(p.calls).toContainEqual(['kubectl', 'create', 'job', '--from=cronjob/prod-etcd-drill', 'drill-now', '-n', 'backup;$(id)']);
  });
});

// ---------------------------------------------------------------------------------------------
// The quoting itself, with what no validation would let through
// ---------------------------------------------------------------------------------------------

const HOSTILE = [
  '$(touch /x)', '`id`', "';{touch,pwned};'", "a'b", "'", "''", "\\'", 'line 1\nline 2', '\n', '$IFS', '${IFS}', '$((1+1))',
  '*', '/*', '?', '[ab]', '~', '~root', '!', '!!', '!-1', 'a!b', '"', '"$(id)"', '\\', '\\n', 'a b', ' ', '',
  '-n', '--', '#not a comment', '; touch pwned', '&& id', '| id', '& id', '> canary', '>> canary', '< /etc/passwd', '2>&1',
  '$(echo pwned > canary)', '`echo pwned > canary2`', '${HOME}', '$HOME', '{a,b}', 'a=b', '=x', '%1', '^', 'é ü 日本',
  '$\'\\x41\'', '<(id)', '>(id)', 'x;id', 'x\nid', '\ntouch pwned\n',
];

describe('shellQuote: a value is one literal word in every shell', () => {
  const shells: Shell[] = [BASH, INTERACTIVE_BASH, posix('dash', ['/bin/dash']), posix('busybox sh', ['/bin/busybox', 'sh'])];

  test.each(shells.map((s) => [s.name, s] as const))('%s', (_name, shell) => {
    // GIVEN one command per hostile value, and one with all of them
    const lines = [...HOSTILE.map((v) => `probe ${shellQuote(v)}`), `probe ${HOSTILE.map(shellQuote).join(' ')}`];
    // WHEN pasted
    const p = paste(lines.join('\n'), shell);
    // THEN each value arrived verbatim as one argument; no payload ran, no redirection happened
    if (shell.strict) expectCleanRun(p);
    expect(p.leftovers).toEqual([]);
    expect(p.calls).toEqual([...HOSTILE.map((v) => ['probe', v]), ['probe', ...HOSTILE]]);
    expect(payloadsRun(p.calls)).toEqual([]);
  });
});
