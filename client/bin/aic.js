#!/usr/bin/env node
'use strict';
// Shim: the compiled client lives in dist/ (built by `npm ci` through the prepare script).
require('../../dist/client/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    // exitCode, not exit(): let piped stdout drain before the process ends.
    process.exitCode = code;
  }, (error) => {
    process.stderr.write(`aic: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 1;
  });
