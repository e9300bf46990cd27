/**
 * A stage's environment as BuildKit's LLB state keeps it while the Dockerfile is walked: base image
 * ENV, then ENV instructions and ARGs with a value, each setting replacing the previous value of
 * its name. Keys are listed in the order they were last set, which decides which name a "did you
 * mean" suggestion offers when two are equally close.
 */
import type { Lookup } from '../dockerfile/expand.js';

export class EnvList {
  private readonly values = new Map<string, string>();

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [key, value] of entries) this.set(key, value);
  }

  /** Sets `key`; it moves to the end of the key order. */
  set(key: string, value: string): void {
    this.values.delete(key);
    this.values.set(key, value);
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  lookup(): Lookup {
    return (name) => this.values.get(name);
  }

  clone(): EnvList {
    return new EnvList(this.values);
  }

  /** `KEY=value` entries (an image config's `Env`) as pairs; an entry without `=` has an empty value. */
  static fromEntries(env: readonly string[]): EnvList {
    return new EnvList(
      env.map((entry): [string, string] => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
}
