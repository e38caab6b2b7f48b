export { createNoopJob } from './noop.ts';
