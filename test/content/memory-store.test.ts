import { MemoryContentStore } from '../../src/content/memory-store.js';
import { contentStoreSuite } from '../suites/content-store.js';

contentStoreSuite('MemoryContentStore', () => new MemoryContentStore());
