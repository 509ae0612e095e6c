// The shared process manager (src/testkit/children.ts), under the name the tests import.
export { fileTail, ManagedProcess, type ChildOptions, type Exit } from '../../src/testkit/children.js';
