/**
 * Image references as users type them, after Docker's reference grammar:
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component [ "/" path-component ]*
 * The first /-separated component is a registry domain when it contains "." or ":"
 * or is "localhost" (as Docker's splitDockerDomain decides). Pure.
 */
import { SandboxError, clipped } from '../errors.js';

/** Docker's grammar for a repository path component, lower case. */
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
/** A registry domain: dot-separated host name components (any case, inner "-"), optional :port. */
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?$`);
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Docker's limits (distribution/reference): a whole repository name, and a tag. */
const MAX_NAME_LENGTH = 255;
const MAX_TAG_LENGTH = 128;
/** The only digest algorithm we accept: sha256 with its 64 lower-case hex digits. */
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface ImageRef {
  name: string;
  /** The tag; "latest" when none is given, "" for a digest reference without a tag. */
  tag: string;
  /** `sha256:<hex>` of a `name@digest` reference. */
  digest?: string;
}

/** True when the name's first component is a registry domain (has "." or ":", or is "localhost"). */
export function hasDomain(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash < 0) return false;
  const first = name.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

/**
 * The name as Podman stores it: a name without a registry is a local image's,
 * `localhost/NAME` (`tag IMG app` names it localhost/app:latest). A name with one is kept.
 */
export function qualifiedName(name: string): string {
  return hasDomain(name) ? name : `localhost/${name}`;
}

function isValidName(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      return DOMAIN.test(first) && PATH.test(name.slice(slash + 1));
    }
  }
  return PATH.test(name);
}

export function parseImageRef(input: string): ImageRef {
  // An "@" starts a digest only when what follows looks like ALGORITHM:HEX; otherwise
  // it is just a character the name grammar rejects.
  const at = input.indexOf('@');
  const isDigest = at >= 0 && input.indexOf(':', at) > at;
  const rest = isDigest ? input.slice(0, at) : input;
  const digest = isDigest ? input.slice(at + 1) : undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? rest.slice(0, colon) : rest;
  const tag = hasTag ? rest.slice(colon + 1) : digest !== undefined ? '' : 'latest';
  if (name.length > MAX_NAME_LENGTH) {
    throw new SandboxError(`image name "${clipped(name)}" is ${name.length} characters long: the limit is ${MAX_NAME_LENGTH}`, {
      hint: `a repository name (with its registry) has at most ${MAX_NAME_LENGTH} characters, as in Docker and the OCI distribution spec`,
    });
  }
  if (hasTag && tag.length > MAX_TAG_LENGTH) {
    throw new SandboxError(`image tag "${clipped(tag)}" is ${tag.length} characters long: the limit is ${MAX_TAG_LENGTH}`, {
      hint: `tags are up to ${MAX_TAG_LENGTH} of A-Z a-z 0-9 _ . -`,
    });
  }
  if (!isValidName(name)) {
    throw new SandboxError(`invalid image name "${clipped(input, 300)}"`, {
      hint: 'image names are [HOST[:PORT]/]NAME[:TAG][@sha256:HEX]; NAME is lower case letters, digits and . _ - separators, optionally /-separated',
    });
  }
  if (hasTag && !TAG.test(tag)) throw new SandboxError(`invalid image tag "${tag}" in "${input}"`, { hint: 'tags are up to 128 of A-Z a-z 0-9 _ . -' });
  if (digest !== undefined) {
    if (!DIGEST.test(digest)) {
      throw new SandboxError(`invalid image digest "${digest}" in "${input}"`, { hint: 'digests are sha256: followed by 64 lower-case hex digits' });
    }
    return { name, tag, digest };
  }
  return { name, tag };
}

export function formatImageRef(ref: ImageRef): string {
  if (ref.digest) return ref.tag ? `${ref.name}:${ref.tag}@${ref.digest}` : `${ref.name}@${ref.digest}`;
  return `${ref.name}:${ref.tag}`;
}
