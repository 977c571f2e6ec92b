export * from './policy/retention';
export * from './policy/encryption';
export * from './repository/secret-key-ref';
export * from './repository/credentials';
export * from './repository/backup-repository';
export * from './backup-job-options';
export * from './etcd/etcd-source';
export * from './etcd/etcd-snapshot-backup';
