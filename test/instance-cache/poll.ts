import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataTypes, Model, type Sequelize } from 'sequelize'
import { BaseCache, type InvalidatorItem } from '../../src'
import { createSequelize, type TestDatabase } from '../support/fixtures'

/** The poll app: users write questions, questions have choices, users vote for choices. */
export class User extends Model {
  declare id: number
  declare username: string
  declare votes?: Choice[]
  get cacheKey(): string {
    return `User:${this.id}`
  }
}

export class Question extends Model {
  declare id: number
  declare text: string
  declare publishedAt: Date
  declare authorId: number
  declare choices?: Choice[]
  get cacheKey(): string {
    return `Question:${this.id}`
  }
}

export class Choice extends Model {
  declare id: number
  declare text: string
  declare questionId: number
  declare voters?: User[]
}

export class Vote extends Model {
  declare userId: number
  declare choiceId: number
}

export interface Poll {
  sequelize: Sequelize
  User: typeof User
  Question: typeof Question
  Choice: typeof Choice
  Vote: typeof Vote
  /** SQL statements run since the last reset. */
  queries: string[]
}

/** The poll schema on a database (SQLite in a file, so transactions have their own connection), counting SQL queries. */
export function openPoll(db: TestDatabase): Poll {
  const queries: string[] = []
  const storage = join(mkdtempSync(join(tmpdir(), 'cacheme-poll-')), 'poll.sqlite')
  const sequelize = createSequelize(db, { ...(db.dialect === 'sqlite' ? { storage } : {}), logging: sql => void queries.push(sql) })
  class PUser extends User {}
  class PQuestion extends Question {}
  class PChoice extends Choice {}
  class PVote extends Vote {}
  PUser.init({ username: DataTypes.STRING }, { sequelize, modelName: 'User' })
  PQuestion.init({ text: DataTypes.STRING, publishedAt: DataTypes.DATE, authorId: DataTypes.INTEGER }, { sequelize, modelName: 'Question', paranoid: true })
  PChoice.init({ text: DataTypes.STRING, questionId: DataTypes.INTEGER }, { sequelize, modelName: 'Choice' })
  PVote.init({}, { sequelize, modelName: 'Vote' })
  PQuestion.belongsTo(PUser, { as: 'author', foreignKey: 'authorId', constraints: false })
  PQuestion.hasMany(PChoice, { as: 'choices', foreignKey: 'questionId', constraints: false })
  PChoice.belongsTo(PQuestion, { as: 'question', foreignKey: 'questionId', constraints: false })
  PChoice.belongsToMany(PUser, { through: PVote, as: 'voters', foreignKey: 'choiceId', otherKey: 'userId', constraints: false })
  PUser.belongsToMany(PChoice, { through: PVote, as: 'votes', foreignKey: 'userId', otherKey: 'choiceId', constraints: false })
  return { sequelize, User: PUser, Question: PQuestion, Choice: PChoice, Vote: PVote, queries }
}

/** The original's sample cache, by the naming convention: each model's serializer, loader and invalidator. */
export class PollCache extends BaseCache {
  constructor(
    readonly poll: Poll,
    options?: ConstructorParameters<typeof BaseCache>[0],
  ) {
    super(options)
  }

  user_default_serializer(user: User) {
    return Object.fromEntries([['id', user.id], ['username', user.username], this.fieldToJson('PKList', 'votes', 'Choice', sortedIds(user.votes))])
  }

  user_default_loader(pk: number) {
    return this.poll.User.findByPk(pk, { include: [{ association: 'votes', attributes: ['id'] }] })
  }

  user_default_invalidator(user: User): InvalidatorItem[] {
    return (user.votes ?? []).map(choice => ['Choice', choice.id, false] as const)
  }

  question_default_serializer(question: Question) {
    return Object.fromEntries([
      ['id', question.id],
      ['text', question.text],
      this.fieldToJson('DateTime', 'publishedAt', question.publishedAt),
      this.fieldToJson('PK', 'author', 'User', question.authorId),
      this.fieldToJson('PKList', 'choices', 'Choice', sortedIds(question.choices)),
    ])
  }

  question_default_loader(pk: number) {
    return this.poll.Question.findByPk(pk, { include: [{ association: 'choices', attributes: ['id'] }] })
  }

  question_default_batch_loader(pks: number[]) {
    return this.poll.Question.findAll({ where: { id: pks }, include: [{ association: 'choices', attributes: ['id'] }] })
  }

  question_default_invalidator(question: Question): InvalidatorItem[] {
    return [['User', question.authorId, false], ...(question.choices ?? []).map(choice => ['Choice', choice.id, false] as const)]
  }

  choice_default_serializer(choice: Choice) {
    return Object.fromEntries([
      ['id', choice.id],
      ['text', choice.text],
      this.fieldToJson('PK', 'question', 'Question', choice.questionId),
      this.fieldToJson('PKList', 'voters', 'User', sortedIds(choice.voters)),
    ])
  }

  choice_default_loader(pk: number) {
    return this.poll.Choice.findByPk(pk, { include: [{ association: 'voters', attributes: ['id'] }] })
  }

  choice_default_invalidator(choice: Choice): InvalidatorItem[] {
    return [['Question', choice.questionId, false], ...(choice.voters ?? []).map(user => ['User', user.id, false] as const)]
  }

  /** A link is not cached itself: adding or removing it refreshes both sides. */
  vote_default_invalidator(vote: Vote): InvalidatorItem[] {
    return [
      ['Choice', vote.choiceId, false],
      ['User', vote.userId, false],
    ]
  }
}

/** Related rows come back from an include in no set order. */
function sortedIds(rows: { id: number }[] | undefined): number[] {
  return (rows ?? []).map(row => row.id).sort((a, b) => a - b)
}

/** Two users, a question by the first with two choices, one vote. */
export async function seedPoll(poll: Poll): Promise<void> {
  await poll.sequelize.sync({ force: true })
  await poll.User.bulkCreate([
    { id: 1, username: 'ann' },
    { id: 2, username: 'bob' },
  ])
  await poll.Question.create({ id: 1, text: 'Tea or coffee?', publishedAt: new Date('2026-01-02T03:04:05.678Z'), authorId: 1 })
  await poll.Choice.bulkCreate([
    { id: 1, text: 'tea', questionId: 1 },
    { id: 2, text: 'coffee', questionId: 1 },
  ])
  await poll.Vote.create({ userId: 2, choiceId: 1 })
  poll.queries.length = 0
}
