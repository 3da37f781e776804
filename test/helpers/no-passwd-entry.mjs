// Loaded with `node --import`: the process runs under a uid the user database has no entry for (a container run
// under an arbitrary uid, as OpenShift and `docker run --user` do), where os.userInfo() throws libuv's ENOENT, and
// os.homedir() too when HOME is unset.
import os from 'node:os';

os.userInfo = () => {
  const error = new Error('A system error occurred: uv_os_get_passwd returned ENOENT (no such file or directory)');
  error.code = 'ERR_SYSTEM_ERROR';
  throw error;
};

// libuv's home directory is HOME when it is set (empty too), else the user database's entry.
const homedir = os.homedir;
os.homedir = () => {
  if (process.env.HOME !== undefined) return homedir();
  const error = new Error('A system error occurred: uv_os_homedir returned ENOENT (no such file or directory)');
  error.code = 'ERR_SYSTEM_ERROR';
  throw error;
};
