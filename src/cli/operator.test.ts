import { describe, expect, it } from 'vitest';
import { mlflowUserName } from './operator.js';

const account = () => ({ username: 'account' });

describe('cli > operator', () => {
  it('finds the mlflow.user as getpass.getuser() does, and says "unknown" for a uid with no name', () => {
    expect(mlflowUserName({ USER: 'u', LOGNAME: 'l', USERNAME: 'n' }, account)).toBe('l');
    expect(mlflowUserName({ LOGNAME: '', USER: 'u', LNAME: 'ln' }, account)).toBe('u');
    expect(mlflowUserName({ LNAME: 'ln', USERNAME: 'n' }, account)).toBe('ln');
    expect(mlflowUserName({ USERNAME: 'n' }, account)).toBe('n');
    expect(mlflowUserName({}, account)).toBe('account');
    // os.userInfo() throws for a uid without an entry in the user database, as getpass.getuser() does.
    expect(
      mlflowUserName({}, () => {
        throw Object.assign(new Error('ENOENT: no such file or directory, uv_os_get_passwd'), { code: 'ENOENT' });
      }),
    ).toBe('unknown');
  });
});
