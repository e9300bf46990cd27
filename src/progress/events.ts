/**
 * Progress events: the library emits them, the CLI renders them (on stderr). Nothing in the
 * library prints.
 */

/** Something a long operation reports. */
export type ProgressEvent =
  | { type: 'message'; text: string }
  /**
   * A transfer: `current` of `total` bytes of blob `id` (pulled unless `push`); `cached` when
   * nothing needed moving, `mounted` when a push mounted it from another repository.
   */
  | { type: 'bytes'; id: string; label: string; current: number; total: number; done?: boolean; cached?: boolean; push?: boolean; mounted?: boolean }
  /** A base image's layer `id` unpacked into a snapshot: once when it starts, once `done` with its `seconds`. */
  | { type: 'extract'; id: string; label: string; done?: boolean; seconds?: number };

/** Receives progress events. */
export interface ProgressSink {
  emit(event: ProgressEvent | StepEvent): void;
}

/** A sink that drops everything. */
export const nullSink: ProgressSink = { emit: () => undefined };

/** Warnings (a damaged state file set aside, …) as `warning: …` messages on `sink`. */
export function warningsTo(sink: ProgressSink): (message: string) => void {
  return (message) => sink.emit({ type: 'message', text: `warning: ${message}` });
}

/** A build step's lifecycle, and its output. */
export type StepEvent =
  | { type: 'step'; id: string; name: string; status: 'started' | 'cached' | 'done' | 'error'; seconds?: number; reason?: string }
  | { type: 'log'; id: string; chunk: string }
  /** The build is planned: `steps` numbered steps will show (cached or run), so totals are known up front. */
  | { type: 'plan'; steps: number };
