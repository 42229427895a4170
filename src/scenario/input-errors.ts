/**
 * Bad input, below the CLI: a scenario file or any other user input that fails its schema is a
 * `UsageError` with one line per problem, naming the field (the CLI turns it into exit code 2).
 */
import { z } from 'zod';

/** Bad input. The message says what was wrong and what was expected; no stack is printed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A zod error as one line per problem, each naming the field path and what was expected:
 * `hosts[0].script[2].port: expected an integer >= 0, got -1`. `subject` prefixes each line
 * (a file name, or "option") so the user knows where to look.
 */
export function formatZodError(error: z.ZodError, subject: string, fieldName: (path: string) => string = (path) => path): string {
  // One problem, one line: a field that fails two checks (a type and then a range, or two
  // ranges) is reported by its first failure only, so the user never reads two answers.
  const byField = new Map<string, string>();
  for (const issue of error.issues) {
    const path = fieldName(formatPath(issue.path));
    if (byField.has(path)) continue;
    const where = [subject, path].filter((part) => part !== '').join(': ');
    byField.set(path, `${where === '' ? '' : `${where}: `}${describeIssue(issue)}`);
  }
  return [...byField.values()].join('\n');
}

/** `["hosts", 0, "script", 2, "port"]` -> `hosts[0].script[2].port`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  const got = input === undefined ? '' : `, got ${shown(input)}`;
  switch (issue.code) {
    case 'invalid_type': {
      // A schema's own message ("expected a port number from 0 to 65535") beats zod's default.
      const expected = issue.message.startsWith('Invalid input') ? `expected ${article(issue.expected)}` : issue.message;
      if (input === undefined) return `missing (${expected})`;
      return `${expected}${got}`;
    }
    case 'too_big':
    case 'too_small':
      return `${stripPrefix(issue.message)}${got}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (misspelt? see docs/cli.md for the fields)`;
    case 'invalid_union': {
      const { options, discriminator } = issue as { options?: unknown[]; discriminator?: string };
      if (Array.isArray(options)) {
        const value = discriminator !== undefined && typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[discriminator] : input;
        const expected = `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`;
        return value === undefined ? `missing (expected ${expected})` : `expected ${expected}, got ${shown(value)}`;
      }
      return `${stripPrefix(issue.message)}${got}`;
    }
    case 'invalid_value':
      if (!issue.message.startsWith('Invalid')) return `${issue.message}${got}`;
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}${got}`;
    default:
      // A check across fields (a refinement of a whole object) names its fields in its message.
      return `${issue.message}${typeof input === 'object' && input !== null ? '' : got}`;
  }
}

function stripPrefix(message: string): string {
  return message.replace(/^(Too big|Too small|Invalid input|Invalid discriminator value)[:.]\s*/i, '');
}

function article(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'array':
      return 'an array';
    case 'object':
      return 'an object';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

/** Parse with a schema; on failure throw a UsageError listing every problem. */
export function parseOrThrow<T extends z.ZodType>(schema: T, input: unknown, subject: string, fieldName?: (path: string) => string): z.output<T> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw new UsageError(formatZodError(result.error, subject, fieldName));
  return result.data;
}
