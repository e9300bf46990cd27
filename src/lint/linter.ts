/**
 * Collects findings in the order the checks meet them, dropping what the `# check=` configuration
 * turns off, and remembers which rules fired for the `error=true` failure. The order matters:
 * BuildKit prints findings sorted by line, and findings on the same line in the order they were
 * found, so the walks call `report` in BuildKit's order.
 */
import type { LintConfig } from './config.js';
import type { LintRule } from './rules.js';

/** The lines a finding points at (1-based, inclusive). */
export interface LintLocation {
  start: number;
  end: number;
}

/** One finding. */
export interface LintWarning {
  rule: string;
  description: string;
  url?: string;
  message: string;
  location: LintLocation;
}

/** Gathers the findings of one check. */
export class Linter {
  readonly warnings: LintWarning[] = [];
  private readonly fired: string[] = [];

  constructor(private readonly config: LintConfig) {}

  /** True when `rule` is enabled by the configuration. */
  enabled(rule: LintRule): boolean {
    if (rule.experimental) return this.config.experimentalAll || this.config.experimental.has(rule.name);
    return !this.config.skipAll && !this.config.skip.has(rule.name);
  }

  report(rule: LintRule, location: LintLocation, message: string): void {
    if (!this.enabled(rule)) return;
    if (!this.fired.includes(rule.name)) this.fired.push(rule.name);
    this.warnings.push({ rule: rule.name, description: rule.description, ...(rule.url === undefined ? {} : { url: rule.url }), message, location });
  }

  /** The rules that fired, each once, in the order they first fired. */
  violatedRules(): string[] {
    return [...this.fired];
  }
}

/** Findings sorted as BuildKit prints them: by first line, ties kept in the order found. */
export function sortedWarnings(warnings: readonly LintWarning[]): LintWarning[] {
  return [...warnings].sort((a, b) => a.location.start - b.location.start);
}
