/**
 * A synchronous line channel to a child process: write one request line, block until the one
 * reply line. The simulator is synchronous (a socket call returns before the next event runs),
 * so the external stack must answer inside the call.
 *
 * How: two named pipes. The child is started as `sh -c 'exec CMD <req >res 2>err'`, so its
 * stdin and stdout are the pipes and it needs nothing but plain blocking reads and writes. The
 * parent opens them with ordinary blocking descriptors and uses fs.writeSync / fs.readSync, which
 * block the calling thread only. When the child dies, its end of `res` closes and the read
 * returns end-of-file, which is reported with the child's stderr; nothing hangs.
 *
 * Measured against the alternative (a worker thread owning an async child process, the main
 * thread waiting on Atomics.wait): see docs/external-stack.md; the pipes need no second thread
 * and no copy through shared memory.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class StackProcessError extends Error {}

export class LineChannel {
  private readonly dir: string;
  private readonly child: ChildProcess;
  private readonly writeFd: number;
  private readonly readFd: number;
  private buffer = Buffer.alloc(1 << 16);
  /** Bytes of `buffer` read but not yet returned: [start, end). */
  private start = 0;
  private end = 0;
  private closed = false;
  /** Round trips so far (for the benchmark). */
  requests = 0;

  constructor(readonly command: string) {
    try {
      execFileSync('/bin/sh', ['-n', '-c', command], { stdio: 'pipe' });
    } catch {
      throw new StackProcessError(`--stack: "${command}" is not a valid shell command`);
    }
    this.dir = mkdtempSync(join(tmpdir(), 'timewait-stack-'));
    const req = join(this.dir, 'req');
    const res = join(this.dir, 'res');
    execFileSync('mkfifo', [req, res]);
    this.child = spawn('/bin/sh', ['-c', `exec ${command} <'${req}' >'${res}' 2>'${join(this.dir, 'stderr')}'`], { stdio: 'ignore' });
    this.child.unref();
    // Each open blocks until the child's shell opens the other end (in this order), which it
    // does before exec, so a command that cannot start still opens both and then closes them.
    this.writeFd = openSync(req, 'w');
    this.readFd = openSync(res, 'r');
  }

  /** Send one line (no newline in it) and return the reply line. */
  request(line: string): string {
    if (this.closed) throw new StackProcessError('the stack process was closed');
    this.requests++;
    try {
      writeSync(this.writeFd, `${line}\n`);
    } catch (error) {
      throw this.died(`it exited without reading its request (${(error as Error).message})`);
    }
    return this.readLine();
  }

  private readLine(): string {
    let scanFrom = this.start;
    for (;;) {
      const newline = this.buffer.indexOf(10, scanFrom);
      if (newline >= 0 && newline < this.end) {
        const line = this.buffer.toString('utf8', this.start, newline);
        this.start = newline + 1;
        if (this.start === this.end) this.start = this.end = 0;
        return line;
      }
      scanFrom = this.end;
      if (this.end === this.buffer.length) {
        if (this.start > 0) {
          this.buffer.copy(this.buffer, 0, this.start, this.end);
          scanFrom -= this.start;
          this.end -= this.start;
          this.start = 0;
        } else {
          const bigger = Buffer.alloc(this.buffer.length * 2);
          this.buffer.copy(bigger, 0, 0, this.end);
          this.buffer = bigger;
        }
      }
      let got: number;
      try {
        got = readSync(this.readFd, this.buffer, this.end, this.buffer.length - this.end, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw this.died(`reading from it failed (${(error as Error).message})`);
      }
      if (got === 0) throw this.died('it exited without answering');
      this.end += got;
    }
  }

  /** The child's stderr so far (its own diagnostics). */
  stderr(): string {
    const path = join(this.dir, 'stderr');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  private died(what: string): StackProcessError {
    const stderr = this.stderr().trim();
    this.close();
    return new StackProcessError(`stack process "${this.command}": ${what}${stderr !== '' ? `; its stderr:\n${stderr.split('\n').slice(-10).join('\n')}` : ''}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.writeFd);
    } catch {
      // already gone
    }
    try {
      closeSync(this.readFd);
    } catch {
      // already gone
    }
    if (this.child.exitCode === null) this.child.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
