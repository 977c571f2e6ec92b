/**
 * Benchmark: fleet synth. N kubeadm ClusterBackups (etcd, 3 control-plane nodes, the drill,
 * alerts; each cluster's jobs at a minute of their own, as a spread fleet has them) against N
 * charts of bare cdk8s-plus-28 CronJobs, as many per chart as one ClusterBackup renders, at
 * N = 50, 200 and 500 (BENCH_FLEET, e.g. `BENCH_FLEET=20,50`), and against bare cdk8s ApiObjects
 * carrying the same manifests (cdk8s's own cost for that YAML). Each is timed from `new App()`
 * to the YAML of every chart in memory (`app.synthYaml()`), alternating ours and bare, best of
 * BENCH_REPEAT (default 3) runs, in one process after a warm-up.
 *
 *   npx projen bench:synth
 *
 * Prints a table and writes the numbers to .bench/fleet-synth.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart, Cron, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  BackupRepository, ClusterBackup, Credentials, Encryption, EtcdSource,
} from '../src';

const repository = BackupRepository.s3({
  bucket: 'fleet-backups',
  prefix: 'k8s',
  endpoint: 'https://s3.example.com',
  region: 'us-east-1',
  credentials: Credentials.fromSecret('backup-s3'),
  encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
});

/** One cluster's chart: kubeadm etcd, 3 control-plane nodes, the drill, alerts. */
function cluster(app: App, i: number): Chart {
  const chart = new Chart(app, `cluster-${i}`);
  const name = `cluster-${i}`;
  new ClusterBackup(chart, 'backup', {
    clusterName: name,
    repository,
    etcd: { source: EtcdSource.kubeadm(), schedule: Cron.schedule({ minute: String(i % 60), hour: '*' }) },
    controlPlaneConfig: { nodes: [`${name}-cp-1`, `${name}-cp-2`, `${name}-cp-3`], schedule: Cron.schedule({ minute: String(i % 60), hour: '1' }) },
    restoreDrill: { schedule: Cron.schedule({ minute: String(i % 60), hour: '4' }) },
    acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
  });
  return chart;
}

/**
 * The fleet in one App (how cdk8s apps are usually written; cdk8s 2.68 validates the whole app
 * once per chart, so its cost grows with charts x constructs), or one App per cluster.
 */
function ours(n: number, appPerCluster = false): { ms: number; cronJobs: number; objects: number } {
  const t0 = process.hrtime.bigint();
  let app = new App({ outdir: '/nonexistent' });
  let yaml = '';
  for (let i = 0; i < n; i++) {
    if (appPerCluster && i > 0) {
      yaml += app.synthYaml();
      app = new App({ outdir: '/nonexistent' });
    }
    cluster(app, i);
  }
  yaml += app.synthYaml();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, cronJobs: (yaml.match(/^kind: CronJob$/gm) ?? []).length, objects: (yaml.match(/^kind: /gm) ?? []).length };
}

/**
 * Bare cdk8s at the same output: each cluster's manifests, as ours rendered them, as plain
 * ApiObjects (what cdk8s itself costs to build, validate and write that YAML).
 */
