import { Database } from '../../../src';

const credentials = { password: { name: 'app-db', key: 'password' } };

describe('DatabaseDumpBackup', () => {
  test('validation names the option', () => {
    const pg = (o: any) => () => Database.postgres({ host: 'db', database: 'app', credentials, ...o });
    expect(pg({ host: 'db;rm -rf /' })).toThrow(/Database.postgres: host must be a DNS name/);
    expect(pg({ host: '' })).toThrow(/host must be a DNS name/);
    expect(pg({ port: 0 })).toThrow(/Database.postgres: port must be a whole number from 1 to 65535; got 0/);
    expect(pg({ port: 70000 })).toThrow(/port must be a whole number from 1 to 65535/);
    expect(pg({ port: 5432.5 })).toThrow(/port must be a whole number/);
    expect(pg({ database: 'app; DROP' })).toThrow(/Database.postgres: database must be letters, digits/);
    expect(pg({ database: '-app' })).toThrow(/database must be letters/);
    expect(pg({ database: 'a'.repeat(64) })).toThrow(/at most 63 characters/);
    expect(pg({ allDatabases: true })).toThrow(/either database or allDatabases: true, not both/);
    expect(() => Database.postgres({ host: 'db', credentials })).toThrow(/database is required .* allDatabases: true/);
    expect(pg({ credentials: undefined })).toThrow(/credentials are required/);
    expect(pg({ credentials: { password: { name: 'Bad_Name', key: 'password' } } })).toThrow(/credentials.password.name: a Secret name must be a DNS subdomain/);
    expect(pg({ credentials: { password: { name: 'ok', key: 'bad key' } } })).toThrow(/credentials.password.key: a Secret key/);
    expect(pg({ credentials: { ...credentials, user: 'a', userSecret: { name: 'x', key: 'user' } } })).toThrow(/either user or userSecret, not both/);
    expect(pg({ credentials: { ...credentials, user: 'x$(y)' } })).toThrow(/credentials.user must be letters/);
    expect(pg({ credentials: { ...credentials, userSecret: { name: 'x', key: '' } } })).toThrow(/credentials.userSecret.key/);
    expect(() => Database.mysql({ host: 'db', database: 'a b', credentials })).toThrow(/Database.mysql: database must be letters/);
    expect(() => Database.mysql({ host: 'db', port: -1, credentials })).toThrow(/Database.mysql: port must be/);
    expect(Database.mysql({ host: '[fd00::1]', database: 'a'.repeat(64), credentials }).port).toBe(3306);
  });
});

describe('Database', () => {
  test('each engine has its default port', () => {
    const pg = Database.postgres({ host: 'db', database: 'app', credentials });
    expect(pg.port).toBe(5432);
    expect(Database.mysql({ host: 'db', credentials }).port).toBe(3306);
  });

  test('the dump command of each engine', () => {
    expect(Database.postgres({ host: 'db', database: 'app', credentials })._dumpCommand().join(' ')).toMatch(/pg_dump/);
    expect(Database.postgres({ host: 'db', allDatabases: true, credentials })._dumpCommand().join(' ')).toMatch(/pg_dumpall/);
    expect(Database.mysql({ host: 'db', credentials })._dumpCommand().join(' ')).toMatch(/mariadb-dump.*--single-transaction/);
  });
});
