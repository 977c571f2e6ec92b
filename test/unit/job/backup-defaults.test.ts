import { BackupDefaults, EtcdVersion } from '../../../src';

describe('BackupDefaults', () => {
  test('every default image is pinned to a version, never a moving tag', () => {
    for (const image of [BackupDefaults.ETCD_IMAGE, BackupDefaults.RESTIC_IMAGE, BackupDefaults.POSTGRES_IMAGE, BackupDefaults.MARIADB_IMAGE]) {
      expect(image).toMatch(/^[a-z0-9.-]+\/[a-z0-9/_.-]+:\d+\.\d+(\.\d+)?(-[a-z0-9]+)?$/);
    }
  });

  test('the etcd image is the default etcd version\'s', () => {
    expect(BackupDefaults.ETCD_IMAGE).toBe(EtcdVersion.DEFAULT.image);
  });

  test('namespaces, user and deadline', () => {
    expect([BackupDefaults.NAMESPACE, BackupDefaults.HOST_ACCESS_NAMESPACE, BackupDefaults.VELERO_NAMESPACE]).toEqual(['backup-system', 'backup-system-host', 'velero']);
    expect(BackupDefaults.NON_ROOT_UID).toBeGreaterThan(0);
    expect(BackupDefaults.ACTIVE_DEADLINE.toMinutes()).toBe(45);
  });
});
