// Re-exports of lib/tokenizer (filled in as the chapter is written).
export {};
