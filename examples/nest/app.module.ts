import { Module } from '@nestjs/common'
import { ConfigModule, ConfigService } from '@nestjs/config'
import { SequelizeModule } from '@nestjs/sequelize'
// In an application: import { CachemeModule } from 'cacheme/nest'
import { CachemeModule } from '../../src/nest'
import { cacheEnabled } from '../support/serve'
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
    // In-memory SQLite: a real database with real queries, gone when the process ends; DATABASE_URL's database when set.
    SequelizeModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const url = config.get<string>('DATABASE_URL')
        return {
          ...(url ? { uri: url } : { dialect: 'sqlite' as const, storage: ':memory:' }),
          models: [Author, Book],
          autoLoadModels: true,
          synchronize: true,
          logging: () => void sql.queries++,
        }
      },
    }),
    // REDIS_URL from the configuration, else the in-process memory store; CACHEME_ENABLED=false serves uncached.
    CachemeModule.forRootAsync({
      imports: [ConfigModule],
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const url = config.get<string>('REDIS_URL')
        const enabled = cacheEnabled(config.get<string>('CACHEME_ENABLED'))
        return { ...(url ? { redis: url } : { store: 'memory' as const }), prefix: 'nest-example:', ttl: 600, enabled }
      },
    }),
    BooksModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}
