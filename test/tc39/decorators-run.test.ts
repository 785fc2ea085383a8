import { expect } from 'chai'

describe('TC39 decorator run', () => {
  it('compiles standard (non-legacy) decorators', () => {
    const kinds: string[] = []
    function record<This, Args extends unknown[], R>(target: (this: This, ...args: Args) => R, context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>) {
      kinds.push(context.kind)
      return function (this: This, ...args: Args): R {
        return target.call(this, ...args)
      }
    }

    class Greeter {
      @record
      greet(name: string): string {
        return `hello ${name}`
      }
    }

    expect(kinds).to.deep.equal(['method'])
    expect(new Greeter().greet('tc39')).to.equal('hello tc39')
  })
})
