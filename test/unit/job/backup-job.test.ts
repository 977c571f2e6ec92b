/**
 * BackupJob, the core every kind builds on: the hygiene each CronJob gets, the summary line's
 * environment, what cdk8s-plus-28 cannot render (image volumes, node pinning), and the checks it
 * makes for every kind. Through a minimal kind defined here, so a failure points at the core.
 */
import { ApiObject, Chart, Cron, Duration, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { BackupDefaults, BackupJob, Retention } from '../../../src';
import { BackupCronJobOptions, BackupJobProps } from '../../../src/job/backup-job';
import { testRepository } from '../../support/charts';

class TestJob extends BackupJob {
  constructor(scope: Construct, id: string, props: Partial<BackupJobProps> = {}, cron: Partial<BackupCronJobOptions> = {}) {
    super(scope, id, {
      clusterName: 'prod',
      name: 'prod-test',
      component: 'test',
      scripts: ['restic-upload.sh'],
      defaultSchedule: Cron.schedule({ minute: '0' }),
      alertPrefix: 'TestBackup',
      alertGroup: 'test',
      repository: testRepository(),
      namespace: 'backup-system',
      ...props,
    });
    this.addCronJob(this, {
      description: 'a test job',
      failureAdvice: 'look at the log',
      containers: [
        { name: 'work', image: BackupDefaults.RESTIC_IMAGE, command: ['/scripts/restic-upload.sh'] },
        { name: 'side', image: BackupDefaults.RESTIC_IMAGE, command: ['sleep', '1'] },
      ],
      ...cron,
    });
  }
}

function cronJobOf(chart: Chart): any {
  return Testing.synth(chart).find((o: any) => o.kind === 'CronJob');
}

describe('BackupJob: every CronJob', () => {
  test('never overlaps, keeps 3 + 3 Jobs, does not retry in place, runs in UTC within the default deadline', () => {
    const chart = Testing.chart();
    new TestJob(chart, 'job');
    const c = cronJobOf(chart);
    expect(c.spec).toMatchObject({ concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3, timeZone: 'Etc/UTC' });
    const job = c.spec.jobTemplate.spec;
    expect(job.activeDeadlineSeconds).toBe(BackupDefaults.ACTIVE_DEADLINE.toSeconds());
    expect(job.template.spec.restartPolicy).toBe('Never');
  });

  test('gets no service-account token and a RuntimeDefault seccomp profile', () => {
    const chart = Testing.chart();
    new TestJob(chart, 'job');
    const objects = Testing.synth(chart);
    const pod = cronJobOf(chart).spec.jobTemplate.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(objects.find((o: any) => o.kind === 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  test('names its kind, cluster and CronJob for the summary line, only in containers that run a script', () => {
    const chart = Testing.chart();
    new TestJob(chart, 'job');
    const [work, side] = cronJobOf(chart).spec.jobTemplate.spec.template.spec.containers;
    const env = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));
    expect(env(work)).toMatchObject({ SUMMARY_KIND: 'test', SUMMARY_CLUSTER: 'prod', SUMMARY_JOB: 'prod-test' });
    expect(env(side).SUMMARY_KIND).toBeUndefined();
  });

  test('mounts image volumes into the named containers, read-only (cdk8s-plus-28 cannot render them)', () => {
    const chart = Testing.chart();
    new TestJob(chart, 'job', {}, { imageVolumes: [{ name: 'etcd-image', image: 'registry.k8s.io/etcd:3.6.11-0', mountPath: '/etcd-image', containers: ['work'] }] });
    const pod = cronJobOf(chart).spec.jobTemplate.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'etcd-image', image: { reference: 'registry.k8s.io/etcd:3.6.11-0', pullPolicy: 'IfNotPresent' } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'etcd-image', mountPath: '/etcd-image', readOnly: true });
    expect(pod.containers[1].volumeMounts).toBeUndefined();
  });

  test('pins a node by name (matchFields, no label needed) and keeps a node selector and priority class', () => {
    const chart = Testing.chart();
    new TestJob(chart, 'job', { priorityClassName: 'system-cluster-critical' }, { nodeName: 'cp-1', nodeSelector: { 'node-role.kubernetes.io/control-plane': '' } });
    const pod = cronJobOf(chart).spec.jobTemplate.spec.template.spec;
    expect(pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms)
      .toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['cp-1'] }] }]);
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/control-plane': '' });
    expect(pod.priorityClassName).toBe('system-cluster-critical');
  });

  test('is what monitoring reads: name, namespace, schedule, alert prefix and group', () => {
    const chart = Testing.chart();
    const job = new TestJob(chart, 'job');
    expect(job.scheduledJobs).toEqual([expect.objectContaining({ cronJobName: 'prod-test', namespace: 'backup-system', alertPrefix: 'TestBackup', alertGroup: 'test', timeZone: 'Etc/UTC' })]);
    expect(ApiObject.of(job.cronJobs[0]).kind).toBe('CronJob');
  });
});

describe('BackupJob: the checks every kind gets', () => {
  test('a retention finer than the schedule is an error unless allowed', () => {
    const daily = Cron.schedule({ minute: '0', hour: '3' });
    expect(() => new TestJob(Testing.chart(), 'job', { schedule: daily, retention: Retention.hourly24Daily7Weekly4() }))
      .toThrow(/^TestJob: retention .* keeps backups per hour, but the schedule .* runs only every 24 hours at worst; run more often, use a coarser retention, or set allowRetentionFinerThanSchedule: true/);
    expect(() => new TestJob(Testing.chart(), 'job', { schedule: daily, retention: Retention.hourly24Daily7Weekly4(), allowRetentionFinerThanSchedule: true })).not.toThrow();
  });

  test('an image that is no image reference names the option', () => {
    expect(() => new TestJob(Testing.chart(), 'job', { images: { restic: 'restic latest' } }))
      .toThrow(/^TestJob: images\.restic must be an image reference like registry\.example\.com\/etcd:3\.5\.16-0; got "restic latest"/);
  });

  test('an image volume for a container the CronJob does not have is an error', () => {
    expect(() => new TestJob(Testing.chart(), 'job', {}, { imageVolumes: [{ name: 'v', image: 'registry.k8s.io/etcd:3.6.11-0', mountPath: '/v', containers: ['nope'] }] }))
      .toThrow(/image volume v: no container nope/);
  });

  test('backoffLimit is a whole number from 0 to 10', () => {
    expect(() => new TestJob(Testing.chart(), 'job', { backoffLimit: 11 })).toThrow(/^TestJob: backoffLimit must be a whole number from 0 to 10; got 11/);
  });

  test('a CronJob without a namespace is fine until monitoring needs its namespace', () => {
    const job = new TestJob(Testing.chart(), 'job', { namespace: undefined });
    expect(() => job.scheduledJobs[0].namespace).toThrow(/has no namespace .* so set one of them/);
  });

  test('an activeDeadline replaces the default', () => {
    const chart = Testing.chart();
    new TestJob(chart, 'job', { activeDeadline: Duration.minutes(10) });
    expect(cronJobOf(chart).spec.jobTemplate.spec.activeDeadlineSeconds).toBe(600);
  });
});

