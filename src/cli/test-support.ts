/**
 * Helpers for the CLI tests: run `main` in-process with captured output, or the compiled CLI
 * as a child process (built once per test file into node_modules/.cache, so the test sees the
 * code as it is now, not a stale dist/). Not part of the build (tsconfig.build.json).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from './main.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `timewait ARGS` in this process. */
export async function runMain(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined>; signal?: AbortSignal } = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    cwd: options.cwd ?? ROOT,
    invocation: 'timewait',
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  return { code, stdout, stderr };
}

export function tempDir(prefix = 'timewait-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Every file under a directory, temp files included (to check none is left behind). */
export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/**
 * Compile src/ (tsconfig.build.json) into a fresh directory under node_modules/.cache and
 * return the path of its cli.js. Packages resolve from there through the project's node_modules.
 */
export function buildCli(): string {
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outDir = mkdtempSync(join(cache, 'timewait-cli-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir, '--sourceMap', 'false', '--declaration', 'false'], { cwd: ROOT, stdio: 'pipe' });
  } catch (error) {
    // tsc emits even with type errors elsewhere in the tree; only a missing cli.js is fatal.
    if (!existsSync(join(outDir, 'cli.js'))) throw error;
  }
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return join(outDir, 'cli.js');
}

export function removeBuild(cli: string): void {
  rmSync(resolve(cli, '..'), { recursive: true, force: true });
}

export interface Spawned extends Captured {
  readonly signal: NodeJS.Signals | null;
}

/** Run the compiled CLI as a child process. `onStdout` may send it signals. */
export function spawnCli(cli: string, args: readonly string[], options: { cwd?: string; env?: Record<string, string>; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Spawned> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd ?? ROOT, env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      options.onStdout?.(stdout, child);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code: code ?? -1, signal, stdout, stderr }));
  });
}
