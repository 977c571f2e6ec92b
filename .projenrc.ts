import { JsonFile, cdk8s, javascript } from 'projen';

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-backup',
  packageName: 'cdk8s-backup',
  description:
    'cdk8s constructs for Kubernetes backups that restore: etcd snapshots, control-plane config, Velero, retention, encryption.',
  author: 'cdk8s-backup maintainers',
  authorAddress: 'maintainers@cdk8s-backup.invalid',
  repositoryUrl: 'https://example.invalid/cdk8s-backup.git',
  defaultReleaseBranch: 'main',
  projenrcTs: true,
  packageManager: javascript.NodePackageManager.NPM,

  // Pinned to versions known to work together on this machine; projen's defaults pick cdk8s 1.
  cdk8sVersion: '2.68.12',
  constructsVersion: '10.3.0',
  jsiiVersion: '~6.0.0',
  peerDeps: ['cdk8s-plus-28@^2.5.6'],
  // Cron arithmetic (gaps between runs) for synth-time checks; bundled so users need nothing.
  bundledDeps: ['cron-parser@^5.1.0'],
  devDeps: [
    // Keep the toolchain on versions that work together (projen would pick the newest of each).
    '@types/node@^20',
    'cdk8s-plus-28@2.5.6',
    // Schema checks of every synthesized object (test only).
    // 4.4.x carries the Kubernetes 1.27 schema, 4.5.x jumps to 1.33: no release has 1.28 exactly, so
    // we validate against 1.27 (everything valid there is valid on 1.28) plus a strict
    // unknown-field check against kubernetes-types 1.29.
    'kubernetes-models@4.4.2',
    'kubernetes-types@1.29.0',
    'yaml@^2.5.0',
    // A real S3-protocol server for the end-to-end tests.
    's3rver@3.7.1',
    // CRD schema checks (test only).
    'ajv@^8',
  ],
  keywords: ['cdk8s', 'kubernetes', 'backup', 'etcd', 'restic', 'velero'],
  // 0.x: the API may still change between minor versions (CHANGELOG.md says how).
  stability: 'experimental',

  // jsii language targets, named the way cdk8s and cdk8s-plus-28 name theirs (see their
  // package.json `jsii.targets`). Nothing is published (release: false): these names decide the
  // generated bindings (`npx jsii-pacmak --code-only`); scripts/python-package.sh builds and
  // checks the Python one. The Go module path is the repository's path (placeholder for now).
  publishToPypi: {
    distName: 'cdk8s-backup',
    module: 'cdk8s_backup',
  },
  publishToMaven: {
    javaPackage: 'org.cdk8s.backup',
    mavenGroupId: 'org.cdk8s',
    mavenArtifactId: 'cdk8s-backup',
  },
  publishToGo: {
    moduleName: 'example.invalid/cdk8s-backup-go',
    packageName: 'cdk8sbackup',
  },
  publishToNuget: {
    dotNetNamespace: 'Org.Cdk8s.Backup',
    packageId: 'Org.Cdk8s.Backup',
  },

  // No GitHub, no publishing: nothing here may need the internet beyond the npm registry.
  github: false,
  release: false,
  depsUpgrade: false,
  buildWorkflow: false,
  pullRequestTemplate: false,

  typescriptVersion: '~5.9.0',
  jestOptions: {
    jestVersion: '^29',
    // Snapshots are reviewed, never silently rewritten (CI fails on a diff instead).
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      // End-to-end tests start etcd and an S3 server; give them room. Two files at a time on the
      // 2-core CI machine: most of an e2e file's time is waiting (etcd, restic, S3, the 60 s
      // bound of an unreachable endpoint), and files share no state (free ports, their own temp
      // dirs, etcd-cluster nodes on 127.0.<worker>.x); one at a time took 1,034 s.
      testTimeout: 120_000,
      maxWorkers: 2,
    },
  },
  eslintOptions: {
    dirs: ['src', 'test'],
    ignorePatterns: ['src/imports/**'],
  },
  gitignore: ['/examples/dist/', '/.bench/'],
});

// No release machinery here (release: false): the version is set by hand, with CHANGELOG.md.
project.package.addVersion('0.1.0');

// lib/ and .jsii are not committed. Installed from the git repository, npm installs the
// devDependencies and runs `prepare` before it packs the package: build them there.
project.addTask('prepare', {
  description: 'Build lib/ and .jsii (npm runs this when the package is installed from git)',
  exec: 'jsii --silence-warnings=reserved-word',
});

// Shell scripts run inside the containers; they ship with the package.
project.npmignore?.exclude('/assets/**/*.test.*');
// Upstream CRDs are test and import data, not part of the library.
project.npmignore?.exclude('/crds/');
// The contributors' side: CI, machine setup, benchmarks and the example fleet.
project.npmignore?.exclude('/.ci/', '/scripts/', '/bench/', '/examples/');

