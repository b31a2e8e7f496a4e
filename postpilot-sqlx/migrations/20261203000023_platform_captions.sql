-- Captions written for one target platform each (by the language model, or by the merchant),
-- used on that platform instead of the shared caption: a JSON object keyed by platform name,
-- `{"tiktok": {"caption": "...", "hashtags": ["..."]}}`; `{}` when every platform gets the shared
-- caption. A constant default: no table rewrite (PostgreSQL 11+).
ALTER TABLE content_queue
    ADD COLUMN platform_captions jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD CONSTRAINT content_queue_platform_captions_object
        CHECK (jsonb_typeof(platform_captions) = 'object');
