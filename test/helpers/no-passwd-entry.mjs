// Loaded with `node --import`: the process runs under a uid the user database has no entry for (a container run
// under an arbitrary uid, as OpenShift and `docker run --user` do), where os.userInfo() throws libuv's ENOENT.
import os from 'node:os';

os.userInfo = () => {
  const error = new Error('A system error occurred: uv_os_get_passwd returned ENOENT (no such file or directory)');
  error.code = 'ERR_SYSTEM_ERROR';
  throw error;
};
