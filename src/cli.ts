#!/usr/bin/env node
/**
 * The `timewait` executable: wires the real process (streams, environment, Ctrl-C) to `main`
 * in src/cli/main.ts. The first Ctrl-C stops a campaign cleanly (finished chunks are written);
 * a second one quits at once (files are written atomically, so none is left half-written).
 */
import { basename, relative } from 'node:path';
import { EXIT } from './cli/errors.js';
import { main } from './cli/main.js';
import { abandonAllOutputs } from './cli/output.js';

const controller = new AbortController();
let interrupts = 0;
/**
 * SIGINT (Ctrl-C) and SIGTERM (CI cancellation, `timeout`, `docker stop`, Kubernetes) are
 * handled alike: the first stops the campaign after the chunks in progress, the files are
 * written with what finished, and the exit code is 130 or 143. A second signal quits at once,
 * removing the temporary files of outputs not yet in place (the targets are untouched).
 */
const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
  interrupts++;
  const code = signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
  if (interrupts === 1) {
    process.stderr.write(`\ntimewait: ${signal === 'SIGTERM' ? 'terminated (SIGTERM)' : 'interrupted'}; stopping and writing what finished (${signal === 'SIGTERM' ? 'a second signal' : 'Ctrl-C again'} to quit at once)\n`);
    controller.abort(signal);
  } else {
    abandonAllOutputs();
    process.exit(code);
  }
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

// `timewait run | head`: a closed pipe is the reader saying it has seen enough, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const script = process.argv[1] ?? 'timewait';
const invocation = basename(script) === 'timewait' ? 'timewait' : `node ${relative(process.cwd(), script) || script}`;

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  invocation,
  signal: controller.signal,
});
// A command that cannot stop early (replay, scenario, merge) still says it was signalled.
process.exitCode = controller.signal.aborted && code !== EXIT.usage && code !== EXIT.internal ? (controller.signal.reason === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted) : code;
