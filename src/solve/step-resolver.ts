/**
 * Resolving one step against the cache (BuildKit's edge resolution, cut down to a linear chain of
 * steps): the step's op gives the parts of its cache key (its definition, the keys of what it reads,
 * content checksums); with its parent's key they make the step's key. An identical step already
 * being resolved (another stage, same key) is awaited instead of run again; a usable cached result
 * is taken; else an imported one (`--cache-from`) is restored (unless it turns out not to be
 * there: a warning, and a miss); else the op runs, in one of the
 * solver's slots, and its result is recorded. An op may hand its result on before it has finished
 * (`ready`: a snapshot committed, its layer still being written): the steps after it start then,
 * while the op keeps its slot until it is done, and the result is recorded only once it is.
 * `settled` waits for that remaining work. Generic over the result: it knows no snapshots or
 * layers, only ops and a cache (`test/solve/step-resolver.test.ts` drives it with fakes).
 */
import type { Digest } from '../digest/digest.js';
import type { ProgressSink } from '../progress/events.js';
import { cacheKey } from './cache-key.js';

/** The parts of a step's key besides its parent. */
export interface StepKeyInputs {
  /** The op's definition: everything that changes its result, nothing that does not. */
  definition: unknown;
  /** The keys of the other stages or images it reads. */
  inputs: string[];
  /** Content checksums of what it reads from outside (build-context files). */
  content: string[];
}

/** A step's op, as BuildKit's `Op` is: how it is keyed (reads only) and how it runs. */
export interface StepOp<R> {
  key(): Promise<StepKeyInputs>;
  /**
   * Makes the result; `key` names it. The op may call `ready` with the result as soon as the steps
   * after it can use it, and go on with the rest of its work (the result's own parts still to come
   * are then its business, a promise in it); what `run` resolves to is what the cache records.
   */
  run(key: Digest, ready: (result: R) => void): Promise<R>;
  /**
   * Where a result for `key` can be restored from instead of running (an imported cache): the work
   * to restore it, or undefined when there is none. The work rejects with `Unrestorable` when what
   * it restores from is gone: the step then runs.
   */
  restorable?(key: Digest): (() => Promise<R>) | undefined;
}

/**
 * What a restore rejects with when the result it would restore cannot be had (an imported layer
 * that is missing): as in BuildKit, a cache miss with a warning, not a failed build.
 */
export class Unrestorable extends Error {
  override readonly name = 'Unrestorable';
}

/** The key parts as remembered per step location, to explain the next miss. */
export interface RememberedParts {
  definition: string;
  parent: string;
  inputs: string[];
  content: string[];
}

/** Where results live between builds. */
export interface StepCache<R> {
  /** A usable result for `key`, or undefined. */
  get(key: Digest): Promise<R | undefined>;
  /**
   * Records `result` for `key`. A usable result recorded meanwhile (by a build making the same step
   * at once) stands unless `replace` (the step ran because the cache was to be skipped).
   */
  put(key: Digest, result: R, options?: { replace?: boolean }): Promise<void>;
  /** Why a step at `location` with these parts missed, compared with its last build. */
  missReason(location: string, parts: RememberedParts): Promise<string>;
  remember(location: string, parts: RememberedParts): Promise<void>;
}

/** Which step is resolved, for progress and for explaining misses. */
export interface StepInfo {
  id: string;
  name: string;
  /** A stable name of the step's place (Dockerfile, stage, step), across builds. */
  location: string;
  /** The parent step's key (or the base image's). */
  parentKey: string;
  /** Run it even when cached (`--no-cache`, `--no-cache-filter`). */
  skipCache: boolean;
}

export type Slot = <T>(task: () => Promise<T>) => Promise<T>;

export class StepResolver<R> {
  /** Steps run, and steps taken from the cache (or from another stage resolving the same key). */
  ran = 0;
  cached = 0;
  private readonly inFlight = new Map<string, Promise<R>>();
  /** Ops still finishing after handing their result on, with what they came to. */
  private readonly finishing = new Set<Promise<unknown>>();
  private firstFailure: { error: unknown } | undefined;

