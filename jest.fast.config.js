/** `npm run test:fast`: every test file except those that start moto or run dist/ (test/support/suite-kinds.mjs). */
import { readdirSync } from 'node:fs';
import base from './jest.config.js';
import { kindOfFile } from './test/support/suite-kinds.mjs';

const slow = readdirSync('test')
  .filter((name) => name.endsWith('.test.ts') && kindOfFile(`test/${name}`) !== 'fast')
  .map((name) => `<rootDir>/test/${name.replace(/\./g, '\\.')}$`);

/** @type {import('jest').Config} */
export default { ...base, testPathIgnorePatterns: ['/node_modules/', ...slow] };
