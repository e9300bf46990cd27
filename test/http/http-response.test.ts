import { describe, expect, it } from 'vitest';
import { HttpResponse, ResponseHeaders } from '../../src/http/http-response.js';

const body = (...chunks: string[]): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });

describe('ResponseHeaders', () => {
  const headers = new ResponseHeaders(['Content-Type', 'application/json', 'X-Two', 'a', 'x-two', ' b ', 'Docker-Content-Digest', 'sha256:00']);
  it.each([
    ['content-type', 'application/json'],
    ['CONTENT-TYPE', 'application/json'],
    ['x-two', 'a, b'],
    ['docker-content-digest', 'sha256:00'],
    ['location', null],
  ])("get(%s) is %j, as fetch's Headers answers", (name, value) => {
    expect([headers.get(name), headers.has(name)]).toEqual([value, value !== null]);
  });
});

describe('HttpResponse', () => {
  it.each([
    [200, true],
    [299, true],
    [199, false],
    [300, false],
    [404, false],
  ])('status %d is ok: %s', (status, ok) => {
    expect(new HttpResponse(status, '', new ResponseHeaders([]), null).ok).toBe(ok);
  });

  it('reads the body once, as text, JSON or bytes; a byte-order mark is dropped from text', async () => {
    const text = new HttpResponse(200, 'OK', new ResponseHeaders([]), body('\uFEFFhel', 'lo'));
    expect([text.bodyUsed, await text.text(), text.bodyUsed]).toEqual([false, 'hello', true]);
    await expect(text.text()).rejects.toThrow('Body is unusable: Body has already been read');
    expect(await new HttpResponse(200, 'OK', new ResponseHeaders([]), body('{"a":', '[1]}')).json()).toEqual({ a: [1] });
    const bytes = await new HttpResponse(200, 'OK', new ResponseHeaders([]), body('ab', 'c')).arrayBuffer();
    expect([bytes instanceof ArrayBuffer, Buffer.from(bytes).toString()]).toEqual([true, 'abc']);
    expect(await new HttpResponse(204, 'No Content', new ResponseHeaders([]), null).text()).toBe('');
  });

  it('rejects a read with the error that ended the body', async () => {
    const failing = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([1]));
        controller.error(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      },
    });
    await expect(new HttpResponse(200, 'OK', new ResponseHeaders([]), failing).arrayBuffer()).rejects.toMatchObject({
      message: 'aborted',
      code: 'ECONNRESET',
    });
  });
});
