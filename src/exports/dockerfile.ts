/** `tsbuild/dockerfile`: the Dockerfile parser and word expansion, pure. */
export { parseDockerfile, parseTriggers, type Dockerfile, type Stage } from '../dockerfile/parse.js';
export type { Instruction, StageInstruction } from '../dockerfile/instructions.js';
export { DockerfileError, type ErrorLocation, type SourcePosition, type SourceRange } from '../dockerfile/errors.js';
export { expandWord, expandWords, ExpansionError, type Lookup } from '../dockerfile/expand.js';
