import { unknownCelCall } from './cel-functions.ts';

/**
 * Whether a string parses as a CEL expression, as Envoy's CEL parser (cel-cpp, the grammar of cel-spec's CEL.g4)
 * reads it when it loads an ext_proc filter's request_attributes and response_attributes. Returns what is wrong, or
 * undefined when it parses or when it uses what this reader does not follow (optional syntax `.?`, backquoted
 * names, message construction `Type{...}`, non-ASCII outside strings): those are left to Envoy, so the answer
 * errs only towards accepting. Besides syntax, two things Envoy refuses on load: a comprehension macro (`.all(x, p)`,
 * `.exists`, `.exists_one`, `.map`, `.filter`), which its CEL builder does not enable, and a call to a function it
 * does not have, or with a count of arguments it does not take ("No overload found"; cel-functions.ts).
 */
export function celSyntaxError(text: string): string | undefined {
  // Longer attributes are left to Envoy: the reader holds a token per character, and no attribute is that long.
  if (text.length > MAX_JUDGED_LENGTH) return undefined;
  const tokens = lex(text);
  if (tokens === UNSURE) return undefined;
  if (typeof tokens === 'string') return tokens;
  try {
    const parser = new Parser(tokens);
    parser.expr();
    if (parser.peek().kind !== 'eof') return `${parser.where()}: ${parser.describe()} where the expression should end`;
    return undefined;
  } catch (error) {
    if (error === UNSURE) return undefined;
    if (error instanceof CelError) return error.message;
    throw error;
  }
}

const UNSURE = Symbol('unsure');
const MAX_JUDGED_LENGTH = 4096;
/** Binary operators by precedence, loosest first: ||, &&, relations (a relation does not chain its operand's relation), +/-, * / %. */
const LEVELS = [['||'], ['&&'], ['<', '<=', '>', '>=', '==', '!=', 'in'], ['+', '-'], ['*', '/', '%']];
class CelError extends Error {}

interface Token {
  kind: 'ident' | 'literal' | 'op' | 'eof';
  text: string;
  at: number;
}

