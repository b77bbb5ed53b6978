#!/usr/bin/env node
import { main } from '../dist/cli.js';

// output piped into `head` and the like: stop quietly when the reader goes away
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv);
