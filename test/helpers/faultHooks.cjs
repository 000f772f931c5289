// Preloaded (`node --require`) into a worker or CLI process by test/integration/faults.test.ts, so
// a test can kill the process at an exact point of the write phase instead of racing a timer:
// QP_FAULT=stall-before-commit stops the process at its first rename of a staged output (every
// file staged and flushed, none renamed); QP_FAULT=stall-mid-commit stops it after that first
// rename. The process announces the stop on stderr and then blocks until it is killed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { syncBuiltinESMExports } = require('node:module');

const mode = process.env.QP_FAULT;
if (mode === 'stall-before-commit' || mode === 'stall-mid-commit') {
  const STAGED = /^\..+\.\d+\.[0-9a-z]+\.tmp$/;
  const renameSync = fs.renameSync;
  let renames = 0;
  fs.renameSync = function patchedRenameSync(from, to) {
    if (STAGED.test(path.basename(String(from)))) {
      if (renames === (mode === 'stall-before-commit' ? 0 : 1)) {
        fs.writeSync(2, `qp-fault: ${mode} at ${path.basename(String(to))}\n`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      }
      renames++;
    }
    return renameSync.call(this, from, to);
  };
  syncBuiltinESMExports();
}
