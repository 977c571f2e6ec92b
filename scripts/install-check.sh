#!/usr/bin/env bash
# What a platform team does with the library, literally: make a fresh cdk8s app the way
# `cdk8s init typescript-app` makes one (with the current cdk8s-plus in it), install cdk8s-backup
# into it from the packed tarball or from the git repository, and synthesize a chart that uses
# both. test/e2e/install.e2e.test.ts runs it and validates what it synthesized.
#
#   scripts/install-check.sh <app dir> tarball|git [<fresh app to copy>]
#
# `git` installs the repository's HEAD commit (what is committed, not the working tree). With a
# third argument, the fresh app is made there once (if it is not there yet) and copied to
# <app dir>: the test's two installs start from the same `cdk8s init` (it takes ~20 s).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
app=$1
from=$2
fresh=${3:-}
# The cdk8s CLI a user gets from `npm install -g cdk8s-cli` today; pinned so CI is repeatable.
cdk8s_cli=cdk8s-cli@2.207.60

rm -rf "$app" "$app.logs"
mkdir -p "$app.logs"
logs=$app.logs

# Makes a fresh app in directory $1 with `cdk8s init typescript-app`.
# The template's post-init hook runs `cdk8s import`, which downloads the Kubernetes schema from
# GitHub; these CI machines reach only the npm registry. The app does not use the imports, so
# that one failure is accepted, and only when the template and its dependencies are in place.
init_app() {
  mkdir -p "$1"
  if ! (cd "$1" && npx -y "$cdk8s_cli" init typescript-app) > "$logs/init.log" 2>&1; then
    if ! { grep -q 'Command failed: npm run import' "$logs/init.log" && test -f "$1/main.ts" && test -d "$1/node_modules/cdk8s-plus-33"; }; then
      cat "$logs/init.log" >&2
      echo "install-check: cdk8s init failed" >&2
      rm -rf "$1"
      exit 1
    fi
  fi
}

if [ -n "$fresh" ]; then
  [ -f "$fresh/main.ts" ] || init_app "$fresh"
  cp -a "$fresh" "$app"
else
  init_app "$app"
fi
cd "$app"

case "$from" in
  tarball)
    # `npx projen package:js` (jsii-pacmak) packs what npm would publish: dist/js/<name>@<version>.jsii.tgz.
    # Its `npm pack` runs `prepare` (jsii, ~20 s) again; skip that when lib/ and .jsii are newer
    # than every source, as after CI's `npx projen compile`.
    skip_prepare=false
    if [ -f "$repo/.jsii" ] && [ -f "$repo/lib/index.js" ] && [ -z "$(find "$repo/src" -name '*.ts' -newer "$repo/.jsii" | head -n 1)" ]; then
      skip_prepare=true
    fi
    (cd "$repo" && npm_config_ignore_scripts=$skip_prepare npx projen package:js) > "$logs/package.log" 2>&1 \
      || { cat "$logs/package.log" >&2; exit 1; }
    version=$(node -p "require('$repo/package.json').version")
    source="$repo/dist/js/cdk8s-backup@$version.jsii.tgz"
    ;;
  git)
    source="git+file://$repo#$(git -C "$repo" rev-parse HEAD)"
    ;;
  *)
    echo "install-check: the second argument is tarball or git, not '$from'" >&2
    exit 2
    ;;
esac
npm install --no-audit --no-fund "$source" > "$logs/install.log" 2>&1 || { cat "$logs/install.log" >&2; exit 1; }

# A chart as README's "Install" section shows it, next to a plain cdk8s-plus-33 workload, with the
# tolerations and node selection given as plain data.
cat > main.ts <<'EOF'
import { App, Chart, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-33';
import { BackupRepository, ClusterBackup, Credentials, Encryption, EtcdSource } from 'cdk8s-backup';
import { writeFileSync } from 'fs';

const app = new App();
const chart = new Chart(app, 'prod');

new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27', portNumber: 80 }] });

const backup = new ClusterBackup(chart, 'backup', {
  clusterName: 'prod',
  etcd: {
    source: EtcdSource.kubeadm({
      tolerations: [
        { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
        { key: 'dedicated', value: 'control-plane', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
    }),
    resources: { upload: { cpuLimit: '1', memoryLimit: Size.gibibytes(1) } },
  },
  controlPlaneConfig: { nodes: ['cp-1', 'cp-2', 'cp-3'] },
  repository: BackupRepository.s3({
    bucket: 'acme-cluster-backups',
    prefix: 'k8s',
    region: 'eu-west-1',
    credentials: Credentials.fromSecret('cluster-backup-s3'),
    maintainerCredentials: Credentials.fromSecret('cluster-backup-s3-maintainer'),
    encryption: Encryption.repositoryPassword({ name: 'cluster-backup-repository', key: 'password' }),
  }),
  acknowledge: { keysStoredOutsideCluster: true },
});
app.synth();
writeFileSync('dist/prod.runbook.md', backup.restoreRunbook());
EOF

npx cdk8s synth > "$logs/synth.log" 2>&1 || { cat "$logs/synth.log" >&2; exit 1; }
ls dist
