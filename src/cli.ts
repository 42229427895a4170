#!/usr/bin/env node
/**
 * The `timewait` executable: wires the real process (streams, environment, Ctrl-C) to `main`
 * in src/cli/main.ts. The first Ctrl-C stops a campaign cleanly (finished chunks are written);
 * a second one quits at once (files are written atomically, so none is left half-written).
 */
import { basename, relative } from 'node:path';
import { main } from './cli/main.js';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  if (interrupts === 1) {
    process.stderr.write('\ntimewait: interrupted; stopping and writing what finished (Ctrl-C again to quit at once)\n');
    controller.abort();
  } else {
    process.exit(130);
  }
});

// `timewait run | head`: a closed pipe is the reader saying it has seen enough, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const script = process.argv[1] ?? 'timewait';
const invocation = basename(script) === 'timewait' ? 'timewait' : `node ${relative(process.cwd(), script) || script}`;

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  invocation,
  signal: controller.signal,
});
