// tsbuild as a library: plan examples/hello without touching the disk, then build it into an OCI
// layout tarball and print what the build made. Run as root after `npm run build`:
//   node examples/library/build-hello.mjs /tmp/hello-oci.tar [state-root]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsbuild';
import { parseOutput } from 'tsbuild/options';
import { parseDockerfile } from 'tsbuild/dockerfile';
import { formatPlan, planBuild } from 'tsbuild/plan';

const context = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'hello');
const [dest = 'hello-oci.tar', root] = process.argv.slice(2);

// Pure: parse and plan from the text alone (the stages start FROM scratch, so no base config is needed).
const dockerfile = parseDockerfile(readFileSync(path.join(context, 'Dockerfile'), 'utf8'));
const platform = { os: 'linux', architecture: 'amd64' };
process.stdout.write(formatPlan(planBuild(dockerfile, { buildArgs: { GREETING: 'hi' }, buildPlatform: platform, targetPlatform: platform })));

// The build: same options as the command line's flags.
const result = await build({
  context,
  buildArgs: { GREETING: 'hi' },
  outputs: [parseOutput(`type=oci,dest=${dest}`)],
  ...(root ? { root } : {}),
});
console.log(`built ${result.digest} (config ${result.config}): ${result.ran} steps run, ${result.cached} cached, written to ${dest}`);
