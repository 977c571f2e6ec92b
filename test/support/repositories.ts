import { Credentials, Encryption } from '../../src';

/** The credentials Secret the unit tests of repositories use. */
export const credentials = Credentials.fromSecret('backup-s3');
/** The repository password the unit tests of repositories use. */
export const encryption = Encryption.repositoryPassword({ name: 'backup-repository', key: 'password' });
