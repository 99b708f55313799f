// `kubectl get -o json --watch` writes one pretty-printed JSON object after another, with nothing
// between them that a line splitter could rely on. This cuts the stream at the end of each top-level
// object, whatever the chunk boundaries, by tracking brace depth outside strings.

export class JsonObjectStream {
  private pending = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Where the object being read starts in `pending`; -1 between objects. */
  private start = -1;
  /** How far `pending` has been scanned. */
  private scanned = 0;

  /** The objects this chunk completes, in order; text outside objects (blank lines) is dropped. */
  push(chunk: string): unknown[] {
    this.pending += chunk;
    const done: unknown[] = [];
    for (let i = this.scanned; i < this.pending.length; i++) {
      const c = this.pending[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') {
        this.inString = this.start >= 0;
      } else if (c === "{") {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === "}" && this.depth > 0) {
        this.depth--;
        if (this.depth === 0) {
          done.push(JSON.parse(this.pending.slice(this.start, i + 1)) as unknown);
          this.start = -1;
        }
      }
    }
    // Keep only the object still being read.
    if (this.start >= 0) {
      this.pending = this.pending.slice(this.start);
      this.start = 0;
    } else {
      this.pending = "";
    }
    this.scanned = this.pending.length;
    return done;
  }
}
