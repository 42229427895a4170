/**
 * Every file a command writes goes through here, so that each kind of output path is handled
 * once and the same way by every command:
 *
 * - a regular file, or a path that does not exist yet, is written atomically: to a temporary file
 *   in the same directory, then renamed over the target. A reader (or an interrupted run) sees the
 *   old file or the whole new one, never half of one.
 * - a device, a pipe or a socket (`/dev/null`, `/dev/stdout`, a FIFO) is written in place, as a
 *   stream: renaming a file over `/dev/null` (which root may do) would replace the device node.
 * - a symbolic link is followed: the target is written (atomically when it is a regular file) and
 *   the link stays a link.
 * - a directory, a path through a regular file, an unwritable place, or a path that is also one
 *   of the command's inputs is refused with a UsageError (exit 2) naming the flag.
 *
 * Commands check every output path with `OutputSet` before any work starts (`checkFile`,
 * `checkDir`), so bad output paths cost nothing and leave nothing behind, then write with
 * `writeOutput` or, for a file written piece by piece, `openOutput`.
 */
import { accessSync, closeSync, constants, fchmodSync, fsyncSync, lstatSync, mkdirSync, openSync, readlinkSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';

/** How an output path is written. */
export type OutputKind = 'atomic' | 'stream';

export interface OutputTarget {
  /** The flag or role that named it (`--csv`), for messages. */
  readonly role: string;
  /** The path as the user gave it (for messages and "wrote …" lines). */
  readonly shown: string;
  /** Absolute path written: symbolic links followed. */
  readonly path: string;
  readonly kind: OutputKind;
  /** Mode bits of the file being replaced (kept), or null for a new file. */
  readonly mode: number | null;
}

/** Symbolic links followed at most this many times (Linux's own limit is 40). */
const MAX_SYMLINK_HOPS = 40;

/** Names that are the process's own streams whatever they point at: always written in place. */
const OWN_STREAM = /^\/(dev\/(stdout|stderr|fd\/\d+)|proc\/self\/fd\/\d+)$/;

/** The descriptor `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` or `/proc/self/fd/N` names, or null. */
function ownDescriptor(path: string): number | null {
  if (!OWN_STREAM.test(path)) return null;
  if (path === '/dev/stdout') return 1;
  if (path === '/dev/stderr') return 2;
  return Number(path.slice(path.lastIndexOf('/') + 1));
}

/** Follow symbolic links from `path` to what they finally name (which may not exist yet). */
export function followLinks(path: string, role = 'output'): string {
  let current = path;
  for (let hop = 0; hop < MAX_SYMLINK_HOPS; hop++) {
    let stats: Stats;
    try {
      stats = lstatSync(current);
    } catch (error) {
      if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') return current;
      throw new UsageError(`${role} ${path}: ${describeFsError(error)}`);
    }
    if (!stats.isSymbolicLink()) return current;
    if (OWN_STREAM.test(current)) return current;
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw new UsageError(`${role} ${path}: too many levels of symbolic links`);
}

/** The target's stats, or null when nothing is there yet; any other failure is a UsageError naming the output. */
function statIfThere(target: string, role: string, shown: string): Stats | null {
  try {
    return statSync(target);
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw new UsageError(`${role} ${shown}: ${describeFsError(error)}`);
    return null;
  }
}

/** What an output file path is, checked now: throws a UsageError for a path that cannot be written. */
export function checkOutputFile(path: string, role: string, shown = path): OutputTarget {
  if (OWN_STREAM.test(path)) return { role, shown, path, kind: 'stream', mode: null };
  const target = followLinks(path, role);
  const stats = statIfThere(target, role, shown);
  if (stats !== null) {
    if (stats.isDirectory()) throw new UsageError(`${role} ${shown} is a directory; give a file name`);
    if (!stats.isFile()) {
      // A device, FIFO or socket: written in place.
      assertWritable(target, role, shown);
      return { role, shown, path: target, kind: 'stream', mode: null };
    }
    assertWritable(target, role, shown);
    assertCanCreateIn(dirname(target), role, shown);
    return { role, shown, path: target, kind: 'atomic', mode: stats.mode & 0o7777 };
  }
  assertCanCreateIn(dirname(target), role, shown);
  return { role, shown, path: target, kind: 'atomic', mode: null };
}

/** An output directory (`--reports-dir`, `--report`): an existing writable directory, or one that can be created. Returns its path, links followed. */
export function checkOutputDir(path: string, role: string, shown = path): string {
  const target = followLinks(path, role);
  const stats = statIfThere(target, role, shown);
  if (stats !== null) {
    if (!stats.isDirectory()) throw new UsageError(`${role} ${shown} is a file, not a directory`);
    assertWritable(target, role, shown);
    return target;
  }
  assertCanCreateIn(dirname(target), role, shown);
  return target;
}

function assertWritable(path: string, role: string, shown: string): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (error) {
    throw new UsageError(`${role} ${shown} cannot be written: ${describeFsError(error)}`);
  }
}

/** The nearest existing ancestor must be a writable directory (the rest is created at write time). */
function assertCanCreateIn(dir: string, role: string, shown: string): void {
  let current = dir;
  for (;;) {
    let stats: Stats | null = null;
    try {
      stats = statSync(current);
    } catch (error) {
      const code = codeOf(error);
      if (code !== 'ENOENT') throw new UsageError(`${role} ${shown} cannot be written: ${describeFsError(error)}`);
    }
    if (stats !== null) {
      if (!stats.isDirectory()) throw new UsageError(`${role} ${shown} cannot be written: ${current} is a file, not a directory`);
      try {
        accessSync(current, constants.W_OK);
      } catch (error) {
        throw new UsageError(`${role} ${shown} cannot be written: directory ${current}: ${describeFsError(error)}`);
      }
      return;
    }
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

/** File identity (device and inode) of an existing path, or null. */
function identity(path: string): string | null {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return null;
  }
}

/**
 * The output paths of one command, checked before it starts: each must be writable, none may be
 * one of the command's inputs, and no two may be the same file.
 */
export class OutputSet {
  private readonly inputs: { path: string; shown: string; id: string | null }[] = [];
  private readonly files: OutputTarget[] = [];

  /** Declare an input (a scenario file, a CSV to merge): no output may replace it. */
  input(path: string, shown = path): void {
    this.inputs.push({ path: followLinks(path), shown, id: identity(path) });
  }

  file(path: string, role: string, shown = path): OutputTarget {
    const target = checkOutputFile(path, role, shown);
    if (target.kind === 'atomic') {
      const id = identity(target.path);
      for (const input of this.inputs) {
        if (input.path === target.path || (id !== null && id === input.id)) throw new UsageError(`${role} ${shown} is also an input (${input.shown}); write the output somewhere else`);
      }
      for (const other of this.files) {
        if (other.kind === 'atomic' && other.path === target.path) throw new UsageError(`${role} ${shown} is also the ${other.role} output; give them different files`);
      }
    }
    this.files.push(target);
    return target;
  }

  dir(path: string, role: string, shown = path): string {
    return checkOutputDir(path, role, shown);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** A file being written piece by piece: nothing is visible at the target until `commit`. */
export interface OutputWriter {
  readonly target: OutputTarget;
  write(data: string | Uint8Array): void;
  /** Flush and put the file in place. */
  commit(): void;
  /** Drop what was written (the temporary file); the target is untouched. */
  abandon(): void;
}

/** Temporary files not yet renamed or removed: removed by `abandonAllOutputs` on a hard exit. */
const pendingTemps = new Set<string>();
let tempCounter = 0;

export function openOutput(target: OutputTarget): OutputWriter {
  const writePath = target.kind === 'atomic' ? join(dirname(target.path), `.${basename(target.path)}.${process.pid}.${++tempCounter}.tmp`) : target.path;
  let fd: number;
  try {
    if (target.kind === 'atomic') mkdirSync(dirname(target.path), { recursive: true });
    // A FIFO nobody reads would block the open for ever: open it without blocking first (ENXIO
    // when there is no reader), and keep that open until the real one is, so the reader never
    // sees the writers go (and stop).
    const own = ownDescriptor(target.path);
    const probe = own === null && target.kind === 'stream' && statSync(writePath).isFIFO() ? openSync(writePath, constants.O_WRONLY | constants.O_NONBLOCK) : null;
    try {
      // A stream is opened for appending: /dev/stdout redirected to a file keeps what is already there.
      // The process's own streams are written through their descriptors: a socket (what a
      // parent process often hands over) cannot be opened again by name.
      fd = own ?? openSync(writePath, target.kind === 'atomic' ? 'wx' : 'a');
    } finally {
      if (probe !== null) closeSync(probe);
    }
  } catch (error) {
    throw new UsageError(`cannot write ${target.shown}: ${describeFsError(error)}`);
  }
  if (target.kind === 'atomic') pendingTemps.add(writePath);
  let open = true;
  const close = () => {
    if (!open) return;
    open = false;
    if (ownDescriptor(target.path) === null) closeSync(fd);
  };
  const fail = (error: unknown): never => {
    close();
    if (target.kind === 'atomic') {
      rmSync(writePath, { force: true });
      pendingTemps.delete(writePath);
    }
    throw new UsageError(`cannot write ${target.shown}: ${describeFsError(error)}`);
  };
  return {
    target,
    write(data) {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      try {
        let offset = 0;
        while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      } catch (error) {
        fail(error);
      }
    },
    commit() {
      if (!open) return;
      try {
        if (target.kind === 'atomic') {
          if (target.mode !== null) fchmodSync(fd, target.mode);
          fsyncSync(fd);
        }
        close();
        if (target.kind === 'atomic') {
          renameSync(writePath, target.path);
          pendingTemps.delete(writePath);
        }
      } catch (error) {
        fail(error);
      }
    },
    abandon() {
      try {
        close();
      } catch {
        // Already failed; nothing more to do.
      }
      if (target.kind === 'atomic') {
        rmSync(writePath, { force: true });
        pendingTemps.delete(writePath);
      }
    },
  };
}

/** Write a whole output at once. */
export function writeOutput(target: OutputTarget, data: string | Uint8Array): void {
  const writer = openOutput(target);
  writer.write(data);
  writer.commit();
}

/** On a hard exit (a second Ctrl-C): remove the temporary files of outputs not committed. */
export function abandonAllOutputs(): void {
  for (const temp of pendingTemps) rmSync(temp, { force: true });
  pendingTemps.clear();
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

export function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** A file-system error as words a user can act on: `permission denied (EACCES)`. */
export function describeFsError(error: unknown): string {
  if (error instanceof UsageError) return error.message;
  const code = codeOf(error);
  if (code !== undefined) {
    const meaning: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      EISDIR: 'is a directory',
      ENOTDIR: 'a part of the path is not a directory',
      EROFS: 'read-only file system',
      ENOSPC: 'no space left on device',
      EEXIST: 'already exists',
      ELOOP: 'too many levels of symbolic links',
      ENAMETOOLONG: 'file name too long',
      EPIPE: 'the reader closed the pipe',
      ENXIO: 'no reader on the other end (a FIFO nobody reads)',
    };
    return meaning[code] !== undefined ? `${meaning[code]} (${code})` : code;
  }
  return error instanceof Error ? error.message : String(error);
}
