/**
 * A recursive-descent parser for the packetdrill subset (../shared/packetdrill-subset.md),
 * written here from the language's description: header options, back-quoted commands, and
 * events of four kinds (packets, system calls, commands, `%{ }%` code). Newlines are white
 * space, as in packetdrill: the grammar decides where an event ends, so a call may span lines.
 *
 * A script that does not parse throws `ScriptSyntaxError` with the line, the column, what was
 * expected and what was found; the command turns it into exit code 2.
 */
import type { Action, EventTime, Expr, HeaderOption, PacketSpec, Position, Script, ScriptEvent, SyscallSpec, TcpOptionSpec, TimePoint } from './ast.js';

export class ScriptSyntaxError extends Error {
  override readonly name = 'ScriptSyntaxError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${file}:${line}:${column}: expected ${expected}, found ${found}`);
  }
}

/** Packet flag letters packetdrill knows: S F R P . (ACK), E W A (ECN, AccECN), U (urgent), digits (AccECN ACE), `-` for none. */
const FLAG_CHARS = /[SFRPEWAU.0-7-]/;
const IDENT_START = /[A-Za-z_]/;
const IDENT_CHAR = /[A-Za-z0-9_]/;
const MAX_SEQ = 0xffff_ffff;

export function parseScript(text: string, file = 'script'): Script {
  return new Parser(text, file).script();
}

class Parser {
  private pos = 0;
  private line = 1;
  private column = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  script(): Script {
    const options: HeaderOption[] = [];
    const initCommands: (Position & { text: string })[] = [];
    const cleanupCommands: (Position & { text: string })[] = [];
    const events: ScriptEvent[] = [];
    this.skipSpace();
    while (this.startsWith('--')) {
      options.push(this.headerOption());
      this.skipSpace();
    }
    while (!this.atEnd()) {
      const here = this.here();
      if (this.peek() === '`') {
        const text = this.backquoted();
        (events.length === 0 ? initCommands : cleanupCommands).push({ ...here, text });
      } else {
        if (cleanupCommands.length > 0) this.fail('the end of the script (only commands may follow the cleanup command)');
        events.push(this.event());
      }
      this.skipSpace();
    }
    if (events.length === 0) this.fail('an event (a time, then a packet, a system call or a command)');
    return { options, initCommands, events, cleanupCommands };
  }

  // -------------------------------------------------------------------------------------
  // Header, commands, code
  // -------------------------------------------------------------------------------------

  private headerOption(): HeaderOption {
    const here = this.here();
    this.expectText('--');
    const name = this.identifierLike(/[A-Za-z0-9_-]/, 'an option name after --');
    let value: string | null = null;
    if (this.peek() === '=') {
      this.advance();
      const start = this.pos;
      while (!this.atEnd() && !/\s/.test(this.peek())) this.advance();
      value = this.text.slice(start, this.pos);
      if (value === '') this.fail(`a value for --${name}`);
    }
    return { ...here, name, value };
  }

  private backquoted(): string {
    this.expectText('`');
    const start = this.pos;
    while (!this.atEnd() && this.peek() !== '`') this.advance();
    if (this.atEnd()) this.fail('the closing ` of the command');
    const text = this.text.slice(start, this.pos);
    this.advance();
    return text.trim();
  }

  private code(): string {
    this.expectText('%{');
    const start = this.pos;
    while (!this.atEnd() && !this.startsWith('}%')) this.advance();
    if (this.atEnd()) this.fail('the closing }% of the code block');
    const text = this.text.slice(start, this.pos);
    this.pos += 2;
    this.column += 2;
    return text.trim();
  }

  // -------------------------------------------------------------------------------------
  // Events
  // -------------------------------------------------------------------------------------

