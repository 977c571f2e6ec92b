import { VeleroBackupHook } from '../../../src';
import { schedules } from '../../support/velero';

describe('VeleroSchedule: filters and options', () => {
  test('hooks: typed exec, ready-made database helpers, unique names', () => {
    const [s] = schedules({
      hooks: [
        VeleroBackupHook.fsFreeze({ name: 'freeze', namespace: 'db', podLabels: { app: 'db' }, container: 'fsfreeze', mountPath: '/data' }),
        VeleroBackupHook.postgresDump({ name: 'dump', namespace: 'db', podLabels: { app: 'pg' }, dumpFile: '/var/lib/postgresql/data/backup.dump' }),
      ],
    });
    const [freeze, dump] = s.spec.template.hooks.resources;
    expect(freeze.pre[0].exec).toEqual({ container: 'fsfreeze', command: ['/sbin/fsfreeze', '--freeze', '/data'], onError: 'Fail' });
    expect(freeze.post[0].exec.onError).toBe('Continue');
    expect(dump.pre[0].exec.timeout).toBe('0h10m0s');
    expect(dump.pre[0].exec.command).toContain('-Fc');
    const h = VeleroBackupHook.postgresCheckpoint({ name: 'pg', namespace: 'db', podLabels: { app: 'pg' } });
    expect(() => schedules({ hooks: [h, h] })).toThrow(/the name "pg" is used twice/);
    expect(() => new VeleroBackupHook({ name: 'empty' })).toThrow(/at least one pre or post command/);
  });
});

describe('filters that back up nothing, and hooks that never run', () => {
  test('fsFreeze must name its container (the first container usually has no fsfreeze)', () => {
    expect(() => VeleroBackupHook.fsFreeze({ name: 'freeze', namespace: 'db', podLabels: { app: 'db' }, mountPath: '/data' })).toThrow(/fsFreeze\(\{ container \}\): name the container that runs fsfreeze/);
  });
});
