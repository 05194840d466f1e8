#!/usr/bin/env node
'use strict';
// Shim: the compiled daemon CLI lives in dist/ (built by `npm ci` through the prepare script).
require('../../dist/daemon/cli.js')
  .main(process.argv.slice(2))
  .then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`aid: ${error && error.stack ? error.stack : error}\n`);
      process.exit(1);
    },
  );
