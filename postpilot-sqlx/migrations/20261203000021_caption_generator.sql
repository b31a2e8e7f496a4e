-- What wrote a queue item's caption, and what it cost: `template`, or the language model
-- (`anthropic:<model>`, `openai:<model>`), the tokens it read and wrote on every round (those of
-- answers that were not used included), and why the template wrote it instead when the model
-- could not. NULL name: the merchant wrote or edited the caption (or it predates this column).
-- Nullable columns without defaults: no table rewrite.
ALTER TABLE content_queue
    ADD COLUMN caption_generator text,
    ADD COLUMN caption_input_tokens bigint,
    ADD COLUMN caption_output_tokens bigint,
    ADD COLUMN caption_fell_back text,
    ADD CONSTRAINT content_queue_caption_tokens_check
        CHECK (caption_input_tokens >= 0 AND caption_output_tokens >= 0);
