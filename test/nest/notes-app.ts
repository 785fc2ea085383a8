import { Injectable, Module } from '@nestjs/common'
import { InjectModel, SequelizeModule } from '@nestjs/sequelize'
import { Column, DataType, Model, Table } from 'sequelize-typescript'
import { cacheme, type Container } from '../../src'
import { CachemeModule } from '../../src/nest'

interface ByIdCall extends Container {
  id: number
}

/**
 * A small Nest application over @nestjs/sequelize: notes, whose model the test gives to
 * CachemeModule.forRoot() (or not), and labels, whose feature module registers its model with
 * CachemeModule.forFeature(). Classes of its own on each call: a model's registration lasts as
 * long as the process, and a test must not profit from another's.
 */
export function notesApp() {
  @Table({ tableName: 'notes', timestamps: false })
  class Note extends Model {
    @Column(DataType.STRING)
    declare title: string

    get cacheKey(): string {
      return `Note:${this.id}`
    }
  }

  @Table({ tableName: 'labels', timestamps: false })
  class Label extends Model {
    @Column(DataType.STRING)
    declare name: string

    get cacheKey(): string {
      return `Label:${this.id}`
    }
  }

  /** A provider with its model injected; `@cacheme` names no model: the module registers them. */
  @Injectable()
  class NotesService {
    computed = 0

    constructor(@InjectModel(Note) readonly notes: typeof Note) {}

    @cacheme<ByIdCall>({ key: c => `Note:${c.id}>title`, invalidKeys: c => `Note:${c.id}` })
    async title(id: number): Promise<string | null> {
      this.computed++
      return (await this.notes.findByPk(id))?.title ?? null
    }

    async rename(id: number, title: string): Promise<void> {
      await this.notes.update({ title }, { where: { id } })
    }
  }

  @Injectable()
  class LabelsService {
    computed = 0

    constructor(@InjectModel(Label) readonly labels: typeof Label) {}

    @cacheme<ByIdCall>({ key: c => `Label:${c.id}>name`, invalidKeys: c => `Label:${c.id}` })
    async name(id: number): Promise<string | null> {
      this.computed++
      return (await this.labels.findByPk(id))?.name ?? null
    }
  }

  @Module({ imports: [SequelizeModule.forFeature([Note])], providers: [NotesService], exports: [NotesService] })
  class NotesModule {}

  @Module({ imports: [SequelizeModule.forFeature([Label]), CachemeModule.forFeature([Label])], providers: [LabelsService], exports: [LabelsService] })
  class LabelsModule {}

  return {
    Note,
    Label,
    NotesService,
    LabelsService,
    NotesModule,
    LabelsModule,
    /** The database: SQLite in memory, its tables made from the models. */
    database: () => SequelizeModule.forRoot({ dialect: 'sqlite', storage: ':memory:', models: [Note, Label], autoLoadModels: true, synchronize: true, logging: false }),
    async seed(): Promise<void> {
      await Note.bulkCreate([
        { id: 1, title: 'groceries' },
        { id: 2, title: 'taxes' },
      ])
      await Label.bulkCreate([{ id: 1, name: 'home' }])
    },
  }
}

export type NotesApp = ReturnType<typeof notesApp>
