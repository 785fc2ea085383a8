import 'reflect-metadata'
import assert from 'node:assert/strict'
import { main, Shelf } from './program'

// emitDecoratorMetadata still describes the decorated method.
assert.equal(Reflect.getMetadata('design:returntype', Shelf.prototype, 'title'), Promise)
main('legacy').catch(error => {
  console.error(error)
  process.exitCode = 1
})
