// Jest's Node environment, plus: a process warning (a MaxListenersExceededWarning above all) fails
// the test it was raised in, or the test file when no test was running (a beforeAll or afterAll
// hook). Set for every project in jest.config.js.
//
// Why an environment rather than a setup file: a test file's `process` is a copy Jest makes, on
// which Node never emits 'warning'; this module runs in the worker itself and hears the real one.
// And an environment sees Jest's events, so a warning from a suite's own afterAll (closing an app
// or a server) still counts, however the hooks are ordered.
//
// Unhandled rejections need nothing here: Jest fails the test, hook or test file they happen in,
// and one after a file's last hook brings the run down (Node's default).
import { TestEnvironment } from 'jest-environment-node';

/** Expected on the supported setups, and not ours to act on: Node prints them, nothing fails. */
const EXPECTED = [
  // Node, once per process: Jest runs ESM through vm modules (NODE_OPTIONS=--experimental-vm-modules).
  { name: 'ExperimentalWarning', message: /^VM Modules is an experimental feature/ },
  // @aws-sdk/core, once per process, on Node < 22 (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true silences it).
  { name: 'Warning', message: /^NodeVersionSupportWarning: The AWS SDK for JavaScript \(v3\)/ },
];

/** Warnings of these kinds fail a test only when our code is on the stack (a dependency's are not ours to fix). */
const THIRD_PARTY_TOLERATED = new Set(['DeprecationWarning', 'ExperimentalWarning']);

export default class FailOnWarningsEnvironment extends TestEnvironment {
  /** Frames of our code: the package (src/ or the installed tarball), the tests, the sample. */
  #ours;
  /** What was raised and not yet reported, by kind: [error, count]. */
  #pending = new Map();
  #where = 'before the first test';

  constructor(config, context) {
    super(config, context);
    const root = config.projectConfig.rootDir.replace(/\/$/, '');
    this.#ours = (frame) =>
      ['src', 'test', 'sample'].some((dir) => frame.includes(`${root}/${dir}/`)) ||
      frame.includes('/node_modules/nestjs-downloadview/');
  }

  #onWarning = (warning) => {
    if (EXPECTED.some(({ name, message }) => warning.name === name && message.test(warning.message))) return;
    const frames = (warning.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
    if (THIRD_PARTY_TOLERATED.has(warning.name) && !frames.some(this.#ours)) return;
    let header = `${warning.name}: ${warning.message}`;
    if (warning.name === 'MaxListenersExceededWarning') {
      const request = warning.emitter?.req;
      if (request) header += `\n(the response to ${request.method} ${request.url})`;
      header +=
        '\nThe stack is that of the listener that crossed the limit, not necessarily of the code that added too many:' +
        ` see every '${String(warning.type)}' listener of this emitter.`;
    }
    this.#raise(
      `${this.#where}: ${header}`,
      frames,
      `${warning.name}\0${warning.message}\0${frames.slice(0, 3).join()}`,
    );
  };

  #raise(header, frames, key) {
    const seen = this.#pending.get(key);
    if (seen) {
      seen[1]++;
      return;
    }
    const error = new Error(header);
    error.stack = [header, ...frames].join('\n');
    this.#pending.set(key, [error, 1]);
  }

  /** The pending errors, each with how many times it was raised. */
  #take() {
    const errors = [...this.#pending.values()].map(([error, count]) => {
      if (count > 1) {
        const note = ` (raised ${count} times)`;
        error.message += note;
        error.stack = error.stack.replace(/\n|$/, `${note}\n`);
      }
      return error;
    });
    this.#pending.clear();
    return errors;
  }

  async setup() {
    await super.setup();
    process.on('warning', this.#onWarning);
  }

  async teardown() {
    process.off('warning', this.#onWarning);
    await super.teardown();
    // Raised after the last hook (Node emits a warning on the next tick): the test file fails.
    const late = this.#take();
    if (late.length > 0) {
      const error = new Error(late.map(({ message }) => message).join('\n'));
      error.stack = late.map(({ stack }) => stack).join('\n\n');
      throw error;
    }
  }

  async handleTestEvent(event, state) {
    switch (event.name) {
      case 'test_start':
        this.#where = `in "${testName(event.test)}"`;
        break;
      case 'test_done':
        event.test.errors.push(...this.#take());
        this.#where = `after "${testName(event.test)}"`;
        break;
      case 'hook_start':
        if (event.hook.type === 'beforeAll' || event.hook.type === 'afterAll')
          this.#where = `in ${event.hook.type} of "${event.hook.parent.name}"`;
        break;
      case 'run_finish':
        // Raised outside any test (a beforeAll, an afterAll, between tests): the test file fails.
        state.unhandledErrors.push(...this.#take());
        this.#where = 'after the last hook';
        break;
    }
  }
}

function testName(test) {
  const names = [];
  for (let block = test; block && block.name !== 'ROOT_DESCRIBE_BLOCK'; block = block.parent) names.unshift(block.name);
  return names.join(' › ');
}
