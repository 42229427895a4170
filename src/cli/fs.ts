/**
 * Files are written atomically: to a temporary file in the same directory, then renamed over
 * the target. A reader (or an interrupted run) sees the old file or the whole new one, never
 * half of one, and bad input writes nothing.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from './errors.js';

let tempCounter = 0;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(`cannot create directory ${dir}: ${errorCode(error)}`);
  }
  const temp = join(dir, `.${basename(path)}.${process.pid}.${++tempCounter}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temp, 'w');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== null) closeSync(fd);
    rmSync(temp, { force: true });
    throw new UsageError(`cannot write ${path}: ${errorCode(error)}`);
  }
}

/** Read a text file the user named, with the errors a user can act on. */
export function readUserFile(path: string, what: string): string {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new UsageError(`${what} ${path} is a directory, not a file`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${what} ${path}: ${errorCode(error)}`);
  }
  if (text.trim() === '') throw new UsageError(`${what} ${path} is empty`);
  return text;
}

/** Parse JSON from a user's file, reporting line and column on a syntax error. */
export function parseUserJson(text: string, path: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message);
    let where = '';
    if (position !== null) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset);
      const line = before.split('\n').length;
      const column = offset - before.lastIndexOf('\n');
      where = ` at line ${line}, column ${column}`;
    }
    throw new UsageError(`${what} ${path} is not valid JSON${where}: ${message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: string }).code;
    const meaning: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
      ENOTDIR: 'a part of the path is not a directory',
      EROFS: 'read-only file system',
      ENOSPC: 'no space left on device',
    };
    return meaning[code] !== undefined ? `${meaning[code]} (${code})` : code;
  }
  return error instanceof Error ? error.message : String(error);
}