  constructor(
    private readonly cache: StepCache<R>,
    private readonly progress: ProgressSink,
  ) {}

  /** Resolves `op` to its key and result; `slot` bounds the work running at once. */
  async resolve(info: StepInfo, op: StepOp<R>, slot: Slot): Promise<{ key: Digest; result: R }> {
    const parts = await op.key();
    const key = cacheKey({ definition: parts.definition, parent: info.parentKey, inputs: parts.inputs, content: parts.content });
    const running = info.skipCache ? undefined : this.inFlight.get(key);
    if (running) {
      const result = await running;
      this.hit(info);
      return { key, result };
    }
    const remembered: RememberedParts = {
      definition: cacheKey({ definition: parts.definition }),
      parent: info.parentKey,
      inputs: parts.inputs,
      content: parts.content,
    };
    const resolving = this.resolveNew(info, op, key, remembered, slot);
    if (!info.skipCache) this.inFlight.set(key, resolving);
    return { key, result: await resolving };
  }

  private async resolveNew(info: StepInfo, op: StepOp<R>, key: Digest, parts: RememberedParts, slot: Slot): Promise<R> {
    if (!info.skipCache) {
      let cached = await this.cache.get(key);
      const restore = cached === undefined ? op.restorable?.(key) : undefined;
      // Restoring is work (a layer unpacked): it takes a slot like a run.
      if (restore) {
        cached = await slot(restore).catch((err: unknown) => {
          if (!(err instanceof Unrestorable)) throw err;
          this.progress.emit({
            type: 'message',
            text: `warning: cannot restore ${info.name} from the imported cache: ${err.message}; the step runs`,
          });
          return undefined;
        });
        if (cached !== undefined) await this.cache.put(key, cached);
      }
      if (cached !== undefined) {
        this.hit(info);
        return cached;
      }
    }
    // Only the work takes one of the slots; the checks above wait for nothing.
    return new Promise<R>((handOn, fail) => {
      let handed = false;
      let started = Date.now();
      const done = (): void => {
        this.progress.emit({ type: 'step', id: info.id, name: info.name, status: 'done', seconds: (Date.now() - started) / 1000 });
      };
      const ready = (result: R): void => {
        if (handed) return;
        handed = true;
        handOn(result);
        done();
      };
      const work = slot(async () => {
        const reason = info.skipCache ? '--no-cache' : await this.cache.missReason(info.location, parts);
        this.progress.emit({ type: 'step', id: info.id, name: info.name, status: 'started', reason });
        started = Date.now();
        const result = await op.run(key, ready).catch((err: unknown) => {
          // Every failed step says so (BuildKit's `ERROR [x/y] …`), even when another fails first;
          // one that has already handed its result on failed in the work after (its layer).
          const why = err instanceof Error ? err.message : String(err);
          if (!handed)
            this.progress.emit({ type: 'step', id: info.id, name: info.name, status: 'error', seconds: (Date.now() - started) / 1000, reason: why });
          throw err;
        });
        await this.cache.put(key, result, { replace: info.skipCache });
        await this.cache.remember(info.location, parts);
        this.ran++;
        if (!handed) done();
        return result;
      });
      work.then(
        (result) => {
          handed = true;
          handOn(result);
        },
        (err: unknown) => {
          if (handed) this.firstFailure ??= { error: err };
          fail(err); // nothing once the result was handed on
        },
      );
      const tracked = work.then(
        () => undefined,
        () => undefined,
      );
      this.finishing.add(tracked);
      void tracked.then(() => this.finishing.delete(tracked));
    });
  }

  /**
   * Waits for the ops that handed their results on to finish; rejects with the first of them that
   * failed. What the build does last before it writes its images (and, failed or not, before it
   * lets go of what those ops use).
   */
  async settled(): Promise<void> {
    while (this.finishing.size > 0) await Promise.all(this.finishing);
    if (this.firstFailure) throw this.firstFailure.error;
  }

  private hit(info: StepInfo): void {
    this.cached++;
    this.progress.emit({ type: 'step', id: info.id, name: info.name, status: 'cached' });
  }
}
