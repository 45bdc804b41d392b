/** The typed library API. The CLI is one of its users; tests are another. */
export * from './types.js';
export { SandboxError } from '../errors.js';
