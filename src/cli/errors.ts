/**
 * The CLI's two kinds of failure, as STYLE.md asks: bad input is an operating error with a
 * clear message and exit code 2 (`UsageError`), never a stack trace; anything else is a bug
 * and is reported as one (exit code 3).
 */
export { UsageError, formatPath, formatZodError, parseOrThrow } from '../scenario/input-errors.js';

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  /** Every property held (or the scenario met every expectation). */
  ok: 0,
  /** A property failed, an expectation was not met, or a replayed run broke an invariant. */
  failed: 1,
  /** Bad input: unknown flag or suite, malformed seed, invalid scenario file, unreadable file. */
  usage: 2,
  /** A bug in timewait itself. */
  internal: 3,
  /** Stopped by Ctrl-C (SIGINT); what finished was written. */
  interrupted: 130,
  /** Stopped by SIGTERM (CI cancellation, `timeout`, `docker stop`); what finished was written. */
  terminated: 143,
} as const;

