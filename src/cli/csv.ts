/**
 * CSV in and out. Writing goes through csv-stringify with a fixed column order (rows.ts);
 * reading (for `timewait merge`) is a small RFC 4180 parser, enough for what we write.
 */
import { stringify } from 'csv-stringify/sync';
import type { Column } from './rows.js';

/** A whole CSV file: header line, then one line per row, `\n` line ends. */
export function toCsv<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  return stringify(rows as unknown as Record<string, unknown>[], {
    header: true,
    columns: columns.map((c) => ({ key: c.key, header: c.key })),
    cast: { boolean: (value) => (value ? 'true' : 'false') },
    record_delimiter: '\n',
  });
}

/** The header line alone (the keys need no quoting). */
export function csvHeader<R>(columns: readonly Column<R>[]): string {
  return `${columns.map((c) => c.key).join(',')}\n`;
}

/** Records without the header: `csvHeader` then `csvRecords` of each batch is byte for byte `toCsv` of them all. */
export function csvRecords<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  if (rows.length === 0) return '';
  return stringify(rows as unknown as Record<string, unknown>[], {
    header: false,
    columns: columns.map((c) => ({ key: c.key, header: c.key })),
    cast: { boolean: (value) => (value ? 'true' : 'false') },
    record_delimiter: '\n',
  });
}

export interface ParsedCsv {
  readonly header: readonly string[];
  /** Raw records (header excluded), each as long as the header. */
  readonly records: readonly (readonly string[])[];
}

/** Parse CSV text. Throws an Error naming the line on malformed input. */
export function parseCsv(text: string): ParsedCsv {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let i = 0;
  const endField = () => {
    record.push(field);
    field = '';
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      if (c === '\n') line++;
      field += c;
      i++;
      continue;
    }
    if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      endField();
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      i++;
    } else if (c === '\n') {
      endRecord();
      line++;
      i++;
    } else {
      field += c;
      i++;
    }
  }
  if (quoted) throw new Error(`unterminated quoted field at line ${line}`);
  if (field !== '' || record.length > 0) endRecord();
  const [header, ...rest] = records;
  if (header === undefined || (header.length === 1 && header[0] === '')) throw new Error('no header line');
  rest.forEach((r, index) => {
    if (r.length !== header.length) throw new Error(`line ${index + 2} has ${r.length} fields, the header ${header.length}`);
  });
  return { header, records: rest };
}
