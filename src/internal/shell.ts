import { configError } from './errors';
/**
 * Shell text for the runbook, which operators paste into a shell: every value is one literal
 * word, whatever it contains.
 */

/**
 * Words every POSIX shell (and zsh) reads literally when unquoted. `=` may not lead (zsh's `=cmd`
 * expands to a path) and `~` is left out (tilde expansion).
 */
const BARE_WORD = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+=:,./-]*$/;

/**
 * Characters a terminal acts on before any shell sees them (TAB completes, CR ends the line, ESC
 * starts a key binding, C1 controls), and NUL, which no argument can hold. A line break is fine:
 * inside quotes it continues the word.
 */
// eslint-disable-next-line no-control-regex
const UNPASTEABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

/**
 * POSIX single-quote quoting: inside '...' nothing is special, so only `'` itself needs care
 * (close the quote, an escaped quote, reopen). Plain words stay bare for readability.
 * @internal
 */
export function shellQuote(value: string): string {
  if (UNPASTEABLE.test(value)) {
    throw configError(`shellQuote: ${JSON.stringify(value)} holds a control character other than a line break; no quoting keeps it literal when pasted into a terminal`);
  }
  if (BARE_WORD.test(value)) return value;
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** A command line: each word quoted on its own. @internal */
export function shellWords(...words: string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * A comment line. A line break would end the comment and turn the rest into a command, and other
 * control characters have no business in a runbook either.
 * @internal
 */
export function shellComment(text: string): string {
  // eslint-disable-next-line no-control-regex
  return `# ${text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ')}`;
}
