// TODO(move): the capability table lives in cli/run-options.ts for now.
export { effectiveCapabilities, LINUX_CAPABILITIES, defaultCapabilities } from '../cli/run-options.js';
