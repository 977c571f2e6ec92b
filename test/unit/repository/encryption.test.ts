import { Encryption } from '../../../src';

describe('Credentials and Encryption', () => {
  test('bad Secret names and keys are rejected', () => {
    expect(() => Encryption.repositoryPassword({ name: 'x', key: '' })).toThrow(/repositoryPassword\(password\).key/);
  });
});

describe('Encryption', () => {
  test('the repository password is the Secret key it was given', () => {
    expect(Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' }).password)
      .toEqual({ name: 'backup-repository', key: 'password' });
  });

  test('a bad Secret name is rejected, naming the option', () => {
    expect(() => Encryption.repositoryPassword({ name: 'Bad Name', key: 'password' })).toThrow(/Encryption.repositoryPassword\(password\)/);
  });
});
