/**
 * `tsbuild/rootless`: running a program again inside a user namespace mapped from the user's
 * subordinate ids, as the `tsbuild` command does for an unprivileged user (`docs/rootless.md`). A
 * library caller that builds as such a user calls these before its first build.
 */
export { needsUserNamespace, runInUserNamespace, type RelaunchOptions } from '../rootless/relaunch.js';
