import { RestError, TableClient } from '@azure/data-tables';
import { z } from 'zod';

export const visibilitySchema = z.enum(['public', 'private']);
export type Visibility = z.infer<typeof visibilitySchema>;

export interface Feed {
  readonly name: string;
  readonly visibility: Visibility;
}

const FEED_PARTITION = 'feed';

const feedRowSchema = z.object({ rowKey: z.string(), visibility: visibilitySchema });

export async function getFeed(table: TableClient, name: string): Promise<Feed | undefined> {
  try {
    const row = feedRowSchema.parse(await table.getEntity(FEED_PARTITION, name));
    return { name: row.rowKey, visibility: row.visibility };
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return undefined;
    throw error;
  }
}

/** Creates the feed unless it exists; an existing feed keeps its settings. */
export async function ensureFeed(table: TableClient, feed: Feed): Promise<void> {
  try {
    await table.createEntity({
      partitionKey: FEED_PARTITION,
      rowKey: feed.name,
      visibility: feed.visibility,
    });
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 409) return;
    throw error;
  }
}