const RESERVED = new Set(['as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const LITERAL_WORDS = new Set(['true', 'false', 'null']);
const OPERATORS = ['||', '&&', '==', '!=', '<=', '>=', '<', '>', '+', '-', '*', '/', '%', '!', '?', ':', '.', ',', '[', ']', '(', ')', '{', '}'];
const SIMPLE_ESCAPES = new Set(['\\', '"', "'", '`', '?', 'a', 'b', 'f', 'n', 'r', 't', 'v']);

function lex(text: string): Token[] | string | typeof UNSURE {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/[ \t\n\r\f]/.test(c)) {
      i++;
      continue;
    }
    if (text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    const quoteAt = /^[rRbB]{0,2}['"]/.exec(text.slice(i, i + 3));
    if (quoteAt !== null && (quoteAt[0].length === 1 || /^(?:[rR][bB]?|[bB][rR]?)['"]$/.test(quoteAt[0]))) {
      const end = stringEnd(text, i + quoteAt[0].length - 1, /[rR]/.test(quoteAt[0]));
      if (typeof end !== 'number') return end;
      tokens.push({ kind: 'literal', text: text.slice(start, end), at: start });
      i = end;
      continue;
    }
    if (/[_a-zA-Z]/.test(c)) {
      while (i < text.length && /[_a-zA-Z0-9]/.test(text[i])) i++;
      const word = text.slice(start, i);
      tokens.push({ kind: LITERAL_WORDS.has(word) ? 'literal' : word === 'in' ? 'op' : 'ident', text: word, at: start });
      continue;
    }
    const number = /^(?:0[xX][0-9a-fA-F]+[uU]?|\d*\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?)/.exec(text.slice(i));
    if (number !== null && (/\d/.test(c) || (c === '.' && /\d/.test(text[i + 1] ?? '')))) {
      i += number[0].length;
      tokens.push({ kind: 'literal', text: number[0], at: start });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op !== undefined) {
      i += op.length;
      tokens.push({ kind: 'op', text: op, at: start });
      continue;
    }
    if (c === '`' || c.charCodeAt(0) > 0x7f) return UNSURE;
    return `character ${start + 1}: ${JSON.stringify(c)} is no part of CEL's syntax${c === '=' ? ' (equality is ==)' : ''}`;
  }
  tokens.push({ kind: 'eof', text: '', at: text.length });
  return tokens;
}

/** The end of the string literal whose quote is at `quote`, or why it has none. */
function stringEnd(text: string, quote: number, raw: boolean): number | string | typeof UNSURE {
  const q = text[quote];
  const triple = text.startsWith(q.repeat(3), quote);
  const close = triple ? q.repeat(3) : q;
  let i = quote + close.length;
  while (i < text.length) {
    if (text.startsWith(close, i)) return i + close.length;
    const c = text[i];
    if (!triple && (c === '\n' || c === '\r')) break;
    if (c === '\\' && !raw) {
      const next = text[i + 1] ?? '';
      if (SIMPLE_ESCAPES.has(next) || /[0-3]/.test(next) || /[xuU]/.test(next)) {
        i += 2;
        continue;
      }
      return UNSURE;
    }
    i += c === '\\' ? 2 : 1;
  }
  return `character ${quote + 1}: the string is never closed (${close})`;
}

class Parser {
  private i = 0;
  private depth = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  peek(): Token {
    return this.tokens[this.i];
  }
  where(): string {
    return `character ${this.peek().at + 1}`;
  }
  describe(): string {
    const token = this.peek();
    return token.kind === 'eof' ? 'the end' : JSON.stringify(token.text);
  }
  private take(text: string): boolean {
    const token = this.peek();
    if (token.kind === 'eof' || token.kind === 'literal' || token.text !== text) return false;
    this.i++;
    return true;
  }
  private expect(text: string): void {
    if (!this.take(text)) throw new CelError(`${this.where()}: ${this.describe()} where ${JSON.stringify(text)} should be`);
  }

  expr(): void {
    if (++this.depth > 200) throw UNSURE;
    this.binary(0);
    if (this.take('?')) {
      this.binary(0);
      this.expect(':');
      this.expr();
    }
    this.depth--;
  }

  /** Precedence climbing over LEVELS. */
  private binary(level: number): void {
    if (level === LEVELS.length) return this.unary();
    this.binary(level + 1);
    while (LEVELS[level].some((op) => this.take(op))) this.binary(level + 1);
  }

  private unary(): void {
    if (this.take('!')) {
      while (this.take('!'));
      // The grammar reads a minus before a number as part of the literal: `!-1` parses.
      const next = this.tokens[this.i + 1];
      if (this.peek().text === '-' && this.peek().kind === 'op' && next?.kind === 'literal' && /^[\d.]/.test(next.text)) this.i++;
    } else if (this.take('-')) {
      while (this.take('-'));
    }
    this.member();
  }

  private member(): void {
    // The receiver so far as a plain dotted name (`re` before `.extract(`), for the calls Envoy looks up by it.
    let qualifiedTarget = this.primary();
    for (;;) {
      if (this.take('.')) {
        if (this.take('?')) throw UNSURE;
        const token = this.peek();
        if (token.kind !== 'ident' && !(token.kind === 'op' && token.text === 'in') && !LITERAL_WORDS.has(token.text)) {
          throw new CelError(`${this.where()}: ${this.describe()} after "." where a field name should be`);
        }
        this.i++;
        if (this.take('(')) {
          const count = this.args(')');
          // CEL's macros turn these into comprehensions, which Envoy's CEL does not enable ("Comprehension support is disabled").
          if (COMPREHENSIONS.has(token.text) && (count === 2 || (count === 3 && token.text === 'map'))) {
            throw new CelError(`character ${token.at + 1}: .${token.text}(...) is a comprehension, which Envoy's CEL does not enable`);
          }
          const unknown = unknownCelCall(token.text, count, { qualifiedTarget });
          if (unknown !== undefined) throw new CelError(`character ${token.at + 1}: ${unknown}`);
          qualifiedTarget = undefined;
        } else if (this.peek().text === '{' && this.peek().kind === 'op') throw UNSURE;
        else if (qualifiedTarget !== undefined) qualifiedTarget = `${qualifiedTarget}.${token.text}`;
      } else if (this.take('[')) {
        if (this.take('?')) throw UNSURE;
        this.expr();
        this.expect(']');
        qualifiedTarget = undefined;
      } else return;
    }
  }

  /** Reads a primary; returns its name when it is a plain (possibly dot-led) identifier. */
  private primary(): string | undefined {
    const token = this.peek();
    if (token.kind === 'literal') {
      this.i++;
      return undefined;
    }
    if (this.take('.')) {
      if (this.peek().kind !== 'ident') throw new CelError(`${this.where()}: ${this.describe()} after "." where a name should be`);
    }
    const name = this.peek();
    if (name.kind === 'ident') {
      if (RESERVED.has(name.text)) throw new CelError(`character ${name.at + 1}: ${name.text} is a reserved word of CEL`);
      this.i++;
      if (this.take('(')) {
        const first = this.i;
        const count = this.args(')');
        // A macro: has() takes one field selection (`has(request.path)`), or Envoy's parser refuses it.
        if (name.text === 'has' && count === 1 && !this.isSelection(first, this.i - 1)) {
          throw new CelError(`character ${this.tokens[first].at + 1}: has() takes a field selection, such as has(request.path)`);
        }
        const unknown = unknownCelCall(name.text, count, undefined);
        if (unknown !== undefined) throw new CelError(`character ${name.at + 1}: ${unknown}`);
        return undefined;
      }
      if (this.peek().kind === 'op' && this.peek().text === '{') throw UNSURE;
      return name.text;
    }
    if (this.take('(')) {
      const first = this.i;
      this.expr();
      this.expect(')');
      // A dotted name in brackets is that name still: `(re).extract(...)` calls re.extract.
      const inside = this.tokens.slice(first, this.i - 1);
      const dotted = inside.length % 2 === 1 && inside.every((token, i) => (i % 2 === 0 ? token.kind === 'ident' : token.text === '.' && token.kind === 'op'));
      return dotted ? inside.map((token) => token.text).join('') : undefined;
    }
    if (this.take('[')) {
      this.args(']');
      return undefined;
    }
    if (this.take('{')) {
      if (this.take('}')) return undefined;
      // A lone comma is an empty map literal too (`{,}`).
      if (this.take(',')) {
        this.expect('}');
        return undefined;
      }
      do {
        if (this.peek().text === '}' && this.peek().kind === 'op') break;
        if (this.take('?')) throw UNSURE;
        this.expr();
        this.expect(':');
        this.expr();
      } while (this.take(','));
      this.expect('}');
      return undefined;
    }
    throw new CelError(`${this.where()}: ${this.describe()} where a value should be`);
  }

  /** Whether tokens [from, to) are a field selection (`a.b`), brackets around it aside. */
  private isSelection(from: number, to: number): boolean {
    while (this.tokens[from]?.text === '(' && this.tokens[to - 1]?.text === ')') {
      from++;
      to--;
    }
    return to - from >= 3 && this.tokens[to - 2].text === '.' && this.tokens[to - 2].kind === 'op' && this.tokens[to - 1].kind === 'ident';
  }

  /** A comma-separated list up to `close` (a trailing comma only in a list literal); how many it holds. */
  private args(close: string): number {
    let count = 0;
    if (this.take(close)) return count;
    // A lone comma is an empty list literal too (`[,]`), not an empty argument list.
    if (close === ']' && this.take(',')) {
      this.expect(']');
      return count;
    }
    do {
      if (close === ']' && this.peek().kind === 'op' && this.peek().text === ']') break;
      if (this.take('?')) throw UNSURE;
      this.expr();
      count++;
    } while (this.take(','));
    this.expect(close);
    return count;
  }
}
