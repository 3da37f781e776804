// Loaded with `node --import`: every time from the process's start on is written as one instant, as two processes
// started in the same millisecond write the time they started; earlier times (a data file's) are written as they are.
const started = Date.now();
const toISOString = Date.prototype.toISOString;
Date.prototype.toISOString = function () {
  return this.getTime() >= started ? '2026-12-07T04:14:50.123Z' : toISOString.call(this);
};
