"""The pure kernel every layer may import: messages, words (i18n), configuration, clock,
vocabulary and rules. It imports nothing else of wardbot."""
