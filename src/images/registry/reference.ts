/**
 * From an image reference as users type it to where it lives: the registry (as users
 * and auth.json name it), the host its API answers on, and the repository path. Docker's
 * rules: a first component with "." or ":" or "localhost" is a registry, else the image
 * is on Docker Hub (docker.io, API at registry-1.docker.io) and a single name gets the
 * `library/` prefix. Pure.
 */
import { SandboxError } from '../../errors.js';
import { parseImageRef, formatImageRef, type ImageRef } from '../refs.js';

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

export interface RegistryRef extends ImageRef {
  /** The registry as named in references and auth.json: `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** HOST[:PORT] that serves the distribution API. */
  endpoint: string;
  /** The repository path on that registry: `library/alpine`, `team/app`. */
  repository: string;
}

/** Splits a reference into registry, API endpoint and repository. */
export function registryRef(reference: string): RegistryRef {
  const ref = parseImageRef(reference);
  const slash = ref.name.indexOf('/');
  const first = slash >= 0 ? ref.name.slice(0, slash) : '';
  const hasDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = hasDomain ? first : DOCKER_HUB;
  let repository = hasDomain ? ref.name.slice(slash + 1) : ref.name;
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  return { ...ref, registry, endpoint: endpointOf(registry), repository };
}

/** HOST[:PORT] of a registry's API (Docker Hub's is not docker.io). */
export function endpointOf(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** The reference a registry ref names a tag or digest of, as stored: `name:tag` / `name@digest`. */
export function displayRef(ref: RegistryRef): string {
  return formatImageRef(ref);
}

/** A registry name as `login`/`logout` take it: HOST[:PORT], also a URL or HOST/PATH. */
export function registryOfLoginArg(arg: string): string {
  const host = arg.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  if (!/^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9a-fA-F:]+\](:[0-9]+)?$/.test(host)) {
    throw new SandboxError(`invalid registry "${arg}"`, { hint: 'give the registry as HOST[:PORT], e.g. registry.example.com or 127.0.0.1:5000' });
  }
  return host === 'index.docker.io' || host === DOCKER_HUB_API ? DOCKER_HUB : host;
}

/** True for registries on this machine's loopback: localhost, 127.0.0.0/8, ::1. */
export function isLoopback(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:[0-9]+$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.[0-9]{1,3}){3}$/.test(host) || host === '::1';
}