// The language packages. Only Python builds on these machines (Debian's build tools; PyPI is not
// reachable, and pacmak's own Python packaging pip-installs its tools from there): its task runs
// scripts/python-package.sh. Java, .NET and Go keep projen's tasks (npx projen package:java, ...)
// for a machine with their toolchains and registries, and stay out of package-all.
project.tasks.tryFind('package:python')!.reset('bash scripts/python-package.sh');
const packageAll = project.tasks.tryFind('package-all')!;
packageAll.reset();
packageAll.spawn(project.tasks.tryFind('package:js')!);
packageAll.spawn(project.tasks.tryFind('package:python')!);

// API.md documents the constructs version we build against, not projen's nested one (see the script).
project.tasks.tryFind('docgen')!.reset('node scripts/docgen.js');

project.addTask('synth-example', {
  description: 'Synthesize the example fleet (examples/) into examples/dist/',
  exec: 'ts-node --project test/tsconfig.json examples/main.ts',
});

// L1 constructs for the upstream CRDs kept in crds/ (see crds/SOURCES.md). Run by hand
// when the CRDs change: not part of the build, and it fetches cdk8s-cli on demand.
project.addTask('import', {
  description: 'Regenerate src/imports/ from the CRDs in crds/ (cdk8s import)',
  steps: [
    { exec: 'for f in crds/velero/*.yaml; do cat "$f"; echo "---"; done > /tmp/cdk8s-backup-velero-crds.yaml' },
    { exec: 'npx -y cdk8s-cli@2.207.56 import velero:=/tmp/cdk8s-backup-velero-crds.yaml --language typescript --output /tmp/cdk8s-backup-imports --no-save' },
    { exec: 'cp /tmp/cdk8s-backup-imports/velero-velero.io.ts src/imports/velero.io.ts' },
    { exec: 'for f in crds/prometheus-operator/monitoring.coreos.com_prometheusrules.yaml crds/prometheus-operator/monitoring.coreos.com_podmonitors.yaml; do cat "$f"; echo "---"; done > /tmp/cdk8s-backup-monitoring-crds.yaml' },
    { exec: 'npx -y cdk8s-cli@2.207.56 import monitoring:=/tmp/cdk8s-backup-monitoring-crds.yaml --language typescript --output /tmp/cdk8s-backup-imports --no-save' },
    { exec: 'cp /tmp/cdk8s-backup-imports/monitoring-monitoring.coreos.com.ts src/imports/monitoring.coreos.com.ts' },
    { exec: 'npx -y cdk8s-cli@2.207.56 import externalsecrets:=crds/external-secrets/external-secrets.io_externalsecrets.yaml --language typescript --output /tmp/cdk8s-backup-imports --no-save' },
    { exec: 'cp /tmp/cdk8s-backup-imports/externalsecrets-external-secrets.io.ts src/imports/external-secrets.io.ts' },
  ],
});

project.addTask('bench', {
  description: 'Benchmark the etcd backup pod against a bare etcdctl snapshot save (~1 GiB etcd)',
  exec: 'ts-node --project test/tsconfig.json bench/etcd-backup.bench.ts',
});

// The edit loop: the library's unit tests only (seconds, no root, no Debian packages). `npm test`
// still runs everything: unit, the harness's own tests (test/support) and end-to-end (test/e2e).
project.addTask('test:unit', {
  description: 'Run the unit tests (test/unit) only',
  exec: 'jest --coverage=false --maxWorkers=2 test/unit',
});
project.addTask('test:e2e', {
  description: 'Run the end-to-end tests (test/e2e) only (root, Debian packages from scripts/setup.sh)',
  exec: 'jest --coverage=false test/e2e',
});

project.addTask('bench:synth', {
  description: 'Benchmark fleet synth (50/200/500 clusters) against bare cdk8s-plus CronJobs and bare cdk8s with the same output',
  exec: 'ts-node --project test/tsconfig.json bench/fleet-synth.bench.ts',
});

project.addTask('bench:restore', {
  description: 'Benchmark the rendered quorum-lost restore runbook on three etcd nodes (~1 GiB)',
  exec: 'ts-node --project test/tsconfig.json bench/etcd-restore.bench.ts',
});

project.addTask('shellcheck', {
  description: 'Lint the container scripts',
  exec: 'shellcheck --shell=sh assets/*.sh',
});
project.testTask.prependExec('shellcheck --shell=sh assets/*.sh');
// ts-jest only transpiles (test/tsconfig.json sets isolatedModules): type-check the tests once,
// and the benchmarks, which no test imports (ts-node would find their errors only when run).
new JsonFile(project, 'bench/tsconfig.json', { obj: { extends: '../test/tsconfig.json', include: ['**/*.ts'] } });
project.testTask.prependExec('tsc --noEmit -p bench/tsconfig.json');
project.testTask.prependExec('tsc --noEmit -p test/tsconfig.json');

project.synth();
