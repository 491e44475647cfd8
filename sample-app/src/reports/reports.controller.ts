import { type Celeriac, type GroupResult, RemoteTaskError, chord } from '@celeriac/core';
import { InjectCeleriac, InjectTasks, type TaskProxy } from '@celeriac/nestjs';
import { BadRequestException, Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ReportsTasks } from './reports.tasks';

/** HTTP entry points: queue work and return the task id at once; read the result later by id. */
@Controller()
export class ReportsController {
  constructor(
    @InjectTasks(ReportsTasks) private readonly reports: TaskProxy<ReportsTasks>,
    @InjectCeleriac() private readonly celeriac: Celeriac,
  ) {}

  @Post('reports/analyze')
  @HttpCode(202)
  async analyze(@Body() body: { text?: unknown; top?: unknown }): Promise<{ taskId: string }> {
    if (typeof body?.text !== 'string') throw new BadRequestException('"text" must be a string');
    const top = typeof body.top === 'number' ? body.top : 3;
    const result = await this.reports.analyze.delay(body.text, top); // typed from ReportsTasks.analyze
    return { taskId: result.id };
  }

  /** A workflow: one analyze task per text, in parallel, then one merge of their reports (a chord). */
  @Post('reports/batch')
  @HttpCode(202)
  async batch(@Body() body: { texts?: unknown }): Promise<{ taskId: string; parts: string[] }> {
    const texts = body?.texts;
    if (!Array.isArray(texts) || !texts.length || !texts.every((t) => typeof t === 'string')) throw new BadRequestException('"texts" must be a non-empty list of strings');
    const workflow = chord(
      texts.map((text: string) => this.reports.analyze.s(text, 5)),
      this.reports.merge.s(3), // typed: merge's first parameter takes the list of analyze results
    );
    const result = await workflow.applyAsync();
    return { taskId: result.id, parts: (result.parent as GroupResult).results.map((r) => r.id) };
  }

  @Post('reports/export/:name')
  @HttpCode(202)
  async export(@Param('name') name: string): Promise<{ taskId: string }> {
    return { taskId: (await this.reports.flakyExport.delay(name)).id };
  }

  @Get('tasks/:id')
  async task(@Param('id') id: string): Promise<Record<string, unknown>> {
    const result = this.celeriac.asyncResult(id);
    const meta = await result.meta();
    if (!meta) return { id, state: 'PENDING', known: false };
    const value = await result.result();
    if (value instanceof RemoteTaskError) return { id, state: meta.status, error: { type: value.excType, message: value.excMessage } };
    return { id, state: meta.status, result: value, dateDone: meta.dateDone };
  }
}
