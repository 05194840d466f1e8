#!/usr/bin/env node
'use strict';
// Shim: the client is bundled into one file, dist/aic.js (built by `npm ci` through the prepare
// script), because resolving and loading ~40 separate modules is most of its start-up time.
require('../../dist/aic.js')
  .main(process.argv.slice(2))
  .then(
    (code) => {
      // exitCode, not exit(): let piped stdout drain before the process ends.
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`aic: ${error && error.stack ? error.stack : error}\n`);
      process.exitCode = 1;
    },
  );
