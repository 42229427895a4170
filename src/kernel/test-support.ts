/** What the kernel tests share: reading an example scenario file. */
import { readFileSync } from 'node:fs';
import { parseScenario, type ScenarioFile } from '../scenario/scenario-file.js';

export function loadScenarioFile(path: string): ScenarioFile {
  return parseScenario(JSON.parse(readFileSync(path, 'utf8')) as unknown, `scenario file ${path}`);
}
