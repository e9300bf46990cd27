/**
 * The generic DAG scheduler. Every vertex starts at once and asks for a dependency's result only
 * where it uses it (`need`), so a vertex can do the work that does not depend on a slow
 * dependency while that dependency still runs (as BuildKit's solver does per operation). What is
 * bounded is work, not waiting: a vertex runs its expensive parts through `slot`, at most
 * `concurrency` at a time (p-queue), and holds no slot while it waits on `need`. Each vertex runs
 * once; the first failure aborts the rest through the AbortSignal it hands out. It knows nothing
 * of Dockerfiles, snapshots or caches.
 */
import PQueue from 'p-queue';
import { InternalError } from '../errors.js';

/** A vertex: its id and the ids it may need. */
export interface Vertex {
  id: string;
  deps: readonly string[];
}

/** What a running vertex gets. */
export interface VertexRun<R> {
  /** The result of `id`, one of the vertex's declared dependencies, once it is done. */
  need: (id: string) => Promise<R>;
  /** Runs `task` when fewer than `concurrency` tasks are running. */
  slot: <T>(task: () => Promise<T>) => Promise<T>;
  /** Aborted when any vertex fails or the caller's signal is aborted. */
  signal: AbortSignal;
}

/** Runs `run` for every vertex; resolves to the results by id. */
export async function solve<R>(
  vertices: readonly Vertex[],
  run: (id: string, vertex: VertexRun<R>) => Promise<R>,
  options: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<Map<string, R>> {
  const byId = new Map(vertices.map((v) => [v.id, v]));
  for (const v of vertices) for (const d of v.deps) if (!byId.has(d)) throw new InternalError(`vertex ${v.id} depends on unknown vertex ${d}`);
  checkAcyclic(byId);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const queue = new PQueue({ concurrency: options.concurrency ?? 4 });
  // After an abort nothing waiting starts; a task already running finishes its own cleanup.
  controller.signal.addEventListener('abort', () => queue.clear(), { once: true });
  const slot = <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let running = false;
      const onAbort = (): void => {
        if (!running) reject(controller.signal.reason);
      };
      if (controller.signal.aborted) return onAbort();
      controller.signal.addEventListener('abort', onAbort, { once: true });
      void queue.add(async () => {
        running = true;
        controller.signal.removeEventListener('abort', onAbort);
        try {
          controller.signal.throwIfAborted();
          resolve(await task());
        } catch (err) {
          reject(err);
        }
      });
    });
  const started = new Map<string, Promise<R>>();
  for (const vertex of vertices) {
    const need = async (id: string): Promise<R> => {
      if (!vertex.deps.includes(id)) throw new InternalError(`vertex ${vertex.id} needs ${id}, which it does not depend on`);
      const result = await (started.get(id) as Promise<R>);
      controller.signal.throwIfAborted();
      return result;
    };
    // Started on the next turn, once every vertex has its promise (a vertex may need any of them).
    const promise = Promise.resolve().then(() => run(vertex.id, { need, slot, signal: controller.signal }));
    promise.catch((err: unknown) => controller.abort(err));
    started.set(vertex.id, promise);
  }
  try {
    const results = new Map<string, R>();
    for (const [id, promise] of started) results.set(id, await promise);
    return results;
  } catch (err) {
    await Promise.allSettled(started.values());
    // Report the first failure, not the aborts it caused in other vertices.
    throw controller.signal.reason instanceof Error ? controller.signal.reason : err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    queue.clear();
  }
}

/** Refuses a dependency cycle before anything runs (its vertices would wait on each other). */
function checkAcyclic(byId: ReadonlyMap<string, Vertex>): void {
  const done = new Set<string>();
  const visit = (id: string, path: readonly string[]): void => {
    if (done.has(id)) return;
    if (path.includes(id)) throw new InternalError(`dependency cycle: ${[...path, id].join(' -> ')}`);
    for (const d of (byId.get(id) as Vertex).deps) visit(d, [...path, id]);
    done.add(id);
  };
  for (const id of byId.keys()) visit(id, []);
}
