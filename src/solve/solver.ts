/**
 * The generic DAG scheduler: runs vertices as soon as their dependencies are done, at most
 * `concurrency` at a time (p-queue), each vertex once; the first failure aborts the rest through
 * the AbortSignal it hands out. It knows nothing of Dockerfiles, snapshots or caches.
 */
import PQueue from 'p-queue';

/** A vertex: its id and the ids it depends on. */
export interface Vertex {
  id: string;
  deps: readonly string[];
}

/** Runs `run` for every vertex in dependency order; resolves to the results by id. */
export async function solve<R>(
  vertices: readonly Vertex[],
  run: (id: string, deps: ReadonlyMap<string, R>, signal: AbortSignal) => Promise<R>,
  options: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<Map<string, R>> {
  const byId = new Map(vertices.map((v) => [v.id, v]));
  for (const v of vertices) for (const d of v.deps) if (!byId.has(d)) throw new Error(`vertex ${v.id} depends on unknown vertex ${d}`);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  const results = new Map<string, R>();
  const started = new Map<string, Promise<R>>();
  const start = (id: string, path: readonly string[]): Promise<R> => {
    if (path.includes(id)) return Promise.reject(new Error(`dependency cycle: ${[...path, id].join(' -> ')}`));
    let promise = started.get(id);
    if (!promise) {
      const vertex = byId.get(id) as Vertex;
      promise = (async () => {
        const deps = new Map<string, R>();
        for (const d of vertex.deps) deps.set(d, await start(d, [...path, id]));
        controller.signal.throwIfAborted();
        const result = (await queue.add(() => run(id, deps, controller.signal))) as R;
        results.set(id, result);
        return result;
      })();
      promise.catch((err: unknown) => controller.abort(err));
      started.set(id, promise);
    }
    return promise;
  };
  try {
    await Promise.all(vertices.map((v) => start(v.id, [])));
    return results;
  } catch (err) {
    // Report the first failure, not the aborts it caused in other vertices.
    throw controller.signal.reason instanceof Error ? controller.signal.reason : err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    queue.clear();
  }
}
