/**
 * Image references with Docker's normalisation (distribution's `reference` grammar):
 * `alpine` → `docker.io/library/alpine:latest`, `user/app` → `docker.io/user/app:latest`,
 * `host:5000/a/b:tag`, `name@sha256:…`, `name:tag@sha256:…`.
 */
import { isDigest, type Digest } from '../digest/digest.js';
import { InvalidArgumentError } from '../errors.js';

/** A parsed, normalised reference. */
export interface Reference {
  /** The registry host as users name it (`docker.io`, `localhost:5000`). */
  domain: string;
  /** The repository path (`library/alpine`). */
  path: string;
  tag?: string;
  digest?: Digest;
}

export const DOCKER_HUB = 'docker.io';
/** Where Docker Hub's registry API actually answers. */
export const DOCKER_HUB_API = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const MAX_NAME = 255;

/** Parses and normalises `text`; a reference without tag or digest gets `latest`. */
export function parseReference(text: string): Reference {
  const invalid = (reason: string): never => {
    throw new InvalidArgumentError(`invalid reference "${text}": ${reason}`);
  };
  if (text === '') invalid('empty');
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) invalid(`bad digest "${d}"`);
    digest = d as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) invalid(`bad tag "${tag}"`);
  }
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  let domain = DOCKER_HUB;
  let path = rest;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = rest.slice(slash + 1);
    if (!DOMAIN.test(domain)) invalid(`bad registry host "${domain}"`);
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (path !== path.toLowerCase()) invalid('repository name must be lowercase');
  if (path.split('/').some((c) => !COMPONENT.test(c)))
    invalid('repository name must be lowercase letters, digits and separators (. _ __ -) between them');
  if (`${domain}/${path}`.length > MAX_NAME) invalid(`repository name must not be longer than ${MAX_NAME} characters`);
  return {
    domain,
    path,
    ...(tag === undefined && digest === undefined ? { tag: 'latest' } : {}),
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** `domain/path`, the repository's full name. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The canonical text: `domain/path[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The short form users type: Docker Hub's `library/` and `docker.io/` dropped. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DOCKER_HUB) return repositoryName(ref);
  return ref.path.startsWith('library/') ? ref.path.slice('library/'.length) : ref.path;
}

/** What a manifest request asks for: the digest when pinned, else the tag. */
export function manifestReference(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}
