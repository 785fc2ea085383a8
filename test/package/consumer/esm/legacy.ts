// reflect-metadata is evaluated before program.js, as ES module imports run in order.
import 'reflect-metadata'
import assert from 'node:assert/strict'
import { Authors, main } from './program.js'

// emitDecoratorMetadata still describes the decorated method.
assert.equal(Reflect.getMetadata('design:returntype', Authors.prototype, 'display'), Promise)
await main('legacy')
