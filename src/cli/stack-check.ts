/** `timewait stack-check CMD…`: the external-stack conformance checker (src/stack/check.ts). */
import { checkStack } from '../stack/check.js';
import { EXIT } from './errors.js';
import type { CliIo } from './io.js';

export function stackCheckCommand(commands: readonly string[], io: CliIo): number {
  let failed = 0;
  for (const command of commands) {
    io.stdout.write(`stack-check ${command}\n`);
    for (const result of checkStack(command)) {
      io.stdout.write(`  ${result.ok ? 'ok  ' : 'FAIL'} ${result.name}${result.ok ? '' : `\n       ${result.detail.split('\n').join('\n       ')}`}\n`);
      if (!result.ok) failed++;
    }
  }
  io.stdout.write(failed === 0 ? 'every check passed\n' : `${failed} check${failed === 1 ? '' : 's'} failed (docs/external-stack.md says what each reply must hold)\n`);
  return failed === 0 ? EXIT.ok : EXIT.failed;
}
