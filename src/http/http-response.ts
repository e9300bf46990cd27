/**
 * What `httpFetch` answers with: the part of fetch's `Response` the registry client reads (status,
 * headers, a web-stream body, `text`/`json`/`arrayBuffer`). fetch's own `Response` and `Headers`
 * live in Node's bundled undici, and making the first one loads and compiles it: 40–55 ms of CPU
 * in every command that talks to a registry, for four fields and a header lookup.
 */
export class HttpResponse {
  readonly ok: boolean;
  #used = false;

  constructor(
    readonly status: number,
    readonly statusText: string,
    readonly headers: ResponseHeaders,
    /** Null for HEAD and for statuses that have no body (204, 304, …). */
    readonly body: ReadableStream<Uint8Array> | null,
  ) {
    this.ok = status >= 200 && status <= 299;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /** The body as UTF-8 (a byte-order mark dropped), as fetch decodes it. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.bytes());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  /** The whole body; a second read fails as fetch's does. */
  private async bytes(): Promise<Buffer> {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    if (!this.body) return Buffer.alloc(0);
    const chunks: Uint8Array[] = [];
    for await (const chunk of this.body as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }
}

/** Response headers by case-insensitive name; repeated ones joined with ", " as `Headers` joins them. */
export class ResponseHeaders {
  readonly #values = new Map<string, string>();

  /** `rawHeaders` as `node:http` gives them: name, value, name, value, … */
  constructor(rawHeaders: readonly string[]) {
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as string).toLowerCase();
      const value = (rawHeaders[i + 1] as string).trim();
      const before = this.#values.get(name);
      this.#values.set(name, before === undefined ? value : `${before}, ${value}`);
    }
  }

  get(name: string): string | null {
    return this.#values.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.#values.has(name.toLowerCase());
  }
}
