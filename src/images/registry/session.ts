/**
 * A client for the repository a reference names, with the user's credentials from
 * auth.json (or --authfile) when there are any: what pull and push start from.
 */
import { homedir } from 'node:os';
import { findCredentials } from './auth-file.js';
import { RegistryClient } from './client.js';
import { registryRef, type RegistryRef } from './reference.js';

export interface SessionOptions {
  tlsVerify?: boolean | undefined;
  authFile?: string | undefined;
  /** For tests and library users: the environment auth files are looked up in. */
  env?: NodeJS.ProcessEnv;
}

export function openRepository(reference: string, actions: string[], options: SessionOptions): { ref: RegistryRef; client: RegistryClient } {
  const ref = registryRef(reference);
  const env = options.env ?? process.env;
  const credentials = findCredentials({ env, home: env.HOME || homedir(), authFile: options.authFile }, ref.registry, ref.repository);
  const client = new RegistryClient(ref.registry, ref.endpoint, ref.repository, { tlsVerify: options.tlsVerify, credentials, actions });
  return { ref, client };
}
