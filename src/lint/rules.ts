/**
 * The Dockerfile checks BuildKit runs (`--call=check`, and as warnings in every build): each rule's
 * name, one-line description, documentation URL and message, worded exactly as BuildKit's
 * `linter/ruleset.go` words them, so tools that read BuildKit's output read ours. Where a check
 * fires lives with the walk that sees it (`parse-checks.ts`, `from-checks.ts`, `stage-walk.ts`).
 */
import { goQuote } from '../dockerfile/dump.js';

/** A rule: what it is called and where it is documented. */
export interface LintRule {
  name: string;
  description: string;
  /** BuildKit's page for it; one rule (InvalidBaseImagePlatform) has none. */
  url?: string;
  /** Experimental rules run only when `# check=experimental=…` names them. */
  experimental?: boolean;
}

/** A rule with the message it prints for a finding. */
export interface RuleWithMessage<A extends unknown[]> extends LintRule {
  message(...args: A): string;
}

const docs = (page: string): string => `https://docs.docker.com/go/dockerfile/rule/${page}/`;

function rule<A extends unknown[]>(name: string, description: string, page: string | undefined, message: (...args: A) => string): RuleWithMessage<A> {
  return { name, description, ...(page === undefined ? {} : { url: docs(page) }), message };
}

export const StageNameCasing = rule('StageNameCasing', 'Stage names should be lowercase', 'stage-name-casing', (stage: string) => {
  return `Stage name '${stage}' should be lowercase`;
});

export const FromAsCasing = rule(
  'FromAsCasing',
  "The 'as' keyword should match the case of the 'from' keyword",
  'from-as-casing',
  (from: string, as: string) => `'${as}' and '${from}' keywords' casing do not match`,
);

export const NoEmptyContinuation = rule(
  'NoEmptyContinuation',
  'Empty continuation lines will become errors in a future release',
  'no-empty-continuation',
  () => 'Empty continuation line',
);

export const ConsistentInstructionCasing = rule(
  'ConsistentInstructionCasing',
  'All commands within the Dockerfile should use the same casing (either upper or lower)',
  'consistent-instruction-casing',
  (command: string, casing: 'lowercase' | 'uppercase') => `Command '${command}' should match the case of the command majority (${casing})`,
);

export const DuplicateStageName = rule('DuplicateStageName', 'Stage names should be unique', 'duplicate-stage-name', (stage: string) => {
  return `Duplicate stage name ${goQuote(stage)}, stage names should be unique`;
});

export const ReservedStageName = rule(
  'ReservedStageName',
  'Reserved words should not be used as stage names',
  'reserved-stage-name',
  (stage: string) => {
    return `Stage name should not use the same name as reserved stage ${goQuote(stage)}`;
  },
);

export const JSONArgsRecommended = rule(
  'JSONArgsRecommended',
  'JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals',
  'json-args-recommended',
  (instruction: string) => `JSON arguments recommended for ${instruction} to prevent unintended behavior related to OS signals`,
);

export const MaintainerDeprecated = rule(
  'MaintainerDeprecated',
  'The MAINTAINER instruction is deprecated, use a label instead to define an image author',
  'maintainer-deprecated',
  () => 'Maintainer instruction is deprecated in favor of using label',
);

export const UndefinedArgInFrom = rule(
  'UndefinedArgInFrom',
  'FROM command must use declared ARGs',
  'undefined-arg-in-from',
  (arg: string, suggestion: string | undefined) => `FROM argument '${arg}' is not declared${suggestion ? ` (did you mean ${suggestion}?)` : ''}`,
);

export const WorkdirRelativePath = rule(
  'WorkdirRelativePath',
  'Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes',
  'workdir-relative-path',
  (workdir: string) => `Relative workdir ${goQuote(workdir)} can have unexpected results if the base image changes`,
);

export const UndefinedVar = rule(
  'UndefinedVar',
  'Variables should be defined before their use',
  'undefined-var',
  (name: string, suggestion: string | undefined) => `Usage of undefined variable '$${name}'${suggestion ? ` (did you mean $${suggestion}?)` : ''}`,
);

export const MultipleInstructionsDisallowed = rule(
  'MultipleInstructionsDisallowed',
  'Multiple instructions of the same type should not be used in the same stage',
  'multiple-instructions-disallowed',
  (instruction: string) => `Multiple ${instruction} instructions should not be used in the same stage because only the last one will be used`,
);

export const LegacyKeyValueFormat = rule(
  'LegacyKeyValueFormat',
  'Legacy key/value format with whitespace separator should not be used',
  'legacy-key-value-format',
  (instruction: string) => `"${instruction} key=value" should be used instead of legacy "${instruction} key value" format`,
);

export const InvalidBaseImagePlatform = rule(
  'InvalidBaseImagePlatform',
  'Base image platform does not match expected target platform',
  undefined,
  (image: string, expected: string, actual: string) =>
    `Base image ${image} was pulled with platform ${goQuote(actual)}, expected ${goQuote(expected)} for current build`,
);

export const RedundantTargetPlatform = rule(
  'RedundantTargetPlatform',
  'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior',
  'redundant-target-platform',
  (platform: string) => `Setting platform to predefined ${platform} in FROM is redundant as this is the default behavior`,
);

export const SecretsUsedInArgOrEnv = rule(
  'SecretsUsedInArgOrEnv',
  'Sensitive data should not be used in the ARG or ENV commands',
  'secrets-used-in-arg-or-env',
  (instruction: 'ARG' | 'ENV', key: string) => `Do not use ARG or ENV instructions for sensitive data (${instruction} ${goQuote(key)})`,
);

export const InvalidDefaultArgInFrom = rule(
  'InvalidDefaultArgInFrom',
  'Default value for global ARG results in an empty or invalid base image name',
  'invalid-default-arg-in-from',
  (base: string) => `Default value for ARG ${base} results in empty or invalid base image name`,
);

export const FromPlatformFlagConstDisallowed = rule(
  'FromPlatformFlagConstDisallowed',
  'FROM --platform flag should not use a constant value',
  'from-platform-flag-const-disallowed',
  (platform: string) => `FROM --platform flag should not use constant value ${goQuote(platform)}`,
);

export const ExposeProtoCasing = rule(
  'ExposeProtoCasing',
  'Protocol in EXPOSE instruction should be lowercase',
  'expose-proto-casing',
  (port: string) => {
    return `Defined protocol '${port}' in EXPOSE instruction should be lowercase`;
  },
);

export const ExposeInvalidFormat = rule(
  'ExposeInvalidFormat',
  'IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release',
  'expose-invalid-format',
  (port: string) => `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`,
);

/** Every rule tsbuild implements, in BuildKit's order. */
export const ALL_RULES: readonly LintRule[] = [
  StageNameCasing,
  FromAsCasing,
  NoEmptyContinuation,
  ConsistentInstructionCasing,
  DuplicateStageName,
  ReservedStageName,
  JSONArgsRecommended,
  MaintainerDeprecated,
  UndefinedArgInFrom,
  WorkdirRelativePath,
  UndefinedVar,
  MultipleInstructionsDisallowed,
  LegacyKeyValueFormat,
  InvalidBaseImagePlatform,
  RedundantTargetPlatform,
  SecretsUsedInArgOrEnv,
  InvalidDefaultArgInFrom,
  FromPlatformFlagConstDisallowed,
  ExposeProtoCasing,
  ExposeInvalidFormat,
];
