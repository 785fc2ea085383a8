import { expect } from 'chai'
import { containerFactory, parameterNames } from '../src/container'

describe('container', () => {
  it('reads parameter names of functions, methods and arrows', () => {
    class Serializer {
      async method(book: unknown, user: unknown) {
        return [book, user]
      }
    }
    expect(
      parameterNames(function named(a: unknown, b: unknown) {
        return [a, b]
      }).names,
    ).to.deep.equal(['a', 'b'])
    expect(parameterNames(Serializer.prototype.method).names).to.deep.equal(['book', 'user'])
    expect(parameterNames((x: unknown) => x).names).to.deep.equal(['x'])
    expect(parameterNames(async (x: unknown, y: unknown) => [x, y]).names).to.deep.equal(['x', 'y'])
    expect(parameterNames(new Function('single', 'return single') as Function).names).to.deep.equal(['single'])
  })

  it('handles defaults with commas and brackets, comments, destructuring and rest', () => {
    // written as source so the compiler cannot rewrite the parameter list
    const fn = new Function(`return function f(a = [1, 2], /* b, */ { c, d } = {}, e = ')', f = g(1, 2), ...rest) {}`)()
    expect(parameterNames(fn)).to.deep.equal({ names: ['a', undefined, 'e', 'f'], rest: 'rest' })
  })

  it('gives each call its own container with parameters, rest, self and args', () => {
    const make = containerFactory(new Function(`return function f(book, ...others) {}`)())
    const self = {}
    const first = make(self, [1, 2, 3])
    const second = make(self, [4])
    expect(first).to.deep.equal({ self, args: [1, 2, 3], book: 1, others: [2, 3] })
    expect(second).to.deep.equal({ self, args: [4], book: 4, others: [] })
    expect(first).to.not.equal(second)
  })

  it('keeps self, args and result for cacheme when a parameter shares the name', () => {
    const make = containerFactory(new Function(`return function f(args, result) {}`)())
    expect(make('me', [1, 2])).to.deep.equal({ self: 'me', args: [1, 2] })
  })

  it('gives a parameter named __proto__ its argument, as an own property, and leaves the prototype alone', () => {
    const make = containerFactory(new Function(`return function f(__proto__, id) {}`)())
    const first = make(undefined, [{ polluted: true }, 1])
    const second = make(undefined, [7, 2])
    expect(Object.getOwnPropertyDescriptor(first, '__proto__')?.value).to.deep.equal({ polluted: true })
    expect(first.__proto__).to.deep.equal({ polluted: true })
    expect(second.__proto__).to.equal(7)
    expect(Object.getPrototypeOf(first)).to.equal(Object.prototype)
    expect((first as { polluted?: boolean }).polluted).to.equal(undefined)
    expect(first.id).to.equal(1)
  })

  it('reads a rest parameter named __proto__ as its own property too', () => {
    const make = containerFactory(new Function(`return function f(first, ...__proto__) {}`)())
    expect(make(undefined, [1, 2, 3]).__proto__).to.deep.equal([2, 3])
  })
})
