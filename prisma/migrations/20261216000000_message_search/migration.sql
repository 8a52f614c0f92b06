-- Protocol 1.7: message search (GET /api/search). A message's words, indexed: the 'simple'
-- configuration lower-cases words as written, with no language's stemming or stop words, so a
-- search finds what was typed in any language. Only messages are indexed (a partial index); an
-- edit folds into its message's row, so the index holds what a message says now, and a deleted
-- message's empty text has no words.
CREATE INDEX "events_message_words_idx" ON "events" USING gin (to_tsvector('simple', data->>'text'))
  WHERE "type" = 'message';
