// A bounded buffer keeping the most recent output of a child process.
//
// Servers can log a lot over a long test run; we only ever need the last part
// to explain why a server failed to start or died, so memory stays bounded.

const DEFAULT_MAX_CHARS = 16 * 1024;

export class OutputTail {
  private text = '';

  constructor(private readonly maxChars: number = DEFAULT_MAX_CHARS) {}

  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.maxChars) {
      // Keep a little slack so we do not re-slice on every small chunk.
      this.text = this.text.slice(this.text.length - Math.floor(this.maxChars * 0.75));
    }
  }

  /** The retained output, or only its last `lines` lines. */
  toString(lines?: number): string {
    if (lines === undefined) return this.text;
    const all = this.text.split('\n');
    if (all.length > 0 && all[all.length - 1] === '') all.pop();
    return all.slice(-lines).join('\n');
  }

  includes(needle: string | RegExp): boolean {
    return typeof needle === 'string' ? this.text.includes(needle) : needle.test(this.text);
  }
}
