import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { BackupRepository, ClusterBackup, Credentials, Encryption, EtcdSource, Retention } from '../../../src';
import { _resetHostSpellingCache, inHostSpelling, toPythonName } from '../../../src/internal/errors';
import { testRepository } from '../../support/charts';

// The rewrite reads our names from the jsii assembly, which `npm ci` (prepare) and `npx projen
// compile` write; without it the tests below would fail for a reason they do not name.
const ASSEMBLY = path.join(__dirname, '..', '..', '..', '.jsii');
beforeAll(() => {
  if (!fs.existsSync(ASSEMBLY)) throw new Error(`${ASSEMBLY} is missing: run npx projen compile first`);
});

// Names as jsii-pacmak generated them in the Python package (`jsii-pacmak --code-only --target python`).
const PACMAK_PYTHON: [string, string][] = [
  ['hourly24Daily7Weekly4', 'hourly24_daily7_weekly4'],
  ['keysStoredOutsideCluster', 'keys_stored_outside_cluster'],
  ['s3Url', 's3_url'],
  ['caCertRef', 'ca_cert_ref'],
  ['restoreRunbook', 'restore_runbook'],
  ['clusterName', 'cluster_name'],
  ['memberAddresses', 'member_addresses'],
  ['controlPlaneConfig', 'control_plane_config'],
  ['shortRetention', 'short_retention'],
  ['allowRetentionFinerThanSchedule', 'allow_retention_finer_than_schedule'],
  ['tolerationSeconds', 'toleration_seconds'],
];

function withAgent<T>(agent: string | undefined, f: () => T): T {
  const before = process.env.JSII_AGENT;
  if (agent === undefined) delete process.env.JSII_AGENT;
  else process.env.JSII_AGENT = agent;
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.JSII_AGENT;
    else process.env.JSII_AGENT = before;
  }
}

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}

function synth(props: any) {
  const chart = Testing.chart();
  new ClusterBackup(chart, 'backup', {
    clusterName: 'prod',
    repository: testRepository(),
    etcd: { source: EtcdSource.kubeadm() },
    controlPlaneConfig: { nodes: ['cp-1'] },
    acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
    ...props,
  });
  return Testing.synth(chart);
}

describe('host spelling', () => {
  test.each(PACMAK_PYTHON)('%s is %s in Python', (ts, py) => {
    expect(toPythonName(ts)).toBe(py);
  });

  test('KiB/MiB/GiB stay one word, as codemaker keeps them', () => {
    expect(toPythonName('sizeMiB')).toBe('size_mib');
    expect(toPythonName('maxGiBPerRun')).toBe('max_gib_per_run');
  });

  test('Python: our option names in snake_case; prose, type names and unknown words untouched', () => {
    const m = 'ClusterBackup: controlPlaneConfig.nodes lists etcd and kubeadm nodes of the CronJob; set acknowledge.shortRetention: true, '
      + 'Retention.hourly24Daily7Weekly4(), tolerationSeconds, notOurName';
    expect(inHostSpelling(m, 'Python/3.11.7')).toBe('ClusterBackup: control_plane_config.nodes lists etcd and kubeadm nodes of the CronJob; '
      + 'set acknowledge.short_retention: true, Retention.hourly24_daily7_weekly4(), toleration_seconds, notOurName');
  });

  test('Python: a protected member has the leading underscore pacmak gives it', () => {
    expect(inHostSpelling('call addCronJob()', 'Python/3.11.7')).toBe('call _add_cron_job()');
  });

  test.each([undefined, 'Java/17.0.2', 'DotNet/8.0.0/.NETCoreApp,Version=v8.0/1.0.0.0', 'go1.22.1/linux/amd64'])('%s: unchanged', (agent) => {
    const m = 'ClusterBackup: controlPlaneConfig.nodes, acknowledge.shortRetention';
    expect(inHostSpelling(m, agent)).toBe(m);
  });

  test('without a .jsii (sources before a compile), every lowerCamelCase word is rewritten', () => {
    try {
      _resetHostSpellingCache('/nonexistent/.jsii');
      expect(inHostSpelling('ClusterBackup: notOurName and controlPlaneConfig.nodes', 'Python/3.11.7'))
        .toBe('ClusterBackup: not_our_name and control_plane_config.nodes');
    } finally {
      _resetHostSpellingCache();
    }
  });

  describe.each([
    ['Python/3.11.7', 'control_plane_config.nodes', 'acknowledge.short_retention'],
    ['Java/17.0.2', 'controlPlaneConfig.nodes', 'acknowledge.shortRetention'],
    [undefined, 'controlPlaneConfig.nodes', 'acknowledge.shortRetention'],
  ])('JSII_AGENT=%s, real constructs', (agent, nodes, ack) => {
    test('thrown: a control-plane config that misses nodes', () => {
      const m = withAgent(agent, () => message(() => synth({ controlPlaneConfig: undefined })));
      expect(m).toContain(`ClusterBackup: ${nodes} must list every control-plane node`);
    });

    test('validation at synth: a short retention without acknowledge', () => {
      const m = withAgent(agent, () => message(() => synth({ etcd: { source: EtcdSource.kubeadm(), retention: Retention.keepLast(6) } })));
      expect(m).toContain(`or set ${ack}: true`);
    });

    test('thrown: a bad S3 bucket keeps its prose', () => {
      const m = withAgent(agent, () => message(() => BackupRepository.s3({
        bucket: 'Bad_Bucket',
        endpoint: 'https://minio.example.com:9000',
        credentials: Credentials.fromSecret('backup-s3'),
        encryption: Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }),
      })));
      expect(m).toContain('BackupRepository.s3({ bucket }): expected 3-63 lowercase letters');
    });
  });
});
