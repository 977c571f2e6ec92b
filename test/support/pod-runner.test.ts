import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_IMAGES, etcdDistrolessProfile, etcdImages, LEGACY_ETCD_SHELL_PROFILE, RESTIC_IMAGE_PROFILE } from './images';
import { expandKubernetesVars, PodResult, runPod, RunPodOptions } from './pod-runner';

const ETCD = 'registry.k8s.io/etcd:3.5.16-0';
const RESTIC = 'restic/restic:0.16.4';

let fixture: string;
let hostPaths: Record<string, string>;
const results: PodResult[] = [];

beforeAll(() => {
  fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-runner-fixture-'));
  const pki = path.join(fixture, 'etc', 'kubernetes', 'pki');
  fs.mkdirSync(pki, { recursive: true });
  fs.chmodSync(fixture, 0o755);
  fs.writeFileSync(path.join(pki, 'root0600'), 'root-secret\n', { mode: 0o600 });
  fs.writeFileSync(path.join(pki, 'user0600'), 'user-secret\n', { mode: 0o600 });
  fs.chownSync(path.join(pki, 'user0600'), 1000, 1000);
  fs.mkdirSync(path.join(fixture, 'var', 'backups'), { recursive: true });
  hostPaths = {
    '/etc/kubernetes': path.join(fixture, 'etc', 'kubernetes'),
    '/var': path.join(fixture, 'var'),
  };
});

afterAll(() => {
  for (const r of results) r.cleanup();
  fs.rmSync(fixture, { recursive: true, force: true });
});

function job(name: string, podSpec: any): any {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { backoffLimit: 0, template: { metadata: { labels: { app: name } }, spec: { restartPolicy: 'Never', ...podSpec } } },
  };
}

async function run(manifests: any[], extra: Partial<RunPodOptions> = {}): Promise<PodResult> {
  const r = await runPod({ manifests, images: DEFAULT_IMAGES, hostPaths, timeoutMs: 15_000, ...extra });
  results.push(r);
  return r;
}

function sh(name: string, image: string, script: string, more: any = {}): any {
  return { name, image, command: ['/bin/sh', '-c', script], ...more };
}

