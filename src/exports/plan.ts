/** `tsbuild/plan`: the pure planner (Dockerfile → stages and steps) and its output. */
export { planBuild, imageBases, type PlanOptions } from '../plan/plan.js';
export { formatPlan } from '../plan/format.js';
export type * from '../plan/types.js';
export { parsePlatform, formatPlatform, type Platform } from '../image/platform.js';
export type { ContainerConfig, HistoryEntry, ImageConfig } from '../image/oci-types.js';
