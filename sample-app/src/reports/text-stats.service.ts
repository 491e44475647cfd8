import { Injectable } from '@nestjs/common';

/** A plain Nest service, injected into the task provider: tasks keep full DI. */
@Injectable()
export class TextStatsService {
  words(text: string): number {
    return text.split(/\s+/).filter(Boolean).length;
  }

  topWords(text: string, n: number): Array<[string, number]> {
    const counts = new Map<string, number>();
    for (const w of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);
  }
}