function out(r: PodResult, name: string): string {
  const c = r.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name} in ${JSON.stringify(r)}`);
  return c.stdout;
}

const pkiMount = { name: 'pki', mountPath: '/pki', readOnly: true };
const pkiVolume = { name: 'pki', hostPath: { path: '/etc/kubernetes/pki', type: 'Directory' } };

describe('environment', () => {
  test('clean env: only image env + kubelet/runtime vars; no coreutils in the etcd image', async () => {
    process.env.AWS_CA_BUNDLE = '/host/only/ca.pem';
    process.env.POD_RUNNER_HOST_ONLY = 'leak';
    try {
      const r = await run([job('envcheck', {
        containers: [
          sh('etcd', ETCD, 'export -p; command -v ls || echo NO_LS; command -v cat || echo NO_CAT; command -v etcdctl; echo "host=$(< /etc/hostname)"'),
          sh('nonroot', ETCD, 'echo "HOME=$HOME"', { securityContext: { runAsUser: 1000 } }),
        ],
      })]);
      expect(r.succeeded).toBe(true);
      const o = out(r, 'etcd');
      const names = [...o.matchAll(/^export ([A-Z_a-z0-9]+)/gm)].map((m) => m[1]).sort();
      expect(names).toEqual([
        'HOME', 'HOSTNAME',
        'KUBERNETES_PORT', 'KUBERNETES_PORT_443_TCP', 'KUBERNETES_PORT_443_TCP_ADDR', 'KUBERNETES_PORT_443_TCP_PORT',
        'KUBERNETES_PORT_443_TCP_PROTO', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT', 'KUBERNETES_SERVICE_PORT_HTTPS',
        'OLDPWD', 'PATH', 'PWD', 'SHLVL', // the last three are bash's own
      ]);
      expect(o).toContain('export PATH="/usr/local/bin:/usr/bin:/bin"');
      expect(o).toContain('export HOME="/root"');
      expect(o).toContain('export HOSTNAME="envcheck-test"');
      expect(o).not.toContain('AWS_CA_BUNDLE');
      expect(o).not.toContain('leak');
      expect(o).toContain('NO_LS\nNO_CAT\n/usr/local/bin/etcdctl\nhost=envcheck-test\n');
      expect(out(r, 'nonroot')).toBe('HOME=/\n');
    } finally {
      delete process.env.AWS_CA_BUNDLE;
      delete process.env.POD_RUNNER_HOST_ONLY;
    }
  });

  test('$(VAR) expansion in env, command and args works like kubelet', async () => {
    const r = await run([job('expand', {
      containers: [{
        name: 'c',
        image: ETCD,
        env: [
          { name: 'A', value: 'alpha' },
          { name: 'B', value: '$(A)-beta' },
          { name: 'C', value: '$$(A)' },
          { name: 'D', value: '$(UNDEFINED)' },
          { name: 'E', value: '$(LATER)' },
          { name: 'LATER', value: 'late' },
          { name: 'F', value: '$(A' },
          { name: 'G', value: 'x$(KUBERNETES_SERVICE_PORT)' },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
          { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
          { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        ],
        resources: { limits: { memory: '64Mi' } },
        command: ['/bin/sh', '-c', 'printf "%s|" "$B" "$C" "$D" "$E" "$F" "$G" "$POD" "$NODE" "$HOST_IP" "$APP" "$MEM"; echo; printf "%s|" "$@"', '--'],
        args: ['$(B)', '$$(A)', '$(NOPE)', '$(HOSTNAME)', '$(LATER)', '$(KUBERNETES_SERVICE_HOST)', '$(POD)'],
      }],
    })], { fieldRefs: { 'spec.nodeName': 'cp-1' } });
    expect(r.succeeded).toBe(true);
    expect(out(r, 'c')).toBe([
      'alpha-beta|$(A)|$(UNDEFINED)|$(LATER)|$(A|x443|expand-test|cp-1|127.0.0.1|expand|64|',
      // HOSTNAME is set by the runtime, kubelet does not know it: stays literal
      'alpha-beta|$(A)|$(NOPE)|$(HOSTNAME)|late|10.96.0.1|expand-test|',
    ].join('\n'));
  });

  test('expandKubernetesVars edge cases', () => {
    const ctx = { A: 'alpha', EMPTY: '' };
    expect(expandKubernetesVars('$(A)$(A)', ctx)).toBe('alphaalpha');
    expect(expandKubernetesVars('$$$(A)', ctx)).toBe('$alpha');
    expect(expandKubernetesVars('$$$$(A)', ctx)).toBe('$$(A)');
    expect(expandKubernetesVars('a$', ctx)).toBe('a$');
    expect(expandKubernetesVars('$x$(EMPTY)y', ctx)).toBe('$xy');
    expect(expandKubernetesVars('$(', ctx)).toBe('$(');
    expect(expandKubernetesVars('$()', ctx)).toBe('$()');
    expect(expandKubernetesVars('${A}', ctx)).toBe('${A}');
  });

  test('missing non-optional secret key fails the container start; optional ones are skipped', async () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'from-manifest' }, data: { token: Buffer.from('s3cr3t').toString('base64') } };
    const container = (env: any[]) => [sh('c', ETCD, 'echo "TOKEN=${TOKEN-unset} OPT=${OPT-unset} X=${X-unset}"', { env })];
    const bad = await run([secret, job('badkey', {
      containers: container([{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope' } } }]),
    })], { secrets: { creds: { password: 'p' } } });
    expect(bad.succeeded).toBe(false);
    expect(bad.reason).toMatch(/CreateContainerConfigError: couldn't find key nope in Secret default\/creds/);
    expect(bad.containers[0].exitCode).toBeNull();

    const missing = await run([job('badsecret', {
      containers: container([{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'nothere', key: 'k' } } }]),
    })]);
    expect(missing.reason).toMatch(/CreateContainerConfigError: secret "nothere" not found/);

    const ok = await run([secret, job('optkey', {
      containers: container([
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'from-manifest', key: 'token' } } },
        { name: 'OPT', valueFrom: { secretKeyRef: { name: 'from-manifest', key: 'nope', optional: true } } },
        { name: 'X', valueFrom: { configMapKeyRef: { name: 'nocm', key: 'k', optional: true } } },
      ]),
    })]);
    expect(ok.succeeded).toBe(true);
    expect(out(ok, 'c')).toBe('TOKEN=s3cr3t OPT=unset X=unset\n');
  });
});

describe('security context', () => {
  test('capabilities, users and groups are enforced', async () => {
    const readBoth = 'for f in root0600 user0600; do if (read -r x < /pki/$f) 2>/dev/null; then echo "$f=ok"; else echo "$f=denied"; fi; done; grep -E "^(CapEff|Groups|NoNewPrivs|Uid|Gid):" /proc/self/status';
    const r = await run([job('caps', {
      securityContext: { supplementalGroups: [4000], fsGroup: 2000 },
      volumes: [pkiVolume],
      containers: [
        sh('dropall', RESTIC, readBoth, { volumeMounts: [pkiMount], securityContext: { capabilities: { drop: ['ALL'] } } }),
        sh('default', RESTIC, readBoth, { volumeMounts: [pkiMount] }),
        sh('user', RESTIC, readBoth, { volumeMounts: [pkiMount], securityContext: { runAsUser: 1000, runAsGroup: 3000, allowPrivilegeEscalation: false } }),
        sh('addonly', RESTIC, readBoth, { volumeMounts: [pkiMount], securityContext: { capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'CAP_DAC_OVERRIDE'] } } }),
      ],
    })]);
    expect(r.succeeded).toBe(true);
    expect(out(r, 'dropall')).toMatch(/^root0600=ok\nuser0600=denied\n/);
    expect(out(r, 'dropall')).toMatch(/CapEff:\s+0000000000000000/);
    expect(out(r, 'dropall')).toMatch(/NoNewPrivs:\s+0/);
    expect(out(r, 'default')).toMatch(/^root0600=ok\nuser0600=ok\n/); // DAC_OVERRIDE is in the default set
    expect(out(r, 'default')).toMatch(/CapEff:\s+00000000a80425fb/); // containerd's default set
    expect(out(r, 'user')).toMatch(/^root0600=denied\nuser0600=ok\n/);
    expect(out(r, 'user')).toMatch(/Uid:\s+1000\s+1000\s+1000\s+1000/);
    expect(out(r, 'user')).toMatch(/Gid:\s+3000\s+3000/);
    expect(out(r, 'user')).toMatch(/Groups:\s+2000 4000/);
    expect(out(r, 'user')).toMatch(/CapEff:\s+0000000000000000/);
    expect(out(r, 'user')).toMatch(/NoNewPrivs:\s+1/);
    expect(out(r, 'addonly')).toMatch(/^root0600=ok\nuser0600=ok\n/);
    expect(out(r, 'addonly')).toMatch(/CapEff:\s+0000000000001002/); // DAC_OVERRIDE (1) + NET_ADMIN (12)
  });

  test('runAsNonRoot refuses uid 0', async () => {
    const c = (sc: any) => [sh('c', ETCD, 'echo started', { securityContext: sc })];
    const image = await run([job('nonroot-image', { containers: c({ runAsNonRoot: true }) })]);
    expect(image.succeeded).toBe(false);
    expect(image.reason).toMatch(/CreateContainerConfigError: container has runAsNonRoot and image will run as root/);
    expect(image.containers[0].stdout).toBe('');

    const explicit = await run([job('nonroot-explicit', { securityContext: { runAsNonRoot: true }, containers: c({ runAsUser: 0 }) })]);
    expect(explicit.reason).toMatch(/runAsUser breaks non-root policy/);

    const ok = await run([job('nonroot-ok', { securityContext: { runAsNonRoot: true, runAsUser: 1000 }, containers: c({}) })]);
    expect(ok.succeeded).toBe(true);
    expect(out(ok, 'c')).toBe('started\n');
  });

  test('readOnlyRootFilesystem and readOnly mounts are really read-only; emptyDirs are shared and kept', async () => {
    const script = [
      'touch /x 2>/dev/null && echo ROOT_W || echo ROOT_RO',
      'touch /tmp/x 2>/dev/null && echo TMP_W || echo TMP_RO',
      'echo data > /data/out && echo DATA_W',
      'touch /ro/x 2>/dev/null && echo RO_W || echo RO_RO',
      'touch /pki/x 2>/dev/null && echo PKI_W || echo PKI_RO',
      'echo bye > /dev/termination-log',
    ].join('; ');
    const r = await run([job('rofs', {
      volumes: [{ name: 'data', emptyDir: {} }, { name: 'shared', emptyDir: {} }, pkiVolume],
      initContainers: [sh('prep', RESTIC, 'echo from-init > /shared/init.txt', { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] })],
      containers: [
        sh('ro', RESTIC, script, {
          securityContext: { readOnlyRootFilesystem: true },
          volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'shared', mountPath: '/ro', readOnly: true }, pkiMount],
        }),
        sh('rw', RESTIC, 'touch /x && echo ROOT_W; cat /shared/init.txt', { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }),
      ],
    })]);
    expect(r.reason).toBeUndefined();
    expect(r.succeeded).toBe(true);
    expect(out(r, 'ro')).toBe('ROOT_RO\nTMP_RO\nDATA_W\nRO_RO\nPKI_RO\n');
    expect(r.containers.find((c) => c.name === 'ro')!.terminationMessage).toBe('bye\n');
    expect(out(r, 'rw')).toBe('ROOT_W\nfrom-init\n');
    expect(fs.readFileSync(path.join(r.emptyDirs.data, 'out'), 'utf8')).toBe('data\n');
    expect((fs.statSync(r.emptyDirs.data).mode % 0o10000).toString(8)).toBe('777');
    expect(fs.existsSync(path.join(fixture, 'etc', 'kubernetes', 'pki', 'x'))).toBe(false);
  });

  test('secret volumes: defaultMode and fsGroup like kubelet', async () => {
    const secretVol = { name: 'creds', secret: { secretName: 'creds', defaultMode: 0o400 } };
    const c = sh('c', RESTIC, 'cat /creds/password 2>/dev/null || echo DENIED; stat -L -c "%a %g" /creds/password', {
      securityContext: { runAsUser: 1000 }, volumeMounts: [{ name: 'creds', mountPath: '/creds' }],
    });
    const secrets = { creds: { password: 'hunter2' } };
    const withFsGroup = await run([job('fsgroup', { securityContext: { fsGroup: 2000 }, volumes: [secretVol, { name: 'e', emptyDir: {} }], containers: [c] })], { secrets });
    expect(out(withFsGroup, 'c')).toBe('hunter2440 2000\n');
    expect((fs.statSync(withFsGroup.emptyDirs.e).mode % 0o10000).toString(8)).toBe('2777');
    expect(fs.statSync(withFsGroup.emptyDirs.e).gid).toBe(2000);
    const without = await run([job('nofsgroup', { volumes: [secretVol], containers: [c] })], { secrets });
    expect(out(without, 'c')).toBe('DENIED\n400 0\n');
  });
});

describe('volumes', () => {
  test('hostPath types: a missing File or Directory fails the pod start; *OrCreate creates', async () => {
    const c = [sh('c', ETCD, 'echo started', { volumeMounts: [{ name: 'h', mountPath: '/h' }] })];
    const file = await run([job('hp-file', { volumes: [{ name: 'h', hostPath: { path: '/etc/kubernetes/admin.conf', type: 'File' } }], containers: c })]);
    expect(file.succeeded).toBe(false);
    expect(file.reason).toMatch(/^FailedMount: .*hostPath type check failed: \/etc\/kubernetes\/admin.conf is not a file/);
    expect(file.containers).toEqual([]);

    const dir = await run([job('hp-dir', { volumes: [{ name: 'h', hostPath: { path: '/var/lib/etcd', type: 'Directory' } }], containers: c })]);
    expect(dir.reason).toMatch(/^FailedMount: .*not a directory/);

    const create = await run([job('hp-create', { volumes: [{ name: 'h', hostPath: { path: '/var/backups/etcd', type: 'DirectoryOrCreate' } }], containers: c })]);
    expect(create.succeeded).toBe(true);
    expect(fs.statSync(path.join(fixture, 'var', 'backups', 'etcd')).isDirectory()).toBe(true);

    const noParent = await run([job('hp-fileorcreate', { volumes: [{ name: 'h', hostPath: { path: '/var/nope/x.db', type: 'FileOrCreate' } }], containers: c })]);
    expect(noParent.reason).toMatch(/^FailedMount/);
  });

  test('configMap volume with subPath, envFrom with prefix, workingDir, CronJob in a namespace', async () => {
    const cm = (script: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg' }, // no namespace: applied into the CronJob's namespace
      data: { 'script.sh': script, 'MODE': 'full', '1bad': 'x' },
    });
    const cron = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'backup' },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'OnFailure',
                volumes: [{ name: 'cfg', configMap: { name: 'cfg', defaultMode: 0o755 } }, { name: 'work', emptyDir: {} }],
                containers: [{
                  name: 'c',
                  image: RESTIC,
                  command: ['run.sh'],
                  workingDir: '/work/sub',
                  env: [{ name: 'PATH', value: '/scripts:/bin' }, { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
                  envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { configMapRef: { name: 'cfg' } }],
                  volumeMounts: [{ name: 'cfg', mountPath: '/scripts/run.sh', subPath: 'script.sh' }, { name: 'work', mountPath: '/work' }],
                }],
              },
            },
          },
        },
      },
    };
    // no #! line: runc fails with "exec format error" (glibc's execvp would have used /bin/sh)
    const noShebang = await run([cm('echo hi\n'), cron]);
    expect(noShebang.succeeded).toBe(false);
    expect(noShebang.reason).toMatch(/^StartError: exec "run.sh": exec format error/);

    const r = await run([cm('#!/bin/sh\necho "in $PWD: $CFG_MODE $MODE $NS $(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"\n'), cron]);
    expect(r.succeeded).toBe(true);
    expect(out(r, 'c')).toBe('in /work/sub: full full backup backup\n');
    expect(r.warnings.join('\n')).toMatch(/envFrom key "1bad" is not a valid env var name/);
    expect(fs.statSync(path.join(r.emptyDirs.work, 'sub')).isDirectory()).toBe(true);
  });
});

describe('images and process handling', () => {
  test('restic image: busybox applets only, entrypoint used when no command', async () => {
    const r = await run([job('restic', {
      containers: [
        // Debian's busybox-static runs its applets without a PATH search (FEATURE_SH_STANDALONE):
        // `command -v ls` says `ls` where Alpine's says /bin/ls; the applet links are there all the same.
        sh('shell', RESTIC, 'readlink /bin/ls; command -v bash || echo NO_BASH; command -v coreutils || echo NO_COREUTILS; ls --help 2>&1 | head -1'),
        { name: 'entry', image: RESTIC, args: ['version'] },
      ],
    })]);
    expect(r.succeeded).toBe(true);
    expect(out(r, 'shell')).toMatch(/^\/bin\/busybox\nNO_BASH\nNO_COREUTILS\nBusyBox v1\.37\.0 /);
    expect(out(r, 'entry')).toMatch(/^restic 0\.18\.0 /);

    const bash = await run([job('restic-bash', { containers: [sh('c', RESTIC, 'command -v bash')] })]);
    expect(bash.succeeded).toBe(false);
    expect(bash.containers[0].exitCode).toBe(127); // busybox ash: command -v of an unknown command
    expect(bash.containers[0].stdout).toBe('');
  });

  test('rootfs: a directory as the whole image, read-only under a per-container layer; mountpoints keep the image\'s owners', async () => {
    // A tiny image: the host's dash and the libraries it loads, at their paths in a merged-/usr layout, a passwd file
    // and a directory of uid 999 (like /var/lib/postgresql in the postgres image).
    const image = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-runner-rootfs-'));
    fs.chmodSync(image, 0o755);
    for (const d of ['usr/bin', 'usr/lib', 'usr/lib64', 'etc', 'tmp', 'data']) fs.mkdirSync(path.join(image, d), { recursive: true, mode: 0o755 });
    for (const l of ['bin', 'lib', 'lib64']) fs.symlinkSync(`usr/${l}`, path.join(image, l));
    const dash = fs.realpathSync('/bin/dash');
    const ldd = spawnSync('ldd', [dash], { encoding: 'utf8' }).stdout;
    for (const lib of [...ldd.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1])) {
      fs.mkdirSync(path.join(image, path.dirname(lib)), { recursive: true });
      fs.copyFileSync(lib, path.join(image, lib));
    }
    fs.copyFileSync(dash, path.join(image, 'usr/bin/dash'));
    fs.symlinkSync('dash', path.join(image, 'usr/bin/sh'));
    fs.writeFileSync(path.join(image, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\ndb:x:999:999::/data:/bin/sh\n');
    fs.writeFileSync(path.join(image, 'etc/marker'), 'from-the-image\n');
    fs.chmodSync(path.join(image, 'tmp'), 0o1777);
    fs.chownSync(path.join(image, 'data'), 999, 999);
    fs.chmodSync(path.join(image, 'data'), 0o750);
    const before = fs.readdirSync(image, { recursive: true }).sort();
    try {
      const TINY = 'example.com/tiny:1';
      const images = { ...DEFAULT_IMAGES, 'example.com/tiny': { files: {}, rootfs: image, env: { PATH: '/usr/bin:/bin' } } };
      const r = await run([job('rootfs', {
        volumes: [{ name: 'scratch', emptyDir: {} }],
        containers: [
          // /bin/sh through the image's /bin -> usr/bin link; an emptyDir below the image's /data (uid 999, 0750)
          sh('db', TINY, 'read m < /etc/marker; echo "$m"; echo y > /data/own && echo DATA_W; echo z > /data/scratch/f && echo VOL_W', {
            securityContext: { runAsUser: 999, runAsGroup: 999 },
            volumeMounts: [{ name: 'scratch', mountPath: '/data/scratch' }],
          }),
          sh('rw', TINY, 'echo x > /new && echo ROOT_W; echo changed > /etc/marker; read m < /etc/marker; echo "$m"'),
          sh('ro', TINY, '(echo x > /etc/marker) 2>/dev/null && echo ROOT_W || echo ROOT_RO; read m < /etc/marker; echo "$m"', {
            securityContext: { readOnlyRootFilesystem: true },
          }),
        ],
      })], { images });
      expect(r.reason).toBeUndefined();
      expect(out(r, 'db')).toBe('from-the-image\nDATA_W\nVOL_W\n');
      expect(out(r, 'rw')).toBe('ROOT_W\nchanged\n');
      expect(out(r, 'ro')).toBe('ROOT_RO\nfrom-the-image\n');
      expect(r.succeeded).toBe(true);
      expect(fs.readFileSync(path.join(r.emptyDirs.scratch, 'f'), 'utf8')).toBe('z\n');
      // the image directory itself is untouched: no /new, /data/own, /data/scratch; /etc/marker as it was
      expect(fs.readdirSync(image, { recursive: true }).sort()).toEqual(before);
      expect(fs.readFileSync(path.join(image, 'etc/marker'), 'utf8')).toBe('from-the-image\n');
      expect((fs.statSync(path.join(image, 'data')).mode % 0o10000).toString(8)).toBe('750');
    } finally {
      fs.rmSync(image, { recursive: true, force: true });
    }
  });

  test('an executable that is not in the image fails to start', async () => {
    const r = await run([job('noexec', { containers: [{ name: 'c', image: ETCD, command: ['ls', '/'] }] })]);
    expect(r.succeeded).toBe(false);
    expect(r.reason).toMatch(/^StartError: exec: "ls": executable file not found in \$PATH/);
  });

  test('a failing init container stops the pod', async () => {
    const r = await run([job('initfail', {
      initContainers: [sh('first', ETCD, 'echo first; exit 3'), sh('second', ETCD, 'echo second')],
      containers: [sh('main', ETCD, 'echo main')],
    })]);
    expect(r.succeeded).toBe(false);
    expect(r.reason).toMatch(/container first exited with code 3/);
    expect(r.containers.map((c) => [c.name, c.init, c.exitCode, c.stdout])).toEqual([['first', true, 3, 'first\n']]);
  });

  test('timeout kills the whole process tree (also processes that left the process group)', async () => {
    const marker = 7000 + Math.floor(Math.random() * 999);
    const t0 = Date.now();
    const r = await run([job('hang', {
      containers: [sh('c', RESTIC, `sleep ${marker} & setsid sleep ${marker + 1} & echo started; sleep ${marker + 2}`)],
    })], { timeoutMs: 1500 });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.succeeded).toBe(false);
    expect(r.reason).toMatch(/^Timeout: container c did not finish within 1500 ms/);
    const c = r.containers[0];
    expect(c.exitCode).toBeNull();
    expect(c.signal).toBe('SIGKILL');
    expect(c.stdout).toBe('started\n');
    expect(() => process.kill(-c.pid!, 0)).toThrow(/ESRCH/);
    const leftovers = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`sleep\0${marker}`);
      } catch {
        return false;
      }
    });
    expect(leftovers).toEqual([]);
  });

  test('killAfterMs and activeDeadlineSeconds', async () => {
    const killed = await run([job('killed', { containers: [sh('c', RESTIC, 'sleep 30')] })], { killAfterMs: { c: 300 } });
    expect(killed.reason).toMatch(/^Killed: container c killed after 300 ms/);
    const d = job('deadline', { containers: [sh('c', RESTIC, 'sleep 30')] });
    d.spec.activeDeadlineSeconds = 1;
    const deadline = await run([d]);
    expect(deadline.reason).toMatch(/^DeadlineExceeded/);
  });

  test('AbortSignal kills the pod', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort('test gave up'), 300);
    const r = await run([job('aborted', { containers: [sh('c', RESTIC, 'sleep 30')] })], { signal: ac.signal });
    expect(r.succeeded).toBe(false);
    expect(r.reason).toMatch(/^Aborted: test gave up/);
    expect(r.containers[0].signal).toBe('SIGKILL');
  });

  test('native sidecars (init containers with restartPolicy Always) run next to the main containers', async () => {
    const r = await run([job('sidecar', {
      volumes: [{ name: 'x', emptyDir: {} }],
      initContainers: [sh('side', RESTIC, 'echo up > /x/side; exec sleep 30', { restartPolicy: 'Always', volumeMounts: [{ name: 'x', mountPath: '/x' }] })],
      containers: [sh('main', RESTIC, 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /x/side ] && break; sleep 0.2; done; cat /x/side', { volumeMounts: [{ name: 'x', mountPath: '/x' }] })],
    })]);
    expect(r.reason).toBeUndefined();
    expect(r.succeeded).toBe(true);
    expect(out(r, 'main')).toBe('up\n');
    expect(r.containers.map((c) => [c.name, c.init])).toEqual([['side', true], ['main', false]]);
  });

  test('malformed test input throws', async () => {
    await expect(runPod({ manifests: [job('x', { containers: [sh('c', 'busybox:1.36', 'true')] })], images: DEFAULT_IMAGES }))
      .rejects.toThrow(/no ImageProfile for image "busybox:1.36"/);
    await expect(runPod({
      manifests: [job('x', { volumes: [{ name: 'h', hostPath: { path: '/root/.ssh' } }], containers: [sh('c', ETCD, 'true')] })],
      images: DEFAULT_IMAGES,
      hostPaths,
    })).rejects.toThrow(/hostPath \/root\/.ssh is not mapped/);
    await expect(runPod({ manifests: [], images: DEFAULT_IMAGES })).rejects.toThrow(/expected exactly one/);
  });

  test('invalid manifests fail like the API server would reject them; cleanup removes temp dirs', async () => {
    const r = await runPod({
      manifests: [job('invalid', { containers: [sh('c', ETCD, 'true', { volumeMounts: [{ name: 'nope', mountPath: '/x' }] })] })],
      images: { [ETCD]: LEGACY_ETCD_SHELL_PROFILE, 'restic/restic': RESTIC_IMAGE_PROFILE },
    });
    expect(r.succeeded).toBe(false);
    expect(r.reason).toMatch(/^Invalid: .*volumeMounts.name: Not found: "nope"/);
    expect(fs.existsSync(r.podDir)).toBe(true);
    r.cleanup();
    expect(fs.existsSync(r.podDir)).toBe(false);
  });
});

describe('image volumes (KEP-4639)', () => {
  const DISTROLESS = 'gcr.io/etcd-development/etcd:v3.5.30';
  const images = { ...DEFAULT_IMAGES, ...etcdImages('3.5.30') };
  const etcdVolume = (pullPolicy = 'IfNotPresent') => ({ name: 'etcd', image: { reference: DISTROLESS, pullPolicy } });

  test('a restic container runs etcdctl from a distroless etcd image mounted as a volume; the volume is read-only even without readOnly', async () => {
    const r = await run([job('imgvol', {
      volumes: [etcdVolume()],
      containers: [
        sh('restic', RESTIC, [
          '/etcd/usr/local/bin/etcdctl version',
          'ls /etcd/usr/local/bin',
          'stat -c "%a %u:%g %n" /etcd/usr/local/bin/etcdutl',
          // (not `: > file`: a failed redirection of a special builtin ends ash)
          'touch /etcd/usr/local/bin/x 2>&1 || echo NOT_WRITTEN',
          'rm /etcd/usr/local/bin/etcdctl 2>&1 || echo NOT_REMOVED',
        ].join('; '), { volumeMounts: [{ name: 'etcd', mountPath: '/etcd' }] }),
        // Only what a subPath names: the tools directory, and no libc of its own (static busybox):
        // etcdutl runs with the libraries the runner adds for the volume's (dynamic) binaries.
        {
          name: 'bare',
          image: 'bare/busybox',
          command: ['/bin/sh', '-c', '/tools/etcdutl version; ls /tools'],
          volumeMounts: [{ name: 'etcd', mountPath: '/tools', subPath: 'usr/local/bin', readOnly: true }],
        },
      ],
    })], { images: { ...images, 'bare/busybox': { busybox: '/usr/bin/busybox', files: {} } } });
    expect(r.reason).toBeUndefined();
    expect(out(r, 'restic')).toMatch(/^etcdctl version: 3\.5\.30\nAPI version: 3\.5\netcd\netcdctl\netcdutl\n755 0:0 \/etcd\/usr\/local\/bin\/etcdutl\ntouch: \/etcd\/usr\/local\/bin\/x: Read-only file system\nNOT_WRITTEN\nrm: can't remove '\/etcd\/usr\/local\/bin\/etcdctl': Read-only file system\nNOT_REMOVED\n$/);
    expect(out(r, 'bare')).toMatch(/^etcdutl version: 3\.5\.30\n(.*\n)*etcd\netcdctl\netcdutl\n$/);
  });

  test('a missing subPath in an image volume fails the container; an unknown image reference throws like an unknown container image', async () => {
    const r = await run([job('imgvol-subpath', {
      volumes: [etcdVolume('Always')],
      containers: [sh('c', RESTIC, 'true', { volumeMounts: [{ name: 'etcd', mountPath: '/x', subPath: 'no/such/dir' }] })],
    })], { images });
    expect(r.succeeded).toBe(false);
    expect(r.reason).toMatch(/^CreateContainerConfigError: .*no\/such\/dir does not exist in image etcd/);

    await expect(runPod({
      manifests: [job('imgvol-unknown', { volumes: [{ name: 'v', image: { reference: 'example.com/unknown:1' } }], containers: [sh('c', RESTIC, 'true')] })],
      images,
    })).rejects.toThrow(/no ImageProfile for image "example\.com\/unknown:1" \(image volume v\)/);
  });

  test('the distroless etcd image has no shell: a container of it running /bin/sh fails to start like with a real runtime', async () => {
    expect(Object.keys(etcdDistrolessProfile('3.5.16').files).sort()).toEqual(['/usr/local/bin/etcd', '/usr/local/bin/etcdctl', '/usr/local/bin/etcdutl']);
    const r = await run([job('distroless', {
      containers: [
        sh('shell', DISTROLESS, 'etcdctl version'),
        { name: 'direct', image: 'registry.k8s.io/etcd:3.6.6-0', command: ['etcdutl', 'version'] },
      ],
    })], { images });
    expect(r.succeeded).toBe(false);
    const shell = r.containers.find((c) => c.name === 'shell')!;
    expect(shell).toMatchObject({ exitCode: null, reason: 'StartError: exec: "/bin/sh": stat /bin/sh: no such file or directory' });
    expect(out(r, 'direct')).toMatch(/^etcdutl version: 3\.5\.30\n/);
  });
});