function sameOutput(manifests: any[][], appPerCluster = false): number {
  const t0 = process.hrtime.bigint();
  let app = new App({ outdir: '/nonexistent' });
  manifests.forEach((objects, i) => {
    if (appPerCluster && i > 0) {
      app.synthYaml();
      app = new App({ outdir: '/nonexistent' });
    }
    const chart = new Chart(app, `cluster-${i}`);
    objects.forEach((o, k) => new ApiObject(chart, `o${k}`, o));
  });
  app.synthYaml();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Each cluster's manifests as ours renders them (for sameOutput). */
function manifestsOf(n: number): any[][] {
  const out: any[][] = [];
  for (let i = 0; i < n; i++) {
    const app = new App({ outdir: '/nonexistent' });
    const chart = cluster(app, i);
    out.push(chart.toJson());
  }
  return out;
}

function bare(n: number, perChart: number, appPerCluster = false): number {
  const t0 = process.hrtime.bigint();
  let app = new App({ outdir: '/nonexistent' });
  for (let i = 0; i < n; i++) {
    if (appPerCluster && i > 0) {
      app.synthYaml();
      app = new App({ outdir: '/nonexistent' });
    }
    const chart = new Chart(app, `cluster-${i}`);
    for (let k = 0; k < perChart; k++) {
      new kplus.CronJob(chart, `job-${k}`, {
        schedule: Cron.schedule({ minute: String(i % 60), hour: String(k) }),
        timeZone: 'Etc/UTC',
        concurrencyPolicy: kplus.ConcurrencyPolicy.FORBID,
        startingDeadline: Duration.minutes(15),
        containers: [{ image: 'restic/restic:0.17.3', command: ['/bin/sh', '/scripts/backup.sh'], securityContext: { user: 1000, group: 1000 } }],
      });
    }
  }
  app.synthYaml();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function main(): void {
  const sizes = (process.env.BENCH_FLEET ?? '50,200,500').split(',').map(Number);
  const repeat = Number(process.env.BENCH_REPEAT ?? 3);
  // Warm-up: module loading and JIT, outside every measurement.
  const warm = ours(5);
  const perChart = warm.cronJobs / 5;
  bare(5, perChart);
  type Row = {
    layout: string;
    clusters: number;
    cronJobs: number;
    objects: number;
    oursMs: number;
    bareMs: number;
    ratio: number;
    sameOutputMs: number;
    overSameOutput: number;
    msPerCluster: number;
  };
  const rows: Row[] = [];
  for (const appPerCluster of [false, true]) {
    for (const n of sizes) {
      const manifests = manifestsOf(n);
      let best = Infinity;
      let bestBare = Infinity;
      let bestSame = Infinity;
      let last = warm;
      for (let r = 0; r < repeat; r++) {
        last = ours(n, appPerCluster);
        best = Math.min(best, last.ms);
        bestBare = Math.min(bestBare, bare(n, perChart, appPerCluster));
        bestSame = Math.min(bestSame, sameOutput(manifests, appPerCluster));
      }
      rows.push({
        layout: appPerCluster ? 'App per cluster' : 'one App',
        clusters: n,
        cronJobs: last.cronJobs,
        objects: last.objects,
        oursMs: Math.round(best),
        bareMs: Math.round(bestBare),
        ratio: +(best / bestBare).toFixed(2),
        sameOutputMs: Math.round(bestSame),
        overSameOutput: +(best / bestSame).toFixed(2),
        msPerCluster: +(best / n).toFixed(2),
      });
    }
  }
  console.log(`fleet synth (best of ${repeat}; bare: ${perChart} cdk8s-plus-28 CronJobs per chart, as many as one ClusterBackup renders)`);
  console.log('("same output": bare cdk8s ApiObjects carrying the manifests ours rendered, i.e. what cdk8s costs for that YAML)');
  console.log('layout           clusters  CronJobs  objects   ours ms   bare ms   ratio   same-output ms   ratio   ours ms/cluster');
  for (const r of rows) {
    console.log(`${r.layout.padEnd(15)}  ${String(r.clusters).padStart(8)}  ${String(r.cronJobs).padStart(8)}  ${String(r.objects).padStart(7)}  ${String(r.oursMs).padStart(8)}  ${String(r.bareMs).padStart(8)}  ${r.ratio.toFixed(2).padStart(6)}  ${String(r.sameOutputMs).padStart(15)}  ${r.overSameOutput.toFixed(2).padStart(6)}  ${r.msPerCluster.toFixed(2).padStart(16)}`);
  }
  const out = path.join(__dirname, '..', '.bench');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'fleet-synth.json'), JSON.stringify({ repeat, perChart, rows }, null, 2) + '\n');
}

main();
