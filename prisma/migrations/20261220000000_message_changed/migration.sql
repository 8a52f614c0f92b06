-- Protocol 1.18: an edit or a delete is told in the feed and people's own streams as a
-- `message.changed` notice carrying the message's new preview. A later edit sets, and a delete
-- blanks, the notices' previews too, as they do the other copies' (events_pointer_idx): this
-- partial expression index finds them without scanning a stream.
CREATE INDEX "events_change_notice_idx" ON "events" ((data->>'roomId'), ((data->>'seq')::int8))
  WHERE "type" = 'message.changed';
