// experimentalDecorators is a whole-project switch, so the TC39 run compiles with its own tsconfig.
require('ts-node').register({ project: require('path').join(__dirname, '..', '..', 'tsconfig.tc39.json') })
