-- Protocol 1.2: edits, deletes and reactions are events pointing at a message's seq. A delete
-- blanks every copy of the message's text in the same transaction: its edits, the feed's and
-- notifications' previews of it, and the quotes of the replies to it. These partial expression
-- indexes find those rows without scanning a stream (the schema language has no form for them).
CREATE INDEX "events_change_target_idx" ON "events" ("stream", ((data->>'seq')::int8))
  WHERE "type" IN ('message.edited', 'message.deleted', 'reaction');

CREATE INDEX "events_pointer_idx" ON "events" ((data->>'roomId'), ((data->>'seq')::int8))
  WHERE "type" IN ('message.posted', 'mention', 'reply');

CREATE INDEX "events_reply_to_idx" ON "events" ("stream", ((data->'replyTo'->>'seq')::int8))
  WHERE "type" = 'message' AND data ? 'replyTo';
