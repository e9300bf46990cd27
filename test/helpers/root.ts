/** Real-component tests that need root (mounts, runc) are skipped elsewhere. */
export const isRoot = process.getuid?.() === 0;
