-- Protocol 1.7: message search (GET /api/search). Each message's words, kept apart from the log
-- (server/search-index.ts writes them after its commit, never inside it: an index on the events
-- themselves halved the rate of appends). The 'simple' configuration lower-cases words as
-- written, with no language's stemming or stop words, so a search finds what was typed in any
-- language. An edited message's row holds what it says now; a deleted one's holds no words.
CREATE TABLE "message_words" (
    "stream" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "words" TSVECTOR NOT NULL,
    CONSTRAINT "message_words_pkey" PRIMARY KEY ("stream", "seq")
);
CREATE INDEX "message_words_words_idx" ON "message_words" USING gin ("words");

-- How far the index has read each room's stream: what it reads next, after a restart too.
CREATE TABLE "search_positions" (
    "stream" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    CONSTRAINT "search_positions_pkey" PRIMARY KEY ("stream")
);
