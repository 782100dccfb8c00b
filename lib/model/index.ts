// Re-exports of lib/model (filled in as the chapter is written).
export {};
