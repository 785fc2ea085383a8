import { Body, Controller, Get, NotFoundException, Param, ParseIntPipe, Patch } from '@nestjs/common'
import { BooksService, type BookData } from './books.service'

@Controller()
export class BooksController {
  constructor(private readonly books: BooksService) {}

  @Get('books/:id')
  async findOne(@Param('id', ParseIntPipe) id: number): Promise<BookData> {
    return (await this.books.findOne(id)) ?? notFound()
  }

  @Get('authors/:id/books')
  findByAuthor(@Param('id', ParseIntPipe) id: number): Promise<BookData[]> {
    return this.books.findByAuthor(id)
  }

  @Patch('books/:id')
  async rename(@Param('id', ParseIntPipe) id: number, @Body() body: { title?: unknown }): Promise<BookData> {
    return (await this.books.rename(id, String(body?.title ?? ''))) ?? notFound()
  }
}

function notFound(): never {
  throw new NotFoundException('no such book')
}
