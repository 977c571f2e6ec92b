import { Chart, Testing } from 'cdk8s';
import {
  BackupRepository, ClusterBackup, Credentials, Encryption, EtcdSource, SpreadSchedule,
} from '../../../src';

const fleet = Array.from({ length: 200 }, (_, i) => `cluster-${i}/etcd`);

describe('SpreadSchedule', () => {
  test('the same name gives the same time on every call, and the times are pinned (a change would move every job of a fleet)', () => {
    expect(SpreadSchedule.hourly('prod/etcd').expressionString).toBe(SpreadSchedule.hourly('prod/etcd').expressionString);
    // FNV-1a 32 of the UTF-8 name (checked against a Python FNV-1a): the contract with YAML already in git.
    expect(SpreadSchedule.hourly('prod/etcd').expressionString).toBe('59 * * * *');
    expect(SpreadSchedule.daily('prod/config', { fromHour: 1, toHour: 5 }).expressionString).toBe('35 1 * * *');
    expect(SpreadSchedule.weekly('prod/velero').expressionString).toBe('16 19 * * 5');
  });

  test('a fleet spreads over the hour instead of starting at minute 0', () => {
    const minutes = fleet.map((name) => Number(SpreadSchedule.hourly(name).expressionString.split(' ')[0]));
    expect(new Set(minutes).size).toBeGreaterThan(45);
    // No minute holds more than a few of 200 jobs (uniform would be 3.3 each).
    const counts = new Map<number, number>();
    for (const m of minutes) counts.set(m, (counts.get(m) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(10);
    for (const m of minutes) expect(m >= 0 && m < 60).toBe(true);
  });

  test('daily and weekly runs stay inside the window', () => {
    for (const name of fleet) {
      const [minute, hour, , , weekDay] = SpreadSchedule.weekly(name, { fromHour: 1, toHour: 5 }).expressionString.split(' ');
      expect(Number(hour)).toBeGreaterThanOrEqual(1);
      expect(Number(hour)).toBeLessThan(5);
      expect(Number(minute)).toBeLessThan(60);
      expect(Number(weekDay)).toBeLessThan(7);
      const daily = SpreadSchedule.daily(name, { fromHour: 23 }).expressionString.split(' ');
      expect(daily[1]).toBe('23');
    }
    const hours = new Set(fleet.map((name) => SpreadSchedule.daily(name).expressionString.split(' ')[1]));
    expect(hours.size).toBeGreaterThan(20);
  });

  test.each([
    [() => SpreadSchedule.hourly(''), /SpreadSchedule.hourly\(name\): give a non-empty name/],
    [() => SpreadSchedule.daily('x', { fromHour: 24 }), /fromHour must be a whole hour from 0 to 23; got 24/],
    [() => SpreadSchedule.daily('x', { toHour: 1.5 }), /toHour must be a whole hour from 1 to 24/],
    [() => SpreadSchedule.weekly('x', { fromHour: 22, toHour: 2 }), /toHour \(2\) must be after fromHour \(22\)/],
  ])('bad input is an error naming the option (%#)', (fn, message) => {
    expect(fn).toThrow(message);
  });

  test('a job on a spread schedule renders it, and the retention and alert checks accept it', () => {
    const chart = new Chart(Testing.app(), 'prod');
    new ClusterBackup(chart, 'backup', {
      clusterName: 'prod',
      etcd: { source: EtcdSource.kubeadm(), schedule: SpreadSchedule.hourly('prod/etcd') },
      controlPlaneConfig: { nodes: ['cp-1'], schedule: SpreadSchedule.daily('prod/config', { fromHour: 1, toHour: 5 }) },
      repository: BackupRepository.s3({
        bucket: 'backups',
        region: 'eu-west-1',
        credentials: Credentials.fromSecret('s3'),
        encryption: Encryption.repositoryPassword({ name: 'pw', key: 'password' }),
      }),
      acknowledge: { keysStoredOutsideCluster: true, singleCredential: true },
    });
    const cronJobs = Testing.synth(chart).filter((o) => o.kind === 'CronJob');
    const schedules = Object.fromEntries(cronJobs.map((o) => [o.metadata.name, o.spec.schedule]));
    expect(schedules['prod-etcd-backup']).toBe('59 * * * *');
    expect(schedules['prod-config-cp-1']).toBe('35 1 * * *');
  });
});

