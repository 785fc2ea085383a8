import { expect } from 'chai'
import { CachemeError } from '../../src'
import {
  BUILTIN_FIELD_TYPES,
  PkOnlyList,
  PkOnlyModel,
  decodeFields,
  fieldFromJson,
  fieldToJson,
  mergeFieldTypes,
  type FieldType,
  type FieldTypes,
} from '../../src/instance-cache/fields'
import { modelName, storedModelName } from '../../src/instance-cache/row-identity'

const types = BUILTIN_FIELD_TYPES
const toJson = (type: string, ...value: unknown[]) => fieldToJson(types, 'polls', type, 'field', ...value)[1]
const fromJson = (type: string, json: unknown) => fieldFromJson(types, `field:${type}`, json)[1]

function thrown(fn: () => unknown): CachemeError {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(CachemeError)
    return error as CachemeError
  }
  throw new Error('expected a CachemeError')
}

class Question {}

describe('instance cache field types', () => {
  describe('Date', () => {
    it('stores a date as [year, month, day] in UTC', () => {
      expect(fieldToJson(types, 'polls', 'Date', 'published', new Date('2014-09-22T23:59:59Z'))).to.deep.equal(['published:Date', [2014, 9, 22]])
    })

    it("stores Sequelize's DATEONLY strings", () => {
      expect(toJson('Date', '2014-09-22')).to.deep.equal([2014, 9, 22])
      expect(toJson('Date', '0042-01-02')).to.deep.equal([42, 1, 2])
    })

    it('stores null, undefined and dates that do not exist as null', () => {
      for (const value of [null, undefined, new Date('nope'), '2023-02-30', '22/09/2014']) expect(toJson('Date', value)).to.equal(null)
    })

    it('reads a triple back as UTC midnight', () => {
      expect((fromJson('Date', [2014, 9, 22]) as Date).toISOString()).to.equal('2014-09-22T00:00:00.000Z')
      expect((fromJson('Date', [42, 1, 2]) as Date).toISOString()).to.equal('0042-01-02T00:00:00.000Z')
    })

    it('reads falsy and malformed values as null', () => {
      for (const json of [null, undefined, 0, '', [2014, 9], 'x']) expect(fromJson('Date', json)).to.equal(null)
    })

    it('refuses a value that is not a date, naming the field', () => {
      const error = thrown(() => fieldToJson(types, 'polls', 'Date', 'published', 42))
      expect(error.code).to.equal('UNSERIALIZABLE_RESULT')
      expect(error.message).to.equal(`fieldToJson(): field "published" of type Date: a Date needs a Date or a 'YYYY-MM-DD' string, got number 42`)
    })
  })

  describe('DateTime', () => {
    it('stores whole seconds as an integer', () => {
      expect(fieldToJson(types, 'polls', 'DateTime', 'created', new Date('2014-09-22T13:28:52Z'))).to.deep.equal(['created:DateTime', 1411392532])
    })

    it('stores milliseconds as "<seconds>.<microseconds>"', () => {
      expect(toJson('DateTime', new Date('2014-09-22T13:28:52.123Z'))).to.equal('1411392532.123000')
      expect(toJson('DateTime', new Date('2014-09-22T13:28:52.004Z'))).to.equal('1411392532.004000')
    })

    it('accepts ISO strings', () => {
      expect(toJson('DateTime', '2014-09-22T13:28:52.500Z')).to.equal('1411392532.500000')
    })

    it('round-trips', () => {
      for (const iso of ['2014-09-22T13:28:52.000Z', '2014-09-22T13:28:52.123Z', '1969-12-31T23:59:59.500Z', '1900-01-01T00:00:00.001Z']) {
        expect((fromJson('DateTime', toJson('DateTime', new Date(iso))) as Date).toISOString()).to.equal(iso)
      }
    })

    it('floors the seconds before 1970 so the fraction stays positive', () => {
      expect(toJson('DateTime', new Date('1969-12-31T23:59:59.500Z'))).to.equal('-1.500000')
      expect(toJson('DateTime', new Date('1969-12-31T23:59:59Z'))).to.equal(-1)
      expect((fromJson('DateTime', '-1.500000') as Date).toISOString()).to.equal('1969-12-31T23:59:59.500Z')
    })

    it('truncates microseconds to milliseconds', () => {
      expect((fromJson('DateTime', '1411392532.123999') as Date).toISOString()).to.equal('2014-09-22T13:28:52.123Z')
    })

    it('stores and reads invalid values as null', () => {
      for (const value of [null, undefined, new Date('nope'), 'not a date']) expect(toJson('DateTime', value)).to.equal(null)
      for (const json of [null, 'x', '1.5', '1.', {}, 1e20]) expect(fromJson('DateTime', json)).to.equal(null)
    })

    it('refuses a value that is neither a Date nor a string', () => {
      expect(thrown(() => toJson('DateTime', 1411392532)).message).to.match(/a DateTime needs a Date or an ISO date string, got number 1411392532$/)
    })
  })

  describe('TimeDelta', () => {
    it('stores whole seconds as an integer and fractions as a string', () => {
      expect(fieldToJson(types, 'polls', 'TimeDelta', 'duration', 3600)).to.deep.equal(['duration:TimeDelta', 3600])
      expect(toJson('TimeDelta', 1.5)).to.equal('1.5')
      expect(toJson('TimeDelta', -1.5)).to.equal('-1.5')
    })

    it('reads strings and numbers back as seconds', () => {
      expect(fromJson('TimeDelta', '1.5')).to.equal(1.5)
      expect(fromJson('TimeDelta', 3600)).to.equal(3600)
      expect(fromJson('TimeDelta', toJson('TimeDelta', 0.25))).to.equal(0.25)
    })

    it('stores and reads null and non-numbers as null', () => {
      expect(toJson('TimeDelta', null)).to.equal(null)
      expect(toJson('TimeDelta', Number.NaN)).to.equal(null)
      for (const json of [null, '', 'abc', {}]) expect(fromJson('TimeDelta', json)).to.equal(null)
    })

    it('refuses a value that is not a number', () => {
      expect(thrown(() => toJson('TimeDelta', '1.5')).message).to.match(/needs a number of seconds, got string "1.5"$/)
    })
  })

  describe('PK', () => {
    it('stores the app, the model name and the pk', () => {
      expect(fieldToJson(types, 'polls', 'PK', 'question', 'Question', 1)).to.deep.equal(['question:PK', { app: 'polls', model: 'question', pk: 1 }])
      expect(toJson('PK', Question, 'abc')).to.deep.equal({ app: 'polls', model: 'question', pk: 'abc' })
    })

    it('reads back a PkOnlyModel', () => {
      const related = fromJson('PK', toJson('PK', Question, 7))
      expect(related).to.be.instanceOf(PkOnlyModel)
      expect(related).to.deep.include({ app: 'polls', model: 'question', pk: 7 })
    })

    it('keeps pk 0', () => {
      expect(fromJson('PK', toJson('PK', Question, 0))).to.deep.include({ pk: 0 })
    })

    it('stores a missing pk as null and refuses an empty one', () => {
      expect(toJson('PK', Question, null)).to.equal(null)
      expect(fromJson('PK', null)).to.equal(null)
      expect(thrown(() => toJson('PK', Question, '')).message).to.match(/a PK needs a non-empty string or a number, got string ""$/)
    })
  })

  describe('PKList', () => {
    it('stores the app, the model name and the pks of any iterable', () => {
      expect(fieldToJson(types, 'polls', 'PKList', 'choices', 'Choice', [1, 2])).to.deep.equal(['choices:PKList', { app: 'polls', model: 'choice', pks: [1, 2] }])
      expect(toJson('PKList', Question, new Set([3, 0]))).to.deep.equal({ app: 'polls', model: 'question', pks: [3, 0] })
    })

    it('reads back a PkOnlyList that iterates PkOnlyModels', () => {
      const list = fromJson('PKList', toJson('PKList', Question, [1, 0, 'x'])) as PkOnlyList
      expect(list).to.be.instanceOf(PkOnlyList)
      expect(list).to.deep.include({ app: 'polls', model: 'question' })
      expect(list.pks).to.deep.equal([1, 0, 'x'])
      const models = [...list]
      expect(models.every(model => model instanceof PkOnlyModel)).to.equal(true)
      expect(models.map(model => model.pk)).to.deep.equal([1, 0, 'x'])
      expect(models[0]).to.deep.include({ app: 'polls', model: 'question' })
    })

    it('refuses a pk that is not one', () => {
      expect(thrown(() => toJson('PKList', Question, [1, ''])).message).to.match(/got string ""$/)
      expect(thrown(() => toJson('PKList', Question, 5)).message).to.match(/needs an iterable of primary keys, got number 5$/)
    })
  })

  describe('names and types', () => {
    it("refuses a field name with ':' or an empty one", () => {
      const error = thrown(() => fieldToJson(types, 'polls', 'Date', 'a:b', null))
      expect(error.code).to.equal('INVALID_OPTIONS')
      expect(error.message).to.equal(`fieldToJson(): field name "a:b" must not contain ':'`)
      expect(thrown(() => fieldToJson(types, 'polls', 'Date', '', null)).message).to.match(/must be a non-empty string, got string ""/)
    })

    it('refuses an unknown type, listing the known ones', () => {
      expect(thrown(() => fieldToJson(types, 'polls', 'Money', 'price', 1)).message).to.equal(
        'fieldToJson(): unknown field type "Money", known: Date, DateTime, TimeDelta, PK, PKList',
      )
      expect(thrown(() => fieldFromJson(types, 'price:Money', 1)).message).to.match(/^fieldFromJson\(\): unknown field type "Money"/)
    })

    it("refuses to read a key without ':' or without a name", () => {
      expect(thrown(() => fieldFromJson(types, 'created', 1)).message).to.equal(`fieldFromJson(): key "created" is not 'name:Type'`)
      expect(thrown(() => fieldFromJson(types, ':Date', 1)).code).to.equal('INVALID_OPTIONS')
    })

    it('finds types whatever the case, writing the registered name', () => {
      expect(fieldToJson(types, 'polls', 'datetime', 'created', new Date(0))).to.deep.equal(['created:DateTime', 0])
      expect(fieldFromJson(types, 'created:DATETIME', 0)).to.deep.equal(['created', new Date(0)])
    })

    it('splits on the first colon only', () => {
      expect(thrown(() => fieldFromJson(types, 'a:Date:x', null)).message).to.match(/unknown field type "Date:x"/)
    })
  })

  describe('decodeFields()', () => {
    it('decodes every typed key and keeps the others', () => {
      const stored = {
        id: 1,
        'published:Date': [2014, 9, 22],
        'created:DateTime': '1411392532.123000',
        'question:PK': { app: 'polls', model: 'question', pk: 2 },
        text: 'Hi',
      }
      const decoded = decodeFields(types, stored)
      expect(Object.keys(decoded)).to.deep.equal(['id', 'published', 'created', 'question', 'text'])
      expect(decoded.created).to.deep.equal(new Date('2014-09-22T13:28:52.123Z'))
      expect(decoded.published).to.deep.equal(new Date('2014-09-22T00:00:00Z'))
      expect(decoded.question).to.be.instanceOf(PkOnlyModel)
      expect(stored).to.have.property('created:DateTime')
    })

    it('refuses two keys that give one field', () => {
      expect(thrown(() => decodeFields(types, { created: 1, 'created:DateTime': 0 })).message).to.equal(
        'decodeFields(): two stored keys give the field "created", the second is "created:DateTime"',
      )
      expect(() => decodeFields(types, { 'created:DateTime': 0, created: 1 })).to.throw(CachemeError, /"created"/)
      expect(() => decodeFields(types, { 'day:Date': null, 'day:DateTime': null })).to.throw(CachemeError, /"day"/)
    })

    it('keeps a stored "__proto__" a field', () => {
      const decoded = decodeFields(types, JSON.parse('{"__proto__:TimeDelta": 1}'))
      expect(Object.getPrototypeOf(decoded)).to.equal(Object.prototype)
      expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).to.equal(1)
    })
  })

  describe('user-defined types', () => {
    // Cents stored as a decimal string, read back as cents.
    const money: FieldType = {
      toJson: (_context, cents) => (typeof cents === 'number' ? (cents / 100).toFixed(2) : null),
      fromJson: json => (typeof json === 'string' ? Math.round(Number(json) * 100) : null),
    }
    const withMoney: FieldTypes = mergeFieldTypes(BUILTIN_FIELD_TYPES, [['Money', money]])

    it('converts with a type merged over the built-ins', () => {
      expect(fieldToJson(withMoney, 'shop', 'Money', 'price', 1999)).to.deep.equal(['price:Money', '19.99'])
      expect(decodeFields(withMoney, { 'price:money': '19.99', 'on:Date': [2020, 1, 2] })).to.deep.equal({ price: 1999, on: new Date('2020-01-02T00:00:00Z') })
    })

    it('replaces a built-in whatever the case of its name', () => {
      const days: FieldType = { toJson: (_context, value) => String(value), fromJson: json => `day ${String(json)}` }
      const merged = mergeFieldTypes(BUILTIN_FIELD_TYPES, [['date', days]])
      expect([...merged.keys()]).to.deep.equal(['DateTime', 'TimeDelta', 'PK', 'PKList', 'date'])
      expect(fieldToJson(merged, 'shop', 'Date', 'on', 5)).to.deep.equal(['on:date', '5'])
      expect(fieldFromJson(merged, 'on:Date', 5)).to.deep.equal(['on', 'day 5'])
    })

    it('reports what a user type throws with the field name', () => {
      const strict: FieldType = {
        toJson: () => {
          throw new RangeError('too big')
        },
        fromJson: json => json,
      }
      const error = thrown(() => fieldToJson(new Map([['Strict', strict]]), 'shop', 'Strict', 'size', 1))
      expect(error.code).to.equal('UNSERIALIZABLE_RESULT')
      expect(error.message).to.equal('fieldToJson(): field "size" of type Strict: too big')
      expect(error.cause).to.be.instanceOf(RangeError)
    })
  })

  describe('modelName() and storedModelName()', () => {
    it('lower-cases a class name or a string', () => {
      expect(storedModelName(Question)).to.equal('question')
      expect(storedModelName('Question')).to.equal('question')
      expect(storedModelName('question')).to.equal('question')
    })

    it('hands a name back as given, a class by the name it declares', () => {
      expect([modelName(Question), modelName('QUESTION'), modelName('question')]).to.deep.equal(['Question', 'QUESTION', 'question'])
    })

    it('refuses an empty name', () => {
      expect(() => modelName('')).to.throw(CachemeError, /non-empty name, got string ""/)
    })
  })
})
