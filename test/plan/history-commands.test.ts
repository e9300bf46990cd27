import { describe, expect, it } from 'vitest';
import { goQuote } from '../../src/plan/go-quote.js';
import { plan, stage } from '../helpers/plan.js';

// BuildKit writes `CMD %q` / `ENTRYPOINT %q` of the final argv (Docker Engine 28.5, buildx 0.29).
describe('CMD and ENTRYPOINT history text', () => {
  it.each([
    ['CMD ["node", "server.js"]', 'CMD ["node" "server.js"]'],
    ['CMD node server.js', 'CMD ["/bin/sh" "-c" "node server.js"]'],
    ['CMD ["echo", "say \\"hi\\" there", "a\\\\b"]', 'CMD ["echo" "say \\"hi\\" there" "a\\\\b"]'],
    ['CMD []', 'CMD []'],
    ['ENTRYPOINT ["run", "--flag=a b"]', 'ENTRYPOINT ["run" "--flag=a b"]'],
    ['ENTRYPOINT exec run "$@"', 'ENTRYPOINT ["/bin/sh" "-c" "exec run \\"$@\\""]'],
    ['ENTRYPOINT []', 'ENTRYPOINT []'],
    ['SHELL ["/bin/ash", "-ec"]\nCMD echo hi', 'CMD ["/bin/ash" "-ec" "echo hi"]'],
  ])('%j is recorded as %j', (body, createdBy) => {
    const history = stage(plan(`FROM busybox\n${body}\n`)).steps.map((s) => s.history?.created_by);
    expect(history.at(-1)).toBe(createdBy);
  });

  it.each([
    ['plain', '"plain"'],
    ['tab\there\nnl', '"tab\\there\\nnl"'],
    ['\x00\x1b\x7f', '"\\x00\\x1b\\x7f"'],
    ['é ü 日本', '"é ü 日本"'],
    ['\u00a0\u200b', '"\\u00a0\\u200b"'],
    ['\u{1f600}', '"\u{1f600}"'],
  ])('quotes %j as Go does: %s', (text, quoted) => {
    expect(goQuote(text)).toBe(quoted);
  });
});
