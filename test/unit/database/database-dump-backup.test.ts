import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Cron, Testing } from 'cdk8s';
import * as yaml from 'yaml';
import { Database, DatabaseDumpBackup, DatabaseDumpBackupProps, Retention, BackupDefaults } from '../../../src';
import { testRepository } from '../../support/charts';
import { expectValidManifests } from '../../support/validate';

const credentials = { password: { name: 'app-db', key: 'password' } };
const pgApp = () => Database.postgres({ host: 'db.prod.svc.cluster.local', database: 'app', credentials: { ...credentials, user: 'backup' } });

function synth(props: Partial<DatabaseDumpBackupProps> = {}) {
  const chart = Testing.chart();
  const backup = new DatabaseDumpBackup(chart, 'db', {
    clusterName: 'prod',
    namespace: 'backup-system',
    repository: testRepository(),
    database: pgApp(),
    ...props,
  });
  const manifests = Testing.synth(chart);
  const cronJobs = manifests.filter((m) => m.kind === 'CronJob');
  return { backup, manifests, cronJobs, pod: cronJobs[0]?.spec.jobTemplate.spec.template.spec };
}

const envOf = (c: any) => Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('DatabaseDumpBackup', () => {
  test('PostgreSQL: one CronJob, restic copied by an init container, the postgres image runs db-dump.sh with pg_dump --create', () => {
    // GIVEN / WHEN
    const { backup, cronJobs, pod } = synth();

    // THEN
    expect(cronJobs).toHaveLength(1);
    expect(cronJobs[0].metadata.name).toBe('prod-pg-app');
    expect(cronJobs[0].spec.schedule).toBe('0 0 * * *');
    expect(cronJobs[0].spec.concurrencyPolicy).toBe('Forbid');
    expect(pod.initContainers).toHaveLength(1);
    expect(pod.initContainers[0]).toMatchObject({ image: BackupDefaults.RESTIC_IMAGE, command: ['cp', '/usr/bin/restic', '/tools/restic'] });
    const [dump] = pod.containers;
    expect(pod.containers).toHaveLength(1);
    expect(dump.image).toBe(BackupDefaults.POSTGRES_IMAGE);
    expect(dump.command).toEqual(['/bin/bash', '/scripts/db-dump.sh']);
    expect(dump.args).toEqual(['pg_dump', '--no-password', '--create']);
    const env = envOf(dump);
    expect(env).toMatchObject({
      PGHOST: 'db.prod.svc.cluster.local',
      PGPORT: '5432',
      PGDATABASE: 'app',
      PGUSER: 'backup',
      PGPASSWORD: { secretKeyRef: { name: 'app-db', key: 'password' } },
      RESTIC_BIN: '/tools/restic',
      BACKUP_HOST: 'prod',
      BACKUP_TAG: 'db-dump-prod-pg-app',
      DUMP_FILE: 'app.sql',
      FORGET_ARGS: '--keep-last 1 --keep-daily 7 --keep-weekly 4 --keep-monthly 12',
      RESTIC_REPOSITORY: 's3:https://minio.example.com:9000/backups/k8s/prod/database/prod-pg-app',
    });
    expect(backup.resticRepository).toBe(env.RESTIC_REPOSITORY);
    expect(backup.resticTag).toBe('db-dump-prod-pg-app');
    expect(backup.resticHost).toBe('prod');
    expect(backup.scheduledJobs.map((j) => j.cronJobName)).toEqual(['prod-pg-app']);
  });

  test('pg_dumpall for a whole server; MySQL/MariaDB with mariadb-dump --single-transaction and the user from a Secret', () => {
    const all = synth({ database: Database.postgres({ host: '10.0.0.5', port: 6432, allDatabases: true, credentials }) });
    expect(all.cronJobs[0].metadata.name).toBe('prod-pg-all');
    expect(all.pod.containers[0].args).toEqual(['pg_dumpall', '--no-password']);
    expect(envOf(all.pod.containers[0])).toMatchObject({ PGHOST: '10.0.0.5', PGPORT: '6432', PGUSER: 'postgres', DUMP_FILE: 'all-databases.sql' });

    const { pod, backup } = synth({
      database: Database.mysql({ host: 'mysql.prod.svc', database: 'shop_db', credentials: { ...credentials, userSecret: { name: 'app-db', key: 'user' } } }),
    });
    const [dump] = pod.containers;
    expect(backup.name).toBe('prod-mysql-shop-db');
    expect(dump.image).toBe(BackupDefaults.MARIADB_IMAGE);
    expect(dump.args).toEqual(expect.arrayContaining(['mariadb-dump', '--host=mysql.prod.svc', '--port=3306', '--user=$(DB_USER)',
      '--single-transaction', '--databases', 'shop_db']));
    expect(dump.args.slice(-2)).toEqual(['--databases', 'shop_db']);
    const env = envOf(dump);
    expect(env.DB_USER).toEqual({ secretKeyRef: { name: 'app-db', key: 'user' } });
    expect(env.MYSQL_PWD).toEqual({ secretKeyRef: { name: 'app-db', key: 'password' } });
    // DB_USER comes before the args that reference it (Kubernetes expands $(VAR) from the env)
    expect(dump.env[0].name).toBe('DB_USER');

    const everything = synth({ database: Database.mysql({ host: 'mysql', credentials }) });
    expect(everything.pod.containers[0].args).toContain('--all-databases');
    expect(everything.backup.name).toBe('prod-mysql-all');
  });

  test('hardened like every job: uid 999, read-only root with /tmp emptyDir, all capabilities dropped, RuntimeDefault, no token', () => {
    const { pod, manifests } = synth();
    expect(pod.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999, fsGroup: 999, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext).toMatchObject({
        runAsUser: 999, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false, capabilities: { drop: ['ALL'] },
      });
      expect(c.imagePullPolicy).toBe('IfNotPresent');
      expect(c.resources.limits.memory).toBeDefined();
    }
    expect(pod.containers[0].volumeMounts).toEqual(expect.arrayContaining([
      { mountPath: '/tmp', name: 'tmp' }, { mountPath: '/tools', name: 'tools', readOnly: true }, { mountPath: '/scripts', name: 'scripts', readOnly: true },
    ]));
    expect(envOf(pod.containers[0])).toMatchObject({ TMPDIR: '/tmp', RESTIC_CACHE_DIR: '/tmp/restic-cache' });
    const sa = manifests.find((m) => m.kind === 'ServiceAccount');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'CronJob', 'ServiceAccount']);
  });

  test('no plaintext secret: passwords only as secretKeyRef, the script from assets in the ConfigMap', () => {
    const { manifests } = synth({
      database: Database.mysql({ host: 'mysql', database: 'app', credentials: { password: { name: 'db-secret-name', key: 'pw' }, user: 'root' } }),
    });
    const text = manifests.map((m) => yaml.stringify(m)).join('\n');
    expect(text).not.toMatch(/PGPASSWORD:|MYSQL_PWD=|--password/);
    const pod = manifests.find((m) => m.kind === 'CronJob').spec.jobTemplate.spec.template.spec;
    for (const e of pod.containers[0].env.filter((x: any) => /PASSWORD|PWD/.test(x.name))) {
      expect(e.value).toBeUndefined();
      expect(e.valueFrom.secretKeyRef).toBeDefined();
    }
    const cm = manifests.find((m) => m.kind === 'ConfigMap');
    expect(cm.data['db-dump.sh']).toBe(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'assets', 'db-dump.sh'), 'utf8'));
  });

  test('deterministic and schema-valid', () => {
    const a = synth().manifests;
    const b = synth().manifests;
    expect(yaml.stringify(a)).toBe(yaml.stringify(b));
    expectValidManifests(a);
    expectValidManifests(synth({ database: Database.mysql({ host: 'mysql', credentials }) }).manifests);
  });

  test('schedule, retention, images and resources are the user\'s', () => {
    const { cronJobs, pod } = synth({
      schedule: Cron.schedule({ minute: '30', hour: '2' }),
      retention: Retention.keepLast(5),
      images: { postgres: 'registry.example.com/postgres:17.2', restic: 'registry.example.com/restic:0.17.3' },
      name: 'app-db',
    });
    expect(cronJobs[0].metadata.name).toBe('app-db');
    expect(cronJobs[0].spec.schedule).toBe('30 2 * * *');
    expect(pod.containers[0].image).toBe('registry.example.com/postgres:17.2');
    expect(pod.initContainers[0].image).toBe('registry.example.com/restic:0.17.3');
    expect(envOf(pod.containers[0]).FORGET_ARGS).toBe('--keep-last 5');
  });

  test('restoreSection: the newest dump of its own group, piped into psql / mariadb, every value quoted', () => {
    const { backup } = synth();
    const section = backup.restoreSection();
    expect(section).toMatch(/^## PostgreSQL database app on db.prod.svc.cluster.local:5432 \(`prod-pg-app`\)/);
    expect(section).toContain('restic -r s3:https://minio.example.com:9000/backups/k8s/prod/database/prod-pg-app dump --no-lock --host prod '
      + '--tag db-dump-prod-pg-app latest /app.sql \\\n  | PGPASSWORD="${TARGET_PASSWORD}" psql -X -q -v ON_ERROR_STOP=1');
    const maria = synth({ database: Database.mysql({ host: 'mysql', database: 'app', credentials }) }).backup.restoreSection();
    expect(maria).toContain('| MYSQL_PWD="${TARGET_PASSWORD}" mariadb --protocol=TCP --host "${TARGET_HOST}"');

    // The shell block is valid shell.
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1];
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'db-runbook-')), 'block.sh');
    fs.writeFileSync(file, block);
    execFileSync('bash', ['-n', file]);
  });

  test('validation names the option', () => {
    expect(() => synth({ database: undefined as any })).toThrow(/DatabaseDumpBackup: database is required, e.g. Database.postgres/);
    expect(() => synth({ clusterName: 'a-very-long-cluster-name-that-is-long', database: Database.postgres({ host: 'db', database: 'my_long_database_name', credentials }) }))
      .toThrow(/name \(CronJob names are limited to 52 characters; set `name` to a shorter one\)/);
    expect(() => synth({ images: { mariadb: 'not an image' } })).toThrow(/images.mariadb must be an image reference/);
  });

  test('IPv6 hosts are given to the clients without brackets', () => {
    const { pod } = synth({ database: Database.postgres({ host: '[fd00::1]', database: 'app', credentials }) });
    expect(envOf(pod.containers[0]).PGHOST).toBe('fd00::1');
    const maria = synth({ database: Database.mysql({ host: '[fd00::1]', database: 'app', credentials }) });
    expect(maria.pod.containers[0].args).toContain('--host=fd00::1');
  });

  test('drill: a second CronJob in the database image, restic copied in, a throwaway server on a scratch emptyDir, no retention', () => {
    const { manifests, backup } = synth({ drill: { requiredTable: 'public.items', minRows: 100, roles: ['app_owner'] } });
    const drill = backup.drill!;
    expect(drill.scheduledJobs.map((j) => [j.cronJobName, j.alertPrefix])).toEqual([['prod-pg-app-drill', 'DatabaseRestoreDrill']]);
    expect(drill.retention).toBeUndefined();
    const cj = manifests.find((m) => m.kind === 'CronJob' && m.metadata.name === 'prod-pg-app-drill');
    expect(cj.spec.schedule).toBe('0 6 * * *');
    const spec = cj.spec.jobTemplate.spec.template.spec;
    expect(spec.securityContext).toMatchObject({ runAsUser: 999, runAsNonRoot: true });
    const [c] = spec.containers;
    expect(c.image).toBe(BackupDefaults.POSTGRES_IMAGE);
    expect(c.command).toEqual(['/bin/bash', '/scripts/db-drill-postgres.sh']);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(envOf(c)).toMatchObject({
      BACKUP_HOST: 'prod',
      BACKUP_TAG: 'db-dump-prod-pg-app',
      DUMP_FILE: 'app.sql',
      DUMP_USER: 'backup',
      DRILL_ROLES: 'app_owner',
      DRILL_DATABASE: 'app',
      DRILL_CHECK_SQL: 'SELECT count(*) FROM "public"."items"',
      DRILL_MIN_ROWS: '100',
      DUMP_COMPLETE_MARKER: '-- PostgreSQL database dump complete',
      RESTIC_REPOSITORY: backup.resticRepository,
    });
    expect(spec.volumes).toContainEqual({ name: 'work', emptyDir: { sizeLimit: '8192Mi' } });
    expect(drill.restoreSection()).toBeUndefined();
    expectValidManifests(manifests);

    const maria = synth({ database: Database.mysql({ host: 'mysql', credentials }), drill: { requiredTable: 'items', requiredDatabase: 'shop', name: 'shop-drill' } });
    const mc = maria.manifests.find((m) => m.kind === 'CronJob' && m.metadata.name === 'shop-drill').spec.jobTemplate.spec.template.spec.containers[0];
    expect(mc.command).toEqual(['/bin/bash', '/scripts/db-drill-mysql.sh']);
    expect(envOf(mc)).toMatchObject({ DRILL_CHECK_SQL: 'SELECT COUNT(*) FROM `shop`.`items`', DRILL_MIN_ROWS: '1', DUMP_COMPLETE_MARKER: '-- Dump completed' });
    expect(envOf(mc).DUMP_USER).toBeUndefined();
  });

  test('drill validation names the option', () => {
    expect(() => synth({ drill: { requiredTable: 'items; DROP' } })).toThrow(/DatabaseRestoreDrill: requiredTable must be a table name/);
    expect(() => synth({ drill: { requiredTable: 'items', minRows: -1 } })).toThrow(/DatabaseRestoreDrill: minRows must be a whole number/);
    expect(() => synth({ drill: { requiredTable: 'items', roles: ['bad role'] } })).toThrow(/DatabaseRestoreDrill: roles: "bad role" is not a role name/);
    expect(() => synth({ database: Database.mysql({ host: 'mysql', credentials }), drill: { requiredTable: 'items' } }))
      .toThrow(/DatabaseRestoreDrill: requiredDatabase is required when the backup dumps all databases/);
    expect(() => synth({ name: 'a'.repeat(50), drill: { requiredTable: 'items' } })).toThrow(/DatabaseRestoreDrill: name/);
  });
});
