import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dumpNodes } from '../../src/dockerfile/dump.js';
import { parseNodes } from '../../src/dockerfile/parse-nodes.js';
import { sharedPath } from '../helpers/shared.js';

const corpus = sharedPath('conformance/buildkit-parser');
const positive = readdirSync(`${corpus}/positive`).sort();
const negative = readdirSync(`${corpus}/negative`).sort();

describe('BuildKit parser conformance', () => {
  it('has the 33 positive and 4 negative vectors', () => {
    expect(positive).toHaveLength(33);
    expect(negative).toHaveLength(4);
  });

  it.each(positive)('positive/%s dumps exactly as its result file', (name) => {
    const text = readFileSync(`${corpus}/positive/${name}/Dockerfile`, 'utf8');
    const expected = readFileSync(`${corpus}/positive/${name}/result`, 'utf8');
    expect(dumpNodes(parseNodes(text).nodes)).toBe(expected);
  });

  const negativeErrors: Record<string, string> = {
    empty_dockerfile: 'file with no instructions',
    only_comments: 'file with no instructions',
    env_no_value: 'ENV must have two arguments',
    'shykes-nested-json': 'when using JSON array syntax, arrays must be comprised of strings only',
  };
  it.each(negative)('negative/%s is rejected with BuildKit’s reason', (name) => {
    const text = readFileSync(`${corpus}/negative/${name}/Dockerfile`, 'utf8');
    expect(() => parseNodes(text)).toThrow(negativeErrors[name]);
  });

  it('counts line numbers as BuildKit does (line-numbers/Dockerfile)', () => {
    const doc = parseNodes(readFileSync(`${corpus}/line-numbers/Dockerfile`, 'utf8'));
    expect(doc.nodes.map((n) => [n.range.start.line, n.range.end.line])).toEqual([
      [5, 5],
      [11, 12],
      [17, 31],
    ]);
  });
});
