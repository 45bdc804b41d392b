/** Image references as users type them: NAME[:TAG] (registries come with pulling). Pure. */
import { SandboxError } from '../errors.js';

/** Docker's grammar for a repository path component, lower case. */
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ImageRef {
  name: string;
  tag: string;
}

export function parseImageRef(input: string): ImageRef {
  const slash = input.lastIndexOf('/');
  const colon = input.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? input.slice(0, colon) : input;
  const tag = hasTag ? input.slice(colon + 1) : 'latest';
  if (!NAME.test(name)) {
    throw new SandboxError(`invalid image name "${input}"`, {
      hint: 'image names are lower case letters, digits and . _ - separators, optionally /-separated, then :TAG',
    });
  }
  if (!TAG.test(tag)) throw new SandboxError(`invalid image tag "${tag}" in "${input}"`, { hint: 'tags are up to 128 of A-Z a-z 0-9 _ . -' });
  return { name, tag };
}

export function formatImageRef(ref: ImageRef): string {
  return `${ref.name}:${ref.tag}`;
}
