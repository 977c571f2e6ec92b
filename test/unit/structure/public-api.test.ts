/**
 * The public API is sealed: src/index.ts lists its exports by name, and they are classes,
 * interfaces and enums only. A free function or a module constant exported there would be
 * TypeScript-only (jsii drops them: Python and the other languages never see them) and would
 * freeze a helper into the API; an `@internal` type would leak the same way. A new name fails
 * here until it is added to PUBLIC below, on purpose.
 */
import * as path from 'path';
import * as ts from 'typescript';

const INDEX = path.join(__dirname, '..', '..', '..', 'src', 'index.ts');

const PUBLIC = [
  'ExternalCredentialRefs',
  'ClusterMaintenanceOptions',
  'Immutability',
  'RepositoryAccessPolicies',
  'RepositoryMaintenance',
  'RepositoryMaintenanceOptions',
  'RepositoryMaintenanceProps',
  'RestServerRepositoryProps',
  'RetainedRepository',
  'S3ObjectLockOptions',
  'AlertAdvice',
  'AzureBlobRepositoryProps',
  'BackupAlertOptions',
  'BackupAlerts',
  'BackupAlertsProps',
  'BackupCronJobOptions',
  'BackupDefaults',
  'BackupDestination',
  'BackupImages',
  'BackupJob',
  'BackupJobOptions',
  'BackupJobProps',
  'BackupRepository',
  'CaCertificate',
  'ClusterAlertsOptions',
  'ClusterBackup',
  'ClusterBackupProps',
  'ClusterVeleroOptions',
  'ControlPlaneConfigBackup',
  'ControlPlaneConfigBackupProps',
  'ControlPlaneConfigOptions',
  'ControlPlaneConfigPaths',
  'CredentialKeys',
  'Credentials',
  'Database',
  'DatabaseCredentials',
  'DatabaseDrillOptions',
  'DatabaseDumpBackup',
  'DatabaseDumpBackupOptions',
  'DatabaseDumpBackupProps',
  'DatabaseRestoreDrill',
  'DatabaseRestoreDrillProps',
  'Distribution',
  'Encryption',
  'EtcdBackupResources',
  'EtcdCertificateFiles',
  'EtcdSnapshotBackup',
  'EtcdSnapshotBackupOptions',
  'EtcdSnapshotBackupProps',
  'EtcdSource',
  'EtcdTools',
  'EtcdToolsImageVolumeOptions',
  'EtcdVersion',
  'ExternalEtcdOptions',
  'ExternalKeysOptions',
  'ExternalSecretKeys',
  'ExternalSecretKeysProps',
  'GcsRepositoryProps',
  'GfsRetentionProps',
  'HostEtcdOptions',
  'IAlertPlan',
  'IBackupJob',
  'IVeleroBackupSchedule',
  'ImageVolumeOptions',
  'KeyDropGuard',
  'MysqlDatabaseOptions',
  'PitfallAcknowledgements',
  'PlannedAlert',
  'PostgresDatabaseOptions',
  'RemoteSecretRef',
  'RepositoryCommonProps',
  'ResourceRequirements',
  'RestoreDrill',
  'RestoreDrillOptions',
  'RestoreDrillProps',
  'Retention',
  'S3RepositoryProps',
  'ScheduledJob',
  'SecretKeyRef',
  'SpreadSchedule',
  'SpreadWindowOptions',
  'Toleration',
  'UnsafePlaintextCredentialsSecret',
  'UnsafePlaintextCredentialsSecretProps',
  'VeleroAppHookOptions',
  'VeleroBackupHook',
  'VeleroBackupHookProps',
  'VeleroBackupStorageLocation',
  'VeleroBackupStorageLocationProps',
  'VeleroExternalCredentials',
  'VeleroExternalCredentialsProps',
  'VeleroFsFreezeOptions',
  'VeleroHookCommand',
  'VeleroPodMonitor',
  'VeleroPodMonitorProps',
  'VeleroPostgresCheckpointOptions',
  'VeleroPostgresDumpOptions',
  'VeleroResourceFilters',
  'VeleroRestore',
  'VeleroRestoreProps',
  'VeleroSchedule',
  'VeleroScheduleProps',
  'VeleroScheduleTier',
  'VeleroServerSideEncryption',
  'VeleroVersion',
  'VeleroVolumeSnapshotLocation',
  'VeleroVolumeSnapshotLocationProps',
  'WatchCronJobOptions',
];

interface Exported { readonly name: string; readonly kind: string; readonly internal: boolean; readonly from: string }

function exportsOfIndex(): Exported[] {
  const program = ts.createProgram([INDEX], { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const index = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
  return checker.getExportsOfModule(index).map((s) => {
    // eslint-disable-next-line no-bitwise -- SymbolFlags is a bit set
    const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
    const d = target.declarations![0];
    return {
      name: s.name,
      kind: ts.SyntaxKind[d.kind],
      internal: ts.getJSDocTags(d).some((t) => t.tagName.text === 'internal'),
      from: path.relative(path.dirname(INDEX), d.getSourceFile().fileName),
    };
  });
}

const exported = exportsOfIndex();

test('index.ts exports classes, interfaces and enums only, none of them @internal', () => {
  const wrong = exported
    .filter((e) => !['ClassDeclaration', 'InterfaceDeclaration', 'EnumDeclaration'].includes(e.kind) || e.internal)
    .map((e) => `${e.name} (${e.kind}${e.internal ? ', @internal' : ''}, ${e.from})`);
  expect(wrong).toEqual([]);
});

test('index.ts exports exactly the public names (add a new one to PUBLIC on purpose)', () => {
  expect(exported.map((e) => e.name).sort()).toEqual([...PUBLIC].sort());
});

test('index.ts names its exports (no `export *`, which would let a helper leak unnoticed)', () => {
  const text = ts.sys.readFile(INDEX)!;
  expect(text).not.toMatch(/export \*/);
});
