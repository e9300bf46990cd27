/** The platform this machine runs (the planner takes it as an input; this is where it is read). */
import os from 'node:os';
import { platformOf, type Platform } from '../image/platform.js';

export function hostPlatform(): Platform {
  return platformOf(os.platform(), os.arch());
}
