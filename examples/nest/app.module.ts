import { Module } from '@nestjs/common'
import { ConfigModule, ConfigService } from '@nestjs/config'
import { SequelizeModule } from '@nestjs/sequelize'
// In an application: import { CachemeModule } from 'cacheme/nest'
import { CachemeModule } from '../../src/nest'
import { BooksController } from './books.controller'
import { BooksService } from './books.service'
import { HealthController } from './health.controller'
import { Author, Book, sql } from './models'

@Module({
  // CachemeModule.forFeature registers the models beside SequelizeModule.forFeature: their changes invalidate.
  imports: [SequelizeModule.forFeature([Author, Book]), CachemeModule.forFeature([Author, Book])],
  providers: [BooksService],
  controllers: [BooksController],
})
export class BooksModule {}

@Module({
  imports: [
    ConfigModule.forRoot({ ignoreEnvFile: true }),
    // In-memory SQLite: a real database with real queries, gone when the process ends.
    SequelizeModule.forRoot({
      dialect: 'sqlite',
      storage: ':memory:',
      models: [Author, Book],
      autoLoadModels: true,
      synchronize: true,
      logging: () => void sql.queries++,
    }),
    // REDIS_URL from the configuration, else the in-process memory store.
    CachemeModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const url = config.get<string>('REDIS_URL')
        return { ...(url ? { redis: url } : { store: 'memory' as const }), prefix: 'nest-example:', ttl: 600 }
      },
    }),
    BooksModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}
