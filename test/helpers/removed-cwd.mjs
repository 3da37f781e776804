// Loaded with `node --import`: the working directory the process started in is removed before the command runs, as a
// CI step that deletes its checkout leaves the processes started in it. Node keeps the directory it read as it
// started, so process.cwd() answers as it does in a process started in a directory already removed.
import { realpathSync, rmdirSync } from 'node:fs';

rmdirSync(realpathSync.native('.'));
process.cwd = () => {
  const error = new Error('ENOENT: process.cwd failed with error no such file or directory, the current working directory was likely removed without changing the working directory, uv_cwd');
  Object.assign(error, { errno: -2, code: 'ENOENT', syscall: 'uv_cwd' });
  throw error;
};