  private event(): ScriptEvent {
    const here = this.here();
    const start = this.pos;
    const time = this.eventTime();
    this.skipSpace();
    let action: Action;
    const c = this.peek();
    if (c === '<' || c === '>') action = { kind: 'packet', packet: this.packet() };
    else if (c === '`') action = { kind: 'command', text: this.backquoted() };
    else if (this.startsWith('%{')) action = { kind: 'code', text: this.code() };
    else if (IDENT_START.test(c)) action = { kind: 'syscall', call: this.syscall() };
    else this.fail("a packet ('<' inbound or '>' outbound), a system call, a `command` or %{ code }%");
    const source = this.text
      .slice(start, this.pos)
      .replace(/\/\/[^\n]*/g, '')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\s+/g, ' ')
      .trim();
    return { ...here, time, action, source };
  }

  private eventTime(): EventTime {
    if (this.peek() === '*') {
      this.advance();
      return { kind: 'any' };
    }
    const at = this.timePoint('a time: 0, 1.5, +.01 or *');
    let until: TimePoint | undefined;
    let blockingEnd: TimePoint | undefined;
    if (this.peek() === '~') {
      this.advance();
      until = this.timePoint('the end of a time range (a~b)');
      if (until.relative !== at.relative) this.fail('both ends of a time range relative (+a~+b) or both absolute (a~b)');
    }
    if (this.startsWith('...')) {
      this.pos += 3;
      this.column += 3;
      blockingEnd = this.timePoint('the time a blocking call returns (T...E)');
      if (blockingEnd.relative) this.fail('an absolute (or base-relative) end time after ... (T...E)');
    }
    return { kind: 'point', at, ...(until !== undefined ? { until } : {}), ...(blockingEnd !== undefined ? { blockingEnd } : {}) };
  }

  private timePoint(what: string): TimePoint {
    let relative = false;
    if (this.peek() === '+') {
      relative = true;
      this.advance();
    }
    const seconds = this.decimal(what);
    return { relative, us: seconds };
  }

  /** Seconds with up to six decimals, as integer µs (no floating-point rounding). */
  private decimal(what: string): number {
    const match = /^(\d+)?(?:\.(\d+))?/.exec(this.text.slice(this.pos, this.pos + 40));
    const whole = match?.[1];
    const fraction = match?.[2];
    if (match === null || (whole === undefined && fraction === undefined)) this.fail(what);
    if (fraction !== undefined && fraction.length > 6) this.fail(`${what} with at most 6 decimals (µs)`);
    this.pos += match[0].length;
    this.column += match[0].length;
    return Number(whole ?? '0') * 1_000_000 + Number((fraction ?? '').padEnd(6, '0'));
  }

  // -------------------------------------------------------------------------------------
  // Packets
  // -------------------------------------------------------------------------------------

  private packet(): PacketSpec {
    const direction = this.advance() === '<' ? 'inbound' : 'outbound';
    this.skipSpace();
    const unmodelled: string[] = [];
    // IP-level information and encapsulation: parsed so the runner can refuse them by name.
    for (;;) {
      if (this.peek() === '[') {
        unmodelled.push(`ip ecn field ${this.balanced('[', ']')}`);
      } else if (this.peek() === '(') {
        unmodelled.push(`ip ${this.balanced('(', ')')}`);
      } else if (this.startsWithWord('encap')) {
        const start = this.pos;
        this.word();
        this.skipSpace();
        this.word();
        this.skipSpace();
        while (/[a-z]/.test(this.peek())) {
          this.word();
          this.skipSpace();
          if (/\d/.test(this.peek())) this.integer('a number');
          this.skipSpace();
        }
        unmodelled.push(`encapsulation ${this.text.slice(start, this.pos).trim()}`);
      } else {
        break;
      }
      this.skipSpace();
    }
    const flagStart = this.pos;
    while (!this.atEnd() && FLAG_CHARS.test(this.peek())) this.advance();
    const flagText = this.text.slice(flagStart, this.pos);
    if (flagText === '') this.fail('TCP flags (S, S., ., P., F., R, R., - …)');
    if (flagText.includes('-') && flagText !== '-') this.fail("'-' alone (no flags) or flag letters, not both");
    this.skipSpace();
    const seqStart = this.integer('a sequence number START:END(LEN)', MAX_SEQ);
    this.expectChar(':', "':' in START:END(LEN)");
    const seqEnd = this.integer('the END of START:END(LEN)', MAX_SEQ);
    this.expectChar('(', "'(' in START:END(LEN)");
    const payloadBytes = this.integer('the LEN of START:END(LEN)');
    this.expectChar(')', "')' after LEN in START:END(LEN)");
    if (((seqStart + payloadBytes) >>> 0) !== seqEnd) this.fail(`END = START + LEN (${seqStart} + ${payloadBytes} = ${(seqStart + payloadBytes) >>> 0})`, String(seqEnd));
    let ack: number | undefined;
    let window: number | undefined;
    let urgent: number | undefined;
    let options: readonly TcpOptionSpec[] | 'any' | null = null;
    for (;;) {
      this.skipSpace();
      if (this.startsWithWord('ack')) {
        this.word();
        this.skipSpace();
        ack = this.integer('the acknowledgment number after ack', MAX_SEQ);
      } else if (this.startsWithWord('win')) {
        this.word();
        this.skipSpace();
        window = this.integer('the window after win', 65535);
      } else if (this.startsWithWord('urg')) {
        this.word();
        this.skipSpace();
        urgent = this.integer('the urgent pointer after urg', 65535);
      } else if (this.peek() === '<') {
        options = this.optionList();
        break;
      } else {
        break;
      }
    }
    return {
      direction,
      flagText,
      seqStart,
      seqEnd,
      payloadBytes,
      ...(ack !== undefined ? { ack } : {}),
      ...(window !== undefined ? { window } : {}),
      ...(urgent !== undefined ? { urgent } : {}),
      options,
      unmodelled,
    };
  }

  private optionList(): readonly TcpOptionSpec[] | 'any' {
    this.expectChar('<', "'<'");
    this.skipSpace();
    if (this.startsWith('...')) {
      this.pos += 3;
      this.column += 3;
      this.skipSpace();
      this.expectChar('>', "'>' after <...");
      return 'any';
    }
    const options: TcpOptionSpec[] = [];
    for (;;) {
      this.skipSpace();
      options.push(this.option());
      this.skipSpace();
      if (this.peek() === ',') {
        this.advance();
        continue;
      }
      this.expectChar('>', "',' or '>' in the option list");
      return options;
    }
  }

  private option(): TcpOptionSpec {
    const start = this.pos;
    const name = this.identifierLike(IDENT_CHAR, 'a TCP option (mss N, nop, sackOK, wscale N, TS val N ecr N …)');
    this.skipSpace();
    switch (name) {
      case 'mss':
        return { kind: 'mss', value: this.integer('the MSS after mss', 65535) };
      case 'nop':
        return { kind: 'nop' };
      case 'eol':
        return { kind: 'eol' };
      case 'sackOK':
        return { kind: 'sackOK' };
      case 'wscale':
        return { kind: 'wscale', value: this.integer('the shift count after wscale', 255) };
      case 'TS': {
        this.expectWord('val', "'val' after TS");
        this.skipSpace();
        const val = this.integer('the TS value after val', MAX_SEQ);
        this.skipSpace();
        this.expectWord('ecr', "'ecr' after TS val N");
        this.skipSpace();
        return { kind: 'TS', val, ecr: this.integer('the echoed TS after ecr', MAX_SEQ) };
      }
      case 'sack': {
        const blocks: [number, number][] = [];
        while (/\d/.test(this.peek())) {
          const left = this.integer('a SACK block START:END', MAX_SEQ);
          this.expectChar(':', "':' in a SACK block");
          blocks.push([left, this.integer('the END of a SACK block', MAX_SEQ)]);
          this.skipSpace();
        }
        return { kind: 'sack', blocks };
      }
      default: {
        // FO, FOEXP, md5, mptcp, exp…: keep the text to the next ',' or '>' so it can be named.
        while (!this.atEnd() && this.peek() !== ',' && this.peek() !== '>') this.advance();
        return { kind: 'other', name, text: this.text.slice(start, this.pos).trim() };
      }
    }
  }

  // -------------------------------------------------------------------------------------
  // System calls
  // -------------------------------------------------------------------------------------

  private syscall(): SyscallSpec {
    const name = this.identifierLike(IDENT_CHAR, 'a system call name');
    this.skipSpace();
    this.expectChar('(', `'(' after ${name}`);
    const args = this.exprList(')');
    this.skipSpace();
    this.expectChar('=', `'= RESULT' after ${name}(...)`);
    this.skipSpace();
    const result = this.expr();
    this.skipSpace();
    let errno: string | undefined;
    if (/[A-Z]/.test(this.peek()) && this.startsWith('E')) {
      errno = this.identifierLike(IDENT_CHAR, 'an errno name');
      this.skipSpace();
      // The errno's text, `(Operation now in progress)`, is ignored.
      if (this.peek() === '(') this.balanced('(', ')');
    }
    return { name, args, result, ...(errno !== undefined ? { errno } : {}) };
  }

  private exprList(close: string): Expr[] {
    const items: Expr[] = [];
    this.skipSpace();
    if (this.peek() === close) {
      this.advance();
      return items;
    }
    for (;;) {
      this.skipSpace();
      items.push(this.expr());
      this.skipSpace();
      if (this.peek() === ',') {
        this.advance();
        continue;
      }
      this.expectChar(close, `',' or '${close}'`);
      return items;
    }
  }

  private expr(): Expr {
    const first = this.term();
    this.skipSpace();
    if (this.peek() !== '|') return first;
    const terms = [first];
    while (this.peek() === '|') {
      this.advance();
      this.skipSpace();
      terms.push(this.term());
      this.skipSpace();
    }
    return { kind: 'or', terms };
  }

  private term(): Expr {
    const c = this.peek();
    if (this.startsWith('...')) {
      this.pos += 3;
      this.column += 3;
      return { kind: 'ellipsis' };
    }
    if (c === '-' || /\d/.test(c)) {
      const negative = c === '-';
      if (negative) this.advance();
      const value = this.integer('a number');
      return { kind: 'number', value: negative ? -value : value };
    }
    if (c === '"') {
      this.advance();
      const start = this.pos;
      while (!this.atEnd() && this.peek() !== '"') this.advance();
      if (this.atEnd()) this.fail('the closing " of a string');
      const value = this.text.slice(start, this.pos);
      this.advance();
      return { kind: 'string', value };
    }
    if (c === '[') {
      this.advance();
      return { kind: 'list', items: this.exprList(']') };
    }
    if (c === '{') {
      this.advance();
      const fields: { name: string | null; value: Expr }[] = [];
      this.skipSpace();
      if (this.peek() === '}') {
        this.advance();
        return { kind: 'struct', fields };
      }
      for (;;) {
        this.skipSpace();
        const save = this.save();
        let name: string | null = null;
        if (IDENT_START.test(this.peek())) {
          const id = this.identifierLike(IDENT_CHAR, 'a field name');
          this.skipSpace();
          if (this.peek() === '=') {
            this.advance();
            this.skipSpace();
            name = id;
          } else {
            this.restore(save);
          }
        }
        fields.push({ name, value: this.expr() });
        this.skipSpace();
        if (this.peek() === ',') {
          this.advance();
          continue;
        }
        this.expectChar('}', "',' or '}' in a struct");
        return { kind: 'struct', fields };
      }
    }
    if (IDENT_START.test(c)) {
      const name = this.identifierLike(IDENT_CHAR, 'a symbol');
      if (this.peek() === '(') {
        this.advance();
        return { kind: 'call', name, args: this.exprList(')') };
      }
      return { kind: 'symbol', name };
    }
    this.fail('an argument: ..., a number, a SYMBOL, [list], {struct} or "string"');
  }

  // -------------------------------------------------------------------------------------
  // Characters
  // -------------------------------------------------------------------------------------

  private integer(what: string, max = Number.MAX_SAFE_INTEGER): number {
    const rest = this.text.slice(this.pos, this.pos + 24);
    const match = /^(0x[0-9a-fA-F]+|\d+)/.exec(rest);
    if (match === null) this.fail(what);
    const digits = match[0];
    const value = Number(digits);
    if (value > max) this.fail(`${what} no larger than ${max}`, digits);
    this.pos += digits.length;
    this.column += digits.length;
    return value;
  }

  private identifierLike(chars: RegExp, what: string): string {
    const start = this.pos;
    if (!chars.test(this.peek())) this.fail(what);
    while (!this.atEnd() && chars.test(this.peek())) this.advance();
    const text = this.text.slice(start, this.pos);
    if (text === '') this.fail(what);
    return text;
  }

  private word(): string {
    return this.identifierLike(IDENT_CHAR, 'a word');
  }

  private startsWithWord(word: string): boolean {
    return this.startsWith(word) && !IDENT_CHAR.test(this.text[this.pos + word.length] ?? '');
  }

  private expectWord(word: string, what: string): void {
    if (!this.startsWithWord(word)) this.fail(what);
    this.pos += word.length;
    this.column += word.length;
  }

  private balanced(open: string, close: string): string {
    const start = this.pos;
    let depth = 0;
    do {
      if (this.atEnd()) this.fail(`the closing '${close}'`);
      const c = this.advance();
      if (c === open) depth++;
      else if (c === close) depth--;
    } while (depth > 0);
    return this.text.slice(start, this.pos);
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        this.advance();
      } else if (this.startsWith('//')) {
        while (!this.atEnd() && this.peek() !== '\n') this.advance();
      } else if (this.startsWith('/*')) {
        const here = this.here();
        while (!this.atEnd() && !this.startsWith('*/')) this.advance();
        if (this.atEnd()) throw new ScriptSyntaxError(this.file, here.line, here.column, 'the closing */ of this comment', 'the end of the script');
        this.advance();
        this.advance();
      } else {
        return;
      }
    }
  }

  private expectText(text: string): void {
    if (!this.startsWith(text)) this.fail(`'${text}'`);
    for (let i = 0; i < text.length; i++) this.advance();
  }

  private expectChar(c: string, what: string): void {
    if (this.peek() !== c) this.fail(what);
    this.advance();
  }

  private startsWith(text: string): boolean {
    return this.text.startsWith(text, this.pos);
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private advance(): string {
    const c = this.text[this.pos++] ?? '';
    if (c === '\n') {
      this.line++;
      this.column = 1;
    } else {
      this.column++;
    }
    return c;
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private here(): Position {
    return { line: this.line, column: this.column };
  }

  private save(): { pos: number; line: number; column: number } {
    return { pos: this.pos, line: this.line, column: this.column };
  }

  private restore(saved: { pos: number; line: number; column: number }): void {
    this.pos = saved.pos;
    this.line = saved.line;
    this.column = saved.column;
  }

  private fail(expected: string, found?: string): never {
    throw new ScriptSyntaxError(this.file, this.line, this.column, expected, found !== undefined ? `"${found}"` : this.foundHere());
  }

  private foundHere(): string {
    if (this.atEnd()) return 'the end of the script';
    const rest = this.text.slice(this.pos).split('\n')[0]!.trimStart();
    if (rest === '') return 'the end of the line';
    const token = /^\S+/.exec(rest)?.[0] ?? rest;
    return `"${token.slice(0, 24)}"`;
  }
}
