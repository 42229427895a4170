/**
 * What a command may touch of the outside world, passed in so tests run `main` in-process with
 * captured output: the streams, the environment, the working directory, and how the user
 * invoked us (so printed replay commands can be pasted as they are).
 */
import { isAbsolute, resolve } from 'node:path';

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** `timewait`, or `node dist/cli.js` when run that way: the prefix of printed commands. */
  readonly invocation: string;
  /** Aborted on Ctrl-C: a campaign stops and writes what finished. */
  readonly signal?: AbortSignal;
}

export function resolvePath(io: CliIo, path: string): string {
  return isAbsolute(path) ? path : resolve(io.cwd, path);
}

/** Quote a word for a POSIX shell only when it needs it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
