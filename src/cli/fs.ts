/**
 * Reading the files a user names, with a size cap (so `/dev/zero` or `/dev/urandom` given as a
 * scenario is bad input, not a hang or an out-of-memory kill), and JSON syntax errors reported
 * by line and column. Writing is in output.ts.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from './errors.js';
import { checkOutputFile, describeFsError, writeOutput } from './output.js';
import { parseScenario, type ScenarioFile } from '../scenario/scenario-file.js';

/** Size caps of the files the CLI reads, by kind. */
export const INPUT_LIMIT_BYTES = {
  /** Scenario files, counterexample files, the failing-seed store. */
  json: 8 * 1024 * 1024,
  /** Campaign CSV files given to `merge`. */
  csv: 512 * 1024 * 1024,
} as const;

/**
 * Read a text file the user named, at most `limitBytes` of it: a larger file (or an endless
 * device) is refused, as is text that is not UTF-8.
 */
export function readUserFile(path: string, what: string, limitBytes: number = INPUT_LIMIT_BYTES.json): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${describeFsError(error)}`);
  }
  let bytes: Buffer;
  try {
    if (fstatSync(fd).isDirectory()) throw new UsageError(`${what} ${path} is a directory, not a file`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limitBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limitBytes) throw new UsageError(`${what} ${path} is larger than ${formatBytes(limitBytes)}, the limit for a ${what}`);
    }
    bytes = Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read ${what} ${path}: ${describeFsError(error)}`);
  } finally {
    closeSync(fd);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what} ${path} is not UTF-8 text`);
  }
  if (text.trim() === '') throw new UsageError(`${what} ${path} is empty`);
  return text;
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/** Parse JSON from a user's file; a syntax error names the line and column, and a byte-order mark is named as such. */
export function parseUserJson(text: string, path: string, what: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) throw new UsageError(`${what} ${path} starts with a byte-order mark (BOM) at line 1, column 1: save it as UTF-8 without a BOM`);
  try {
    return JSON.parse(text);
  } catch (error) {
    const found = jsonSyntaxError(text);
    if (found === null) throw new UsageError(`${what} ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
    const before = text.slice(0, found.offset);
    const line = before.split('\n').length;
    const column = found.offset - before.lastIndexOf('\n');
    throw new UsageError(`${what} ${path} is not valid JSON at line ${line}, column ${column}: ${found.message}`);
  }
}

/**
 * Where JSON text (RFC 8259) first goes wrong, and what was expected there; null if it is valid.
 * Node 20's JSON.parse does not say where, so we scan for it (only after a failed parse).
 */
export function jsonSyntaxError(text: string): { offset: number; message: string } | null {
  let i = 0;
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const got = () => (i >= text.length ? 'the end of the file' : `${JSON.stringify(text[i])}`);
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`expected a value, got ${got()}`);
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail('a control character (such as a line break) inside a string; write it as an escape like \\n');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('a bad escape in a string');
      } else i++;
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 400));
    if (match === null) fail(`expected a value, got ${got()}`);
    i += match![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 1000) fail('nested too deeply');
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(`expected a field name in double quotes, got ${got()}`);
        string();
        space();
        if (text[i] !== ':') fail(`expected ":" after the field name, got ${got()}`);
        i++;
        value(depth + 1);
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`expected "," or "}", got ${got()}`);
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        space();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`expected "," or "]", got ${got()}`);
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c !== undefined && (c === '-' || (c >= '0' && c <= '9'))) return number();
    fail(`expected a value, got ${got()}`);
  };
  try {
    value(0);
    space();
    if (i < text.length) fail(`unexpected ${got()} after the end of the JSON value`);
    return null;
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'offset' in error) return error as { offset: number; message: string };
    throw error;
  }
}

/** Write a file as an output path given on its own (checked, then written): see output.ts. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeOutput(checkOutputFile(path, 'output'), data);
}

/** Read and validate a scenario file; a UsageError names every problem. */
export function loadScenarioFile(path: string): ScenarioFile {
  const text = readUserFile(path, 'scenario file');
  return parseScenario(parseUserJson(text, path, 'scenario file'), `scenario file ${path}`);
}
