/**
 * For the external-stack tests: compile the in-repo reference server (and only what it
 * imports) afresh into node_modules/.cache, so a test runs the code as it is now, not a stale
 * dist/. Not part of the build (tsconfig.build.json excludes test-support files).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Build src/stack/reference-server.ts; returns the command that runs it. */
export function buildReferenceServer(): { command: string; dir: string } {
  const cache = join(ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outDir = mkdtempSync(join(cache, 'timewait-stack-'));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--lib', 'ES2022', '--types', 'node', '--strict', '--skipLibCheck', '--rootDir', join(ROOT, 'src'), '--outDir', outDir];
  try {
    execFileSync(process.execPath, [tsc, ...flags, join(ROOT, 'src', 'stack', 'reference-server.ts')], { cwd: ROOT, stdio: 'pipe' });
  } catch (error) {
    if (!existsSync(join(outDir, 'stack', 'reference-server.js'))) throw error;
  }
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  return { command: `'${process.execPath}' '${join(outDir, 'stack', 'reference-server.js')}'`, dir: outDir };
}

export function removeBuild(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
