import { z } from 'zod';

export const feedNameSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'a feed name is 1-63 lower-case letters, digits and dashes, not starting with a dash',
  );

export type FeedName = z.infer<typeof feedNameSchema>;
